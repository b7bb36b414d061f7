"""The spine of a feature table: which ``(lead_id, as_of)`` rows to compute.

Stage: features. Two spines, both as SQL over ``leads_v`` and ``out_v`` (see
:mod:`sources`), with times in epoch microseconds, each with one row *per lead* that
describes the lead's rows as a grid (see :mod:`pit`): ``first_us`` (as-of time of its
first row), ``n_rows`` (one every ``step`` microseconds), ``last_us`` (as-of time of its
last row), and ``created_us``, ``closed_us``, ``won``:

* **scoring**: every lead open at one ``as_of`` (:func:`pit.is_open`), one row each;
* **training snapshots**: for every closed lead, one row every ``snapshot_every_days``
  from its creation until strictly before its close, labelled 1 when the lead was won
  within ``horizon_days`` after the row's ``as_of`` (:func:`pit.in_label_window`; the
  label window starts strictly after ``as_of``).

Without a horizon, leads without an outcome never give snapshots: their label ("won at
all") is not known yet. With ``horizon_days`` H, a row's label is whatever happened in
``(as_of, as_of + H]``, and a row is kept when that is **known at the data's cutoff**
C: with ``horizon_rows: complete`` (default), the rows whose window has passed,
``as_of + H <= C`` (:func:`pit.labelled_before`), of every lead, open or closed; with
``horizon_rows: known`` (:func:`pit.label_known`), also every later row of a lead
closed at or before C. A lead not closed at C (no outcome, or one recorded after C)
gives the rows whose window passed, labelled 0. Such a lead is open as
far as the rows know: its ``closed_us`` is ``C + 1`` and ``won`` false, so nothing
after C reaches its rows (the caller turns ``C + 1`` into a missing ``closed_at``).
The cutoff is read from the one-row table ``label_cutoff`` (:func:`stage_cutoff`).

Without a horizon the cutoff plays no part: the rows are exactly those above.
"""

from __future__ import annotations

import duckdb
import numpy as np

from predscore.config import FeaturesConfig
from predscore.features import pit

__all__ = [
    "labels",
    "newest_event_us",
    "open_spine_sql",
    "snapshot_spine_sql",
    "snapshot_step_us",
    "stage_cutoff",
]

#: (table, time column) of every event the canonical tables record
_EVENT_TIMES = (
    ("leads", "created_at"),
    ("activities", "occurred_at"),
    ("qualifications", "recorded_at"),
    ("outcomes", "closed_at"),
)


def open_spine_sql(as_of_us: int) -> str:
    """Leads open at ``as_of_us``, one row each (see the module for the columns)."""
    as_of = f"CAST({int(as_of_us)} AS BIGINT)"
    return (
        f"SELECT l.lead_id, l.created_us, {as_of} AS first_us, "
        f"CAST(1 AS BIGINT) AS n_rows, {as_of} AS last_us, "
        "CAST(NULL AS BIGINT) AS closed_us, FALSE AS won "
        "FROM leads_v l LEFT JOIN out_v o ON o.lead_id = l.lead_id "
        f"WHERE {pit.is_open('l.created_us', 'o.closed_us', as_of)}"
    )


def snapshot_step_us(config: FeaturesConfig) -> int:
    """Microseconds between two snapshots of a lead."""
    return pit.duration_us(config.snapshot_every_days)


def newest_event_us(con: duckdb.DuckDBPyConnection) -> int | None:
    """Time of the newest event in the ``raw_*`` tables (None when they are empty).

    A lower bound of the data's cutoff, for when the cutoff itself is not known:
    every outcome recorded is at or before it, so no label is taken as known too early.
    """
    parts = " UNION ALL ".join(
        f"SELECT max(epoch_us({column})) AS t FROM raw_{table}"
        for table, column in _EVENT_TIMES
    )
    newest = con.execute(f"SELECT max(t) FROM ({parts})").fetchone()
    return None if newest is None or newest[0] is None else int(newest[0])


def stage_cutoff(con: duckdb.DuckDBPyConnection, cutoff_us: int) -> None:
    """Create the one-row table ``label_cutoff`` that horizon snapshots read."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE label_cutoff AS "
        f"SELECT CAST({int(cutoff_us)} AS BIGINT) AS cutoff_us"
    )


def snapshot_spine_sql(config: FeaturesConfig) -> str:
    """Leads with at least one labelled snapshot (see the module for the columns)."""
    step = snapshot_step_us(config)
    if config.horizon_days is not None:
        return _horizon_spine_sql(config, step)
    count = pit.snapshot_count("l.created_us", "o.closed_us", step)
    return (
        "SELECT lead_id, created_us, created_us AS first_us, n_rows, "
        f"{pit.last_snapshot('created_us', 'n_rows', step)} AS last_us, "
        "closed_us, won FROM ("
        f"SELECT l.lead_id, l.created_us, {count} AS n_rows, o.closed_us, "
        "o.outcome = 'won' AS won "
        "FROM leads_v l JOIN out_v o ON o.lead_id = l.lead_id) WHERE n_rows > 0"
    )


def _horizon_spine_sql(config: FeaturesConfig, step: int) -> str:
    """The snapshot spine with a horizon: every lead, rows known at the cutoff."""
    assert config.horizon_days is not None
    closed = f"coalesce({pit.known_at('o.closed_us', 'c.cutoff_us')}, FALSE)"
    until = pit.labelled_before("c.cutoff_us", pit.duration_us(config.horizon_days))
    end = "o.closed_us"
    if config.horizon_rows == "complete":  # a closed lead's rows stop there too
        end = f"least(o.closed_us, {until})"
    count_closed = pit.snapshot_count("l.created_us", end, step)
    count_open = pit.snapshot_count("l.created_us", until, step)
    return (
        "SELECT lead_id, created_us, created_us AS first_us, n_rows, "
        f"{pit.last_snapshot('created_us', 'n_rows', step)} AS last_us, "
        "closed_us, won FROM ("
        "SELECT l.lead_id, l.created_us, "
        f"CASE WHEN {closed} THEN {count_closed} ELSE {count_open} END AS n_rows, "
        f"CASE WHEN {closed} THEN o.closed_us ELSE c.cutoff_us + 1 END AS closed_us, "
        f"{closed} AND o.outcome = 'won' AS won "
        "FROM leads_v l LEFT JOIN out_v o ON o.lead_id = l.lead_id "
        "CROSS JOIN label_cutoff c) WHERE n_rows > 0"
    )


def labels(
    won: np.ndarray, closed_us: np.ndarray, as_of_us: np.ndarray, config: FeaturesConfig
) -> np.ndarray:
    """Label of each snapshot row: won, within the horizon after its ``as_of``.

    A lead not closed at the cutoff has ``won`` false (see the module): label 0.
    """
    window = pit.in_label_window(closed_us, as_of_us, config.horizon_days)
    return (won & window).astype(np.int8)
