"""Engagement aggregates over row grids: each family of touches, counted once each.

Stage: features. Inputs: a batch of activities (:class:`events.Events`, sorted by lead
and time) and the rows of its leads (:class:`grid.Grid`). Each function fills ``out``
with one array per engagement feature of its family (see :mod:`engagement` for the
definitions). An event is known from row ``start`` of its lead and in a window until
the row of :meth:`events.Events.end`, so counts are range sums (:func:`grid.range_sum`),
recency takes the latest event known (:func:`grid.latest`), and the decayed sums run
along the rows (:func:`grid.running_decay`).
"""

from __future__ import annotations

import numpy as np

from predscore.config import FeaturesConfig
from predscore.features import pit
from predscore.features.events import CHANNEL_CODE, PAIR_CODE, WEB_VIEW, Events
from predscore.features.grid import Grid, expand, latest, range_sum, running_decay

__all__ = [
    "Arrays",
    "active_days",
    "channel_counts",
    "decay",
    "details",
    "pair_counts",
    "recency",
    "web",
]

Arrays = dict[str, np.ndarray]

N_CHANNELS = len(CHANNEL_CODE)


def pair_counts(out: Arrays, grid: Grid, ev: Events, config: FeaturesConfig) -> None:
    """Touches per channel and action and window, passive ones included."""
    coded = ev.where(ev.pair >= 0).windowed()
    for w in config.windows_days:
        end = coded.end(w)
        per = range_sum(grid, coded.base, coded.start, end, coded.pair, len(PAIR_CODE))
        for (c, a), k in PAIR_CODE.items():
            out[f"n_{c}_{a}_{w}d"] = per[k]


def channel_counts(
    out: Arrays, grid: Grid, eng: Events, recent: Events, config: FeaturesConfig
) -> None:
    """Engaged touches per channel and window, overall, distinct channels, trend."""
    out["n_touches_all"] = range_sum(grid, eng.base, eng.start, grid.count[eng.lead])[0]
    ev = recent  # the touches some row holds in a window
    for w in config.windows_days:
        per = range_sum(grid, ev.base, ev.start, ev.end(w), ev.ch, N_CHANNELS)
        for c, k in CHANNEL_CODE.items():
            out[f"n_{c}_{w}d"] = per[k]
        out[f"n_touches_{w}d"] = per.sum(axis=0)
        out[f"n_distinct_channels_{w}d"] = (per > 0).sum(axis=0)
    t = config.trend_window_days
    last, before = ev.end(t), ev.end(2 * t)
    current = range_sum(grid, ev.base, ev.start, last)[0]
    previous = range_sum(grid, ev.base, last, before)[0]
    out[f"n_touches_prev_{t}d"] = previous
    both = current + previous
    out[f"trend_{t}d"] = np.divide(
        current - previous, both, out=np.zeros(grid.rows), where=both > 0
    )


def _days_since(grid: Grid, ev: Events, index: np.ndarray) -> np.ndarray:
    """Days from the events at ``index`` (-1: none) to each row's as-of time."""
    if not len(ev.t):
        return np.full(grid.rows, np.nan)
    ages = pit.age_days(grid.as_of, ev.t[np.maximum(index, 0)])
    return np.where(index >= 0, ages, np.nan)


def recency(out: Arrays, grid: Grid, eng: Events) -> None:
    """Days since the last engaged touch, per channel and overall, and the first."""
    last = latest(grid, eng.lead, eng.start, eng.ch, N_CHANNELS)
    for c, k in CHANNEL_CODE.items():
        out[f"days_since_last_{c}"] = _days_since(grid, eng, last[k])
    # events are in time order within a lead: the greatest index is the latest
    out["days_since_last_touch"] = _days_since(grid, eng, last.max(axis=0))
    if not len(eng.lead):
        out["days_since_first_touch"] = np.full(grid.rows, np.nan)
        return
    # the earliest touch of a lead is known from its first row that knows any
    first = np.searchsorted(eng.lead, np.arange(len(grid.count)))[grid.lead]
    safe = np.minimum(first, len(eng.lead) - 1)
    seen = (first < len(eng.lead)) & (eng.lead[safe] == grid.lead)
    seen &= eng.start[safe] <= grid.pos
    out["days_since_first_touch"] = _days_since(grid, eng, np.where(seen, first, -1))


def decay(out: Arrays, grid: Grid, eng: Events, config: FeaturesConfig) -> None:
    """Decayed touches: each weighed at the first row that knows it, then decayed."""
    known = eng.start < grid.count[eng.lead]
    lead, start = eng.lead[known], eng.start[known]
    age = grid.first[lead] + start * grid.step - eng.t[known]
    at = eng.ch[known] * grid.rows + grid.row0[lead] + start
    weights = pit.decay_weight(age, config.half_life_days)
    added = np.bincount(at, weights, minlength=N_CHANNELS * grid.rows)
    factor = float(pit.decay_weight(grid.step, config.half_life_days))
    decayed = running_decay(grid, added.reshape(N_CHANNELS, grid.rows), factor)
    out["engagement_decayed"] = decayed.sum(axis=0)
    for c, k in CHANNEL_CODE.items():
        out[f"decayed_{c}"] = decayed[k]


def _grouped(key: np.ndarray) -> np.ndarray:
    """Order of ``key`` (non-negative), stable: equal keys keep their order."""
    shift = max(len(key) - 1, 1).bit_length()
    if int(key.max(initial=0)).bit_length() + shift <= 63:
        # unique keys: the fast unstable sort gives the stable order
        return np.argsort((key << shift) | np.arange(len(key)), kind="quicksort")
    return np.argsort(key, kind="stable")


def details(out: Arrays, grid: Grid, eng: Events, config: FeaturesConfig) -> None:
    """Distinct details: a detail counts on the union of the windows of its uses."""
    used = np.flatnonzero(eng.detail >= 0)
    group = eng.ch[used] * (int(eng.detail.max(initial=0)) + 1) + eng.detail[used]
    key = eng.lead[used] * (int(group.max(initial=0)) + 1) + group
    # uses of each (lead, channel, detail) together, in time order (as they come)
    order = _grouped(key)
    key, used = key[order], used[order]
    same = np.concatenate([[False], key[1:] == key[:-1]])
    base, start, ch = eng.base[used], eng.start[used], eng.ch[used]
    for w in config.windows_days:
        end = eng.end(w)[used]
        # rows already covered by the previous use of the same detail count once
        covered = np.concatenate([[0], np.where(same[1:], end[:-1], 0)])
        per = range_sum(grid, base, np.maximum(start, covered), end, ch, N_CHANNELS)
        for c, k in CHANNEL_CODE.items():
            out[f"n_distinct_{c}_detail_{w}d"] = per[k]


def active_days(out: Arrays, grid: Grid, eng: Events, config: FeaturesConfig) -> None:
    """24-hour periods with an engaged touch: count the earliest touch of each."""
    prev = eng.previous()
    gap = np.where(prev >= 0, eng.t - eng.t[np.maximum(prev, 0)], pit.US_PER_DAY)
    ends = {w: eng.end(w) for w in config.windows_days}
    if grid.constant_phase:  # whether a touch starts its period is the same on all rows
        at = np.minimum(eng.start, grid.count[eng.lead] - 1)
        age = grid.first[eng.lead] + at * grid.step - eng.t
        fixed = pit.starts_day(age, gap)
    else:  # only touches less than a day after the previous one depend on the row
        fixed = gap >= pit.US_PER_DAY
    for w, end in ends.items():
        out[f"active_days_{w}d"] = range_sum(
            grid, eng.base[fixed], eng.start[fixed], end[fixed]
        )[0]
    if grid.constant_phase:
        return
    close = ~fixed
    widest = ends[max(ends)][close]
    event, row = expand(grid, eng.lead[close], eng.start[close], widest)
    age = grid.as_of[row] - eng.t[close][event]
    starts = pit.starts_day(age, gap[close][event])
    for w, end in ends.items():
        inside = starts & (grid.pos[row] < end[close][event])
        out[f"active_days_{w}d"] += np.bincount(row[inside], minlength=grid.rows)


def _exact_sum_scale(values: np.ndarray) -> float | None:
    """A power of two making ``values`` whole numbers that sum exactly, or None."""
    for scale in (1.0, 1024.0):
        scaled = values * scale
        if np.all(scaled == np.rint(scaled)) and np.abs(scaled).sum() < 2.0**52:
            return scale
    return None


def _windowed_sum(
    grid: Grid, ev: Events, values: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Per row, the exact sum of ``values`` of the events in their window."""
    scale = _exact_sum_scale(values)
    if scale is not None:
        whole = np.rint(values * scale).astype(np.int64)
        return range_sum(grid, ev.base, ev.start, end, weights=whole)[0] / scale
    event, row = expand(grid, ev.lead, ev.start, end)  # sum each row's own events
    return np.bincount(row, values[event], minlength=grid.rows).astype(np.float64)


def web(out: Arrays, grid: Grid, ev: Events, config: FeaturesConfig) -> None:
    """Time on site, visits started in the window and their pages, per window."""
    views = ev.where(ev.pair == WEB_VIEW)
    opens, visit_t = views.visit_starts(config)  # from every view, old ones too
    inside = views.end(max(views.spans)) > views.start
    views, opens, visit_t = views.where(inside), opens[inside], visit_t[inside]
    for w in config.windows_days:
        end = views.end(w)
        out[f"time_on_site_seconds_{w}d"] = _windowed_sum(
            grid, views, views.quantity, end
        )
        visits = range_sum(grid, views.base[opens], views.start[opens], end[opens])[0]
        # a view is a page of a visit that started in the window
        pages = range_sum(grid, views.base, views.start, views.end(w, grid, visit_t))[0]
        out[f"web_visits_{w}d"] = visits
        out[f"pages_per_visit_{w}d"] = np.divide(
            pages, visits, out=np.full(grid.rows, np.nan), where=visits > 0
        )
