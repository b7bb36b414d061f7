"""Import a CRM export through a column-mapping YAML (``predscore ingest``).

A mapping (:func:`load_mapping`, format in :mod:`predscore.ingest.mapping`) turns the
files of an export, or the rows of SQL queries against the CRM's database
(:func:`read_sql_source`), into the five canonical tables; :func:`ingest` validates them
(every source row is kept or rejected with its reason) and :func:`run_ingest` also
writes them with ``rejections.parquet`` and ``ingest_report.json``.
"""

from predscore.ingest.mapping import IngestMapping, load_mapping
from predscore.ingest.run import (
    REPORT_FILE,
    IngestResult,
    ingest,
    run_ingest,
    write_ingest,
)
from predscore.ingest.sql_source import read_sql_source

__all__ = [
    "REPORT_FILE",
    "IngestMapping",
    "IngestResult",
    "ingest",
    "load_mapping",
    "read_sql_source",
    "run_ingest",
    "write_ingest",
]
