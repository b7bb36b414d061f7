"""Engagement features: what a lead did, and how recently, as of a cutoff.

Stage: features. Inputs: a batch of staged activities (:class:`events.Events`) and the
rows of its leads (:class:`grid.Grid`). Output: one array per feature, one value per
row. Only activities known at the row's ``as_of`` are used (:func:`pit.first_row_at`);
windows are half-open and end at ``as_of`` (:func:`pit.window_end`).

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

Computation (numpy, on the events of a batch, see :mod:`events` and :mod:`grid`): the
rows of a lead that know an event, or hold it in a window, are one range of rows, so
each event is counted once, as a range, whatever the number of rows that see it. Sums
stay exact: counts are integer, time on site is summed in integers when the quantities
allow it (they do for whole seconds), recency takes the latest event, and the decay is
a running product along the rows. Active days need the time of day of each row: with
whole-day snapshot steps it is the same for all rows of a lead; otherwise the rows of
events less than a day apart are enumerated.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from predscore.config import FeaturesConfig
from predscore.features import pit, touches
from predscore.features.events import Events
from predscore.features.grid import Grid
from predscore.features.registry import Dtype, FeatureSpec
from predscore.schema.tables import ACTIONS, CHANNELS

__all__ = ["engagement_arrays", "engagement_columns", "engagement_spans"]


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


# --- computation ---------------------------------------------------------------------


def engagement_spans(config: FeaturesConfig) -> tuple[float, ...]:
    """Window lengths (days) the features use: the windows, the two trend windows."""
    t = config.trend_window_days
    return tuple(dict.fromkeys([*config.windows_days, t, 2 * t]))


def engagement_arrays(
    grid: Grid,
    events: Events,
    created: np.ndarray,
    config: FeaturesConfig,
    specs: Sequence[FeatureSpec] | None = None,
) -> dict[str, np.ndarray]:
    """Engagement features of the rows of ``grid``, one numpy array per spec.

    Parameters
    ----------
    grid : Grid
        The rows of the batch.
    events : Events
        The staged activities of the batch's leads.
    created : ndarray
        Creation time of each row's lead, epoch microseconds.
    config : FeaturesConfig
        Windows, half-life, visit gap, trend window, passive actions (in ``events``).
    specs : sequence of FeatureSpec, optional
        :func:`engagement_columns` of ``config``, when the caller has them already.
    """
    out: touches.Arrays = {}
    engaged = events.where(events.engaged)
    recent = engaged.windowed()
    touches.pair_counts(out, grid, events, config)
    touches.channel_counts(out, grid, engaged, recent, config)
    touches.recency(out, grid, engaged)
    touches.decay(out, grid, engaged, config)
    touches.details(out, grid, recent, config)
    touches.active_days(out, grid, recent, config)
    touches.web(out, grid, events, config)
    since_creation = pit.age_days(grid.as_of, created)
    out["days_since_creation"] = since_creation
    out["touches_per_week"] = (
        7.0 * out["n_touches_all"] / np.maximum(since_creation, 1.0)
    )
    specs = engagement_columns(config) if specs is None else specs
    assert len(out) == len(specs), sorted(set(out) ^ {s.name for s in specs})
    return {
        # counts are sums of whole numbers: exact, cast as they are
        spec.name: out[spec.name].astype(
            np.int32 if spec.dtype == "int32" else np.float64, copy=False
        )
        for spec in specs
    }
