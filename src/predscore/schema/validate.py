"""Raw canonical tables → validated tables plus rejections.

Stage: right after the sources. Two kinds of problems are told apart:

* **structural** (a table or required column is missing, a column has a type that cannot
  hold what the schema expects): nothing can be trusted, so :class:`SchemaError` is
  raised with a one-line message naming the file, the column and what was expected;
* **row-level** (unparseable value, missing required value, value outside a closed
  vocabulary, negative amount, duplicate id, reference to an unknown lead or account,
  timestamp after ``as_of`` or before the lead's creation, close before creation): the
  row goes to the rejections table with its table, row position, column and reason, and
  the valid rows go on.

Nothing is dropped silently: for every table, rows in = rows kept + rows rejected, and
a rejected row has exactly one rejection record (the first problem found, checks running
in a fixed order). Rows referring to a rejected lead are rejected in turn, with that
reason. Columns that a table does not keep (anything but the canonical columns, except
in ``accounts`` and ``leads``) are dropped with a logged warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandas.api import types as ptypes

from predscore.config import ValidationConfig
from predscore.errors import DataValidationError, SchemaError
from predscore.schema.store import read_raw_tables, table_path
from predscore.schema.tables import (
    ACTIONS,
    QUALIFICATION_FIELDS,
    TABLE_ORDER,
    TABLES,
    ColumnSpec,
    conform,
    pandera_schema,
)

__all__ = [
    "REJECTION_COLUMNS",
    "Dataset",
    "ValidationResult",
    "load_dataset",
    "read_dataset",
    "validate_tables",
]

_log = logging.getLogger(__name__)

REJECTION_COLUMNS = ("lead_id", "table", "row", "column", "reason")
_FLAG_VALUES = {
    "yes": "yes",
    "y": "yes",
    "true": "yes",
    "1": "yes",
    "no": "no",
    "n": "no",
    "false": "no",
    "0": "no",
    "unknown": "unknown",
}


@dataclass(frozen=True)
class ValidationResult:
    """Validated tables, the rejected rows and the per-table counts."""

    tables: dict[str, pd.DataFrame]
    rejections: pd.DataFrame
    summary: pd.DataFrame  # table, rows_in, kept, rejected

    @property
    def rejected_lead_ids(self) -> set[str]:
        """Lead ids whose lead row itself was rejected."""
        leads = self.rejections[self.rejections["table"] == "leads"]
        return set(leads["lead_id"].dropna())


class _Rejector:
    """Collect one rejection per row of one table, first reason wins."""

    def __init__(self, table: str, frame: pd.DataFrame) -> None:
        self.table = table
        self.alive = np.ones(len(frame), dtype=bool)
        self.records: list[pd.DataFrame] = []
        # ids as coerced (stripped, integral floats as integers), None when absent
        if "lead_id" in frame:
            lead = frame["lead_id"].astype(object)
            self.lead_ids = lead.where(lead.notna(), None).to_numpy()
        else:
            self.lead_ids = np.full(len(frame), None, dtype=object)

    def reject(
        self, mask: np.ndarray, column: str | None, reason: str | pd.Series
    ) -> None:
        new = np.asarray(mask, dtype=bool) & self.alive
        if not new.any():
            return
        rows = np.flatnonzero(new)
        reasons = reason[new].to_numpy() if isinstance(reason, pd.Series) else reason
        self.records.append(
            pd.DataFrame(
                {
                    "lead_id": self.lead_ids[rows],
                    "table": self.table,
                    "row": rows.astype("int64"),
                    "column": column,
                    "reason": reasons,
                }
            )
        )
        self.alive &= ~new

    def frame(self) -> pd.DataFrame:
        if not self.records:
            return _empty_rejections()
        return pd.concat(self.records, ignore_index=True).astype(_REJECTION_DTYPES)


_REJECTION_DTYPES = {
    "lead_id": "str",
    "table": "str",
    "row": "int64",
    "column": "str",
    "reason": "str",
}


def _empty_rejections() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype=_REJECTION_DTYPES[c]) for c in REJECTION_COLUMNS}
    )


def _quote(values: pd.Series, limit: int = 40) -> pd.Series:
    return values.astype(str).str.slice(0, limit).map(repr)


# --- structural checks -------------------------------------------------------------


def _kind_of(series: pd.Series) -> str:
    if isinstance(series.dtype, pd.DatetimeTZDtype) or ptypes.is_datetime64_dtype(
        series
    ):
        return "timestamp"
    if ptypes.is_bool_dtype(series):
        return "boolean"
    if ptypes.is_numeric_dtype(series):
        return "number"
    sample = series.dropna()
    if len(sample) and isinstance(sample.iloc[0], list | tuple | np.ndarray):
        return "list"
    return "text"


_ACCEPTED = {
    "id": {"text", "number"},
    "string": {"text", "number", "boolean"},
    "category": {"text", "number", "boolean"},
    "int": {"number", "text", "boolean"},
    "float": {"number", "text", "boolean"},
    "timestamp": {"timestamp", "text"},
    "string_list": {"list", "text"},
}


def _check_structure(frame: pd.DataFrame, table: str, path: str) -> None:
    spec = TABLES[table]
    for name in spec.required:
        if name not in frame.columns:
            found = ", ".join(map(str, frame.columns)) or "no columns"
            raise SchemaError(
                path,
                name,
                f"required column '{name}' ({spec.by_name[name].expected})",
                f"columns {found}",
            )
    for col in spec.columns:
        if col.name in frame.columns and len(frame[col.name].dropna()):
            kind = _kind_of(frame[col.name])
            if kind not in _ACCEPTED[col.kind]:
                raise SchemaError(
                    path, col.name, col.expected, f"{kind} ({frame[col.name].dtype})"
                )


# --- coercion: parse what can be parsed, report what cannot ---------------------------


def _blank(series: pd.Series) -> pd.Series:
    """Missing values, and text that is only whitespace."""
    missing = series.isna()
    if not (
        ptypes.is_object_dtype(series)
        or ptypes.is_string_dtype(series)
        or isinstance(series.dtype, pd.CategoricalDtype)
    ):
        return missing  # numbers, timestamps, categories: no blank text to look for
    text = series.astype("string")
    return missing | text.str.strip().eq("").fillna(True)


def _coerce(series: pd.Series, col: ColumnSpec) -> tuple[pd.Series, pd.Series]:
    """Return (coerced series, mask of values present but unparseable)."""
    missing = _blank(series)
    if col.kind in ("id", "string", "category"):
        if ptypes.is_float_dtype(series) and (series.dropna() % 1 == 0).all():
            series = series.astype("Int64")
        text = series.astype("string").str.strip()
        out = text.astype(object).where(~missing, None)
        return out, pd.Series(False, index=series.index)
    if col.kind in ("int", "float"):
        values = pd.to_numeric(series.where(~missing), errors="coerce").astype(
            "float64"
        )
        # "inf" parses but is no amount, count or duration: report it as unparseable
        values = values.where(np.isfinite(values))
        bad = values.isna() & ~missing
        if col.kind == "int":
            fractional = values.notna() & (values % 1 != 0)
            bad |= fractional
            values = values.where(~fractional)
        return values.astype("float64"), bad
    if col.kind == "timestamp":
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            values = series.dt.tz_convert("UTC")
        elif ptypes.is_datetime64_dtype(series):
            values = series.dt.tz_localize("UTC")  # naive timestamps are read as UTC
        else:
            # as text: a number in a timestamp column is no epoch, it is unparseable
            values = pd.to_datetime(
                series.where(~missing).astype("string"),
                errors="coerce",
                utc=True,
                format="ISO8601",
            )
        values = values.dt.as_unit("us")
        return values, values.isna() & ~missing

    # string_list: a list per cell, or text separated by commas
    def to_list(cell: object) -> list[str] | None:
        if isinstance(cell, list | tuple | np.ndarray):
            return [str(v).strip() for v in cell if str(v).strip()]
        if cell is None or (isinstance(cell, float) and np.isnan(cell)):
            return None
        return [part.strip() for part in str(cell).split(",") if part.strip()]

    return series.map(to_list).astype(object), pd.Series(False, index=series.index)


def _format_number(value: float) -> str | None:
    """Shortest exact decimal text of a number ("3", "125000.5"); None when missing."""
    if pd.isna(value):
        return None
    return str(np.format_float_positional(float(value), trim="-"))


def _qualification_values(frame: pd.DataFrame, rejector: _Rejector) -> pd.Series:
    """Normalise flag and number answers; reject those that cannot be read."""
    kinds = frame["field"].map(lambda f: QUALIFICATION_FIELDS.get(f, "text"))
    value = frame["value"].astype("string")
    flags = value.str.lower().str.strip().map(_FLAG_VALUES).astype(object)
    numbers = pd.to_numeric(value.where(kinds == "number"), errors="coerce").astype(
        "float64"
    )
    numbers = numbers.where(np.isfinite(numbers))
    bad_flag = ((kinds == "flag") & flags.isna() & value.notna()).to_numpy(dtype=bool)
    bad_number = ((kinds == "number") & numbers.isna() & value.notna()).to_numpy(
        dtype=bool
    )
    negative = ((kinds == "number") & (numbers < 0)).to_numpy(dtype=bool)
    if negative.any():
        rejector.reject(
            negative,
            "value",
            "negative value "
            + _quote(value)
            + " for number field '"
            + frame["field"].astype(str)
            + "' (expected a number >= 0)",
        )
    if bad_flag.any() or bad_number.any():
        found = "unparseable value " + _quote(value)
        fields = frame["field"].astype(str)
        rejector.reject(
            bad_flag,
            "value",
            found + " for flag field '" + fields + "' (expected yes, no or unknown)",
        )
        rejector.reject(
            bad_number,
            "value",
            found + " for number field '" + fields + "' (expected a number)",
        )
    normalised = value.astype(object).where(value.notna(), None)
    normalised = normalised.where(kinds != "flag", flags.where(flags.notna(), None))
    return normalised.where(kinds != "number", numbers.map(_format_number)).astype(
        object
    )


def _pandera_rows(
    frame: pd.DataFrame, raw: pd.DataFrame, table: str, rejector: _Rejector
) -> None:
    """Closed vocabularies, required values and signs, checked by the pandera schema."""
    columns = pandera_schema(table).columns
    row_schema = pa.DataFrameSchema(columns, strict=False, coerce=True)
    candidate = conform(frame, table)
    try:
        row_schema.validate(candidate, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.dropna(subset=["index"])
        order = {name: i for i, name in enumerate(columns)}
        cases = cases.assign(_order=cases["column"].map(order)).sort_values(
            ["index", "_order", "check_number"], na_position="first", kind="stable"
        )
        first = cases.drop_duplicates("index")
        for (column, check), group in first.groupby(["column", "check"], sort=True):
            mask = np.zeros(len(frame), dtype=bool)
            mask[group["index"].astype(int).to_numpy()] = True
            if check == "not_nullable":
                reason = f"missing value in required column '{column}'"
                rejector.reject(mask, column, reason)
                continue
            found = _quote(raw[column] if column in raw else frame[column])
            rejector.reject(
                mask, column, found + f" in column '{column}' is not {check}"
            )


def _reject_duplicates(frame: pd.DataFrame, key: str, rejector: _Rejector) -> None:
    ids = frame[key][rejector.alive].dropna()
    dup = ids.duplicated(keep="first")
    firsts = ids[~dup]
    first_row = pd.Series(firsts.index, index=firsts.to_numpy())
    mask = np.zeros(len(frame), dtype=bool)
    mask[ids.index[dup.to_numpy()]] = True
    reasons = pd.Series("", index=frame.index, dtype=object)
    reasons[ids.index[dup.to_numpy()]] = [
        f"duplicate {key} (first seen at row {first_row[v]})" for v in ids[dup]
    ]
    rejector.reject(mask, key, reasons)


def _reject_future(
    frame: pd.DataFrame, column: str, as_of: pd.Timestamp, rejector: _Rejector
) -> None:
    mask = (frame[column] > as_of).fillna(False).to_numpy()
    rejector.reject(
        mask, column, f"{column} is after the as-of time {as_of.isoformat()}"
    )


def _reject_foreign_actions(frame: pd.DataFrame, rejector: _Rejector) -> None:
    """An action must belong to its channel (``web`` + ``attend`` is not a web action)."""
    pairs = {(c, a) for c, actions in ACTIONS.items() for a in actions}
    channel = frame["channel"].astype(object)
    action = frame["action"].astype(object)
    known = channel.isin(list(ACTIONS)) & action.notna()
    pair_ok = pd.MultiIndex.from_arrays([channel, action]).isin(list(pairs))
    bad = known.to_numpy(dtype=bool) & ~pair_ok
    if bad.any():
        allowed = channel.map(lambda c: ", ".join(ACTIONS.get(c, ())))
        rejector.reject(
            bad,
            "action",
            "action "
            + _quote(action)
            + " does not belong to channel "
            + _quote(channel)
            + " (expected one of: "
            + allowed
            + ")",
        )


def _validate_table(
    raw: pd.DataFrame, table: str, path: str, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, _Rejector]:
    """Per-table checks; returns the coerced frame (all rows) and its rejector."""
    spec = TABLES[table]
    raw = raw.reset_index(drop=True)
    _check_structure(raw, table, path)
    coerced: dict[str, pd.Series] = {}
    unparseable: list[tuple[ColumnSpec, pd.Series]] = []
    for col in spec.columns:
        if col.name not in raw.columns:
            coerced[col.name] = pd.Series([None] * len(raw), dtype=object)
            continue
        coerced[col.name], bad = _coerce(raw[col.name], col)
        unparseable.append((col, bad))
    frame = pd.DataFrame(coerced, index=raw.index)
    extras = [name for name in raw.columns if name not in spec.by_name]
    if spec.keeps_extra_columns:
        for name in extras:
            frame[name] = raw[name]
    elif extras:
        _log.warning(
            "%s: %d column(s) not in the canonical '%s' table dropped: %s",
            path,
            len(extras),
            table,
            ", ".join(map(str, extras)),
        )
    rejector = _Rejector(table, frame)
    for col, bad in unparseable:
        if bad.any():  # reasons are text work: build them only when needed
            rejector.reject(
                bad.to_numpy(dtype=bool),
                col.name,
                "unparseable value "
                + _quote(raw[col.name])
                + f" (expected {col.expected})",
            )
    if table == "qualifications":
        frame["value"] = _qualification_values(frame, rejector)
    _pandera_rows(frame, raw, table, rejector)
    if table == "activities":
        _reject_foreign_actions(frame, rejector)
    if spec.key:
        _reject_duplicates(frame, spec.key[0], rejector)
    if spec.time_column and table != "accounts":
        _reject_future(frame, spec.time_column, as_of, rejector)
    return frame, rejector


def _reject_unknown(
    frame: pd.DataFrame,
    column: str,
    known: pd.Index,
    rejected_rows: dict[str, int],
    rejector: _Rejector,
    parent: str,
) -> None:
    ids = frame[column]
    present = ids.notna()
    unknown = present & ~ids.isin(known)
    if not unknown.any():
        return
    reasons = ids.map(
        lambda v: (
            f"{column} rejected in {parent} (row {rejected_rows[v]})"
            if v in rejected_rows
            else f"unknown {column}: no such row in {parent}"
        )
    )
    rejector.reject(unknown.to_numpy(), column, reasons)


def _utc_as_of(as_of: object) -> pd.Timestamp:
    """``as_of`` as a UTC timestamp (naive means UTC); NaT is refused."""
    stamp = pd.Timestamp(as_of)
    if pd.isna(stamp):
        raise DataValidationError(
            "as_of: expected a timestamp, found nothing (NaT); pass the time of the check"
        )
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def validate_tables(
    raw: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    config: ValidationConfig | None = None,
    paths: dict[str, str] | None = None,
) -> ValidationResult:
    """Validate the five canonical tables against the schema and each other.

    Parameters
    ----------
    raw : dict of DataFrame
        The tables as read (``accounts``, ``leads``, ``activities``, ``qualifications``,
        ``outcomes``); columns may still be text.
    as_of : Timestamp
        Time of the check (UTC); rows stamped after it are rejected as "in the future".
    config : ValidationConfig, optional
        Tolerances; defaults apply when omitted.
    paths : dict of str, optional
        File each table came from, for messages.

    Returns
    -------
    ValidationResult
        Canonical tables of the valid rows, the rejections and the counts.

    Raises
    ------
    SchemaError
        On a missing table or column or an unusable column type.
    DataValidationError
        When ``as_of`` is missing (NaT), which would let future rows through.
    """
    config = config or ValidationConfig()
    as_of = _utc_as_of(as_of)
    paths = paths or {t: t for t in TABLE_ORDER}
    frames: dict[str, pd.DataFrame] = {}
    rejectors: dict[str, _Rejector] = {}
    for table in TABLE_ORDER:
        if table not in raw:
            raise SchemaError(
                paths.get(table, table), None, f"table '{table}'", "nothing"
            )
        frames[table], rejectors[table] = _validate_table(
            raw[table], table, paths.get(table, table), as_of
        )

    def kept_ids(table: str, key: str) -> tuple[pd.Index, dict[str, int]]:
        alive = rejectors[table].alive
        ids = frames[table][key]
        dead = ids[~alive & ids.notna()]
        return pd.Index(ids[alive]), {v: int(i) for i, v in dead.items()}

    accounts_ok, accounts_dead = kept_ids("accounts", "account_id")
    _reject_unknown(
        frames["leads"],
        "account_id",
        accounts_ok,
        accounts_dead,
        rejectors["leads"],
        "accounts",
    )
    leads_ok, leads_dead = kept_ids("leads", "lead_id")
    created = frames["leads"][rejectors["leads"].alive].set_index("lead_id")[
        "created_at"
    ]
    # in microseconds, the unit of the timestamps: a nanosecond delta would convert
    # them, and a year-1 date (valid here) has no nanosecond value
    tolerance = pd.Timedelta(
        days=config.activity_before_creation_tolerance_days
    ).as_unit("us")
    for table in ("activities", "qualifications", "outcomes"):
        frame, rejector = frames[table], rejectors[table]
        _reject_unknown(frame, "lead_id", leads_ok, leads_dead, rejector, "leads")
        time_col = TABLES[table].time_column
        assert time_col is not None
        # reindex, not map: map cannot take an empty datetime mapping
        lead_created = created.reindex(pd.Index(frame["lead_id"], dtype=object))
        lead_created = lead_created.set_axis(frame.index)
        slack = tolerance if table == "activities" else pd.Timedelta(0).as_unit("us")
        early = (frame[time_col] < lead_created - slack).fillna(False).to_numpy()
        rejector.reject(early, time_col, f"{time_col} is before the lead's created_at")

    tables = {t: conform(frames[t][rejectors[t].alive], t) for t in TABLE_ORDER}
    rejections = pd.concat(
        [rejectors[t].frame() for t in TABLE_ORDER], ignore_index=True
    ).astype(_REJECTION_DTYPES)
    summary = pd.DataFrame(
        {
            "table": list(TABLE_ORDER),
            "rows_in": [len(raw[t]) for t in TABLE_ORDER],
            "kept": [len(tables[t]) for t in TABLE_ORDER],
            "rejected": [int((~rejectors[t].alive).sum()) for t in TABLE_ORDER],
        }
    )
    return ValidationResult(tables=tables, rejections=rejections, summary=summary)


def _with_entries(qualifications: pd.DataFrame, entries: pd.DataFrame) -> pd.DataFrame:
    """The CRM's qualifications, then the reps' entries (``lead_id``,
    ``recorded_at`` = entry time, ``field``, ``value``): validated alike, point in
    time like any other row."""
    rows = entries.loc[:, ["lead_id", "recorded_at", "field", "value"]]
    base = qualifications.astype(
        {c: object for c in ("lead_id", "field", "value") if c in qualifications}
    )
    return pd.concat([base, rows.astype({"field": object})], ignore_index=True)


def load_dataset(
    data_dir: Path,
    as_of: pd.Timestamp,
    config: ValidationConfig | None = None,
    entries: pd.DataFrame | None = None,
) -> ValidationResult:
    """Read the five tables of ``data_dir`` and validate them.

    See :func:`validate_tables`; messages name the Parquet file of each table.
    ``entries``: qualification answers recorded by reps
    (:func:`predscore.store.qualification_rows`), appended to the CRM's
    ``qualifications`` before validation (their rows come after the file's).

    Raises
    ------
    SchemaError
        When the folder or a table file is missing, or on a structural problem.
    """
    raw = read_raw_tables(data_dir)
    paths = {t: str(table_path(data_dir, t)) for t in TABLE_ORDER}
    if entries is not None:
        raw["qualifications"] = _with_entries(raw["qualifications"], entries)
        paths["qualifications"] += " + rep entries"
    return validate_tables(raw, as_of, config, paths)


@dataclass(frozen=True)
class Dataset:
    """The validated tables a stage reads.

    Attributes
    ----------
    tables : Path or dict of DataFrame
        A folder validated before (``validate --out``), read lazily by each stage, or
        the frames validated in memory.
    rejections : DataFrame or None
        The rows validation rejected; None when the folder was validated before.
    """

    tables: Path | dict[str, pd.DataFrame]
    rejections: pd.DataFrame | None


def read_dataset(
    data: Path,
    as_of: pd.Timestamp,
    config: ValidationConfig | None = None,
    *,
    validated: bool = False,
    entries: pd.DataFrame | None = None,
) -> Dataset:
    """The tables of ``data`` for the next stage: the folder itself when it was
    validated before (``validated``), otherwise validated in memory at ``as_of``,
    with the reps' ``entries`` merged into ``qualifications`` (:func:`load_dataset`;
    a folder validated before holds those of its ``validate --out`` run).

    Raises
    ------
    SchemaError
        When the folder or a table file is missing, or on a structural problem.
    """
    data = Path(data)
    if validated:
        if not data.is_dir():
            raise SchemaError(f"{data}: data folder not found")
        return Dataset(tables=data, rejections=None)
    result = load_dataset(data, as_of, config, entries)
    return Dataset(tables=result.tables, rejections=result.rejections)
