"""Canonical CRM tables of predscore, declared once.

Stage: the contract between every source (demo generator, ``ingest``) and every
consumer (validation, features, scoring). Each table is a :class:`TableSpec` of
:class:`ColumnSpec` (name, kind, required, closed vocabulary). From that single
declaration come the pandera schema of a validated table (:func:`pandera_schema`), the
Arrow schema used to write it (:func:`arrow_schema`) and the dtype coercion applied
after reading (:func:`conform`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa_arrow

with warnings.catch_warnings():
    # pandera imports pyspark's pandas API whenever pyspark is installed (the Spark
    # engine needs it), and that API warns about pandas 3 on import; predscore does
    # not use it. Silenced here only, around the import, not for the user's session.
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support", category=FutureWarning
    )
    import pandera.pandas as pa

from predscore.errors import SchemaError

__all__ = [
    "ACTIONS",
    "CHANNELS",
    "OUTCOMES",
    "QUALIFICATION_FIELDS",
    "ROLES",
    "SENIORITIES",
    "TABLES",
    "TABLE_ORDER",
    "ColumnKind",
    "ColumnSpec",
    "TableSpec",
    "arrow_schema",
    "conform",
    "empty_table",
    "pandera_schema",
]

ColumnKind = Literal[
    "id", "string", "category", "int", "float", "timestamp", "string_list"
]

ROLES = ("decision_maker", "influencer", "user", "unknown")
SENIORITIES = ("c_level", "vp", "director", "manager", "individual")
OUTCOMES = ("won", "lost")
CHANNELS = (
    "email",
    "webinar",
    "content",
    "linkedin",
    "web",
    "form",
    "meeting",
    "call",
    "event",
)
#: Actions a channel may carry. The vocabulary is closed so that features can rely on
#: it; an export with other actions maps them in its ingest mapping.
ACTIONS: Mapping[str, tuple[str, ...]] = {
    "email": ("sent", "open", "click", "reply", "bounce", "unsubscribe"),
    "webinar": ("register", "attend"),
    "content": ("download", "view"),
    "linkedin": ("connect", "message", "like", "comment", "view"),
    "web": ("view",),
    "form": ("submit", "demo_request"),
    "meeting": ("scheduled", "held", "no_show"),
    "call": ("attempt", "connected"),
    "event": ("register", "attend", "visit"),
}

#: Known qualification fields (BANT, CHAMP, GPCT, MEDDICC) and how their value is
#: typed: ``flag`` values are yes / no / unknown, ``number`` values are decimal numbers,
#: ``text`` values are free text. Fields not listed here are kept as text.
QUALIFICATION_FIELDS: Mapping[str, Literal["flag", "number", "text"]] = {
    "budget": "flag",  # BANT budget, CHAMP money
    "budget_amount": "number",
    "authority": "flag",  # BANT authority, CHAMP authority
    "need": "flag",  # BANT need, CHAMP challenges, MEDDICC identify pain
    "timeline_months": "number",  # BANT timing, CHAMP prioritization, GPCT timeline
    "champion": "flag",  # MEDDICC champion
    "economic_buyer": "flag",  # MEDDICC economic buyer identified
    "decision_process": "text",  # MEDDICC decision process
    "decision_criteria": "text",  # MEDDICC decision criteria
    "metrics": "text",  # MEDDICC metrics
    "pain": "text",  # MEDDICC identify pain
    "competition": "text",  # MEDDICC competition
    "goals": "text",  # GPCT goals
    "plans": "text",  # GPCT plans
    "challenges": "text",  # GPCT challenges, CHAMP challenges
}


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column."""

    name: str
    kind: ColumnKind
    required: bool = False
    values: tuple[str, ...] | None = None  # closed vocabulary, if any
    doc: str = ""

    @property
    def expected(self) -> str:
        """Human description of the expected type, used in error messages."""
        return {
            "id": "an identifier (text)",
            "string": "text",
            "category": "text (categorical)",
            "int": "an integer",
            "float": "a number",
            "timestamp": "a timestamp (UTC)",
            "string_list": "a list of strings",
        }[self.kind]


@dataclass(frozen=True)
class TableSpec:
    """One canonical table: its columns, its key and whether extra columns are kept."""

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ()
    keeps_extra_columns: bool = False
    doc: str = ""
    by_name: Mapping[str, ColumnSpec] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required columns."""
        return tuple(c.name for c in self.columns if c.required)

    @property
    def time_column(self) -> str | None:
        """The event-time column, for tables that have one."""
        return {
            "leads": "created_at",
            "activities": "occurred_at",
            "qualifications": "recorded_at",
            "outcomes": "closed_at",
            "accounts": "created_at",
        }.get(self.name)


TABLES: Mapping[str, TableSpec] = {
    "accounts": TableSpec(
        "accounts",
        (
            ColumnSpec("account_id", "id", required=True),
            ColumnSpec("name", "string"),
            ColumnSpec("sector", "category"),
            ColumnSpec("employees", "int"),
            ColumnSpec("annual_revenue", "float"),
            ColumnSpec("country", "category", doc="ISO 3166-1 alpha-2"),
            ColumnSpec("region", "category"),
            ColumnSpec("tech_stack", "string_list"),
            ColumnSpec("created_at", "timestamp"),
        ),
        key=("account_id",),
        keeps_extra_columns=True,
        doc="Companies (firmographics).",
    ),
    "leads": TableSpec(
        "leads",
        (
            ColumnSpec("lead_id", "id", required=True),
            ColumnSpec("account_id", "id"),
            ColumnSpec("created_at", "timestamp", required=True),
            ColumnSpec("source", "category"),
            ColumnSpec("job_title", "string"),
            ColumnSpec("role", "category", values=ROLES),
            ColumnSpec("seniority", "category", values=SENIORITIES),
            ColumnSpec("department", "category"),
            ColumnSpec("country", "category"),
        ),
        key=("lead_id",),
        keeps_extra_columns=True,
        doc="Contacts to qualify, one row per lead; extra attribute columns are kept.",
    ),
    "activities": TableSpec(
        "activities",
        (
            ColumnSpec("lead_id", "id", required=True),
            ColumnSpec("occurred_at", "timestamp", required=True),
            ColumnSpec("channel", "category", required=True, values=CHANNELS),
            ColumnSpec(
                "action",
                "category",
                required=True,
                values=tuple(sorted({a for acts in ACTIONS.values() for a in acts})),
            ),
            ColumnSpec("detail", "category", doc="page, asset or campaign"),
            ColumnSpec("quantity", "float", doc="e.g. seconds on page"),
        ),
        doc="Timestamped marketing and sales touches.",
    ),
    "qualifications": TableSpec(
        "qualifications",
        (
            ColumnSpec("lead_id", "id", required=True),
            ColumnSpec("recorded_at", "timestamp", required=True),
            ColumnSpec("field", "category", required=True),
            ColumnSpec("value", "string", required=True),
        ),
        doc="BANT / CHAMP / GPCT / MEDDICC answers; the latest as of a cutoff counts.",
    ),
    "outcomes": TableSpec(
        "outcomes",
        (
            ColumnSpec("lead_id", "id", required=True),
            ColumnSpec("closed_at", "timestamp", required=True),
            ColumnSpec("outcome", "category", required=True, values=OUTCOMES),
            ColumnSpec("amount", "float"),
            ColumnSpec("reason", "string"),
        ),
        key=("lead_id",),
        doc="Won / lost closings; a lead without one at the cutoff is open.",
    ),
}
TABLE_ORDER = ("accounts", "leads", "activities", "qualifications", "outcomes")

_TIMESTAMP = pd.DatetimeTZDtype("us", "UTC")


def _pandas_dtype(kind: ColumnKind) -> object:
    return {
        "id": str,
        "string": str,
        "category": "category",
        "int": "Int64",
        "float": "float64",
        "timestamp": _TIMESTAMP,
        "string_list": object,
    }[kind]


def _is_string_list(cell: object) -> bool:
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return True
    return isinstance(cell, list) and all(isinstance(item, str) for item in cell)


def _pandera_column(spec: ColumnSpec) -> pa.Column:
    checks = []
    if spec.values is not None:
        checks.append(pa.Check.isin(spec.values, error=f"one of {list(spec.values)}"))
    if spec.kind in ("int", "float"):
        checks.append(pa.Check.ge(0, ignore_na=True, error="a non-negative number"))
    if spec.kind == "string_list":
        checks.append(
            pa.Check(
                lambda s: s.map(_is_string_list),
                element_wise=False,
                error="a list of strings",
            )
        )
    return pa.Column(
        _pandas_dtype(spec.kind),
        checks=checks,
        nullable=not spec.required,
        required=True,
    )


def pandera_schema(table: str) -> pa.DataFrameSchema:
    """Strict pandera schema of a validated canonical table.

    Every canonical column must be present (optional ones may be all-null); extra
    columns are allowed only in tables that keep them (``accounts``, ``leads``).
    """
    spec = TABLES[table]
    return pa.DataFrameSchema(
        {c.name: _pandera_column(c) for c in spec.columns},
        strict=not spec.keeps_extra_columns,
        unique=list(spec.key) or None,
        name=table,
    )


def _arrow_type(kind: ColumnKind) -> pa_arrow.DataType:
    return {
        "id": pa_arrow.string(),
        "string": pa_arrow.string(),
        "category": pa_arrow.dictionary(pa_arrow.int32(), pa_arrow.string()),
        "int": pa_arrow.int64(),
        "float": pa_arrow.float64(),
        "timestamp": pa_arrow.timestamp("us", tz="UTC"),
        "string_list": pa_arrow.list_(pa_arrow.string()),
    }[kind]


def arrow_schema(table: str, extra: pa_arrow.Schema | None = None) -> pa_arrow.Schema:
    """Arrow schema used to write a canonical table (extras appended as given)."""
    fields = [
        pa_arrow.field(c.name, _arrow_type(c.kind)) for c in TABLES[table].columns
    ]
    if extra is not None:
        known = {f.name for f in fields}
        fields += [f for f in extra if f.name not in known]
    return pa_arrow.schema(fields)


def _to_list(cell: object) -> list[str] | None:
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return None
    return [str(item) for item in cell]  # type: ignore[union-attr]


def _to_category(series: pd.Series) -> pd.Series:
    """Categorical with sorted ``str`` categories (stable across chunks and runs)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.cat.remove_unused_categories()
        # an Index, not a list: an empty list would give ``object`` categories
        cats = pd.Index(series.cat.categories.astype(str), dtype="str")
        renamed = series.cat.rename_categories(cats)
        return renamed.cat.reorder_categories(cats.sort_values())
    values = series.astype("string").astype(object).where(series.notna(), None)
    cats = pd.Index(sorted({v for v in values if v is not None}), dtype="str")
    return pd.Series(
        pd.Categorical(values, categories=cats), index=series.index, name=series.name
    )


def _conform_column(series: pd.Series, col: ColumnSpec) -> pd.Series:
    if col.kind == "string_list":
        return series.map(_to_list).astype(object)
    if col.kind == "category":
        return _to_category(series)
    if col.kind in ("id", "string"):
        return series.astype("str").where(series.notna(), None).astype("str")
    return series.astype(_pandas_dtype(col.kind))  # type: ignore[call-overload]


def conform(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return ``frame`` with the canonical dtypes and column order (extras last).

    Assumes values are already valid (as after validation or a Parquet read of a
    validated table); missing optional columns are added empty. Extra columns are kept
    only in the tables that keep them (``accounts``, ``leads``) and dropped elsewhere,
    so that the result always matches :func:`pandera_schema`.

    Raises
    ------
    SchemaError
        When a column holds values that cannot take its canonical type (e.g. text in an
        integer column); the message names the table and the column.
    """
    spec = TABLES[table]
    out = {}
    for col in spec.columns:
        if col.name not in frame:
            series = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        else:
            series = frame[col.name]
        try:
            out[col.name] = _conform_column(series, col)
        except (TypeError, ValueError) as exc:
            raise SchemaError(
                table,
                col.name,
                col.expected,
                f"values that cannot be converted ({exc})",
            ) from exc
    result = pd.DataFrame(out, index=frame.index)
    if spec.keeps_extra_columns:
        for name in frame.columns:
            if name not in spec.by_name:
                result[name] = frame[name]
    return result.reset_index(drop=True)


def empty_table(table: str) -> pd.DataFrame:
    """A zero-row canonical table with the right dtypes."""
    spec = TABLES[table]
    return conform(pd.DataFrame({c.name: [] for c in spec.columns}), table)
