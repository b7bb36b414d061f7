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

Leads without an outcome never give snapshots: their label is not known yet.
"""

from __future__ import annotations

import numpy as np

from predscore.config import FeaturesConfig
from predscore.features import pit

__all__ = ["labels", "open_spine_sql", "snapshot_spine_sql", "snapshot_step_us"]


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


def snapshot_spine_sql(config: FeaturesConfig) -> str:
    """Closed leads with at least one snapshot (see the module for the columns)."""
    step = snapshot_step_us(config)
    count = pit.snapshot_count("l.created_us", "o.closed_us", step)
    return (
        "SELECT lead_id, created_us, created_us AS first_us, n_rows, "
        f"{pit.last_snapshot('created_us', 'n_rows', step)} AS last_us, "
        "closed_us, won FROM ("
        f"SELECT l.lead_id, l.created_us, {count} AS n_rows, o.closed_us, "
        "o.outcome = 'won' AS won "
        "FROM leads_v l JOIN out_v o ON o.lead_id = l.lead_id) WHERE n_rows > 0"
    )


def labels(
    won: np.ndarray, closed_us: np.ndarray, as_of_us: np.ndarray, config: FeaturesConfig
) -> np.ndarray:
    """Label of each snapshot row: won, within the horizon after its ``as_of``."""
    window = pit.in_label_window(closed_us, as_of_us, config.horizon_days)
    return (won & window).astype(np.int8)
