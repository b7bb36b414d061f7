"""SQL text helpers of the feature engine: literals and identifiers, quoted safely."""

from __future__ import annotations

__all__ = ["quote_ident", "quote_str"]


def quote_str(value: str) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    """A SQL identifier (any column name, spaces and quotes included)."""
    return '"' + str(name).replace('"', '""') + '"'
