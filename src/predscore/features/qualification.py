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

Computation: answers are typed once per distinct text (:func:`typed_answers`); the rows of a lead where a
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

__all__ = [
    "FIELD_CODE",
    "qualification_arrays",
    "qualification_columns",
    "stage_qualifications_sql",
    "typed_answers",
]

FIELD_CODE = {field_: i for i, field_ in enumerate(QUALIFICATION_FIELDS)}


_FLAG_VALUES = {"yes": 1.0, "no": 0.0}
#: The kind of each field code (the last entry: a field outside the vocabulary).
_KINDS = np.array([QUALIFICATION_FIELDS[f] for f in FIELD_CODE] + ["text"])


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return np.nan


def typed_answers(
    field: np.ndarray, values: pa.Array | pa.ChunkedArray
) -> tuple[np.ndarray, np.ndarray]:
    """Each answer as a number (NaN for text fields or when not informative) and
    whether it is informative, by its field's kind (see the module).

    ``field`` holds the field codes (:data:`FIELD_CODE`). Numbers are parsed once per
    distinct text (validated tables hold them in their canonical spelling).
    """
    kind = (
        _KINDS[np.where(field >= 0, field, len(FIELD_CODE))]
        if len(field)
        else _KINDS[:0]
    )
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    texts = encoded.dictionary.to_pylist()
    code = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    code = code.astype(np.int64)
    # per distinct text (the last entry: a missing answer)
    flag = np.array([_FLAG_VALUES.get(t, np.nan) for t in texts] + [np.nan])
    number = np.array([_number(t) for t in texts] + [np.nan])
    blank = np.array([t.strip(" ") == "" for t in texts] + [True])
    num = np.where(
        kind == "flag", flag[code], np.where(kind == "number", number[code], np.nan)
    )
    known = np.where(kind == "text", ~blank[code], ~np.isnan(num))
    return num, known


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


def stage_qualifications_sql() -> str:
    """Qualifications of the leads of ``grid`` that a row can know.

    Columns: ``li``, ``t_us``, ``field`` (code) and ``value`` (text); sorted by lead,
    time and value, the order in which the latest value wins. Answers are typed by
    :func:`typed_answers`.
    """
    code = " ".join(f"WHEN {quote_str(f)} THEN {i}" for f, i in FIELD_CODE.items())
    return f"""
    SELECT g.li, q.t_us, CAST(CASE q.field {code} END AS TINYINT) AS field, q.value
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
) -> dict[str, pa.Array | np.ndarray]:
    """Qualification features of the rows of ``grid``, one array per spec (numbers
    in numpy, texts in Arrow).

    ``records`` are the staged qualifications of the batch's leads (whose first lead
    is number ``first_lead``), in the order of :func:`stage_qualifications_sql`.
    """
    lead = records["li"].to_numpy().astype(np.int64) - first_lead
    t = records["t_us"].to_numpy().astype(np.int64)
    start = pit.first_row_at(t, grid.first[lead], grid.step, grid.count[lead])
    field = records["field"].to_numpy().astype(np.int64)
    index = latest(grid, lead, start, field, len(FIELD_CODE))
    num, known = typed_answers(field, records["value"])
    texts = pc.dictionary_encode(records["value"])
    out: dict[str, pa.Array | np.ndarray] = {}
    for field_, k in FIELD_CODE.items():
        at, found = np.maximum(index[k], 0), index[k] >= 0
        if QUALIFICATION_FIELDS[field_] == "text":  # categories: encoded once
            value = texts.take(pa.array(index[k], mask=~found))
            out[f"qual_{field_}"] = value.combine_chunks()
        else:
            out[f"qual_{field_}"] = np.where(
                found, num[at] if len(num) else np.nan, np.nan
            )
        flag = found & (known[at] if len(known) else False)
        out[f"qual_{field_}_known"] = flag.astype(np.int32)
    return out
