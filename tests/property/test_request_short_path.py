"""The API's short path gives what validation and the batch engine give, for any request.

``canonical_tables`` turns a ``POST /score`` body into canonical Arrow tables only
when validation would neither reject nor rewrite any of its rows. For request bodies
Hypothesis draws (blank and padded texts, foreign actions, rows after the as-of time
or before the lead's creation, flag and number answers in every spelling, duplicate
leads and accounts), whenever the short path is taken:

* validation of the same request (``request_tables`` → ``validate_tables``) rejects
  nothing;
* the features of the short path's tables, computed on a connection kept open
  between requests, equal the features of the validated tables (values and dtypes);

and a request without anything to fix does take it.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from predscore.config import FeaturesConfig, IcpConfig
from predscore.features import KeptConnection, build_features
from predscore.schema import ACTIONS, CHANNELS, ROLES, SENIORITIES
from predscore.schema.validate import validate_tables
from predscore.serve.canonical import canonical_tables
from predscore.serve.frames import request_tables
from predscore.serve.models import score_request_model

AS_OF = pd.Timestamp("2026-05-01T00:00:00Z")
REQUEST = score_request_model(10, 50)
KEPT = KeptConnection()
PAIRS = [(c, a) for c in CHANNELS for a in ACTIONS[c]]
ALL_ACTIONS = sorted({a for acts in ACTIONS.values() for a in acts})
DAY = 86_400


def _time(offset_seconds: int) -> str:
    return (AS_OF + pd.Timedelta(seconds=offset_seconds)).isoformat()


def mostly(clean: list[Any], dirty: list[Any]) -> st.SearchStrategy[Any]:
    """A clean value most of the time, so that whole requests are often clean."""
    return st.sampled_from(clean * (80 // len(clean) + 1) + dirty)


# times near the edges: at as_of, a second after it, at and around the lead's creation
offsets = st.one_of(
    st.integers(-30 * DAY, 0),
    mostly([0, -1, -30 * DAY, -DAY], [1, -30 * DAY - 1, -200 * DAY]),
)
texts = mostly([None, "saas", "SaaS", "fintech", "x y", "FR"], [" saas", "saas ", ""])
# answers in the spelling of their field's kind, now and then in another one
dirty_answers = [" no", "y", "Yes", "true", "0", "3.0", "-1", "inf", "abc", "roi "]
answers = st.one_of(
    st.tuples(
        st.sampled_from(["budget", "authority", "need"]),
        mostly(["yes", "no", "unknown"], dirty_answers),
    ),
    st.tuples(
        st.sampled_from(["timeline_months", "budget_amount"]),
        mostly(["3", "12.5", "0"], dirty_answers),
    ),
    st.tuples(st.sampled_from(["pain", "x"]), mostly(["roi", "a b"], dirty_answers)),
)


pairs = st.one_of(
    st.sampled_from(PAIRS),
    mostly(PAIRS, [("web", "attend"), ("email", "view"), ("webinar", "open")]),
)


@st.composite
def lead(draw: st.DrawFn, i: int) -> dict[str, Any]:
    created = draw(mostly([-100 * DAY, -31 * DAY], [0, 1, -DAY]))
    acts = draw(st.lists(st.tuples(offsets, pairs, texts), max_size=6))
    quals = draw(st.lists(st.tuples(offsets, answers), max_size=4))
    account_id = draw(mostly(["A1", "A2", f"A{i + 3}"], [" A1"]))
    body: dict[str, Any] = {
        "lead_id": draw(mostly([f"L{i}"], ["L0", " L"])),
        "created_at": _time(created),
        "role": draw(st.one_of(st.none(), st.sampled_from(ROLES))),
        "seniority": draw(st.one_of(st.none(), st.sampled_from(SENIORITIES))),
        "job_title": draw(mostly([None, "CEO", "Head of IT"], [" CTO", ""])),
        "department": draw(texts),
        "source": draw(texts),
        "owner": draw(mostly([None, "Dana"], ["Lee "])),
        "activities": [
            {"occurred_at": _time(t), "channel": c, "action": a, "detail": d}
            for t, (c, a), d in acts
        ],
        "qualifications": [
            {"recorded_at": _time(t), "field": f, "value": v} for t, (f, v) in quals
        ],
    }
    if draw(st.booleans()):
        body["account"] = {
            "account_id": account_id,
            "sector": draw(texts),
            "country": draw(texts),
            "employees": draw(st.one_of(st.none(), st.integers(0, 5_000))),
            "tech_stack": draw(
                st.one_of(st.none(), st.lists(mostly(["aws", "hubspot"], [" gcp", ""])))
            ),
        }
    elif draw(st.booleans()):
        body["account_id"] = account_id
    return body


@st.composite
def bodies(draw: st.DrawFn) -> Any:
    n = draw(st.integers(1, 3))
    leads = [draw(lead(i)) for i in range(n)]
    return REQUEST.model_validate_json(json.dumps({"leads": leads}))


def _features(tables: Any, kept: KeptConnection | None = None) -> pd.DataFrame:
    return build_features(tables, AS_OF, FeaturesConfig(), IcpConfig(), kept=kept)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(bodies())
def test_short_path_equals_validation_and_the_batch_engine(body: Any) -> None:
    try:
        built = request_tables(body)
    except Exception:  # contradicting accounts: a 422, never the short path
        assert canonical_tables(body, AS_OF.to_pydatetime()) is None
        return
    fast = canonical_tables(body, AS_OF.to_pydatetime())
    if fast is None:
        return
    checked = validate_tables(dict(built.tables), AS_OF)
    assert checked.rejections.empty, checked.rejections["reason"].tolist()
    assert_frame_equal(_features(fast, KEPT), _features(checked.tables))


def test_a_request_with_nothing_to_fix_takes_the_short_path() -> None:
    body = REQUEST.model_validate_json(
        json.dumps(
            {
                "leads": [
                    {
                        "lead_id": "L1",
                        "created_at": _time(-30 * DAY),
                        "role": "decision_maker",
                        "owner": "Dana",
                        "account": {"account_id": "A1", "sector": "saas"},
                        "activities": [
                            {"occurred_at": _time(-DAY), "channel": "webinar",
                             "action": "attend"}
                        ],
                        "qualifications": [
                            {"recorded_at": _time(-DAY), "field": "budget",
                             "value": "yes"},
                            {"recorded_at": _time(0), "field": "timeline_months",
                             "value": "3"},
                        ],
                    }
                ]
            }
        )
    )  # fmt: skip
    fast = canonical_tables(body, AS_OF.to_pydatetime())
    assert fast is not None
    checked = validate_tables(dict(request_tables(body).tables), AS_OF)
    assert checked.rejections.empty
    assert_frame_equal(_features(fast, KEPT), _features(checked.tables))
    # the kept connection serves the next request with its own rows only
    again = _features(fast, KEPT)
    assert_frame_equal(again, _features(checked.tables))
