"""Engagement features: what a lead did, and how recently, as of a cutoff.

Stage: features. Inputs: the staged activities ``act`` (see :mod:`sources`) and the
spine batch ``spine_b``. Output: one row per spine row. Only activities known at the
row's ``as_of`` are used (:func:`pit.known_at`); windows are half-open and end at
``as_of`` (:func:`pit.age_within`).

Families (``{w}`` runs over ``FeaturesConfig.windows_days``):

* counts per channel and action ``n_{channel}_{action}_{w}d`` (every row, passive ones
  included), engaged touches per channel ``n_{channel}_{w}d`` and overall
  ``n_touches_{w}d``, ``n_touches_all``; an *engaged* touch is any activity that is not
  listed in ``FeaturesConfig.passive_actions`` (e.g. an email we sent);
* distinct details (pages, assets, campaigns) per channel ``n_distinct_{channel}_detail_
  {w}d``, distinct channels ``n_distinct_channels_{w}d``;
* frequency: ``active_days_{w}d`` (24-hour periods counted back from ``as_of`` holding an
  engaged touch) and ``touches_per_week`` since creation;
* recency: ``days_since_last_{channel}``, ``days_since_last_touch``,
  ``days_since_first_touch`` (NaN when never), ``days_since_creation``;
* depth, from web views: ``time_on_site_seconds_{w}d`` (sum of ``quantity``),
  ``web_visits_{w}d`` and ``pages_per_visit_{w}d``; a visit is a run of web views less
  than ``visit_gap_minutes`` apart, counted in the window where it starts;
* trend: ``n_touches_prev_{T}d`` (engaged touches in ``(as_of - 2T, as_of - T]``) and
  ``trend_{T}d`` = (last - previous) / (last + previous) in [-1, 1], 0 when both are 0;
* decay: ``engagement_decayed`` and ``decayed_{channel}``, sums of
  ``0.5 ** (age / half_life)`` over engaged touches.

A visit is identified from earlier views only (the gap to the previous view), so the
visits known at ``as_of`` never depend on later views.

Computation: DuckDB joins each spine row with the activities it knows, sessionises web
views and aggregates, in SQL (:mod:`events`), returning *long* results (one row per
spine row and channel or (channel, action)); this module lays them out as columns with a
vectorised numpy scatter, not a loop, and derives ratios from the aggregates. Why not
pivot in SQL: ~130 filtered aggregates cost DuckDB about 1 s per 300,000 groups, ten
times the whole aggregation.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import numpy as np
import pyarrow as pa

from predscore.config import FeaturesConfig
from predscore.features import events, pit
from predscore.features.events import CHANNEL_CODE, PAIR_CODE
from predscore.features.registry import Dtype, FeatureSpec
from predscore.schema.tables import ACTIONS, CHANNELS

__all__ = ["engagement_arrays", "engagement_columns"]

Arrays = dict[str, np.ndarray]


def _spec(
    name: str, dtype: Dtype, kind: str, doc: str, window: int | None = None
) -> FeatureSpec:
    return FeatureSpec(
        name, "engagement", dtype, "activities", doc, "occurred_at", window, kind
    )


def _count_specs(config: FeaturesConfig) -> Iterator[FeatureSpec]:
    windows = config.windows_days
    for c in CHANNELS:
        for a in ACTIONS[c]:
            for w in windows:
                yield _spec(
                    f"n_{c}_{a}_{w}d", "int32", "count", f"{c} {a} in {w} days", w
                )
    for c in CHANNELS:
        for w in windows:
            yield _spec(
                f"n_{c}_{w}d", "int32", "count", f"engaged {c} touches in {w} days", w
            )
    for w in windows:
        yield _spec(
            f"n_touches_{w}d", "int32", "count", f"engaged touches in {w} days", w
        )
    yield _spec("n_touches_all", "int32", "count", "engaged touches ever")
    for c in CHANNELS:
        for w in windows:
            yield _spec(
                f"n_distinct_{c}_detail_{w}d",
                "int32",
                "count",
                f"distinct {c} details (pages, assets) in {w} days",
                w,
            )
    for w in windows:
        yield _spec(
            f"n_distinct_channels_{w}d",
            "int32",
            "count",
            f"distinct channels with engaged touches in {w} days",
            w,
        )


def _other_specs(config: FeaturesConfig) -> Iterator[FeatureSpec]:
    windows, t = config.windows_days, config.trend_window_days
    for w in windows:
        yield _spec(
            f"active_days_{w}d",
            "int32",
            "count",
            f"24-hour periods with an engaged touch in {w} days",
            w,
        )
    yield _spec(
        "touches_per_week",
        "float64",
        "frequency",
        "engaged touches per week since creation (at least one day)",
    )
    for c in CHANNELS:
        yield _spec(
            f"days_since_last_{c}",
            "float64",
            "recency",
            f"days since the last engaged {c} touch",
        )
    yield _spec(
        "days_since_last_touch",
        "float64",
        "recency",
        "days since the last engaged touch",
    )
    yield _spec(
        "days_since_first_touch",
        "float64",
        "recency",
        "days since the first engaged touch",
    )
    yield FeatureSpec(
        "days_since_creation",
        "engagement",
        "float64",
        "leads",
        "days since the lead was created",
        "created_at",
        kind="age",
    )
    for w in windows:
        yield _spec(
            f"time_on_site_seconds_{w}d",
            "float64",
            "sum",
            f"seconds on the web site in {w} days",
            w,
        )
    for w in windows:
        yield _spec(
            f"web_visits_{w}d", "int32", "count", f"web visits started in {w} days", w
        )
    for w in windows:
        yield _spec(
            f"pages_per_visit_{w}d",
            "float64",
            "ratio",
            f"pages per web visit started in {w} days",
            w,
        )
    yield _spec(
        f"n_touches_prev_{t}d",
        "int32",
        "count",
        f"engaged touches in the {t} days before the last {t}",
    )
    yield _spec(
        f"trend_{t}d",
        "float64",
        "trend",
        f"(last {t} days - previous {t}) / (sum), 0 when both are 0",
    )
    yield _spec(
        "engagement_decayed",
        "float64",
        "decay",
        f"engaged touches weighted by a {config.half_life_days:g}-day half-life",
    )
    for c in CHANNELS:
        yield _spec(f"decayed_{c}", "float64", "decay", f"engaged {c} touches, decayed")


def engagement_columns(config: FeaturesConfig) -> list[FeatureSpec]:
    """Engagement feature specs in output order."""
    return [*_count_specs(config), *_other_specs(config)]


# --- layout: long aggregates to columns ----------------------------------------------


def _np(table: pa.Table, name: str, dtype: type = np.float64) -> np.ndarray:
    return table[name].to_numpy(zero_copy_only=False).astype(dtype, copy=False)


def _scatter(
    n: int, width: int, rows: np.ndarray, cols: np.ndarray, values: np.ndarray
) -> np.ndarray:
    """Dense ``(width, n)`` sums of ``values`` at ``(cols, rows)``: one row per column.

    Column-major, so that each output column is contiguous.
    """
    flat = np.bincount(cols * n + rows, weights=values, minlength=n * width)
    return flat.astype(np.float64, copy=False).reshape(width, n)  # empty: int64


def _extreme(
    n: int,
    width: int,
    rows: np.ndarray,
    cols: np.ndarray,
    values: np.ndarray,
    op: np.ufunc,
    fill: float,
) -> np.ndarray:
    out = np.full(n * width, fill)
    op.at(out, cols * n + rows, values)
    return out.reshape(width, n)


def _nan_if(values: np.ndarray, fill: float) -> np.ndarray:
    return np.where(values == fill, np.nan, values)


def _days(age_us: np.ndarray) -> np.ndarray:
    return age_us / float(pit.US_PER_DAY)


def _pair_counts(
    out: Arrays, pairs: pa.Table, row: np.ndarray, n: int, config: FeaturesConfig
) -> None:
    known = pairs["pair"].is_valid().to_numpy(zero_copy_only=False)
    code = _np(pairs, "pair", np.float64)
    code = np.where(known, code, 0).astype(np.int64)
    for i, w in enumerate(config.windows_days):
        grid = _scatter(
            n, len(PAIR_CODE), row[known], code[known], _np(pairs, f"c_{i}")[known]
        )
        for (c, a), k in PAIR_CODE.items():
            out[f"n_{c}_{a}_{w}d"] = grid[k]


def _channel_features(
    out: Arrays, pairs: pa.Table, row: np.ndarray, n: int, config: FeaturesConfig
) -> None:
    engaged = pairs["engaged"].to_numpy(zero_copy_only=False).astype(bool)
    r, ch = row[engaged], _np(pairs, "ch", np.int64)[engaged]
    width = len(CHANNEL_CODE)

    def summed(name: str) -> np.ndarray:
        return _scatter(n, width, r, ch, _np(pairs, name)[engaged])

    for i, w in enumerate(config.windows_days):
        grid = summed(f"c_{i}")
        for c, k in CHANNEL_CODE.items():
            out[f"n_{c}_{w}d"] = grid[k]
        out[f"n_touches_{w}d"] = grid.sum(axis=0)
        out[f"n_distinct_channels_{w}d"] = (grid > 0).sum(axis=0)
    out["n_touches_all"] = summed("c_all").sum(axis=0)
    last = _extreme(n, width, r, ch, _np(pairs, "age_min")[engaged], np.minimum, np.inf)
    first = _extreme(
        n, width, r, ch, _np(pairs, "age_max")[engaged], np.maximum, -np.inf
    )
    for c, k in CHANNEL_CODE.items():
        out[f"days_since_last_{c}"] = _days(_nan_if(last[k], np.inf))
    out["days_since_last_touch"] = _days(_nan_if(last.min(axis=0), np.inf))
    out["days_since_first_touch"] = _days(_nan_if(first.max(axis=0), -np.inf))
    decay = summed("decay")
    out["engagement_decayed"] = decay.sum(axis=0)
    for c, k in CHANNEL_CODE.items():
        out[f"decayed_{c}"] = decay[k]
    recent, prev = summed("c_last").sum(axis=0), summed("c_prev").sum(axis=0)
    t = config.trend_window_days
    out[f"n_touches_prev_{t}d"] = prev
    both = recent + prev
    out[f"trend_{t}d"] = np.divide(recent - prev, both, out=np.zeros(n), where=both > 0)


def _per_row(table: pa.Table, name: str, row: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    out[row] = np.nan_to_num(_np(table, name), nan=0.0)
    return out


def _details(
    out: Arrays,
    con: duckdb.DuckDBPyConnection,
    first_sid: int,
    n: int,
    config: FeaturesConfig,
) -> None:
    det = con.sql(events.details_sql(config)).to_arrow_table()
    row = _np(det, "sid", np.int64) - first_sid
    ch = _np(det, "ch", np.int64)
    for i, w in enumerate(config.windows_days):
        grid = _scatter(n, len(CHANNEL_CODE), row, ch, _np(det, f"c_{i}"))
        for c, k in CHANNEL_CODE.items():
            out[f"n_distinct_{c}_detail_{w}d"] = grid[k]


def _web_and_days(
    out: Arrays,
    con: duckdb.DuckDBPyConnection,
    first_sid: int,
    n: int,
    config: FeaturesConfig,
) -> None:
    web = con.sql(events.web_sql(config)).to_arrow_table()
    row = _np(web, "sid", np.int64) - first_sid
    for i, w in enumerate(config.windows_days):
        out[f"time_on_site_seconds_{w}d"] = _per_row(web, f"tos_{i}", row, n)
        visits, pages = (
            _per_row(web, f"vis_{i}", row, n),
            _per_row(web, f"pg_{i}", row, n),
        )
        out[f"web_visits_{w}d"] = visits
        out[f"pages_per_visit_{w}d"] = np.divide(
            pages, visits, out=np.full(n, np.nan), where=visits > 0
        )
    days = con.sql(events.active_days_sql(config)).to_arrow_table()
    row = _np(days, "sid", np.int64) - first_sid
    for i, w in enumerate(config.windows_days):
        out[f"active_days_{w}d"] = _per_row(days, f"c_{i}", row, n)


def engagement_arrays(
    con: duckdb.DuckDBPyConnection,
    config: FeaturesConfig,
    lead_filter: str,
    first_sid: int,
    age_since_creation_us: np.ndarray,
) -> dict[str, pa.Array]:
    """Engagement features of the spine batch ``spine_b``, one array per spec.

    Parameters
    ----------
    con : DuckDBPyConnection
        Holds ``act`` and ``spine_b`` (whose ``sid`` run from ``first_sid``, contiguous).
    config : FeaturesConfig
        Windows, half-life, visit gap, trend window.
    lead_filter : str
        SQL condition on ``lead_id`` keeping at least the batch's leads (it prunes the
        scan of ``act``; the join with ``spine_b`` decides).
    first_sid : int
        ``sid`` of the first row of the batch.
    age_since_creation_us : ndarray
        ``as_of - created_at`` of each row, in microseconds (from :mod:`pit`).
    """
    n = len(age_since_creation_us)
    con.execute("CREATE OR REPLACE TEMP TABLE ev AS " + events.events_sql(lead_filter))
    try:
        pairs = con.sql(events.pairs_sql(config)).to_arrow_table()
        row = _np(pairs, "sid", np.int64) - first_sid
        out: Arrays = {}
        _pair_counts(out, pairs, row, n, config)
        _channel_features(out, pairs, row, n, config)
        _details(out, con, first_sid, n, config)
        _web_and_days(out, con, first_sid, n, config)
    finally:
        con.execute("DROP TABLE IF EXISTS ev")
    since_creation = _days(age_since_creation_us.astype(np.float64))
    out["days_since_creation"] = since_creation
    out["touches_per_week"] = (
        7.0 * out["n_touches_all"] / np.maximum(since_creation, 1.0)
    )
    specs = engagement_columns(config)
    assert len(out) == len(specs), sorted(set(out) ^ {s.name for s in specs})
    return {
        spec.name: pa.array(
            # counts are sums of whole numbers: exact in float64, cast as they are
            out[spec.name].astype(np.int32)
            if spec.dtype == "int32"
            else out[spec.name].astype(np.float64, copy=False)
        )
        for spec in specs
    }
