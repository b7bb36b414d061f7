"""Qualification features: the latest BANT / MEDDICC answer known at the cutoff.

Stage: features. Inputs: the staged qualifications ``qual`` (see :mod:`sources`) and the
spine batch ``spine_b``. For each field of
:data:`~predscore.schema.tables.QUALIFICATION_FIELDS`, ``qual_<field>`` is the value of
the latest row recorded at or before ``as_of`` (:func:`pit.known_at`), typed by the
field's kind, and ``qual_<field>_known`` is 1 when that value is informative:

* ``flag``: ``yes`` → 1.0, ``no`` → 0.0, ``unknown`` → NaN (known = 0);
* ``number``: the number (known when it parses);
* ``text``: a category (known when not blank).

Latest wins: the row with the greatest ``recorded_at``; between rows recorded at the same
instant, the greatest value (in byte order) wins, so the result never depends on row
order. Fields outside the vocabulary are ignored (they would make the column set depend
on the data).
"""

from __future__ import annotations

from predscore.features import pit
from predscore.features.registry import Dtype, FeatureSpec
from predscore.features.sql import quote_str
from predscore.schema.tables import QUALIFICATION_FIELDS

__all__ = ["qualification_columns", "qualification_sql"]


def _typed(kind: str, v: str) -> tuple[str, str]:
    """(value SQL, known SQL) of the latest value ``v`` (a SQL expression) of a kind."""
    if kind == "flag":
        return (
            f"CASE {v} WHEN 'yes' THEN CAST(1 AS DOUBLE) "
            f"WHEN 'no' THEN CAST(0 AS DOUBLE) END",
            f"{v} IN ('yes', 'no')",
        )
    if kind == "number":
        return f"TRY_CAST({v} AS DOUBLE)", f"TRY_CAST({v} AS DOUBLE) IS NOT NULL"
    return v, f"{v} IS NOT NULL AND trim({v}) <> ''"


def qualification_columns() -> list[FeatureSpec]:
    """Qualification feature specs in output order."""
    out = []
    for field_, kind in QUALIFICATION_FIELDS.items():
        dtype: Dtype = "category" if kind == "text" else "float64"
        out.append(
            FeatureSpec(
                f"qual_{field_}",
                "qualification",
                dtype,
                "qualifications",
                f"latest {field_} ({kind})",
                "recorded_at",
                kind=kind,
            )
        )
        out.append(
            FeatureSpec(
                f"qual_{field_}_known",
                "qualification",
                "int32",
                "qualifications",
                f"1 when {field_} is known",
                "recorded_at",
                kind="known",
            )
        )
    return out


def qualification_sql(lead_filter: str) -> str:
    """Query of the qualification features of ``spine_b``: ``sid`` then the columns."""
    fields = list(QUALIFICATION_FIELDS)
    pivots = ", ".join(
        f"max(value) FILTER (WHERE field = {quote_str(f)}) AS v_{f}" for f in fields
    )
    outputs = []
    for field_, kind in QUALIFICATION_FIELDS.items():
        value, known = _typed(kind, f"q.v_{field_}")
        outputs.append(f"{value} AS qual_{field_}")
        outputs.append(
            f"CAST(coalesce({known}, FALSE) AS INTEGER) AS qual_{field_}_known"
        )
    in_fields = ", ".join(quote_str(f) for f in fields)
    return f"""
    WITH known AS (
        SELECT s.sid, q.field, q.value,
               row_number() OVER (PARTITION BY s.sid, q.field
                                  ORDER BY q.t_us DESC, q.value DESC) AS rank
        FROM spine_b s JOIN (SELECT * FROM qual WHERE {lead_filter}) q
          ON q.lead_id = s.lead_id
        WHERE {pit.known_at("q.t_us", "s.as_of_us")} AND q.field IN ({in_fields})
    ),
    latest AS (SELECT sid, {pivots} FROM known WHERE rank = 1 GROUP BY sid)
    SELECT s.sid, {", ".join(outputs)}
    FROM spine_b s LEFT JOIN latest q ON q.sid = s.sid
    """
