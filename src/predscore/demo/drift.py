"""Drift injected into the demo CRM over time (``predscore demo-data --drift``).

Stage: source (demo data only). Input: the accounts or activities of a chunk, the
creation times and the ``demo.drift`` section; output: the same rows with a share
changed that grows with time, from none before ``drift.start`` (a share of the time
span) to ``drift.share`` at its end. The draws use a generator of their own, so that
everything else in the data is what it is without drift.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predscore.config import DemoConfig

__all__ = ["drift_channels", "drift_sectors", "drift_weight"]


def drift_weight(times: np.ndarray, config: DemoConfig) -> np.ndarray:
    """Chance that a row stamped at ``times`` is changed: 0 before the drift starts,
    rising linearly to ``drift.share`` at the end of the span."""
    drift = config.drift
    if drift is None:
        return np.zeros(len(times))
    start = np.datetime64(config.start.replace(tzinfo=None), "us")
    end = np.datetime64(config.end.replace(tzinfo=None), "us")
    where = (np.asarray(times, dtype="datetime64[us]") - start) / (end - start)
    ramp = (where - drift.start) / (1 - drift.start)
    return np.clip(ramp, 0, 1) * drift.share


def drift_sectors(
    accounts: pd.DataFrame,
    first_contact: np.ndarray,
    config: DemoConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Accounts whose first lead arrives during the drift moved to ``drift.sector``."""
    if config.drift is None or config.drift.kind != "sector":
        return accounts
    moved = rng.random(len(accounts)) < drift_weight(first_contact, config)
    sector = accounts["sector"].to_numpy(dtype=object).copy()
    sector[moved] = config.drift.sector
    return accounts.assign(sector=sector)


def drift_channels(
    activities: pd.DataFrame, config: DemoConfig, rng: np.random.Generator
) -> pd.DataFrame:
    """Activities on ``drift.channel_from`` during the drift moved to
    ``drift.channel_to`` (same action, same time)."""
    if config.drift is None or config.drift.kind != "channel":
        return activities
    times = activities["occurred_at"].dt.tz_localize(None).to_numpy("datetime64[us]")
    on = activities["channel"].to_numpy(dtype=object) == config.drift.channel_from
    moved = on & (rng.random(len(activities)) < drift_weight(times, config))
    channel = activities["channel"].to_numpy(dtype=object).copy()
    channel[moved] = config.drift.channel_to
    return activities.assign(channel=channel)
