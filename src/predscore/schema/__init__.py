"""Canonical CRM tables: declaration, dtypes, and raw → validated checks."""

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
]
