"""Publish a scoring run: ranks, score changes, the outputs and the manifest, whole.

Stage: scoring. Input: a :class:`~.job.ScoreRun` whose part files all exist (scored on
one machine or on Spark); output: the folder ``scores.parquet`` (or ``.csv``),
``rejections.parquet`` and ``manifest.json``, renamed into place only once the counts
add up (``in = scored + rejected + closed + not yet created``).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from predscore.errors import DataValidationError
from predscore.io import atomic_path, file_sha256
from predscore.schema.rejections import REJECTIONS_SCHEMA, write_rejections
from predscore.scoring.job import OUTPUT_SCHEMA, ScoreRun, ScoringError

__all__ = ["count_check", "finish_run"]

_LOG = logging.getLogger(__name__)


def _ranks(run: ScoreRun) -> tuple[pd.Series, int]:
    """Rank of every scored lead (1 = most likely to close; rules mode: most points),
    ties broken by lead_id; and the number of scored leads."""
    key = "probability" if run.scorer.bundle is not None else "rule_points"
    frames = [
        pq.read_table(run.part_path(i), columns=["lead_id", key]).to_pandas()
        for i in run.parts
    ]
    frame = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame({"lead_id": pd.Series(dtype=object), key: []})
    )
    if frame["lead_id"].duplicated().any():
        dup = frame.loc[frame["lead_id"].duplicated(), "lead_id"].head(5).tolist()
        raise ScoringError(f"leads scored twice: {dup}")
    order = np.lexsort((frame["lead_id"].to_numpy(dtype=str), -frame[key].to_numpy()))
    rank = np.empty(len(frame), dtype=np.int64)
    rank[order] = np.arange(1, len(frame) + 1)
    return pd.Series(rank, index=pd.Index(frame["lead_id"], dtype=object)), len(frame)


def _previous_scores(previous: Path | None, mode: str) -> pd.Series | None:
    """Previous run's score (model mode) or rule points (rules mode) per lead."""
    if previous is None:
        return None
    path = Path(previous) / "scores.parquet"
    if not path.is_file():
        raise ScoringError(f"{path}: no scores.parquet in the --previous folder")
    column = "score" if mode == "model" else "rule_points"
    frame = pq.read_table(path, columns=["lead_id", column]).to_pandas()
    return frame.set_index("lead_id")[column].astype(float)


def _final_part(
    table: pa.Table, ranks: pd.Series, before: pd.Series | None, mode: str
) -> pa.Table:
    ids = pd.Index(table["lead_id"].to_pylist(), dtype=object)
    columns = {name: table[name] for name in table.column_names}
    columns["rank"] = pa.array(ranks.reindex(ids).to_numpy(np.int64))
    if before is not None:
        now = table["score" if mode == "model" else "rule_points"].to_numpy(
            zero_copy_only=False
        )
        then = before.reindex(ids).to_numpy(dtype=float)
        delta = now.astype(float) - then
        columns["delta"] = pa.array(delta, pa.float64(), from_pandas=True)
    else:
        columns["delta"] = pa.nulls(len(ids), pa.float64())
    return pa.table([columns[f.name] for f in OUTPUT_SCHEMA], schema=OUTPUT_SCHEMA)


def _csv_ready(table: pa.Table) -> pa.Table:
    """Lists of reasons as JSON text (CSV holds no nested values)."""
    columns = []
    for name in table.column_names:
        column = table[name]
        if pa.types.is_list(column.type):
            column = pa.array(
                [None if v is None else json.dumps(v) for v in column.to_pylist()],
                pa.string(),
            )
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def finish_run(
    run: ScoreRun,
    fmt: str = "parquet",
    previous: Path | None = None,
    engine: str = "local",
    parts_dir: Path | None = None,
) -> dict[str, Any]:
    """Rank, add score changes, write the outputs and the manifest, publish the folder.

    Raises
    ------
    ScoringError
        When a part is missing or the counts do not add up (nothing is published).
    """
    t0 = time.perf_counter()
    missing = [i for i in run.parts if not run.done(i)]
    if missing:
        raise ScoringError(f"chunks {missing[:5]} have no output; rerun with --resume")
    ranks, n_scored = _ranks(run)
    mode = run.scorer.mode
    before = _previous_scores(previous, mode)
    staged = run.work / "out"
    if staged.exists():
        shutil.rmtree(staged)
    staged.mkdir()
    scores_path = staged / ("scores.csv" if fmt == "csv" else "scores.parquet")
    writer: Any = None
    with atomic_path(scores_path) as tmp:
        for index in run.parts:
            part = _final_part(pq.read_table(run.part_path(index)), ranks, before, mode)
            if fmt == "csv":
                part = _csv_ready(part)
                if writer is None:
                    writer = pacsv.CSVWriter(str(tmp), part.schema)
            elif writer is None:
                writer = pq.ParquetWriter(
                    tmp, OUTPUT_SCHEMA, compression="zstd", version="2.6"
                )
            writer.write_table(part)
        if writer is None:
            empty = OUTPUT_SCHEMA.empty_table()
            if fmt == "csv":
                pacsv.write_csv(_csv_ready(empty), str(tmp))
            else:
                pq.write_table(empty, tmp, compression="zstd", version="2.6")
        else:
            writer.close()
    chunk_rejections = [
        pq.read_table(run.rejection_path(i)).to_pandas() for i in run.parts
    ]
    rejections = pd.concat(
        [run.validation_rejections, *chunk_rejections], ignore_index=True
    )
    rejections = rejections.reindex(columns=REJECTIONS_SCHEMA.names)
    rejections["row"] = rejections["row"].astype("Int64")
    write_rejections(rejections, staged / "rejections.parquet")
    rejected_at_scoring = sum(len(r) for r in chunk_rejections)
    lead_rows = run.validation_rejections
    rejected_by_validation = int((lead_rows["table"] == "leads").sum())
    counts = {
        "in": run.counts.leads + rejected_by_validation,
        "rejected_by_validation": rejected_by_validation,
        "closed": run.counts.closed,
        "not_yet_created": run.counts.not_yet_created,
        "open": run.counts.open,
        "scored": n_scored,
        "rejected": rejected_at_scoring + rejected_by_validation,
        "rejected_at_scoring": rejected_at_scoring,
        "rejection_rows": len(rejections),
    }
    if run.counts.open != n_scored + rejected_at_scoring or counts["in"] != (
        counts["scored"]
        + counts["rejected"]
        + counts["closed"]
        + counts["not_yet_created"]
    ):
        raise ScoringError(
            f"counts do not add up ({counts}); nothing published, the parts are kept "
            f"in {run.work}"
        )
    run.timings["finish"] = time.perf_counter() - t0
    manifest = {
        "as_of": run.as_of.isoformat(),
        "engine": engine,
        "mode": mode,
        "inputs": run.inputs,
        "model": {
            "version": run.scorer.model_version,
            "digest": run.scorer.model_digest(),
        },
        "config_hash": json.loads((run.work / "job.json").read_text())["fingerprint"],
        "reasons": run.reasons,
        "previous": str(previous) if previous is not None else None,
        "counts": counts,
        "proof": "in = scored + rejected + closed + not_yet_created; "
        "open = scored + rejected_at_scoring",
        "chunks": {"total": len(run.chunks), "resumed": len(run.resumed)},
        "outputs": {
            scores_path.name: file_sha256(scores_path),
            "rejections.parquet": file_sha256(staged / "rejections.parquet"),
        },
        "timings": {k: round(v, 3) for k, v in sorted(run.timings.items())},
    }
    (staged / "manifest.json").write_text(json.dumps(manifest, indent=2))
    _publish(staged, run.out)
    shutil.rmtree(run.work, ignore_errors=True)
    return manifest


def _publish(staged: Path, out: Path) -> None:
    """Rename the finished folder into place (replacing an old one as a whole)."""
    trash = out.parent / f".{out.name}.old"
    if trash.exists():
        shutil.rmtree(trash)
    if out.exists():
        out.rename(trash)
    staged.rename(out)
    if trash.exists():
        shutil.rmtree(trash)


def count_check(scores: pd.DataFrame, rejections: pd.DataFrame) -> None:
    """Raise when a lead is both scored and rejected at scoring, or scored twice."""
    if scores["lead_id"].duplicated().any():
        raise DataValidationError("a lead appears twice in scores")
    rejected = set(rejections.loc[rejections["table"] == "features", "lead_id"])
    both = rejected & set(scores["lead_id"])
    if both:
        raise DataValidationError(f"leads both scored and rejected: {sorted(both)[:5]}")
