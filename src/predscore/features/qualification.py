"""Qualification features: the latest BANT / MEDDICC answer known at the cutoff.

Stage: features. Inputs: the qualifications of a batch of leads, staged by
:func:`stage_qualifications_sql`, and the rows of the batch (:class:`grid.Grid`). For
each field of
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

Computation: values are typed once per recorded row in SQL; the rows of a lead where a
recorded row is the latest form one range, so the latest value of every row is found by
a running maximum over record indices (:func:`grid.latest`), never by a join of rows
with records.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from predscore.features import pit
from predscore.features.grid import Grid, latest
from predscore.features.registry import Dtype, FeatureSpec
from predscore.features.sql import quote_str
from predscore.schema.tables import QUALIFICATION_FIELDS

__all__ = ["qualification_arrays", "qualification_columns", "stage_qualifications_sql"]

FIELD_CODE = {field_: i for i, field_ in enumerate(QUALIFICATION_FIELDS)}


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


def _by_kind(field_: str, typed: dict[str, str]) -> str:
    """A SQL CASE over the field, one typed expression per kind."""
    whens = []
    for kind, expr in typed.items():
        names = [quote_str(f) for f, k in QUALIFICATION_FIELDS.items() if k == kind]
        if names:
            whens.append(f"WHEN {field_} IN ({', '.join(names)}) THEN {expr}")
    return f"CASE {' '.join(whens)} END"


def stage_qualifications_sql() -> str:
    """Typed qualifications of the leads of ``grid`` that a row can know.

    Columns: ``li``, ``t_us``, ``field`` (code), ``value`` (text), ``num`` (the value
    as a number, NULL for text fields or when not informative) and ``known``; sorted
    by lead, time and value, the order in which the latest value wins.
    """
    kinds = sorted(set(QUALIFICATION_FIELDS.values()))
    typed = {k: _typed(k, "value") for k in kinds}
    num = _by_kind("field", {k: v for k, (v, _) in typed.items() if k != "text"})
    known = _by_kind("field", {k: k_ for k, (_, k_) in typed.items()})
    code = " ".join(f"WHEN {quote_str(f)} THEN {i}" for f, i in FIELD_CODE.items())
    return f"""
    SELECT g.li, q.t_us, CAST(CASE q.field {code} END AS TINYINT) AS field, q.value,
           CAST({num} AS DOUBLE) AS num, coalesce({known}, FALSE) AS known
    FROM (
        SELECT CAST(lead_id AS VARCHAR) AS lead_id, epoch_us(recorded_at) AS t_us,
               CAST(field AS VARCHAR) AS field, CAST(value AS VARCHAR) AS value
        FROM raw_qualifications
    ) q JOIN grid g ON g.lead_id = q.lead_id
    WHERE {pit.known_at("q.t_us", "g.last_us")} AND q.field IN ({
        ", ".join(quote_str(f) for f in FIELD_CODE)
    })
    ORDER BY g.li, q.t_us, q.value
    """


def qualification_arrays(
    grid: Grid, records: pa.Table, first_lead: int
) -> dict[str, pa.Array]:
    """Qualification features of the rows of ``grid``, one array per spec.

    ``records`` are the staged qualifications of the batch's leads (whose first lead
    is number ``first_lead``), in the order of :func:`stage_qualifications_sql`.
    """
    lead = records["li"].to_numpy().astype(np.int64) - first_lead
    t = records["t_us"].to_numpy().astype(np.int64)
    start = pit.first_row_at(t, grid.first[lead], grid.step, grid.count[lead])
    field = records["field"].to_numpy().astype(np.int64)
    index = latest(grid, lead, start, field, len(FIELD_CODE))
    num = records["num"].to_numpy(zero_copy_only=False).astype(np.float64)
    known = records["known"].to_numpy(zero_copy_only=False).astype(bool)
    texts = pc.dictionary_encode(records["value"])
    out: dict[str, pa.Array] = {}
    for field_, k in FIELD_CODE.items():
        at, found = np.maximum(index[k], 0), index[k] >= 0
        if QUALIFICATION_FIELDS[field_] == "text":  # categories: encoded once
            value = texts.take(pa.array(index[k], mask=~found))
            out[f"qual_{field_}"] = value.combine_chunks()
        else:
            out[f"qual_{field_}"] = pa.array(
                np.where(found, num[at] if len(num) else np.nan, np.nan)
            )
        flag = found & (known[at] if len(known) else False)
        out[f"qual_{field_}_known"] = pa.array(flag.astype(np.int32))
    return out
