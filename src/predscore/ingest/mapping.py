"""The column-mapping format of ``predscore ingest`` (``configs/mappings/*.yaml``).

Stage: configuration of the ingest, the first step of the flow. A mapping says which
files make up a CRM export (``sources``), how lookup files are joined into them
(``joins``), how each canonical column of ``accounts``, ``leads``, ``activities`` and
``qualifications`` is obtained from source columns (a :class:`Rule` per column, plus
``extra`` attribute columns kept on ``leads`` and ``accounts``), which source values
mean won / lost / open (``label``, which also builds ``outcomes``) and which columns
leak the outcome (``leaks``: never imported, listed in the report). Every model is
frozen with ``extra="forbid"``: a typo is a :class:`~predscore.errors.ConfigError`
naming the mapping file and the dotted key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from predscore.config import read_yaml
from predscore.errors import ConfigError
from predscore.schema import TABLES

__all__ = [
    "IngestMapping",
    "JoinSpec",
    "LabelSpec",
    "MonthSequence",
    "RowNumber",
    "Rule",
    "SourceSpec",
    "TableMap",
    "load_mapping",
]

Scalar = str | int | float | bool
Cast = Literal["text", "int", "float", "bool", "timestamp"]
Outcome = Literal["won", "lost", "open", "reject"]
MAPPED_TABLES = ("accounts", "leads", "activities", "qualifications")
_ENGLISH_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SourceSpec(_Model):
    """One source of the export: a file (read as text, no type inference, unless it
    is typed) or a query against a database (read as a CSV file is: every value as
    text, dates in ISO 8601; see :mod:`predscore.ingest.sql_source`)."""

    file: str | None = Field(None, description="path relative to --source (a folder)")
    sql: str | None = Field(
        None, description="a query whose rows are the source (instead of a file)"
    )
    url_env: str = Field(
        "PREDSCORE_SOURCE_URL",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="environment variable holding the database URL of `sql` "
        "(credentials never in the mapping)",
    )
    chunk_rows: int = Field(
        50_000, ge=1, description="rows fetched from the database at a time"
    )
    format: Literal["csv", "parquet", "excel"] | None = Field(
        None, description="default: from the file suffix"
    )
    delimiter: str = Field(",", min_length=1, max_length=1)
    encoding: str = "utf-8"
    encoding_errors: Literal["strict", "replace"] = Field(
        "strict",
        description="a byte not valid in `encoding`: stop with its line (strict), or "
        "read it as U+FFFD (replace)",
    )
    sheet: str | int = Field(0, description="Excel sheet name or position")
    na_values: list[str] = Field(
        [], description="texts read as missing, besides empty cells (e.g. 'Select')"
    )

    @model_validator(mode="after")
    def _one_origin(self) -> SourceSpec:
        if (self.file is None) == (self.sql is None):
            raise ValueError("give a source either `file` or `sql`, exactly one")
        return self

    @property
    def kind(self) -> Literal["csv", "parquet", "excel", "sql"]:
        """Format of the file, given or taken from its suffix; ``sql`` for a query."""
        if self.sql is not None:
            return "sql"
        if self.format is not None:
            return self.format
        suffix = Path(str(self.file)).suffix.lower()
        if suffix in (".parquet", ".pq"):
            return "parquet"
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return "excel"
        return "csv"


class JoinSpec(_Model):
    """Left join of a lookup file into a source (many rows to one lookup row).

    The lookup's key must be unique, so that the source keeps its rows and their order;
    its other columns are added with ``prefix``.
    """

    into: str
    lookup: str
    left_on: str
    right_on: str
    key_map: dict[str, str] = Field(
        {}, description="rewrite left key values before matching (e.g. typos)"
    )
    prefix: str = ""


class MonthSequence(_Model):
    """Timestamps from row order and a month-name column (rows in time order).

    The year starts at ``first_year`` and goes up by one each time the month goes
    back (``dec`` → ``mar``); the rows of one month are spread evenly over it in row
    order (row ``k`` of ``n`` at ``k/n`` of the month, to the second).
    """

    column: str
    first_year: int = Field(ge=1900, le=2200)
    names: dict[str, int] = Field(
        _ENGLISH_MONTHS, description="month name (lower case) → month number"
    )

    @field_validator("names")
    @classmethod
    def _months(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in value.items() if not 1 <= v <= 12}
        if bad:
            raise ValueError(f"month numbers must be 1..12, got {bad}")
        return {k.lower(): v for k, v in value.items()}


class RowNumber(_Model):
    """Identifiers from row positions, for sources without an id column."""

    prefix: str = ""
    start: int = Field(0, ge=0, description="number of the file's first row")


class Rule(_Model):
    """How one output column is obtained; a plain string is short for ``column: …``.

    Steps, in order: take the value (exactly one of ``column``, ``constant``,
    ``month_sequence``, ``row_number``), apply the value ``map`` (``null`` targets mean missing), cast
    (``cast``; canonical columns default to their own type, extras to text), then
    ``scale`` numbers or shift timestamps by ``offset_days``, and last fill what is
    still missing from ``fallback``. A value that cannot be read rejects its row, with
    a reason naming the source column.
    """

    column: str | None = None
    constant: Scalar | None = None
    month_sequence: MonthSequence | None = None
    row_number: RowNumber | None = None
    map: dict[str, Scalar | None] | None = None
    unmapped: Literal["keep", "missing", "reject"] = Field(
        "keep", description="values not in `map`: keep as is, make missing, or reject"
    )
    cast: Cast | None = None
    format: str | None = Field(
        None, description="strptime format of dates (default: ISO 8601)"
    )
    timezone: str = Field("UTC", description="timezone of dates without an offset")
    scale: float | None = Field(None, description="multiply numbers by this")
    offset_days: float | None = Field(None, description="add this to timestamps")
    fallback: Rule | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"column": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_origin(self) -> Rule:
        given = [
            name
            for name in ("column", "constant", "month_sequence", "row_number")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of 'column', 'constant', 'month_sequence' or "
                "'row_number', "
                f"found {given or 'none'}"
            )
        if self.unmapped != "keep" and self.map is None:
            raise ValueError("'unmapped' needs a 'map'")
        return self

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown timezone {value!r} (use an IANA name such as "
                "'Europe/Paris' or 'UTC')"
            ) from exc
        return value

    def source_columns(self) -> Iterator[str]:
        """Source columns this rule reads (its fallbacks included)."""
        if self.column is not None:
            yield self.column
        if self.month_sequence is not None:
            yield self.month_sequence.column
        if self.fallback is not None:
            yield from self.fallback.source_columns()


class TableMap(_Model):
    """One canonical table from one source: a rule per canonical column, extras."""

    from_: str = Field(alias="from", description="name of a source (after joins)")
    columns: dict[str, Rule]
    extra: dict[str, Rule] = Field(
        {}, description="extra attribute columns (leads and accounts only)"
    )


class LabelSpec(_Model):
    """Which values of a column of the leads' source mean won, lost or still open.

    Won and lost rows also give one ``outcomes`` row (``closed_at`` is required there);
    open rows give none. A row whose value is not listed is handled by ``other`` (or by
    ``missing`` when the cell is empty); ``reject`` rejects the lead with the reason.
    """

    column: str
    won: list[str] = []
    lost: list[str] = []
    open: list[str] = []
    other: Outcome = "reject"
    missing: Outcome = "reject"
    closed_at: Rule
    amount: Rule | None = None
    reason: Rule | None = None

    @model_validator(mode="after")
    def _disjoint(self) -> LabelSpec:
        seen: dict[str, str] = {}
        for outcome in ("won", "lost", "open"):
            for value in getattr(self, outcome):
                if value in seen:
                    raise ValueError(
                        f"value {value!r} is listed as both {seen[value]} and {outcome}"
                    )
                seen[value] = outcome
        return self

    def outcome_of(self) -> dict[str, str]:
        """Listed value → won / lost / open."""
        return {
            value: outcome
            for outcome in ("won", "lost", "open")
            for value in getattr(self, outcome)
        }

    def rules(self) -> dict[str, Rule]:
        """Rules of the ``outcomes`` columns other than lead_id and outcome."""
        named = {
            "closed_at": self.closed_at,
            "amount": self.amount,
            "reason": self.reason,
        }
        return {name: rule for name, rule in named.items() if rule is not None}


class IngestMapping(_Model):
    """A whole mapping file: one CRM export → the five canonical tables."""

    name: str
    description: str = ""
    sources: dict[str, SourceSpec] = Field(min_length=1)
    joins: list[JoinSpec] = []
    accounts: TableMap | None = None
    leads: TableMap
    activities: TableMap | None = None
    qualifications: TableMap | None = None
    label: LabelSpec
    leaks: dict[str, str] = Field(
        {}, description="source column → why it leaks the outcome (never imported)"
    )

    def tables(self) -> dict[str, TableMap]:
        """The table maps that are given, by canonical table name."""
        return {
            t: getattr(self, t) for t in MAPPED_TABLES if getattr(self, t) is not None
        }

    def rules(self) -> Iterator[tuple[str, str, Rule]]:
        """Every rule with its dotted key and the source it reads."""
        for table, spec in self.tables().items():
            for section in ("columns", "extra"):
                for name, rule in getattr(spec, section).items():
                    yield f"{table}.{section}.{name}", spec.from_, rule
        for name, rule in self.label.rules().items():
            yield f"label.{name}", self.leads.from_, rule


def _static_problems(mapping: IngestMapping) -> Iterator[tuple[str, str]]:
    """(dotted key, message) of what pydantic cannot see: names and vocabularies."""
    names = set(mapping.sources)
    for i, join in enumerate(mapping.joins):
        for attr in ("into", "lookup"):
            if getattr(join, attr) not in names:
                yield (
                    f"joins.{i}.{attr}",
                    _unknown(getattr(join, attr), names, "source"),
                )
    for table, spec in mapping.tables().items():
        if spec.from_ not in names:
            yield f"{table}.from", _unknown(spec.from_, names, "source")
        yield from _table_problems(table, spec)
    for key, _, rule in mapping.rules():
        leaked = sorted(set(rule.source_columns()) & set(mapping.leaks))
        if leaked and not key.startswith("label."):
            yield key, f"reads leak column(s) {leaked}: only the label may use them"


def _table_problems(table: str, spec: TableMap) -> Iterator[tuple[str, str]]:
    """Canonical names, required columns, extras and closed vocabularies."""
    canonical = TABLES[table].by_name
    for column in spec.columns:
        if column not in canonical:
            yield (
                f"{table}.columns.{column}",
                _unknown(column, set(canonical), f"column of '{table}'")
                + "; put other attributes under 'extra'",
            )
    missing = [c for c in TABLES[table].required if c not in spec.columns]
    if missing:
        yield f"{table}.columns", f"required column(s) {missing} have no rule"
    if spec.extra and not TABLES[table].keeps_extra_columns:
        yield f"{table}.extra", f"table '{table}' keeps no extra columns"
    for column in spec.extra:
        if column in canonical:
            yield (
                f"{table}.extra.{column}",
                "is a canonical column: put it under 'columns'",
            )
    for column, rule in spec.columns.items():
        if column in canonical:
            yield from _vocabulary_problems(
                f"{table}.columns.{column}", rule, canonical[column].values
            )


def _vocabulary_problems(
    key: str, rule: Rule, allowed: tuple[str, ...] | None
) -> Iterator[tuple[str, str]]:
    """Map targets and constants outside a closed vocabulary (fallbacks included)."""
    if allowed is None:
        return
    for source, target in (rule.map or {}).items():
        if target is not None and str(target) not in allowed:
            yield f"{key}.map.{source}", f"{target!r} is not one of {list(allowed)}"
    if rule.constant is not None and str(rule.constant) not in allowed:
        yield f"{key}.constant", f"{rule.constant!r} is not one of {list(allowed)}"
    if rule.fallback is not None:
        yield from _vocabulary_problems(f"{key}.fallback", rule.fallback, allowed)


def _unknown(name: str, known: set[str], what: str) -> str:
    return f"unknown {what} {name!r}; known: {sorted(known)}"


def load_mapping(path: Path) -> IngestMapping:
    """Read and validate a mapping file.

    Parameters
    ----------
    path : Path
        A YAML file in the format of :class:`IngestMapping`.

    Raises
    ------
    ConfigError
        When the file is missing or not YAML, a key is unknown or has a bad value, a
        value map targets a value outside a closed vocabulary (e.g. ``role``), a table
        lacks a rule for a required column, or a rule reads a leak column; the message
        names the file and the dotted key.
    """
    raw = read_yaml(path)
    try:
        mapping = IngestMapping.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: key '{key}': {first['msg']}{more}") from exc
    for key, message in _static_problems(mapping):
        raise ConfigError(f"{path}: key '{key}': {message}")
    return mapping
