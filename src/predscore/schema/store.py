"""Read and write canonical tables as Parquet, one file per table in a data folder.

Stage: between the sources (demo generator, ingest) and validation. A data set is a
folder holding ``accounts.parquet``, ``leads.parquet``, ``activities.parquet``,
``qualifications.parquet`` and ``outcomes.parquet``. Types survive the round trip:
timestamps as ``timestamp[us, UTC]``, categorical columns as dictionaries, tech stacks
as ``list<string>``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from predscore.errors import SchemaError
from predscore.io import read_parquet, write_parquet
from predscore.schema.tables import TABLE_ORDER, TABLES, arrow_schema, conform

__all__ = ["read_raw_tables", "read_table", "table_path", "to_arrow", "write_table"]


def table_path(data_dir: Path, table: str) -> Path:
    """Path of a canonical table inside a data folder."""
    return data_dir / f"{table}.parquet"


def to_arrow(frame: pd.DataFrame, table: str) -> pa.Table:
    """Convert a canonical frame to Arrow with the canonical types (extras inferred).

    Raises
    ------
    SchemaError
        When a column cannot be converted (the message names the table and column).
    """
    conformed = conform(frame, table)
    extra_cols = [c for c in conformed.columns if c not in TABLES[table].by_name]
    try:
        extra = (
            pa.Schema.from_pandas(conformed[extra_cols], preserve_index=False)
            if extra_cols
            else None
        )
        schema = arrow_schema(table, extra)
        return pa.Table.from_pandas(conformed, schema=schema, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise _arrow_error(conformed, table, exc) from exc


def _arrow_error(frame: pd.DataFrame, table: str, exc: Exception) -> SchemaError:
    """Name the first column Arrow cannot convert (run on the failure path only)."""
    for name in frame.columns:
        spec = TABLES[table].by_name.get(name)
        try:
            pa.array(
                frame[name],
                type=None if spec is None else arrow_schema(table).field(name).type,
                from_pandas=True,
            )
        except (pa.ArrowException, TypeError, ValueError) as col_exc:
            expected = "values of one type" if spec is None else spec.expected
            return SchemaError(table, name, expected, f"{col_exc}")
    return SchemaError(table, None, "a frame convertible to Arrow", f"{exc}")


def write_table(frame: pd.DataFrame, data_dir: Path, table: str) -> Path:
    """Write one canonical table atomically and return its path.

    Raises
    ------
    SchemaError
        When the frame cannot be converted to the canonical types; nothing is written
        and a previous file at the same path is left as it was.
    """
    path = table_path(data_dir, table)
    try:
        arrow = to_arrow(frame, table)
    except SchemaError as exc:
        raise SchemaError(str(path), exc.column, exc.expected, exc.found) from exc
    write_parquet(arrow, path)
    return path


def read_table(data_dir: Path, table: str) -> pd.DataFrame:
    """Read one canonical table with canonical dtypes (no row-level checks)."""
    return conform(read_parquet(table_path(data_dir, table)), table)


def read_raw_tables(data_dir: Path) -> dict[str, pd.DataFrame]:
    """Read the five tables of a data folder as stored, for validation.

    Raises
    ------
    SchemaError
        When the folder or a table file is missing.
    """
    if not data_dir.is_dir():
        raise SchemaError(str(data_dir), None, "a data folder", "no such folder")
    tables = {}
    for table in TABLE_ORDER:
        path = table_path(data_dir, table)
        if not path.is_file():
            raise SchemaError(
                str(path), None, f"the canonical table '{table}'", "no such file"
            )
        tables[table] = read_parquet(path)
    return tables
