"""Point-in-time primitives: every comparison of an event time with an as-of time.

Stage: features. The feature SQL never compares timestamps itself; it asks this module
for the fragment. Times are integers, microseconds since the Unix epoch (UTC), so that
there is no time-zone or calendar arithmetic anywhere in the engine, and so that a
pandas reference implementation can reproduce every figure exactly.

The contract, shared by the SQL engine and the label windows of :mod:`spine`:

* an event is **known** at ``as_of`` when its time is at or before ``as_of`` (an event at
  exactly ``as_of`` counts; one microsecond later does not);
* a ``w``-day window is half-open, ``(as_of - w days, as_of]``: its age, ``as_of - t``,
  satisfies ``0 <= age < w days``;
* a lead is **open** at ``as_of`` when it was created at or before ``as_of`` and has no
  outcome closed at or before ``as_of``;
* a label window starts strictly after ``as_of``: ``as_of < closed <= as_of + horizon``.

Every function takes SQL expressions (column names or literals) that evaluate to epoch
microseconds as ``BIGINT`` and returns a SQL fragment.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from predscore.errors import LeakageError

__all__ = [
    "US_PER_DAY",
    "age_us",
    "age_within",
    "age_between",
    "day_index",
    "day_within",
    "days",
    "decay_weight",
    "duration_us",
    "epoch_us",
    "is_open",
    "known_at",
    "label_window",
    "check_ages",
    "snapshot_times",
    "to_utc",
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


def _double(value: float) -> str:
    # A quoted literal is parsed as DOUBLE exactly; a bare one would be a DECIMAL.
    return f"CAST('{float(value)!r}' AS DOUBLE)"


def known_at(event: str, as_of: str) -> str:
    """The event is known at ``as_of``: it happened at or before it."""
    return f"({event} <= {as_of})"


def age_us(event: str, as_of: str) -> str:
    """Age of a known event at ``as_of`` in microseconds (>= 0)."""
    return f"({as_of} - {event})"


def age_within(age: str, days_: float) -> str:
    """A known event of age ``age`` lies in the ``days_``-day window ending at as_of."""
    return f"({age} < {duration_us(days_)})"


def age_between(age: str, lo_days: float, hi_days: float) -> str:
    """The event lies in ``(as_of - hi_days, as_of - lo_days]``."""
    return f"({age} >= {duration_us(lo_days)} AND {age} < {duration_us(hi_days)})"


def days(age: str) -> str:
    """An age in microseconds as fractional days (``DOUBLE``)."""
    return f"(CAST({age} AS DOUBLE) / {_double(US_PER_DAY)})"


def day_index(age: str) -> str:
    """Whole 24-hour periods in an age: 0 for the last day before ``as_of``."""
    return f"({age} // {US_PER_DAY})"


def day_within(day: str, days_: int) -> str:
    """A day index (see :func:`day_index`) lies in the ``days_``-day window."""
    return f"({day} < {int(days_)})"


def decay_weight(age: str, half_life_days: float) -> str:
    """Weight ``0.5 ** (age / half_life)`` of an event of age ``age``."""
    half_life = _double(duration_us(half_life_days))
    return f"pow(CAST(0.5 AS DOUBLE), CAST({age} AS DOUBLE) / {half_life})"


def is_open(created: str, closed: str, as_of: str) -> str:
    """The lead exists at ``as_of`` and is not closed yet (``closed`` may be NULL)."""
    return f"({created} <= {as_of} AND ({closed} IS NULL OR {closed} > {as_of}))"


def snapshot_times(created: str, closed: str, every_days: float) -> str:
    """List of as-of times from creation, every ``every_days``, strictly before close."""
    return f"range({created}, {closed}, CAST({duration_us(every_days)} AS BIGINT))"


def label_window(closed: str, as_of: str, horizon_days: float | None) -> str:
    """The close falls in the label window after ``as_of`` (all of the future if None)."""
    if horizon_days is None:
        return f"({closed} > {as_of})"
    return f"({closed} > {as_of} AND {closed} - {as_of} <= {duration_us(horizon_days)})"


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
