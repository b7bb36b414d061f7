"""Row grids of a batch, and aggregation of events over ranges of rows.

Stage: features. A batch holds consecutive leads; lead ``k`` has ``count[k]`` feature
rows with the as-of times ``first[k] + j * step`` (see :mod:`pit`), stored from row
``row0[k]``. Because a lead's as-of times increase with ``j``, the rows that know an
event, or hold it in a window, are a range of ``j`` (:func:`pit.first_row_at`). So each
event is aggregated once, as a +1 where its range starts and a -1 where it stops,
followed by a cumulative sum over the rows: the cost follows the number of events, not
events times rows, which is what makes training snapshots cheap.

Everything here is exact: counts are integer sums, "latest" picks event indices, and
:func:`expand` lists the ``(event, row)`` pairs for the few sums that cannot be made
exact with a running total.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Grid", "expand", "latest", "range_sum", "running_decay"]


@dataclass(frozen=True)
class Grid:
    """Rows of a batch: per lead ``first``, ``count`` and ``row0``; per row ``lead``."""

    first: np.ndarray
    count: np.ndarray
    step: int
    row0: np.ndarray
    lead: np.ndarray
    pos: np.ndarray
    as_of: np.ndarray

    @classmethod
    def of(cls, first: np.ndarray, count: np.ndarray, step: int) -> Grid:
        """The grid of leads with the given first as-of times and row counts."""
        count = count.astype(np.int64)
        row0 = np.cumsum(count) - count
        lead = np.repeat(np.arange(len(count)), count)
        pos = np.arange(len(lead), dtype=np.int64) - row0[lead]
        as_of = first[lead] + pos * step
        return cls(first, count, int(step), row0, lead, pos, as_of)

    @property
    def rows(self) -> int:
        """Number of rows."""
        return len(self.lead)

    @property
    def constant_phase(self) -> bool:
        """All as-of times of a lead share their time of day (whole-day steps)."""
        return self.step % 86_400_000_000 == 0 or bool((self.count <= 1).all())


def range_sum(
    grid: Grid,
    base: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    col: np.ndarray | None = None,
    width: int = 1,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Per row and column, the sum of ``weights`` (1) of events whose range holds it.

    Event ``i`` adds to rows ``base[i] + j`` (``base``: first row of its lead) for
    ``start[i] <= j < stop[i]`` (none when ``start >= stop``), in column ``col[i]``
    (0 when None). Returns a ``(width, rows)`` array, ``int32`` for counts. Integer
    weights keep the sums exact; use them for anything but counts.
    """
    n = grid.rows + 1  # a range may stop just after the last row
    lo = base + np.minimum(start, stop)
    hi = base + stop
    if col is not None:
        lo += col * n
        hi += col * n
    diff = np.bincount(lo, weights, minlength=n * width)
    diff -= np.bincount(hi, weights, minlength=n * width)
    if weights is None:  # counts: int32, the dtype of the count features
        return np.cumsum(diff.reshape(width, n), axis=1, dtype=np.int32)[:, :-1]
    if weights.dtype.kind in "iu":
        diff = np.rint(diff).astype(np.int64)  # float bincount of small ints is exact
    diff = diff.reshape(width, n)
    return np.cumsum(diff, axis=1, out=diff)[:, :-1]


def latest(
    grid: Grid,
    lead: np.ndarray,
    start: np.ndarray,
    col: np.ndarray | None = None,
    width: int = 1,
) -> np.ndarray:
    """Per row and column, the index of the last event known there, or -1.

    Events must be in the order that decides "last" (by time) within each lead and
    column; event ``i`` is known from row ``start[i]`` of its lead on.
    """
    n = grid.rows
    keep = np.flatnonzero(start < grid.count[lead])
    cols = np.zeros(len(keep), np.int64) if col is None else col[keep]
    # cells hold (lead << 32) | (event + 1): every row starts with its own lead's
    # "none", which beats the events of earlier leads in the running maximum
    out = np.broadcast_to(grid.lead << 32, (width, n)).copy()
    at = cols * n + grid.row0[lead[keep]] + start[keep]
    np.maximum.at(out.reshape(-1), at, (lead[keep] << 32) | (keep + 1))
    np.maximum.accumulate(out, axis=1, out=out)
    out &= 0xFFFFFFFF
    return out - 1


def expand(
    grid: Grid, lead: np.ndarray, start: np.ndarray, stop: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(event index, row)`` of every row in every event's range ``[start, stop)``."""
    size = np.maximum(stop - start, 0)
    event = np.repeat(np.arange(len(lead)), size)
    offset = np.arange(len(event)) - np.repeat(np.cumsum(size) - size, size)
    return event, grid.row0[lead[event]] + start[event] + offset


def running_decay(grid: Grid, added: np.ndarray, factor: float) -> np.ndarray:
    """``out[:, j] = out[:, j - 1] * factor + added[:, j]`` along each lead's rows.

    Exponential decay over a grid: ``factor`` is the decay of one step. One vectorised
    pass per row position, never a subtraction, so no precision is lost.
    """
    if not (grid.pos > 0).any():  # one row per lead: nothing to carry over
        return added.astype(np.float64)
    by_row = np.ascontiguousarray(added.T, dtype=np.float64)  # a row's values together
    order = np.argsort(grid.pos, kind="stable")
    bounds = np.searchsorted(
        grid.pos[order], np.arange(int(grid.pos.max(initial=0)) + 2)
    )
    for p in range(1, len(bounds) - 1):
        rows = order[bounds[p] : bounds[p + 1]]
        by_row[rows] += by_row[rows - 1] * factor
    return np.ascontiguousarray(by_row.T)
