"""Point-in-time primitives: every comparison of an event time with an as-of time.

Stage: features. The feature code never compares timestamps itself; it asks this module,
for a SQL fragment or for a vectorised numpy computation. Times are integers,
microseconds since the Unix epoch (UTC), so that there is no time-zone or calendar
arithmetic anywhere in the engine, and so that a pandas reference implementation can
reproduce every figure exactly.

The contract, shared by the SQL engine, the numpy engine and the label windows:

* an event is **known** at ``as_of`` when its time is at or before ``as_of`` (an event at
  exactly ``as_of`` counts; one microsecond later does not);
* a ``w``-day window is half-open, ``(as_of - w days, as_of]``: its age, ``as_of - t``,
  satisfies ``0 <= age < w days``;
* a lead is **open** at ``as_of`` when it was created at or before ``as_of`` and has no
  outcome closed at or before ``as_of``;
* a label window starts strictly after ``as_of``: ``as_of < closed <= as_of + horizon``;
* with a horizon, a row's window has **passed** at a cutoff ``C`` when
  ``as_of + horizon <= C`` (a lead still open then was not won in the window: label
  0); its label is **known** when that holds or when its lead closed at or before
  ``C``.

SQL functions take SQL expressions (column names or literals) that evaluate to epoch
microseconds as ``BIGINT`` and return a fragment. The numpy functions work on the *row
grid* of a lead: its feature rows have the as-of times ``first + j * step`` for
``j < count`` (one row, ``count == 1``, when scoring at one cutoff; one row every
``snapshot_every_days`` for training snapshots). Since the as-of times of a lead
increase with ``j``, the rows that know an event, or that hold it in a window, form one
range ``[start, stop)`` of ``j``: :func:`first_row_at` finds its ends. That is what lets
the engine aggregate each event once, instead of once per row that sees it.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from predscore.errors import LeakageError

__all__ = [
    "US_PER_DAY",
    "age_days",
    "check_ages",
    "decay_weight",
    "duration_us",
    "epoch_us",
    "first_row_at",
    "in_label_window",
    "is_open",
    "known_at",
    "label_known",
    "labelled_before",
    "window_passed",
    "last_snapshot",
    "snapshot_count",
    "starts_day",
    "to_utc",
    "window_end",
    "window_end_after",
]

US_PER_DAY = 86_400_000_000


def to_utc(as_of: pd.Timestamp | datetime | str) -> pd.Timestamp:
    """Normalise an as-of time to a UTC timestamp with microsecond resolution.

    A naive time is read as UTC (as validation does); sub-microsecond parts are
    floored, which keeps ``t <= as_of`` exact for microsecond event times.
    """
    stamp = pd.Timestamp(as_of)
    if pd.isna(stamp):
        raise LeakageError("as_of is missing (NaT): a feature row needs an as-of time")
    stamp = (
        stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    )
    return stamp.floor("us").as_unit("us")


def epoch_us(as_of: pd.Timestamp | datetime | str) -> int:
    """Epoch microseconds of an as-of time (see :func:`to_utc`)."""
    return int(to_utc(as_of).value // 1000)


def duration_us(days_: float) -> int:
    """A duration in days as whole microseconds."""
    return round(days_ * US_PER_DAY)


# --- SQL fragments -------------------------------------------------------------------


def known_at(event: str, as_of: str) -> str:
    """The event is known at ``as_of``: it happened at or before it."""
    return f"({event} <= {as_of})"


def is_open(created: str, closed: str, as_of: str) -> str:
    """The lead exists at ``as_of`` and is not closed yet (``closed`` may be NULL)."""
    return f"({created} <= {as_of} AND ({closed} IS NULL OR {closed} > {as_of}))"


def labelled_before(cutoff: str, horizon_us: int) -> str:
    """End (exclusive) of the as-of times whose label window has passed at ``cutoff``.

    A row at ``as_of`` strictly before it has ``as_of + horizon <= cutoff``: its
    window ``(as_of, as_of + horizon]`` is over, its label known even if the lead is
    still open.
    """
    return f"({cutoff} - CAST({int(horizon_us)} AS BIGINT) + 1)"


def snapshot_count(created: str, closed: str, every_us: int) -> str:
    """Number of as-of times ``created + j * every`` strictly before ``closed``."""
    every = int(every_us)
    return f"greatest(0, ({closed} - {created} + {every - 1}) // {every})"


def last_snapshot(created: str, count: str, every_us: int) -> str:
    """The last as-of time of a grid of ``count`` rows (events after it are unseen)."""
    return f"({created} + ({count} - 1) * CAST({int(every_us)} AS BIGINT))"


# --- numpy, on a lead's row grid -----------------------------------------------------


def first_row_at(
    times: np.ndarray, first: np.ndarray, step: int, count: np.ndarray
) -> np.ndarray:
    """Index ``j`` of the first row whose as-of time is at or after ``times``.

    Rows ``j < first_row_at(t)`` have ``as_of < t``; the others ``as_of >= t``. The
    result is clamped to ``[0, count]`` (``count``: no row reaches ``times``).
    """
    ceil = -((first - times) // step)
    np.maximum(ceil, 0, out=ceil)
    return np.minimum(ceil, count, out=ceil)


def window_end(
    times: np.ndarray, days_: float, first: np.ndarray, step: int, count: np.ndarray
) -> np.ndarray:
    """First row where an event at ``times`` is out of the ``days_``-day window.

    An event known from row ``first_row_at(t)`` lies in the window of rows
    ``[first_row_at(t), window_end(t))``: there ``0 <= as_of - t < days_``.
    """
    return first_row_at(times + duration_us(days_), first, step, count)


def window_end_after(
    lag: np.ndarray, days_: float, step: int, count: np.ndarray
) -> np.ndarray:
    """:func:`window_end` from ``lag = first - t`` (as :func:`first_row_at` when
    ``days_`` is 0): computed once, it serves every window."""
    rows = lag - duration_us(days_)
    if step != 1:
        rows //= step
    np.negative(rows, out=rows)  # ceil((t + days_ - first) / step)
    np.maximum(rows, 0, out=rows)
    return np.minimum(rows, count, out=rows)


def age_days(as_of: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Age of known events at ``as_of`` as fractional days (float64)."""
    return (as_of - event).astype(np.float64) / float(US_PER_DAY)


def decay_weight(age_us: np.ndarray | float, half_life_days: float) -> np.ndarray:
    """Weight ``0.5 ** (age / half_life)`` of an event of age ``age_us``."""
    half_life = float(duration_us(half_life_days))
    return np.power(0.5, np.asarray(age_us, dtype=np.float64) / half_life)


def starts_day(age_us: np.ndarray, gap_us: np.ndarray) -> np.ndarray:
    """The event is the earliest of its 24-hour period counted back from ``as_of``.

    Periods are ``[k days, k + 1 days)`` of age. ``gap_us`` is the time since the
    previous event of the same lead (at least a day when there is none): that event is
    in an older period exactly when ``age % day + gap >= day``.
    """
    return (age_us % US_PER_DAY) + gap_us >= US_PER_DAY


def is_known(event: np.ndarray, as_of: np.ndarray | int) -> np.ndarray:
    """The events are known at ``as_of`` (:func:`known_at`, on arrays)."""
    return event <= as_of


def is_open_at(
    created: np.ndarray, closed: np.ndarray, as_of: np.ndarray | int
) -> np.ndarray:
    """The leads are open at ``as_of`` (:func:`is_open`, on arrays; ``closed`` is
    NaN-free: a lead never closed has no entry there, pass a value after ``as_of``)."""
    return (created <= as_of) & (closed > as_of)


def in_label_window(
    closed: np.ndarray, as_of: np.ndarray, horizon_days: float | None
) -> np.ndarray:
    """The close falls in the label window after ``as_of`` (all the future if None)."""
    after = closed > as_of
    if horizon_days is None:
        return after
    return after & (closed - as_of <= duration_us(horizon_days))


def window_passed(
    as_of: pd.Series, cutoff: pd.Timestamp, horizon_days: float
) -> np.ndarray:
    """The label window of each row is over at ``cutoff``: ``as_of + horizon <=
    cutoff``."""
    horizon = pd.Timedelta(microseconds=duration_us(horizon_days))
    return (as_of + horizon <= cutoff).to_numpy(dtype=bool)


def label_known(
    closed: pd.Series, as_of: pd.Series, cutoff: pd.Timestamp, horizon_days: float
) -> np.ndarray:
    """The label of each row is known at ``cutoff`` (see the module): its lead closed
    at or before ``cutoff`` (``closed`` is NaT while open), or its window passed."""
    closed_then = (closed <= cutoff).fillna(False).to_numpy(dtype=bool)
    return closed_then | window_passed(as_of, cutoff, horizon_days)


def check_ages(min_age_days: float | None, what: str) -> None:
    """Leakage guard: an age measured back from ``as_of`` must never be negative.

    Raises
    ------
    LeakageError
        Naming ``what``, when the smallest age found is below zero (an event after
        ``as_of`` was used).
    """
    if min_age_days is not None and min_age_days < 0:
        raise LeakageError(
            f"{what}: an event {-min_age_days:g} days after as_of was used; "
            "only events at or before as_of may be used"
        )
