"""``predscore ingest``: a CRM export and its mapping → validated canonical tables.

Stage: the first one of the flow. Reads the source files (:mod:`.readers`) and the
SQL sources (:mod:`.sql_source`), joins the
lookups, evaluates the mapping (:mod:`.build`), rejects the rows whose values cannot be
derived (and, in cascade, the rows that refer to them), runs
:func:`~predscore.schema.validate.validate_tables` on the rest and writes the five
tables, ``rejections.parquet`` and ``ingest_report.json``.

Row conservation: for every table, rows in = kept + rejected. In the rejections of an
ingest, ``row`` is the 0-based position of the row in its **source file** (header
excluded; for ``outcomes``, the row of the leads' source that carried the label), not
its position in the canonical table, and "(row N)" in reasons follows the same rule.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predscore.config import ValidationConfig
from predscore.errors import ConfigError
from predscore.ingest.build import RawTable, build_tables, check_columns
from predscore.ingest.mapping import IngestMapping, SourceSpec, load_mapping
from predscore.ingest.readers import (
    SourceFile,
    join_lookups,
    read_source,
    resolve_source,
)
from predscore.ingest.sql_source import (
    masked_url,
    query_digest,
    read_sql_source,
    source_url,
)
from predscore.io import atomic_path, file_sha256
from predscore.schema import TABLE_ORDER, TABLES, write_table
from predscore.schema.rejections import write_rejections
from predscore.schema.validate import REJECTION_COLUMNS, validate_tables

__all__ = ["REPORT_FILE", "IngestResult", "ingest", "run_ingest", "write_ingest"]

REPORT_FILE = "ingest_report.json"
_PARENT = {"leads": ("accounts", "account_id")} | dict.fromkeys(
    ("activities", "qualifications", "outcomes"), ("leads", "lead_id")
)


@dataclass(frozen=True)
class IngestResult:
    """Validated tables, rejections (rows of the source files), counts and report."""

    tables: dict[str, pd.DataFrame]
    rejections: pd.DataFrame
    summary: pd.DataFrame  # table, source, rows_in, kept, rejected
    labels: pd.DataFrame  # label, source, kept
    report: dict[str, Any]


def _read_all(
    mapping: IngestMapping, source: Path | None
) -> tuple[dict[str, SourceFile], dict[str, Path], dict[str, str]]:
    """Every source as read; the paths of the file sources; where each source is
    (its path, or the query's name and masked URL) for messages and the report."""
    files: dict[str, Path] = {}
    where: dict[str, str] = {}
    read: dict[str, SourceFile] = {}
    for name, spec in mapping.sources.items():
        if spec.sql is not None:
            where[name] = f"SQL source '{name}' ({masked_url(source_url(spec))})"
            read[name] = SourceFile(read_sql_source(spec, name))
            continue
        if source is None:
            raise ConfigError(
                f"source '{name}' is a file: pass --source, the folder that holds it"
            )
        files[name] = resolve_source(spec, source, only=len(mapping.sources) == 1)
        where[name] = str(files[name])
        read[name] = read_source(spec, files[name])
    return read, files, where


def _source_record(
    name: str, spec: SourceSpec, read: SourceFile, files: dict[str, Path]
) -> dict[str, Any]:
    """The report's record of one source: its file and SHA-256, or its query."""
    if spec.sql is not None:
        url = source_url(spec)
        return {
            "name": name,
            "query": spec.sql,
            "query_sha256": query_digest(spec.sql),
            "url": masked_url(url),
            "url_env": spec.url_env,
            "rows": len(read.frame),
            "malformed_rows": [],
        }
    return {
        "name": name,
        "file": str(files[name]),
        "sha256": file_sha256(files[name]),
        "rows": len(read.frame),
        "malformed_rows": [
            {"row": row, "line": line, "reason": reason}
            for row, (line, reason) in sorted(read.malformed.items())
        ],
    }


def _reject_malformed(
    raw: dict[str, RawTable],
    read: dict[str, SourceFile],
    files: dict[str, Path],
) -> dict[str, RawTable]:
    """Every table derived from a source rejects its malformed rows (file, line,
    reason), instead of whatever the missing values of such a row would say."""
    out = dict(raw)
    for table, item in raw.items():
        bad = read[item.source].malformed if item.source in read else {}
        if not bad:
            continue
        where = np.flatnonzero(np.isin(item.rows, list(bad)))
        name = files[item.source].name
        reasons = [
            f"malformed row: {name} line {bad[int(r)][0]}: {bad[int(r)][1]}"
            for r in item.rows[where]
        ]
        others = item.problems[~item.problems["position"].isin(where)]
        malformed = pd.DataFrame({"position": where, "column": None, "reason": reasons})
        out[table] = replace(
            item, problems=pd.concat([others, malformed], ignore_index=True)
        )
    return out


def _rejected(
    item: RawTable, positions: np.ndarray, column: object, reason: object
) -> pd.DataFrame:
    """Rejection records of some rows of a raw table (positions in its frame)."""
    lead = (
        item.frame["lead_id"].to_numpy()[positions] if "lead_id" in item.frame else None
    )
    return pd.DataFrame(
        {
            "lead_id": lead,
            "table": item.table,
            "row": item.rows[positions],
            "column": column,
            "reason": reason,
        }
    )


def _prereject(raw: dict[str, RawTable]) -> tuple[dict[str, RawTable], pd.DataFrame]:
    """Drop the rows that could not be derived, then the rows that refer to them.

    Validation never sees these rows, so the cascade (a lead whose account was
    rejected, an outcome whose lead was) is done here with validation's wording.
    """
    records = []
    alive = {}
    dead_ids: dict[str, dict[object, int]] = {}  # table → rejected id → source row
    for table in TABLE_ORDER:
        item = raw[table]
        dead = np.zeros(len(item.frame), dtype=bool)
        positions = item.problems["position"].to_numpy(dtype="int64")
        dead[positions] = True
        records.append(
            _rejected(
                item,
                positions,
                item.problems["column"].to_numpy(),
                item.problems["reason"].to_numpy(),
            )
        )
        parent, key = _PARENT.get(table, (None, None))
        if parent is not None and key in item.frame:
            gone = dead_ids[parent]
            refs = item.frame[key]
            cascade = np.flatnonzero(refs.isin(list(gone)).to_numpy() & ~dead)
            reasons = [
                f"{key} rejected in {parent} (row {gone[v]})"
                for v in refs.iloc[cascade]
            ]
            records.append(_rejected(item, cascade, key, reasons))
            dead[cascade] = True
        own = TABLES[table].key[0] if table in ("accounts", "leads") else None
        if own is not None:
            ids = item.frame[own] if own in item.frame else pd.Series(dtype=object)
            kept = set(ids[~dead].dropna())
            dead_ids[table] = {
                v: int(r)
                for v, r in zip(ids[dead], item.rows[dead], strict=True)
                if pd.notna(v) and v not in kept
            }
        alive[table] = RawTable(
            table,
            item.source,
            item.frame[~dead].reset_index(drop=True),
            item.rows[~dead],
            item.problems.iloc[0:0],
        )
    records = [r for r in records if len(r)]
    if not records:
        return alive, pd.DataFrame(columns=list(REJECTION_COLUMNS))
    return alive, pd.concat(records, ignore_index=True)


def _remap_rows(rejections: pd.DataFrame, alive: dict[str, RawTable]) -> pd.DataFrame:
    """Positions in the validated frames → rows of the source files (reasons too)."""
    if rejections.empty:
        return rejections
    out = []
    for table, group in rejections.groupby("table", sort=False):
        rows = alive[table].rows
        group = group.assign(row=rows[group["row"].to_numpy()])
        reason = group["reason"].str.replace(
            r"first seen at row (\d+)",
            lambda m, rows=rows: f"first seen at row {rows[int(m.group(1))]}",
            regex=True,
        )
        reason = reason.str.replace(
            r"rejected in (\w+) \(row (\d+)\)",
            lambda m: (
                f"rejected in {m.group(1)} "
                f"(row {alive[m.group(1)].rows[int(m.group(2))]})"
            ),
            regex=True,
        )
        out.append(group.assign(reason=reason))
    return pd.concat(out, ignore_index=True)


def _top_reasons(rejections: pd.DataFrame, limit: int = 5) -> dict[str, list[dict]]:
    """Most frequent reasons per table, values and row numbers blanked out."""
    if rejections.empty:
        return {}
    pattern = rejections["reason"].str.replace(r"'[^']*'", "'…'", regex=True)
    pattern = pattern.str.replace(r"row \d+", "row N", regex=True)
    counts = (
        rejections.assign(reason=pattern)
        .groupby(["table", "reason"], sort=False)
        .size()
        .rename("rows")
        .reset_index()
        .sort_values(["table", "rows", "reason"], ascending=[True, False, True])
    )
    return {
        table: group.head(limit)[["reason", "rows"]].to_dict("records")
        for table, group in counts.groupby("table", sort=True)
    }


def _labels(outcome: pd.Series, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    kept = tables["outcomes"]["outcome"].astype(str).value_counts()
    source = outcome.fillna("rejected").value_counts()
    open_kept = len(tables["leads"]) - len(tables["outcomes"])
    names = ["won", "lost", "open", "rejected"]
    return pd.DataFrame(
        {
            "label": names,
            "source": [int(source.get(n, 0)) for n in names],
            "kept": [int(kept.get("won", 0)), int(kept.get("lost", 0)), open_kept, 0],
        }
    )


def _combine(early: pd.DataFrame, late: pd.DataFrame) -> pd.DataFrame:
    """Rejections before and during validation, sorted by table and source row."""
    parts = [p for p in (early, late) if len(p)]
    combined = pd.concat(parts, ignore_index=True) if parts else late
    return (
        combined[list(REJECTION_COLUMNS)]
        .sort_values(["table", "row"], kind="stable")
        .reset_index(drop=True)
    )


def _summary(
    raw: dict[str, RawTable], tables: dict[str, pd.DataFrame], rejections: pd.DataFrame
) -> pd.DataFrame:
    rejected = rejections["table"].value_counts()
    return pd.DataFrame(
        {
            "table": list(TABLE_ORDER),
            "source": [raw[t].source or "" for t in TABLE_ORDER],
            "rows_in": [len(raw[t].frame) for t in TABLE_ORDER],
            "kept": [len(tables[t]) for t in TABLE_ORDER],
            "rejected": [int(rejected.get(t, 0)) for t in TABLE_ORDER],
        }
    )


def _ignored_columns(
    mapping: IngestMapping, frames: dict[str, pd.DataFrame]
) -> dict[str, list[str]]:
    """Columns of each main source (lookups joined) that nothing reads."""
    read = {c for _, _, rule in mapping.rules() for c in rule.source_columns()}
    read |= {mapping.label.column, *mapping.leaks}
    read |= {j.left_on for j in mapping.joins}
    lookups = {j.lookup for j in mapping.joins}
    return {
        name: [c for c in frame.columns if c not in read]
        for name, frame in frames.items()
        if name not in lookups
    }


def ingest(
    mapping: IngestMapping,
    source: Path | None,
    as_of: pd.Timestamp,
    config: ValidationConfig | None = None,
    mapping_path: Path | None = None,
) -> IngestResult:
    """Turn a CRM export into validated canonical tables (nothing is written).

    Parameters
    ----------
    mapping : IngestMapping
        The column mapping (see :func:`~predscore.ingest.load_mapping`).
    source : Path or None
        Folder holding the mapping's source files, or the file itself when the mapping
        has a single source; None when every source is an SQL query.
    as_of : Timestamp
        Time of the check: rows stamped after it are rejected.
    config : ValidationConfig, optional
        Tolerances of the validation.
    mapping_path : Path, optional
        File the mapping came from, for messages and the report.

    Returns
    -------
    IngestResult
        Every source row is either in a table or in the rejections, with its reason.

    Raises
    ------
    ConfigError
        When the mapping reads a column its source does not have (the message names the
        mapping file and the dotted key).
    DataValidationError
        When a source file is missing or unreadable, or a join key is not unique.
    """
    where = str(mapping_path or "mapping")
    clock = {"start": time.perf_counter()}
    read, files, locations = _read_all(mapping, source)
    frames = {name: file.frame for name, file in read.items()}
    try:
        frames, joins = join_lookups(frames, mapping.joins, locations)
        check_columns(mapping, frames)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    clock["read"] = time.perf_counter()
    raw, outcome = build_tables(mapping, frames)
    raw = _reject_malformed(raw, read, files)
    alive, early = _prereject(raw)
    clock["derive"] = time.perf_counter()
    paths = {t: locations[r.source] if r.source else t for t, r in raw.items()}
    result = validate_tables(
        {t: alive[t].frame for t in TABLE_ORDER}, as_of, config, paths
    )
    rejections = _combine(early, _remap_rows(result.rejections, alive))
    clock["validate"] = time.perf_counter()
    summary = _summary(raw, result.tables, rejections)
    labels = _labels(outcome, result.tables)
    report = {
        "mapping": where,
        "name": mapping.name,
        "source": None if source is None else str(source),
        "as_of": as_of.isoformat(),
        "sources": [
            _source_record(name, spec, read[name], files)
            for name, spec in mapping.sources.items()
        ],
        "joins": [vars(j) for j in joins],
        "tables": summary.to_dict("records"),
        "labels": labels.to_dict("records"),
        "label_column": mapping.label.column,
        "leak_columns": [
            {"column": c, "reason": r} for c, r in sorted(mapping.leaks.items())
        ],
        "ignored_columns": _ignored_columns(mapping, frames),
        "top_rejection_reasons": _top_reasons(rejections),
        "seconds": {
            "read": round(clock["read"] - clock["start"], 3),
            "derive": round(clock["derive"] - clock["read"], 3),
            "validate": round(clock["validate"] - clock["derive"], 3),
        },
    }
    return IngestResult(result.tables, rejections, summary, labels, report)


def write_ingest(result: IngestResult, out: Path) -> Path:
    """Write the five tables, ``rejections.parquet`` and the report; return its path."""
    for table in TABLE_ORDER:
        write_table(result.tables[table], out, table)
    write_rejections(result.rejections, out / "rejections.parquet")
    path = out / REPORT_FILE
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(result.report, indent=2, ensure_ascii=False) + "\n")
    return path


def run_ingest(
    mapping_path: Path,
    source: Path | None,
    out: Path,
    as_of: pd.Timestamp,
    config: ValidationConfig | None = None,
) -> IngestResult:
    """Load the mapping, ingest ``source`` and write everything to ``out``.

    See :func:`ingest` and :func:`write_ingest`; the report's ``seconds`` also holds
    the time of the whole run (``total``, the writing included).
    """
    started = time.perf_counter()
    result = ingest(load_mapping(mapping_path), source, as_of, config, mapping_path)
    write_ingest(result, out)
    seconds = result.report["seconds"] | {
        "total": round(time.perf_counter() - started, 3)
    }
    result = replace(result, report=result.report | {"seconds": seconds})
    with atomic_path(out / REPORT_FILE) as tmp:
        tmp.write_text(json.dumps(result.report, indent=2, ensure_ascii=False) + "\n")
    return result
