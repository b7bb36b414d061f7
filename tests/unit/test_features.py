"""Point-in-time features on hand-written tables: every edge of the as-of rules.

The rows of ``feature_tables.hand_tables`` each exist for a reason (see the comments
there); these tests pin the values those rows must give.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from feature_tables import AS_OF, DAY, SECOND, hand_tables
from predscore.config import EngineConfig, FeaturesConfig, IcpConfig, load_config
from predscore.errors import ConfigError, DataValidationError, SchemaError
from predscore.features import (
    KEY_COLUMNS,
    SNAPSHOT_COLUMNS,
    build_features,
    build_snapshots,
    export_features,
    export_snapshots,
    feature_specs,
    write_features,
)
from predscore.schema import TABLE_ORDER, write_table

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs"
Tables = dict[str, pd.DataFrame]


@pytest.fixture(scope="module")
def tables() -> Tables:
    return hand_tables()


@pytest.fixture(scope="module")
def features(tables: Tables) -> pd.DataFrame:
    return build_features(tables, AS_OF).set_index("lead_id")


def _write_dir(tables: Tables, folder: Path) -> Path:
    for table in TABLE_ORDER:
        write_table(tables[table], folder, table)
    return folder


# --- spine ----------------------------------------------------------------------------


def test_one_row_per_open_lead(features: pd.DataFrame) -> None:
    # L4 created exactly at as_of is in; L5 one second later is out; L6 closed exactly
    # at as_of is out; L7 closed one second after is still open; L8 closed long ago.
    assert list(features.index) == ["L1", "L2", "L3", "L4", "L7"]
    assert (features["as_of"] == AS_OF).all()


def test_columns_follow_the_contract(tables: Tables) -> None:
    frame = build_features(tables, AS_OF)
    specs = feature_specs(lead_extras={"score_hint": "DOUBLE", "segment": "VARCHAR"})
    assert list(frame.columns) == [*KEY_COLUMNS, *(s.name for s in specs)]
    assert str(frame["as_of"].dtype) == "datetime64[us, UTC]"
    for spec in specs:
        assert str(frame[spec.name].dtype) == spec.dtype, spec.name


def test_feature_count_by_family() -> None:
    counts = Counter(spec.family for spec in feature_specs())
    assert counts == {"fit": 22, "engagement": 176, "qualification": 30}
    names = [spec.name for spec in feature_specs()]
    assert len(names) == len(set(names))


def test_windows_shape_the_columns() -> None:
    names = {s.name for s in feature_specs(FeaturesConfig(windows_days=[14, 3]))}
    assert {"n_web_view_3d", "n_web_view_14d"} <= names
    assert "n_web_view_7d" not in names


# --- engagement -----------------------------------------------------------------------


def test_event_at_as_of_counts_one_second_after_does_not(
    features: pd.DataFrame,
) -> None:
    # L1 web views known at as_of: 4 three days before and one exactly at as_of
    assert features.loc["L1", "n_web_view_7d"] == 5
    assert features.loc["L1", "days_since_last_web"] == 0.0
    assert features.loc["L1", "time_on_site_seconds_7d"] == 60.0  # not the 999 s after


def test_windows_are_half_open(features: pd.DataFrame) -> None:
    l1 = features.loc["L1"]
    assert l1["n_email_open_7d"] == 1  # 7 days minus one second before as_of
    assert (l1["n_email_click_7d"], l1["n_email_click_30d"]) == (0, 1)  # exactly 7 days
    assert (l1["n_call_attempt_30d"], l1["n_call_attempt_90d"]) == (0, 1)  # exactly 30


def test_passive_actions_count_but_are_not_engagement(features: pd.DataFrame) -> None:
    l1 = features.loc["L1"]
    assert l1["n_email_sent_7d"] == 1
    assert l1["n_email_7d"] == 1  # the open only
    assert l1["days_since_last_email"] == pytest.approx(7 - 1 / 86400)
    assert l1["n_touches_7d"] == 7  # 5 views, the open, the meeting


def test_distinct_details_and_channels(features: pd.DataFrame) -> None:
    l1 = features.loc["L1"]
    assert l1["n_distinct_content_detail_30d"] == 2  # whitepaper-a, ebook-b
    assert l1["n_content_download_90d"] == 3
    assert l1["n_distinct_web_detail_7d"] == 3  # /pricing, /home, /product
    assert (l1["n_distinct_channels_7d"], l1["n_distinct_channels_90d"]) == (3, 5)


def test_visits_split_on_a_thirty_minute_gap(features: pd.DataFrame) -> None:
    # views at t0, t0+29 min (visit 1), t0+59 min twice (visit 2), as_of (visit 3)
    l1 = features.loc["L1"]
    assert l1["web_visits_7d"] == 3
    assert l1["pages_per_visit_7d"] == pytest.approx(5 / 3)
    assert pd.isna(features.loc["L3", "pages_per_visit_7d"])


def test_recency_frequency_trend_decay(features: pd.DataFrame) -> None:
    l1 = features.loc["L1"]
    assert l1["days_since_creation"] == 60.0
    assert l1["days_since_first_touch"] == 40.0
    assert l1["active_days_7d"] == 5
    assert l1["n_touches_prev_30d"] == 3
    assert l1["trend_30d"] == pytest.approx((10 - 3) / 13)
    assert l1["touches_per_week"] == pytest.approx(13 * 7 / 60)
    assert (
        features.loc["L4", "touches_per_week"] == 0.0
    )  # created at as_of: no divide by 0
    assert features.loc["L1", "decayed_meeting"] == pytest.approx(0.5 ** (1 / 30))


def test_silent_lead_has_zeros_and_missing_recency(features: pd.DataFrame) -> None:
    l3 = features.loc["L3"]
    assert l3["n_touches_90d"] == 0 and l3["engagement_decayed"] == 0.0
    assert l3["trend_30d"] == 0.0
    assert pd.isna(l3["days_since_last_touch"])


# --- qualification --------------------------------------------------------------------


def test_latest_qualification_wins(features: pd.DataFrame) -> None:
    l1 = features.loc["L1"]
    assert l1["qual_budget"] == 0.0  # "no" five days ago beats "yes" twenty days ago
    assert l1["qual_authority"] == 1.0  # tie at the same instant: greatest value
    assert l1["qual_need"] == 0.0  # the "yes" one second after as_of is not known
    assert (l1["qual_timeline_months"], l1["qual_budget_amount"]) == (6.0, 150000.0)
    assert l1["qual_decision_process"] == "committee"
    assert pd.isna(l1["qual_champion"]) and l1["qual_champion_known"] == 0  # "unknown"
    assert l1["qual_budget_known"] == 1
    assert features.loc["L7", "qual_metrics"] == "roi"  # recorded exactly at as_of
    assert pd.isna(features.loc["L2", "qual_budget"])  # only answered in the future
    assert features.loc["L2", "qual_budget_known"] == 0


# --- fit ------------------------------------------------------------------------------


def test_icp_matches_and_score(features: pd.DataFrame) -> None:
    l1, l2, l3 = features.loc["L1"], features.loc["L2"], features.loc["L3"]
    assert l1["icp_tech_stack_match"] == pytest.approx(2 / 5)  # aws, salesforce
    assert l1["icp_fit_score"] == pytest.approx(1 - 0.10 * 0.6)
    assert l2["icp_employees_match"] == pytest.approx(1 - 0.39794, abs=1e-5)  # 20 < 50
    assert l2["icp_annual_revenue_match"] == pytest.approx(1 - 0.30103, abs=1e-5)
    assert pd.isna(l3["icp_sector_match"])  # null sector: unknown, not a mismatch
    assert l3["icp_geography_match"] == 1.0  # no account country: the contact's (DE)
    assert l3["icp_known_share"] == pytest.approx(0.25)  # geography + role
    assert l3["icp_fit_score"] == pytest.approx(0.15)


def test_range_tolerance_zero_makes_a_flag(tables: Tables) -> None:
    config = FeaturesConfig(icp_range_tolerance_decades=0)
    frame = build_features(tables, AS_OF, config).set_index("lead_id")
    assert frame.loc["L2", "icp_employees_match"] == 0.0


def test_extra_lead_columns_pass_through_typed(features: pd.DataFrame) -> None:
    assert features["score_hint"].dtype == "float64"
    assert features.loc["L1", "score_hint"] == 3.5
    assert isinstance(features["segment"].dtype, pd.CategoricalDtype)
    assert list(features["segment"].cat.categories) == ["ent", "smb", "x"]


def test_extra_timestamp_becomes_days_before_each_as_of(tables: Tables) -> None:
    # attributes are known once per lead; their age is measured at every row's as_of
    leads = tables["leads"]
    met = [AS_OF - 2 * DAY if lead == "L1" else None for lead in leads["lead_id"]]
    met[-1] = AS_OF - 100 * DAY  # a closed lead: its snapshots see it age
    extra = {**tables, "leads": leads.assign(met_at=pd.to_datetime(met, utc=True))}
    features = build_features(extra, AS_OF).set_index("lead_id")
    assert features.loc["L1", "met_at_days"] == 2.0
    assert features["met_at_days"].drop("L1").isna().all()
    snaps = build_snapshots(extra)
    stamps = snaps["lead_id"].map(dict(zip(leads["lead_id"], met, strict=True)))
    expected = (snaps["as_of"] - pd.to_datetime(stamps, utc=True)) / pd.Timedelta(
        days=1
    )
    pd.testing.assert_series_equal(
        snaps["met_at_days"], expected, check_names=False, check_exact=True
    )
    assert snaps["met_at_days"].notna().any()


def test_non_feature_columns_are_not_features(tables: Tables) -> None:
    # the owning rep is bookkeeping: by default no feature may be derived from it
    owned = {**tables, "leads": tables["leads"].assign(owner="Dana Brooks")}
    names = {spec.name for spec in feature_specs(lead_extras={"owner": "VARCHAR"})}
    assert "owner" not in build_features(owned, AS_OF).columns
    assert "owner" in names  # a listed extra would be one: the config removes it
    kept = build_features(owned, AS_OF, FeaturesConfig(non_feature_columns=[]))
    assert "owner" in kept.columns
    dropped = build_features(
        owned, AS_OF, FeaturesConfig(non_feature_columns=["owner", "segment"])
    )
    assert not {"owner", "segment"} & set(dropped.columns)
    pd.testing.assert_frame_equal(
        dropped, build_features(tables, AS_OF).drop(columns="segment")
    )


def test_an_extra_column_may_take_the_name_of_an_account_attribute(
    tables: Tables,
) -> None:
    # the lead's own "tech_stack" is a feature of its own; the account's stays the
    # source of the ICP tech stack features
    extra = {**tables, "leads": tables["leads"].assign(tech_stack="crm")}
    features = build_features(extra, AS_OF)
    plain = build_features(tables, AS_OF)
    assert (features["tech_stack"] == "crm").all()
    pd.testing.assert_frame_equal(features.drop(columns="tech_stack"), plain)


def test_extra_column_clashing_with_a_feature(tables: Tables) -> None:
    clash = {**tables, "leads": tables["leads"].assign(n_touches_all=1)}
    with pytest.raises(
        DataValidationError, match="extra column 'n_touches_all'.*rename"
    ):
        build_features(clash, AS_OF)


# --- snapshots ------------------------------------------------------------------------


def test_snapshots_until_strictly_before_close(tables: Tables) -> None:
    snaps = build_snapshots(tables)
    assert list(snaps.columns[:4]) == [*KEY_COLUMNS, *SNAPSHOT_COLUMNS]
    assert snaps.groupby("lead_id").size().to_dict() == {"L6": 5, "L7": 5, "L8": 3}
    l8 = snaps[snaps["lead_id"] == "L8"]
    assert list(l8["as_of"]) == [AS_OF - 60 * DAY + k * 7 * DAY for k in range(3)]
    assert (snaps["as_of"] < snaps["closed_at"]).all()
    assert snaps.groupby("lead_id")["label"].max().to_dict() == {
        "L6": 0,
        "L7": 1,
        "L8": 1,
    }
    assert snaps["label"].dtype == "int8"


def test_snapshot_horizon(tables: Tables) -> None:
    config = FeaturesConfig(horizon_days=10, horizon_rows="known")
    snaps = build_snapshots(tables, config)
    l7 = snaps[snaps["lead_id"] == "L7"]  # won at as_of + 1 s, created 30 days before
    expected = [(AS_OF + SECOND - t) <= pd.Timedelta(days=10) for t in l7["as_of"]]
    assert l7["label"].astype(bool).tolist() == expected == [False] * 3 + [True] * 2
    # "complete" keeps only the rows whose 10 days have passed at the cutoff (the
    # newest event, two days after as_of): L7's last row (as_of - 2 days) goes
    complete = build_snapshots(tables, FeaturesConfig(horizon_days=10))
    kept = complete[complete["lead_id"] == "L7"]
    assert kept["as_of"].tolist() == l7["as_of"].tolist()[:-1]


def test_snapshot_rows_equal_features_at_their_as_of(tables: Tables) -> None:
    snaps = build_snapshots(tables)
    row = snaps[snaps["lead_id"] == "L7"].iloc[2]
    again = build_features(tables, row["as_of"]).set_index("lead_id").loc["L7"]
    features_only = snaps.columns[4:]
    pd.testing.assert_series_equal(
        row[features_only], again[features_only], check_names=False
    )


# --- sources, batching, files ---------------------------------------------------------


def test_folder_and_frames_agree(tables: Tables, tmp_path: Path) -> None:
    folder = _write_dir(tables, tmp_path / "data")
    pd.testing.assert_frame_equal(
        build_features(folder, AS_OF), build_features(tables, AS_OF)
    )


def test_batches_change_nothing(tables: Tables) -> None:
    small = EngineConfig(batch_rows=2)
    pd.testing.assert_frame_equal(
        build_snapshots(tables, engine=small), build_snapshots(tables)
    )
    pd.testing.assert_frame_equal(
        build_features(tables, AS_OF, engine=small), build_features(tables, AS_OF)
    )


def test_two_batches_at_once_change_nothing(tables: Tables) -> None:
    # threads=1 computes one batch at a time; the default, two at once
    for batch_rows in (2, 250_000):
        one, two = (
            EngineConfig(batch_rows=batch_rows, threads=threads)
            for threads in (1, None)
        )
        pd.testing.assert_frame_equal(
            build_snapshots(tables, engine=two), build_snapshots(tables, engine=one)
        )
        pd.testing.assert_frame_equal(
            build_features(tables, AS_OF, engine=two),
            build_features(tables, AS_OF, engine=one),
        )


def test_exports_read_back_as_the_frames(tables: Tables, tmp_path: Path) -> None:
    engine = EngineConfig(batch_rows=4)
    rows = export_snapshots(tables, tmp_path / "snaps.parquet", engine=engine)
    expected = build_snapshots(tables)
    back = pd.read_parquet(tmp_path / "snaps.parquet")
    assert rows == len(expected)
    pd.testing.assert_frame_equal(back, expected, check_categorical=False)
    assert export_features(tables, AS_OF, tmp_path / "f.parquet") == 5


def test_write_features_round_trip(tables: Tables, tmp_path: Path) -> None:
    frame = build_features(tables, AS_OF)
    path = write_features(frame, tmp_path / "out" / "features.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame, check_categorical=False)
    assert [p.name for p in path.parent.iterdir()] == ["features.parquet"]


def test_missing_table_file(tables: Tables, tmp_path: Path) -> None:
    folder = _write_dir(tables, tmp_path / "data")
    (folder / "qualifications.parquet").unlink()
    with pytest.raises(SchemaError, match="qualifications.parquet.*no such file"):
        build_features(folder, AS_OF)


def test_unknown_passive_action(tables: Tables) -> None:
    config = FeaturesConfig(passive_actions={"email": ["sent", "snail"]})
    with pytest.raises(ConfigError, match=r"passive_actions\.email.*\['snail'\]"):
        build_features(tables, AS_OF, config)


def test_bad_memory_limit(tables: Tables) -> None:
    with pytest.raises(ConfigError, match=r"engine\.memory_limit: 'lots'"):
        build_features(tables, AS_OF, engine=EngineConfig(memory_limit="lots"))


def test_naive_as_of_is_utc(tables: Tables) -> None:
    naive = AS_OF.tz_localize(None)
    pd.testing.assert_frame_equal(
        build_features(tables, naive), build_features(tables, AS_OF)
    )


def test_shipped_yaml_mirrors_the_defaults() -> None:
    config = load_config(REPO_CONFIGS)
    assert config.features == FeaturesConfig()
    assert config.icp == IcpConfig()


def test_windows_must_be_positive_and_distinct() -> None:
    with pytest.raises(ValueError, match="distinct"):
        FeaturesConfig(windows_days=[7, 7])
    with pytest.raises(ValueError, match=">= 1 day"):
        FeaturesConfig(windows_days=[0, 7])
    assert FeaturesConfig(windows_days=[90, 7]).windows_days == [7, 90]
