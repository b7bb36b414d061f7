"""Canonical CRM tables: declaration, dtypes, Parquet store, raw → validated checks.

Validation lives in :mod:`predscore.schema.validate` (``validate_tables``,
``load_dataset``).
"""

from predscore.schema.store import (
    read_raw_tables,
    read_table,
    table_path,
    to_arrow,
    write_table,
)
from predscore.schema.tables import (
    ACTIONS,
    CHANNELS,
    OUTCOMES,
    QUALIFICATION_FIELDS,
    ROLES,
    SENIORITIES,
    TABLE_ORDER,
    TABLES,
    ColumnSpec,
    TableSpec,
    arrow_schema,
    conform,
    empty_table,
    pandera_schema,
)

__all__ = [
    "ACTIONS",
    "CHANNELS",
    "OUTCOMES",
    "QUALIFICATION_FIELDS",
    "ROLES",
    "SENIORITIES",
    "TABLES",
    "TABLE_ORDER",
    "ColumnSpec",
    "TableSpec",
    "arrow_schema",
    "conform",
    "empty_table",
    "pandera_schema",
    "read_raw_tables",
    "read_table",
    "table_path",
    "to_arrow",
    "write_table",
]
