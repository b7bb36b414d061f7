"""The batch job: score every open lead, chunk by chunk, and publish the outputs whole.

Stage: scoring. Input: validated tables (:class:`~.source.TableSource`), a cutoff, a
:class:`~.scorer.Scorer`; output: a folder holding ``scores.parquet`` (or ``.csv``),
``rejections.parquet`` and ``manifest.json``.

How it never loses a lead and never half-writes:

1. the open leads at the cutoff are listed and cut, in ``lead_id`` order, into chunks
   of ``scoring.chunk_leads``; the chunks depend only on the data and the settings;
2. each chunk is scored (:func:`score_chunk`: features as of the cutoff, rules,
   calibrated probability, reasons) and written as a part file, atomically, into a
   work folder next to the output (``.<out>.partial``); every open lead of the chunk
   leaves either a score or a rejection with its reason;
3. once every part exists, ranks (over all leads) and score changes since a previous
   run are added while the parts are streamed into ``scores.parquet``; the manifest
   records the counts (``in = scored + rejected + closed + not yet created``, checked
   before anything is published) and the work folder is renamed into place.

A killed run leaves only the work folder; ``resume=True`` keeps the parts of a run with
the same fingerprint (inputs, cutoff, model, configuration) and scores the others.
Same inputs ⇒ byte-identical ``scores`` and ``rejections`` files.

The Spark engine (:mod:`.spark`) computes the parts on a cluster with the same
:func:`score_chunk`; the finishing step is shared.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from predscore.errors import DataValidationError, PredscoreError
from predscore.features import build_features
from predscore.features.lead_tables import CONTEXT_COLUMNS, LeadCounts, TableSource
from predscore.io import atomic_path, file_sha256, write_parquet
from predscore.schema.rejections import REJECTIONS_SCHEMA, write_rejections
from predscore.scoring.scorer import SCORE_SCHEMA, Scorer

__all__ = [
    "OUTPUT_SCHEMA",
    "PART_SCHEMA",
    "count_check",
    "write_part",
    "ScoringError",
    "ScoreRun",
    "finish_run",
    "prepare_run",
    "run_scoring",
    "score_chunk",
]

_LOG = logging.getLogger(__name__)

#: Columns of ``scores.parquet``: the scorer's, with ``rank`` (1 = most likely to
#: close) and ``delta`` (score change since ``--previous``) after the probability,
#: and the display context at the end.
OUTPUT_SCHEMA = pa.schema(
    [
        *[SCORE_SCHEMA.field(n) for n in ("lead_id", "as_of")],
        pa.field("rank", pa.int64()),
        *[SCORE_SCHEMA.field(n) for n in ("probability", "score")],
        pa.field("delta", pa.float64()),
        *[
            f
            for f in SCORE_SCHEMA
            if f.name not in {"lead_id", "as_of", "probability", "score"}
        ],
        *[pa.field(c, pa.string()) for c in CONTEXT_COLUMNS],
    ]
)
#: Columns of a part file: the scorer's and the context.
PART_SCHEMA = pa.schema(
    [*SCORE_SCHEMA, *[pa.field(c, pa.string()) for c in CONTEXT_COLUMNS]]
)
_FORMAT_VERSION = 1


class ScoringError(PredscoreError):
    """A scoring run that cannot start or cannot finish (the reason says which)."""


@dataclass
class ScoreRun:
    """A prepared run: where it writes, what it scores, what it has done."""

    out: Path
    work: Path
    as_of: pd.Timestamp
    scorer: Scorer
    source: TableSource
    chunks: list[np.ndarray]
    counts: LeadCounts
    fingerprint: str
    inputs: dict[str, Any]
    reasons: bool
    owner_column: str
    validation_rejections: pd.DataFrame
    resumed: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    n_parts: int | None = None  # parts to finish (default: one per chunk)

    @property
    def parts(self) -> range:
        """Indices of the part files the finishing step reads."""
        return range(len(self.chunks) if self.n_parts is None else self.n_parts)

    def part_path(self, index: int) -> Path:
        return self.work / "parts" / f"part-{index:05d}.parquet"

    def rejection_path(self, index: int) -> Path:
        return self.work / "parts" / f"rejections-{index:05d}.parquet"

    def done(self, index: int) -> bool:
        return self.part_path(index).is_file() and self.rejection_path(index).is_file()


# -- one chunk ---------------------------------------------------------------------------
def _rejections(ids: Sequence[str], table: str, reason: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": pd.Series(list(ids), dtype=object),
            "table": table,
            "row": pd.Series([None] * len(ids), dtype="Int64"),
            "column": None,
            "reason": reason,
        }
    )


def _with_context(scored: pa.Table, context: pd.DataFrame) -> pa.Table:
    ids = scored["lead_id"].to_pylist()
    ctx = context.reindex(pd.Index(ids, dtype=object))
    for column in CONTEXT_COLUMNS:
        values = ctx[column].astype(object).where(ctx[column].notna(), None)
        scored = scored.append_column(
            pa.field(column, pa.string()), pa.array(values.tolist(), pa.string())
        )
    return scored


def score_chunk(
    source: TableSource,
    lead_ids: np.ndarray,
    as_of: pd.Timestamp,
    scorer: Scorer,
    reasons: bool,
    owner_column: str,
    timings: dict[str, float] | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
) -> tuple[pa.Table, pd.DataFrame]:
    """Score some open leads; every one of them leaves a score or a rejection.

    ``tables``: the validated tables of these leads when the caller has them already
    (the API); otherwise they are read from ``source``.

    Returns
    -------
    (pyarrow.Table, DataFrame)
        Scores (:data:`PART_SCHEMA`, in ``lead_id`` order) and the rejections of the
        leads that could not be scored, with their reason.
    """
    timings = timings if timings is not None else {}

    def tick(key: str, start: float) -> float:
        now = time.perf_counter()
        timings[key] = timings.get(key, 0.0) + now - start
        return now

    t = time.perf_counter()
    if tables is None:
        tables = source.lead_tables(lead_ids)
    t = tick("read", t)
    rows = build_features(
        tables, as_of, scorer.features, scorer.icp, engine=scorer.engine
    )
    t = tick("features", t)
    wanted = pd.Index(np.asarray(lead_ids, dtype=object))
    got = rows["lead_id"].astype(str)
    parts = []
    if not got.isin(wanted).all():  # never: the features follow the same open rule
        raise ScoringError("features returned leads that were not asked for")
    missing = wanted.difference(pd.Index(got))
    if len(missing):
        parts.append(
            _rejections(
                missing, "features", f"no feature row could be computed as of {as_of}"
            )
        )
    scored = scorer.score(rows, reasons=reasons)
    t = tick("score", t)
    if scorer.bundle is not None and len(rows):
        probability = scored["probability"].to_numpy(zero_copy_only=False)
        bad = ~np.isfinite(probability.astype(float))
        if bad.any():
            ids = np.asarray(scored["lead_id"].to_pylist(), dtype=object)[bad]
            parts.append(
                _rejections(ids, "features", "the model returned no probability")
            )
            scored = scored.filter(pa.array(~bad))
    context = source.context(scored["lead_id"].to_pylist(), owner_column)
    scored = _with_context(scored, context)
    tick("context", t)
    rejected = pd.concat(parts, ignore_index=True) if parts else _rejections([], "", "")
    return scored, rejected


# -- preparing -----------------------------------------------------------------------------
def _hash(document: Any) -> str:
    text = json.dumps(document, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _input_hashes(data: Path) -> dict[str, str]:
    files = sorted(p for p in Path(data).iterdir() if p.suffix in {".parquet", ".csv"})
    return {p.name: file_sha256(p) for p in files}


def _refuse_existing(out: Path, overwrite: bool) -> None:
    if out.exists() and not overwrite:
        raise ScoringError(
            f"{out}: output folder exists; pass --overwrite to replace it "
            "(or another --out)"
        )


def prepare_run(
    *,
    data: Path,
    tables: Path | dict[str, pd.DataFrame],
    out: Path,
    as_of: pd.Timestamp,
    scorer: Scorer,
    chunk_leads: int,
    reasons: bool,
    owner_column: str,
    settings: dict[str, Any],
    validation_rejections: pd.DataFrame | None = None,
    overwrite: bool = False,
    resume: bool = False,
) -> ScoreRun:
    """Check everything that can be checked before any work, and plan the chunks.

    Parameters
    ----------
    data : Path
        The input folder as given (its files are hashed into the manifest).
    tables : Path or dict of DataFrame
        The validated tables: the folder itself (``--validated``) or frames.
    settings : dict
        The configuration that shapes the scores (hashed into the fingerprint and the
        manifest): rules, explanations, scoring settings.

    Raises
    ------
    ScoringError
        When the output folder exists (without ``overwrite``), when the cutoff is
        before every lead, or a resumed run does not match.
    DataValidationError
        When the data cannot give the model's features.
    """
    out = Path(out)
    _refuse_existing(out, overwrite)
    source = TableSource(tables)
    scorer.check_columns(source.lead_extras())
    first = source.first_created()
    if first is not None and as_of < first:
        raise ScoringError(
            f"--as-of {as_of} is before the first lead was created ({first}): "
            "nothing to score"
        )
    ids, counts = source.open_leads(as_of)
    refused = validation_rejections
    if (
        counts.leads == 0
        and refused is not None
        and (refused["table"] == "leads").any()
    ):
        first_reason = refused.loc[refused["table"] == "leads", "reason"].iloc[0]
        raise ScoringError(
            f"no valid lead as of {as_of}: all "
            f"{int((refused['table'] == 'leads').sum())} lead rows rejected "
            f"(first reason: {first_reason}); is --as-of before the data?"
        )
    chunks = [ids[i : i + chunk_leads] for i in range(0, len(ids), chunk_leads)]
    inputs = {"data": str(Path(data).resolve()), "files": _input_hashes(data)}
    if isinstance(tables, Path) and Path(tables).resolve() != Path(data).resolve():
        inputs["validated"] = str(Path(tables).resolve())
    document = {
        "format": _FORMAT_VERSION,
        "inputs": inputs["files"],
        "as_of": as_of.isoformat(),
        "model": scorer.model_version,
        "model_features": _model_digest(scorer),
        "settings": settings,
        "chunk_leads": chunk_leads,
        "reasons": reasons,
        "owner_column": owner_column,
    }
    fingerprint = _hash(document)
    work = out.parent / f".{out.name}.partial"
    job_file = work / "job.json"
    if work.exists():
        same = (
            job_file.is_file()
            and json.loads(job_file.read_text()).get("fingerprint") == fingerprint
        )
        if resume and not same:
            raise ScoringError(
                f"{work}: the unfinished run there had other inputs, cutoff, model or "
                "settings; rerun without --resume to start over"
            )
        if not resume:
            shutil.rmtree(work)
    (work / "parts").mkdir(parents=True, exist_ok=True)
    with atomic_path(job_file) as tmp:
        tmp.write_text(json.dumps({"fingerprint": fingerprint, **document}, indent=2))
    rejections = (
        validation_rejections
        if validation_rejections is not None
        else _rejections([], "", "").iloc[0:0]
    )
    run = ScoreRun(
        out=out,
        work=work,
        as_of=as_of,
        scorer=scorer,
        source=source,
        chunks=chunks,
        counts=counts,
        fingerprint=fingerprint,
        inputs=inputs,
        reasons=reasons,
        owner_column=owner_column,
        validation_rejections=rejections,
    )
    run.resumed = [i for i in range(len(chunks)) if run.done(i)]
    return run


def _model_digest(scorer: Scorer) -> str | None:
    """A digest of the model itself (its components and calibration), beyond its
    name."""
    if scorer.bundle is None:
        return None
    model = scorer.bundle.model
    parts: list[object] = []
    for weight, component in model.components_:
        if component.family == "lightgbm":
            text = component.booster.model_to_string(num_iteration=component.trees)
            parts.append([weight, text])
        else:
            parts.append([weight, component.to_dict()])
    return _hash([parts, model.calibrator_.to_dict(), model.features_])


# -- running -----------------------------------------------------------------------------
def write_part(run: ScoreRun, index: int, scored: pa.Table, rejected: pd.DataFrame):
    """Write one chunk's scores and rejections (each atomically; scores last)."""
    write_rejections(rejected, run.rejection_path(index))
    write_parquet(scored.cast(PART_SCHEMA), run.part_path(index))


def run_scoring(
    run: ScoreRun,
    fmt: str = "parquet",
    previous: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Score the chunks not done yet, then publish the outputs (:func:`finish_run`).

    ``progress(done, total)`` is called after each chunk. Returns the manifest.
    """
    start = time.perf_counter()
    total = len(run.chunks)
    if progress:
        progress(len(run.resumed), total)
    done = len(run.resumed)
    for index, ids in enumerate(run.chunks):
        if run.done(index):
            continue
        scored, rejected = score_chunk(
            run.source,
            ids,
            run.as_of,
            run.scorer,
            run.reasons,
            run.owner_column,
            run.timings,
        )
        t = time.perf_counter()
        write_part(run, index, scored, rejected)
        run.timings["write_parts"] = (
            run.timings.get("write_parts", 0.0) + time.perf_counter() - t
        )
        done += 1
        if progress:
            progress(done, total)
    run.timings["chunks"] = time.perf_counter() - start
    return finish_run(run, fmt=fmt, previous=previous, engine="local")


# -- finishing -----------------------------------------------------------------------------
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
            "digest": _model_digest(run.scorer),
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
