"""Hand-written canonical tables for the feature tests; every row has a reason.

``AS_OF`` is the cutoff the rows are placed around. Built as raw frames and passed
through ``validate_tables`` so that they have exactly the dtypes of validated data.
"""

from __future__ import annotations

import pandas as pd

from predscore.schema.validate import validate_tables

__all__ = ["AS_OF", "hand_tables", "validated"]

AS_OF = pd.Timestamp("2026-03-01T12:00:00Z")
SECOND = pd.Timedelta(seconds=1)
MINUTE = pd.Timedelta(minutes=1)
DAY = pd.Timedelta(days=1)


def validated(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Validate raw tables far in the future; fail loudly on any rejection."""
    result = validate_tables(raw, pd.Timestamp("2100-01-01T00:00:00Z"))
    assert result.rejections.empty, result.rejections.to_string()
    return result.tables


def hand_tables() -> dict[str, pd.DataFrame]:
    """Small tables that hit every edge of the point-in-time rules."""
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "name": ["Acme", "Shop", None],
            "sector": ["software_saas", "retail", None],  # A3: null sector
            "employees": [200, 20, None],  # A2: below the ICP band
            "annual_revenue": [2e7, 5e8, None],  # A2: above the ICP band
            "country": ["FR", "US", None],
            "region": ["EMEA", "NA", None],
            "tech_stack": [["salesforce", "aws", "foo", "aws"], [], None],
            "created_at": [pd.Timestamp("2020-01-01T00:00:00Z")] * 3,
        }
    )
    lead_rows = [
        # lead, account, created, role, seniority, department, country, hint, segment
        (
            "L1",
            "A1",
            AS_OF - 60 * DAY,
            "decision_maker",
            "c_level",
            "sales",
            "FR",
            3.5,
            "smb",
        ),
        ("L2", "A2", AS_OF - 9 * DAY, "user", "individual", "it", "US", None, "ent"),
        (
            "L3",
            "A3",
            AS_OF - 45 * DAY,
            "unknown",
            None,
            None,
            "DE",
            1.0,
            None,
        ),  # silent
        (
            "L4",
            None,
            AS_OF,
            "influencer",
            "vp",
            None,
            None,
            None,
            None,
        ),  # created at as_of
        (
            "L5",
            "A1",
            AS_OF + SECOND,
            "user",
            "manager",
            "sales",
            "FR",
            None,
            None,
        ),  # later
        ("L6", "A1", AS_OF - 30 * DAY, "user", "manager", "sales", "FR", None, None),
        (
            "L7",
            "A2",
            AS_OF - 30 * DAY,
            "influencer",
            "director",
            "marketing",
            "GB",
            2.0,
            "x",
        ),
        (
            "L8",
            "A1",
            AS_OF - 60 * DAY,
            "decision_maker",
            "vp",
            "executive",
            "FR",
            None,
            None,
        ),
    ]
    leads = pd.DataFrame(
        lead_rows,
        columns=[
            "lead_id",
            "account_id",
            "created_at",
            "role",
            "seniority",
            "department",
            "country",
            "score_hint",
            "segment",
        ],
    ).assign(source="inbound", job_title="CEO")
    t0 = AS_OF - 3 * DAY  # start of a run of web views
    act_rows = [
        ("L1", AS_OF, "web", "view", "/pricing", 30.0),  # exactly at as_of: counts
        (
            "L1",
            AS_OF + SECOND,
            "web",
            "view",
            "/pricing",
            999.0,
        ),  # one second later: not
        ("L1", t0, "web", "view", "/home", 10.0),  # visit 1 ...
        ("L1", t0 + 29 * MINUTE, "web", "view", "/product", 20.0),  # ... same visit
        ("L1", t0 + 59 * MINUTE, "web", "view", "/home", None),  # 30-min gap: visit 2
        ("L1", t0 + 59 * MINUTE, "web", "view", "/home", None),  # exact duplicate
        ("L1", AS_OF - 2 * DAY, "email", "sent", "camp-1", None),  # passive
        ("L1", AS_OF - 7 * DAY + SECOND, "email", "open", "camp-1", None),  # in 7d
        (
            "L1",
            AS_OF - 7 * DAY,
            "email",
            "click",
            "camp-1",
            None,
        ),  # exactly 7d: not in 7d
        ("L1", AS_OF - 10 * DAY, "content", "download", "whitepaper-a", None),
        ("L1", AS_OF - 40 * DAY, "content", "download", "whitepaper-a", None),
        ("L1", AS_OF - 20 * DAY, "content", "download", "ebook-b", None),
        ("L1", AS_OF - 35 * DAY, "webinar", "register", "web-1", None),  # previous 30d
        ("L1", AS_OF - 31 * DAY, "webinar", "attend", "web-1", None),
        ("L1", AS_OF - DAY, "meeting", "held", None, 3600.0),
        ("L1", AS_OF - 30 * DAY, "call", "attempt", None, None),  # exactly 30d, passive
        ("L2", AS_OF - 8 * DAY, "web", "view", "/blog", 5.0),
        ("L2", AS_OF + 2 * DAY, "form", "demo_request", None, None),  # after as_of
        ("L6", AS_OF - 5 * DAY, "web", "view", "/home", 12.0),  # closed lead
        ("L7", AS_OF - 29 * DAY, "linkedin", "connect", None, None),
        ("L8", AS_OF - 59 * DAY, "email", "open", "camp-0", None),
        ("L8", AS_OF - 50 * DAY, "form", "submit", "contact", None),
        ("L8", AS_OF - 44 * DAY, "meeting", "held", None, None),
    ]
    activities = pd.DataFrame(
        act_rows,
        columns=["lead_id", "occurred_at", "channel", "action", "detail", "quantity"],
    )
    qual_rows = [
        ("L1", AS_OF - 20 * DAY, "budget", "yes"),
        ("L1", AS_OF - 5 * DAY, "budget", "no"),  # later answer wins
        ("L1", AS_OF - 4 * DAY, "authority", "no"),  # tie at the same instant:
        ("L1", AS_OF - 4 * DAY, "authority", "yes"),  # greatest value wins
        ("L1", AS_OF - 4 * DAY, "need", "no"),
        ("L1", AS_OF + SECOND, "need", "yes"),  # after as_of: not known
        ("L1", AS_OF - 3 * DAY, "timeline_months", "6"),
        ("L1", AS_OF - 3 * DAY, "budget_amount", "150000"),
        ("L1", AS_OF - 2 * DAY, "decision_process", "committee"),
        ("L1", AS_OF - 2 * DAY, "champion", "unknown"),  # answered "unknown"
        ("L1", AS_OF - 2 * DAY, "favourite_colour", "blue"),  # outside the vocabulary
        ("L2", AS_OF + DAY, "budget", "yes"),  # only in the future
        ("L7", AS_OF, "metrics", "roi"),  # text, exactly at as_of
        ("L8", AS_OF - 55 * DAY, "need", "yes"),
    ]
    qualifications = pd.DataFrame(
        qual_rows, columns=["lead_id", "recorded_at", "field", "value"]
    )
    outcomes = pd.DataFrame(
        {
            "lead_id": ["L6", "L7", "L8"],
            "closed_at": [AS_OF, AS_OF + SECOND, AS_OF - 40 * DAY],
            "outcome": ["lost", "won", "won"],
            "amount": [None, 1000.0, 5000.0],
            "reason": [None, None, "fit"],
        }
    )
    return validated(
        {
            "accounts": accounts,
            "leads": leads,
            "activities": activities,
            "qualifications": qualifications,
            "outcomes": outcomes,
        }
    )
