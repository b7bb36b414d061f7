"""Rep entries enter the pipeline point in time: never a change to the past.

An answer a rep records becomes a ``qualifications`` row whose ``recorded_at`` is the
time of the entry (:func:`predscore.store.qualification_rows`). For any set of
entries recorded after ``as_of`` (drawn by Hypothesis: any lead, any configured
question, any answer of its vocabulary), the feature rows and the rule scores as of
``as_of`` are those computed without them; entries at or before ``as_of`` do count.
And the counts: every entry in the store is a row of the next ``validate``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predscore.config import PredscoreConfig, RepsConfig
from predscore.features import build_features
from predscore.rules import score_rules
from predscore.schema import TABLE_ORDER, write_table
from predscore.schema.validate import load_dataset
from predscore.store import Store, add_entries, count_entries, qualification_rows

CONFIG = PredscoreConfig()
REPS = RepsConfig()
AS_OF = pd.Timestamp("2024-06-01T00:00:00Z")
LATER = pd.Timestamp("2025-06-01T00:00:00Z")  # validation's cutoff: entries pass it


def _answers() -> st.SearchStrategy[tuple[str, str]]:
    choices = [
        st.tuples(st.just(q.field), st.sampled_from(q.choices))
        if q.kind == "choice"
        else st.tuples(st.just(q.field), st.integers(0, q.max_months).map(str))
        for q in REPS.questions
    ]
    return st.one_of(*choices)


@st.composite
def entries_after(draw: st.DrawFn, leads: list[str]) -> pd.DataFrame:
    """Entries recorded strictly after ``AS_OF`` (up to ``LATER``)."""
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(leads),
                _answers(),
                st.integers(1, int((LATER - AS_OF).total_seconds())),
            ),
            min_size=1,
            max_size=8,
        )
    )
    return pd.DataFrame(
        {
            "lead_id": [lead for lead, _, _ in rows],
            "recorded_at": [AS_OF + pd.Timedelta(seconds=s) for _, _, s in rows],
            "field": [fv[0] for _, fv, _ in rows],
            "value": [fv[1] for _, fv, _ in rows],
        }
    )


@pytest.fixture
def crm(tmp_path: Path, tiny_tables: dict[str, pd.DataFrame]) -> Path:
    """The tiny CRM of conftest (three leads) as a data folder."""
    folder = tmp_path / "crm"
    tables = tiny_tables
    for table in TABLE_ORDER:
        write_table(tables[table], folder, table)
    return folder


def _features_and_rules(folder: Path, entries: pd.DataFrame | None) -> tuple:
    tables = load_dataset(folder, LATER, CONFIG.validation, entries).tables
    features = build_features(tables, AS_OF, CONFIG.features, CONFIG.icp)
    rules = score_rules(features, CONFIG.rules)
    return features, rules


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_an_entry_never_changes_the_past(crm: Path, data: st.DataObject) -> None:
    features, rules = _features_and_rules(crm, None)
    leads = ["L1", "L2", "L3"]
    entries = data.draw(entries_after(leads))
    with_entries, rules_with = _features_and_rules(crm, entries)
    pd.testing.assert_frame_equal(with_entries, features)
    pd.testing.assert_frame_equal(rules_with, rules)


def test_an_entry_before_as_of_counts(crm: Path) -> None:
    open_lead = "L3"  # created 2024-03-01, open at AS_OF
    entry = pd.DataFrame(
        {
            "lead_id": [open_lead],
            "recorded_at": [AS_OF - pd.Timedelta(days=1)],
            "field": ["budget"],
            "value": ["no"],
        }
    )
    features, _ = _features_and_rules(crm, None)
    changed, _ = _features_and_rules(crm, entry)
    row = changed.set_index("lead_id").loc[open_lead]
    assert row["qual_budget"] == 0.0 and row["qual_budget_known"] == 1
    assert features.set_index("lead_id").loc[open_lead, "qual_budget_known"] == 0


def test_every_entry_is_a_row_of_the_next_validate(crm: Path, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.upgrade()
    at = datetime(2024, 5, 1, tzinfo=UTC)
    add_entries(store, "L3", {"budget": "no", "timeline_months": "2"}, REPS, "ana", at)
    add_entries(store, "L2", {"need": "yes"}, REPS, "bo", at)
    before = load_dataset(crm, LATER, CONFIG.validation).summary.set_index("table")
    after = load_dataset(
        crm, LATER, CONFIG.validation, qualification_rows(store)
    ).summary.set_index("table")
    n = count_entries(store)
    assert n == 3
    assert (
        after.loc["qualifications", "rows_in"]
        == before.loc["qualifications", "rows_in"] + n
    )
    assert (
        after.loc["qualifications", "kept"] == before.loc["qualifications", "kept"] + n
    )
    assert after.drop("qualifications").equals(before.drop("qualifications"))
