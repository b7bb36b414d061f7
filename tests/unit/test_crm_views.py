"""Descriptive views of a CRM: funnel, close rate by engagement band, engagement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model_data import small_demo
from predscore.demo.trap import lifetime_engagement
from predscore.errors import PredscoreError
from predscore.evaluation import engagement_close_rates, funnel_table

STAGES = ["created", "engaged", "sales conversation", "meeting held", "qualified"]


def test_funnel_counts_each_stage_a_lead_reached(
    tiny_tables: dict[str, pd.DataFrame],
) -> None:
    # L1 won: email open, web view, answers; L2 lost: webinar; L3 open: demo request
    funnel = funnel_table(tiny_tables).set_index("stage")
    assert list(funnel.index) == [*STAGES, "closed", "won"]
    assert funnel["leads"].to_dict() == {
        "created": 3,
        "engaged": 3,
        "sales conversation": 1,
        "meeting held": 0,
        "qualified": 2,
        "closed": 2,
        "won": 1,
    }
    assert funnel.loc["created", "close_rate"] == 0.5
    assert funnel.loc["qualified", ["closed", "won", "close_rate"]].tolist() == [
        1,
        1,
        1,
    ]
    assert np.isnan(funnel.loc["sales conversation", "close_rate"])  # L3 is still open
    assert funnel.loc["won", "close_rate"] == 1.0
    assert funnel.loc["engaged", "share"] == 1.0


def test_funnel_ignores_outbound_touches(tiny_tables: dict[str, pd.DataFrame]) -> None:
    tables = dict(tiny_tables)
    tables["activities"] = pd.DataFrame(
        {
            "lead_id": ["L1", "L2"],
            "occurred_at": tiny_tables["activities"]["occurred_at"].iloc[:2],
            "channel": ["email", "call"],
            "action": ["sent", "attempt"],
        }
    )
    funnel = funnel_table(tables).set_index("stage")
    assert funnel.loc["engaged", "leads"] == 0
    assert funnel.loc["sales conversation", "leads"] == 0


def _crm(engagement: list[int], won: list[bool], roles: list[str]) -> dict:
    """Closed leads L0..Ln with ``engagement[i]`` email opens, plus one open lead."""
    n = len(engagement)
    ids = [f"L{i}" for i in range(n)]
    stamp = pd.Timestamp("2025-01-01", tz="UTC")
    opens = [lead for lead, k in zip(ids, engagement, strict=True) for _ in range(k)]
    return {
        "leads": pd.DataFrame({"lead_id": [*ids, "OPEN"], "role": [*roles, None]}),
        "activities": pd.DataFrame(
            {
                "lead_id": [*opens, "OPEN", "OPEN", "L0"],
                "occurred_at": stamp,
                "channel": ["email"] * len(opens) + ["webinar", "email", "email"],
                # the open lead's attendance and a sent email never count
                "action": ["open"] * len(opens) + ["attend", "open", "sent"],
            }
        ),
        "outcomes": pd.DataFrame(
            {
                "lead_id": ids,
                "closed_at": stamp,
                "outcome": ["won" if w else "lost" for w in won],
            }
        ),
    }


def test_engagement_bands_hold_equal_numbers_of_closed_leads() -> None:
    tables = _crm([0, 1, 3, 5], [False, False, True, True], ["user"] * 4)
    table = engagement_close_rates(tables, bins=2)
    assert table["band"].tolist() == [1, 2]
    assert table["leads"].tolist() == [2, 2]
    assert table["close_rate"].tolist() == [0.0, 1.0]
    assert table[["engagement_min", "engagement_max"]].to_numpy().tolist() == [
        [0, 1],
        [3, 5],
    ]


def test_engagement_bands_split_ties_and_by_role() -> None:
    # nobody engaged: still two bands of equal size (ties split by lead id)
    tables = _crm([0] * 6, [True, False] * 3, ["decision_maker", "user"] * 3)
    table = engagement_close_rates(tables, bins=2)
    assert table["leads"].tolist() == [3, 3]
    by_role = engagement_close_rates(tables, bins=2, by="role")
    assert set(by_role["role"]) == {"decision_maker", "user"}
    assert by_role["leads"].sum() == 6
    rates = by_role.groupby("role")["close_rate"].mean()
    assert rates["decision_maker"] == 1.0 and rates["user"] == 0.0


def test_engagement_bands_refuse_bad_arguments() -> None:
    tables = _crm([0, 1], [True, False], ["user", "user"])
    with pytest.raises(PredscoreError, match="bins must be at least 1, got 0"):
        engagement_close_rates(tables, bins=0)
    with pytest.raises(PredscoreError, match="leads has no column 'rank'"):
        engagement_close_rates(tables, by="rank")
    with pytest.raises(PredscoreError, match=r"tables \['outcomes'\] missing"):
        engagement_close_rates({k: v for k, v in tables.items() if k != "outcomes"})


def test_lifetime_engagement_counts_marketing_responses_only() -> None:
    tables = _crm([2, 0], [True, False], ["user", "user"])
    counts = lifetime_engagement(tables["activities"])
    assert counts.to_dict() == {"L0": 2, "OPEN": 2}


def test_views_agree_on_the_demo_crm(tmp_path: Path) -> None:
    tables = small_demo(tmp_path, leads=600)
    funnel = funnel_table(tables).set_index("stage")
    closed = len(tables["outcomes"])
    won = int(tables["outcomes"]["outcome"].astype(str).eq("won").sum())
    assert funnel.loc["created", "leads"] == len(tables["leads"])
    assert funnel.loc["closed", "leads"] == closed
    assert funnel.loc["won", "leads"] == won
    assert funnel["share"].between(0, 1).all()
    # qualification answers are recorded at discovery calls, which buyers take
    assert funnel.loc["qualified", "close_rate"] > funnel.loc["created", "close_rate"]
    bands = engagement_close_rates(tables)
    assert bands["leads"].sum() == closed
    assert bands["won"].sum() == won
    assert (bands["leads"].max() - bands["leads"].min()) <= 1
    assert bands["engagement_median"].is_monotonic_increasing
