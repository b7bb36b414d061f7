"""The spine of a feature table: which ``(lead_id, as_of)`` rows to compute.

Stage: features. Two spines, both as SQL over ``leads_v`` and ``out_v`` (see
:mod:`sources`), with times in epoch microseconds:

* **scoring**: every lead open at one ``as_of`` (:func:`pit.is_open`);
* **training snapshots**: for every closed lead, one row every ``snapshot_every_days``
  from its creation until strictly before its close, labelled 1 when the lead was won
  within ``horizon_days`` after the row's ``as_of`` (:func:`pit.label_window`; the
  label window starts strictly after ``as_of``).

Leads without an outcome never give snapshots: their label is not known yet.
"""

from __future__ import annotations

from predscore.config import FeaturesConfig
from predscore.features import pit

__all__ = ["open_spine_sql", "snapshot_spine_sql"]


def open_spine_sql(as_of_us: int) -> str:
    """Leads open at ``as_of_us``: ``lead_id, as_of_us, created_us``."""
    as_of = f"CAST({int(as_of_us)} AS BIGINT)"
    return (
        f"SELECT l.lead_id, {as_of} AS as_of_us, l.created_us "
        "FROM leads_v l LEFT JOIN out_v o ON o.lead_id = l.lead_id "
        f"WHERE {pit.is_open('l.created_us', 'o.closed_us', as_of)}"
    )


def snapshot_spine_sql(config: FeaturesConfig) -> str:
    """Snapshots of closed leads: ``lead_id, as_of_us, created_us, closed_us, label``."""
    times = pit.snapshot_times(
        "l.created_us", "o.closed_us", config.snapshot_every_days
    )
    window = pit.label_window("closed_us", "as_of_us", config.horizon_days)
    return (
        "SELECT lead_id, as_of_us, created_us, closed_us, "
        f"CAST(outcome = 'won' AND {window} AS TINYINT) AS label FROM ("
        "SELECT l.lead_id, l.created_us, o.closed_us, o.outcome, "
        f"unnest({times}) AS as_of_us "
        "FROM leads_v l JOIN out_v o ON o.lead_id = l.lead_id)"
    )
