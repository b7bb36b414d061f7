"""The rejections table: one row per input row that could not be used, with its reason.

Columns (DESIGN.md "Outputs"): ``lead_id`` (if known), ``table``, ``row`` (0-based
position in the table as read; null when the reason is not one row's, e.g. a lead whose
features could not be computed), ``column``, ``reason``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from predscore.io import write_parquet

__all__ = ["REJECTIONS_SCHEMA", "write_rejections"]

REJECTIONS_SCHEMA = pa.schema(
    [
        pa.field("lead_id", pa.string()),
        pa.field("table", pa.string()),
        pa.field("row", pa.int64()),
        pa.field("column", pa.string()),
        pa.field("reason", pa.string()),
    ]
)


def write_rejections(rejections: pd.DataFrame, path: Path) -> Path:
    """Write a rejections frame atomically with a fixed schema; return the path."""
    frame = rejections[REJECTIONS_SCHEMA.names].astype(
        {"lead_id": object, "table": object, "column": object, "reason": object}
    )
    frame = frame.where(frame.notna(), None).astype({"row": "Int64"})
    write_parquet(
        pa.Table.from_pandas(frame, schema=REJECTIONS_SCHEMA, preserve_index=False),
        path,
    )
    return path
