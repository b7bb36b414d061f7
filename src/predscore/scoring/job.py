"""The batch job's plan and parts: every open lead, chunk by chunk, into part files.

This module prepares a run (:func:`prepare_run`: checks, chunks, fingerprint) and
scores one chunk (:func:`score_chunk`) into its part files (:func:`write_part`);
:mod:`.publish` turns the parts into the published folder, and :mod:`.run` drives a
whole run on one machine (:mod:`.spark` on a cluster).

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

import functools
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from predscore.errors import PredscoreError
from predscore.features import KeptConnection, build_features
from predscore.features.lead_tables import CONTEXT_COLUMNS, LeadCounts, TableSource
from predscore.features.sources import TablesOrDir
from predscore.io import atomic_path, folder_hashes, write_parquet
from predscore.schema.rejections import write_rejections
from predscore.scoring.scorer import SCORE_SCHEMA, Scorer

__all__ = [
    "OUTPUT_SCHEMA",
    "PART_SCHEMA",
    "ScoringError",
    "ScoreRun",
    "prepare_run",
    "score_chunk",
    "score_rows",
    "write_part",
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
    if not len(ids):  # the usual case: a copy of the empty frame, built once
        return _no_rejection().copy()
    return _frame_of_rejections(ids, table, reason)


def _frame_of_rejections(ids: Sequence[str], table: str, reason: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": pd.Series(list(ids), dtype=object),
            "table": table,
            "row": pd.Series([None] * len(ids), dtype="Int64"),
            "column": None,
            "reason": reason,
        }
    )


@functools.cache
def _no_rejection() -> pd.DataFrame:
    """The empty rejection frame, built on first use (then copied)."""
    return _frame_of_rejections([], "", "")


def _with_context(scored: pa.Table, context: pd.DataFrame) -> pa.Table:
    ids = scored["lead_id"].to_pylist()
    ctx = context.reindex(pd.Index(ids, dtype=object))
    for column in CONTEXT_COLUMNS:
        values = ctx[column].astype(object).where(ctx[column].notna(), None)
        scored = scored.append_column(
            pa.field(column, pa.string()), pa.array(values.tolist(), pa.string())
        )
    return scored


def score_rows(
    tables: TablesOrDir,
    lead_ids: np.ndarray,
    as_of: pd.Timestamp,
    scorer: Scorer,
    reasons: bool,
    timings: dict[str, float] | None = None,
    kept: KeptConnection | None = None,
) -> tuple[pa.Table, pd.DataFrame]:
    """Features and scores of some open leads of validated ``tables``; every one of
    them leaves a score or a rejection.

    ``kept``: a DuckDB connection kept open between calls (the API's).

    Returns
    -------
    (pyarrow.Table, DataFrame)
        Scores (:data:`~.scorer.SCORE_SCHEMA`, in ``lead_id`` order) and the
        rejections of the leads that could not be scored, with their reason.
    """
    timings = timings if timings is not None else {}
    t = time.perf_counter()
    rows = build_features(
        tables, as_of, scorer.features, scorer.icp, engine=scorer.engine, kept=kept
    )
    now = time.perf_counter()
    timings["features"] = timings.get("features", 0.0) + now - t
    wanted = set(np.asarray(lead_ids, dtype=object).tolist())
    got = set(map(str, rows["lead_id"].tolist()))
    parts = []
    if not got <= wanted:  # never: the features follow the same open rule
        raise ScoringError("features returned leads that were not asked for")
    missing = sorted(wanted - got)
    if missing:
        parts.append(
            _rejections(
                missing, "features", f"no feature row could be computed as of {as_of}"
            )
        )
    scored = scorer.score(rows, reasons=reasons)
    timings["score"] = timings.get("score", 0.0) + time.perf_counter() - now
    if scorer.bundle is not None and len(rows):
        probability = scored["probability"].to_numpy(zero_copy_only=False)
        bad = ~np.isfinite(probability.astype(float))
        if bad.any():
            ids = np.asarray(scored["lead_id"].to_pylist(), dtype=object)[bad]
            parts.append(
                _rejections(ids, "features", "the model returned no probability")
            )
            scored = scored.filter(pa.array(~bad))
    rejected = pd.concat(parts, ignore_index=True) if parts else _rejections([], "", "")
    return scored, rejected


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
    """Score some open leads of ``source`` (:func:`score_rows`) with their display
    context.

    ``tables``: the validated tables of these leads when the caller has them already
    (the API); otherwise they are read from ``source``.

    Returns
    -------
    (pyarrow.Table, DataFrame)
        Scores (:data:`PART_SCHEMA`, in ``lead_id`` order) and the rejections of the
        leads that could not be scored, with their reason.
    """
    timings = timings if timings is not None else {}
    t = time.perf_counter()
    if tables is None:
        tables = source.lead_tables(lead_ids)
    timings["read"] = timings.get("read", 0.0) + time.perf_counter() - t
    scored, rejected = score_rows(tables, lead_ids, as_of, scorer, reasons, timings)
    t = time.perf_counter()
    context = source.context(scored["lead_id"].to_pylist(), owner_column)
    scored = _with_context(scored, context)
    timings["context"] = timings.get("context", 0.0) + time.perf_counter() - t
    return scored, rejected


# -- preparing -----------------------------------------------------------------------------
def _hash(document: Any) -> str:
    text = json.dumps(document, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


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
    inputs = {"data": str(Path(data).resolve()), "files": folder_hashes(data)}
    if isinstance(tables, Path) and Path(tables).resolve() != Path(data).resolve():
        inputs["validated"] = str(Path(tables).resolve())
    document = {
        "format": _FORMAT_VERSION,
        "inputs": inputs["files"],
        "as_of": as_of.isoformat(),
        "model": scorer.model_version,
        "model_features": scorer.model_digest(),
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


def write_part(run: ScoreRun, index: int, scored: pa.Table, rejected: pd.DataFrame):
    """Write one chunk's scores and rejections (each atomically; scores last)."""
    write_rejections(rejected, run.rejection_path(index))
    write_parquet(scored.cast(PART_SCHEMA), run.part_path(index))
