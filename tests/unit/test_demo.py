"""The synthetic demo CRM: determinism, realism, the trap, streamed chunks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from predscore.config import DemoConfig, IcpConfig
from predscore.demo import generate_demo_data
from predscore.demo.catalogue import REPS
from predscore.demo.trap import segment_close_rates
from predscore.io import file_sha256
from predscore.schema import CHANNELS, TABLE_ORDER, TABLES
from predscore.schema.store import read_table, table_path
from predscore.schema.validate import load_dataset

AS_OF = pd.Timestamp("2026-10-01T00:00:00Z")


def _generate(out: Path, **overrides: object) -> Path:
    generate_demo_data(out, DemoConfig(**overrides), IcpConfig())
    return out


@pytest.fixture(scope="module")
def default_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default demo data set (5,000 leads, seed 42), generated once."""
    return _generate(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def default_tables(default_demo: Path) -> dict[str, pd.DataFrame]:
    return load_dataset(default_demo, AS_OF).tables


def _hashes(folder: Path) -> dict[str, str]:
    return {t: file_sha256(table_path(folder, t)) for t in TABLE_ORDER}


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    # several chunks, so that chunk seeding and streamed writes are covered too
    a = _generate(tmp_path / "a", leads=2500, chunk_leads=1000, seed=7)
    b = _generate(tmp_path / "b", leads=2500, chunk_leads=1000, seed=7)
    assert _hashes(a) == _hashes(b)


def test_other_seed_gives_other_data(tmp_path: Path) -> None:
    a = _generate(tmp_path / "a", leads=1000, seed=1)
    b = _generate(tmp_path / "b", leads=1000, seed=2)
    assert _hashes(a)["activities"] != _hashes(b)["activities"]


def test_clean_demo_data_validates_without_rejection(tmp_path: Path) -> None:
    folder = _generate(tmp_path, leads=2500, chunk_leads=1000, dirty_rows=0.0)
    result = load_dataset(folder, AS_OF)
    assert result.rejections.empty
    assert len(result.tables["leads"]) == 2500
    assert result.tables["leads"]["lead_id"].is_unique
    assert result.tables["accounts"]["account_id"].is_unique


def test_dirty_rows_exercise_every_rejection_kind(default_demo: Path) -> None:
    result = load_dataset(default_demo, AS_OF)
    reasons = " | ".join(result.rejections["reason"].unique())
    for expected in (
        "duplicate lead_id",
        "unknown lead_id",
        "after the as-of time",
        "before the lead's created_at",
        "is not one of ['won', 'lost']",
        "unparseable value",
        "non-negative",
    ):
        assert expected in reasons
    summary = result.summary.set_index("table")
    assert (summary["rows_in"] == summary["kept"] + summary["rejected"]).all()
    assert 0 < summary["rejected"].sum() < 0.01 * summary["rows_in"].sum()


def test_tables_have_canonical_types(default_demo: Path) -> None:
    for table in TABLE_ORDER:
        frame = read_table(default_demo, table)
        assert list(frame.columns[: len(TABLES[table].columns)]) == [
            c.name for c in TABLES[table].columns
        ]
        time_col = TABLES[table].time_column
        assert str(frame[time_col].dtype) == "datetime64[us, UTC]"
    stacks = read_table(default_demo, "accounts")["tech_stack"].dropna()
    assert all(isinstance(s, list) for s in stacks)


def test_demo_crm_looks_like_a_crm(default_tables: dict[str, pd.DataFrame]) -> None:
    leads, accounts = default_tables["leads"], default_tables["accounts"]
    acts, outcomes = default_tables["activities"], default_tables["outcomes"]
    assert leads["account_id"].value_counts().max() > 1  # several contacts per account
    assert accounts["sector"].nunique() >= 10
    assert accounts["country"].nunique() >= 10
    assert set(leads["role"].dropna().astype(str)) == {
        "decision_maker",
        "influencer",
        "user",
        "unknown",
    }
    assert len(set(acts["channel"].astype(str))) >= 8
    assert set(acts["channel"].astype(str)) <= set(CHANNELS)
    assert set(default_tables["qualifications"]["field"].astype(str)) >= {
        "budget",
        "authority",
        "need",
        "timeline_months",
    }
    closed = outcomes.merge(leads[["lead_id", "created_at"]], on="lead_id")
    months_to_close = (closed["closed_at"] - closed["created_at"]).dt.days / 30
    assert months_to_close.median() > 1
    won_rate = (outcomes["outcome"] == "won").mean()
    assert 0.15 <= won_rate <= 0.25
    open_share = 1 - len(outcomes) / len(leads)
    assert 0.1 < open_share < 0.5


def test_every_lead_has_its_accounts_rep(
    default_tables: dict[str, pd.DataFrame],
) -> None:
    leads, accounts = default_tables["leads"], default_tables["accounts"]
    assert leads["owner"].notna().all()
    # one owner per account, a rep of the account's region
    assert (leads.groupby("account_id")["owner"].nunique() == 1).all()
    region = leads.merge(accounts[["account_id", "region"]], on="account_id")
    for reg, owners in region.groupby("region", observed=True)["owner"]:
        assert set(owners) <= set(REPS.get(str(reg), REPS["OTHER"])), reg
    assert leads["owner"].nunique() >= 5


def test_owners_follow_the_config_and_seed(tmp_path: Path) -> None:
    reps = {"EMEA": ["Ana", "Bo"], "OTHER": ["Cy"]}
    first = read_table(_generate(tmp_path / "a", leads=400, owners=reps), "leads")
    assert set(first["owner"]) <= {"Ana", "Bo", "Cy"}
    again = read_table(_generate(tmp_path / "b", leads=400, owners=reps), "leads")
    pd.testing.assert_series_equal(first["owner"], again["owner"])
    with pytest.raises(ValueError, match="OTHER"):
        DemoConfig(owners={"EMEA": ["Ana"]})


def test_no_activity_after_the_close(default_tables: dict[str, pd.DataFrame]) -> None:
    acts = default_tables["activities"].merge(default_tables["outcomes"], on="lead_id")
    assert (acts["occurred_at"] <= acts["closed_at"]).all()


def test_the_trap_is_in_the_data(default_tables: dict[str, pd.DataFrame]) -> None:
    rates = segment_close_rates(default_tables).set_index("segment")
    overall = rates.loc["all closed leads", "close_rate"]
    engaged = rates.loc["engaged, no authority, no project"]
    quiet = rates.loc["quiet decision-maker, need, deadline <= 3 months"]
    assert engaged["leads"] >= 200 and quiet["leads"] >= 30
    assert engaged["close_rate"] < 0.5 * overall
    assert quiet["close_rate"] > 2.5 * overall
    assert engaged["engagement_median"] > 3 * quiet["engagement_median"]


def test_won_rate_follows_the_config(tmp_path: Path) -> None:
    folder = _generate(tmp_path, leads=4000, won_rate=0.35, dirty_rows=0.0)
    outcomes = load_dataset(folder, AS_OF).tables["outcomes"]
    assert (outcomes["outcome"] == "won").mean() == pytest.approx(0.35, abs=0.04)


def test_killed_generation_leaves_no_file(tmp_path: Path) -> None:
    def boom(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_demo_data(
            tmp_path, DemoConfig(leads=2000, chunk_leads=1000), IcpConfig(), boom
        )
    assert list(tmp_path.iterdir()) == []
