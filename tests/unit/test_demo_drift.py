"""The drift the demo generator can inject (demo-data --drift)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from predscore.config import DemoConfig, DemoDriftConfig, IcpConfig
from predscore.demo import generate_demo_data


def _tables(folder: Path, drift: DemoDriftConfig | None) -> dict[str, pd.DataFrame]:
    config = DemoConfig(leads=1000, seed=3, dirty_rows=0.0, drift=drift)
    generate_demo_data(folder, config, IcpConfig())
    return {t: pd.read_parquet(folder / f"{t}.parquet") for t in ("accounts", "leads")}


def test_sector_drift_grows_over_time_and_changes_nothing_else(tmp_path: Path) -> None:
    plain = _tables(tmp_path / "plain", None)
    drifted = _tables(tmp_path / "drift", DemoDriftConfig(kind="sector"))
    # the leads are the same people, created at the same times
    pd.testing.assert_frame_equal(plain["leads"], drifted["leads"])
    before = plain["accounts"]["sector"].astype(object).fillna("")
    changed = before.ne(drifted["accounts"]["sector"].astype(object).fillna(""))
    assert changed.any()
    assert (drifted["accounts"].loc[changed, "sector"] == "public_sector").all()
    # before the drift starts (40 % of the span), no account moved
    span_start = pd.Timestamp("2024-10-01", tz="UTC")
    start = span_start + 0.4 * (pd.Timestamp("2026-09-30", tz="UTC") - span_start)
    first = drifted["leads"].groupby("account_id")["created_at"].min()
    moved_first = first.reindex(drifted["accounts"].loc[changed, "account_id"])
    assert (moved_first >= start).all()
    late = drifted["accounts"].assign(
        first=first.reindex(drifted["accounts"]["account_id"]).to_numpy()
    )
    share = (
        late.loc[late["first"] >= start]
        .groupby(late["first"] >= late["first"].quantile(0.9))["sector"]
        .apply(lambda s: (s == "public_sector").mean())
    )
    assert share[True] > share[False]  # the newest accounts moved most
