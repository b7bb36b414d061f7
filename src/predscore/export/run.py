"""``predscore export``: a scoring run written back to a CRM.

Stage: export. Reads the run (``scores.parquet`` and its manifest), builds its
records (:mod:`.records`) and hands them to the destination of the configuration:
files for Salesforce and HubSpot (:mod:`.files`), the tables for SQL (:mod:`.sql`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from predscore.config.export import ExportConfig
from predscore.errors import ConfigError
from predscore.export.files import write_hubspot, write_salesforce
from predscore.export.records import export_records, run_id
from predscore.export.sql import Progress, export_sql
from predscore.pages.scores_folder import read_batch

__all__ = ["ExportResult", "export_scores"]


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the run, its lead count, the files or the table
    counts (``sql``)."""

    target: str
    run_id: str
    leads: int
    files: list[Path] = field(default_factory=list)
    sql: dict[str, Any] = field(default_factory=dict)


def export_scores(
    scores: Path,
    config: ExportConfig,
    out: Path | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the scoring run in ``scores`` to the destination of ``config``.

    Parameters
    ----------
    scores : Path
        A folder written by ``predscore score --out``.
    config : ExportConfig
        Destination, fields, reasons.
    out : Path, optional
        Folder of the files (Salesforce, HubSpot); default: ``scores/export``.
    progress : callable, optional
        SQL only: called with the rows written after each batch.

    Raises
    ------
    ConfigError
        When a file destination has no folder to write to, or the SQL URL is unset.
    OutputError
        When a file or the database cannot be written (nothing is half-written).
    """
    batch = read_batch(Path(scores))
    records = export_records(batch, config)
    identity = run_id(batch)
    if config.target == "sql":
        counts = export_sql(records, config, progress=progress)
        return ExportResult("sql", identity, len(records), sql=counts)
    folder = Path(out) if out is not None else Path(scores) / "export"
    if folder.resolve() == Path(scores).resolve():
        raise ConfigError("--out must not be the scores folder itself")
    writer = write_salesforce if config.target == "salesforce" else write_hubspot
    files = writer(records, config, folder)
    return ExportResult(config.target, identity, len(records), files=files)
