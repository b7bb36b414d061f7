"""The DuckDB engine agrees with the plain pandas reference (``tests/oracles.py``).

Every column, every row, on the hand-written tables, at cutoffs chosen to sit on the
edges of the rows (at an event, one second after, between two web views of a visit),
with the default and with a deliberately odd configuration.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from feature_tables import AS_OF, DAY, MINUTE, SECOND, hand_tables
from oracles import oracle_features, oracle_snapshots
from predscore.config import EngineConfig, FeaturesConfig, IcpConfig, Range
from predscore.features import build_features, build_snapshots
from predscore.schema import TABLE_ORDER, write_table

ODD = FeaturesConfig(
    windows_days=[1, 3, 45],
    half_life_days=2.5,
    trend_window_days=4,
    visit_gap_minutes=29.5,
    passive_actions={},
    icp_range_tolerance_decades=0.5,
    snapshot_every_days=2.5,
    horizon_days=20,
)
SMALL_BATCHES = EngineConfig(batch_rows=3)
ODD_ICP = IcpConfig(
    sectors=["retail"],
    employees=Range(min=10),
    annual_revenue=Range(max=1e6),
    countries=[],
    regions=["NA"],
    tech_stack=[],
    roles=["user"],
    seniorities=[],
    departments=["it", "sales"],
    weights={"sector": 1.0, "tech_stack": 2.0, "department": 0.5},
)
CUTOFFS = [
    AS_OF,
    AS_OF + SECOND,
    AS_OF - SECOND,
    AS_OF - 3 * DAY + 29 * MINUTE,
    AS_OF - 30 * DAY,
    AS_OF + 10 * DAY,
]


def assert_same(engine: pd.DataFrame, oracle: pd.DataFrame) -> None:
    """Same rows, same columns, same dtypes, values equal to 1e-12 (relative)."""
    assert sorted(engine.columns) == sorted(oracle.columns)
    pd.testing.assert_frame_equal(
        engine, oracle[engine.columns], check_exact=False, rtol=1e-12, atol=1e-12
    )


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return hand_tables()


@pytest.mark.parametrize("as_of", CUTOFFS, ids=[str(c) for c in CUTOFFS])
@pytest.mark.parametrize("config", [FeaturesConfig(), ODD], ids=["default", "odd"])
def test_features_equal_the_reference(
    tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, config: FeaturesConfig
) -> None:
    icp = IcpConfig() if config == FeaturesConfig() else ODD_ICP
    engine = SMALL_BATCHES if config == ODD else None
    assert_same(
        build_features(tables, as_of, config, icp, engine=engine),
        oracle_features(tables, as_of, config, icp),
    )


@pytest.mark.parametrize("config", [FeaturesConfig(), ODD], ids=["default", "odd"])
def test_snapshots_equal_the_reference(
    tables: dict[str, pd.DataFrame], config: FeaturesConfig, tmp_path: Path
) -> None:
    for table in TABLE_ORDER:
        write_table(tables[table], tmp_path, table)
    engine = SMALL_BATCHES if config == ODD else None
    assert_same(
        build_snapshots(tmp_path, config, engine=engine),
        oracle_snapshots(tables, config),
    )


HORIZON_CUTOFFS = [
    AS_OF,  # L6 closes exactly then (closed), L7 a second later (still open)
    AS_OF - SECOND,
    AS_OF + 10 * DAY,
    pd.Timestamp("2026-01-25T12:00:00Z"),  # = L1's third row + 20 days: kept
    pd.Timestamp("2026-01-25T11:59:59Z"),  # one second short of it: not kept
]


@pytest.mark.parametrize("rows", ["complete", "known"])
@pytest.mark.parametrize(
    "cutoff", HORIZON_CUTOFFS, ids=[str(c) for c in HORIZON_CUTOFFS]
)
def test_horizon_snapshots_equal_the_reference(
    tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp, rows: str
) -> None:
    config = ODD.model_copy(update={"horizon_rows": rows})
    engine = build_snapshots(tables, config, ODD_ICP, cutoff, engine=SMALL_BATCHES)
    assert_same(engine, oracle_snapshots(tables, config, ODD_ICP, cutoff))
    window_over = engine["as_of"] + pd.Timedelta(days=ODD.horizon_days) <= cutoff
    if rows == "complete":
        assert window_over.all()
    open_rows = engine["closed_at"].isna()
    assert open_rows.any()  # the leads still open give rows, all labelled 0
    assert (engine.loc[open_rows, "label"] == 0).all()
