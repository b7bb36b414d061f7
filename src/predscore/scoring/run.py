"""A whole scoring run: what ``predscore score`` does, as one function.

Stage: scoring. Input: a data folder, an output folder, the configuration and the
run's options; output: the published folder (``scores.parquet`` or ``.csv``,
``rejections.parquet``, ``manifest.json``) and its manifest. The steps are those of
:mod:`predscore.scoring.job` (prepare, score the chunks into parts) and
:mod:`predscore.scoring.publish` on one machine (:func:`run_scoring`), or
:mod:`predscore.scoring.spark` on a Spark cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from predscore.config import PredscoreConfig, RulesConfig
from predscore.schema.validate import read_dataset
from predscore.scoring.job import (
    ScoreRun,
    ScoringError,
    prepare_run,
    score_chunk,
    write_part,
)
from predscore.scoring.publish import finish_run
from predscore.scoring.scorer import Scorer
from predscore.store import Store, append_run, qualification_rows

__all__ = ["run_scoring", "score_leads"]

_HISTORY_COLUMNS = ["lead_id", "probability", "score", "route", "model_version"]


def score_leads(
    data: Path,
    out: Path,
    config: PredscoreConfig,
    as_of: pd.Timestamp,
    *,
    model: str | None = None,
    rules: RulesConfig | None = None,
    rules_only: bool = False,
    validated: bool = False,
    engine: Literal["local", "spark"] = "local",
    fmt: Literal["parquet", "csv"] = "parquet",
    previous: Path | None = None,
    reasons: bool | None = None,
    chunk_leads: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    now: pd.Timestamp | None = None,
    say: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    store: Store | None = None,
) -> dict[str, Any]:
    """Score every open lead of ``data`` at ``as_of`` into ``out``; nothing lost.

    Parameters
    ----------
    data : Path
        Folder of the five canonical tables (validated in memory unless
        ``validated``).
    out : Path
        Folder published when the run is complete (never half-written).
    config : PredscoreConfig
        Rules, explanations, scoring settings, tracking (where the model is found)
        and this machine's engine settings.
    as_of : Timestamp
        The cutoff (UTC); never after ``now``.
    model : str, optional
        Bundle folder or MLflow model URI (default: the champion, then the
        challenger, then ``models/champion``; the rules alone when none exists and
        ``scoring.when_no_model`` allows it).
    rules : RulesConfig, optional
        Rule baseline replacing ``config.rules``.
    rules_only, validated, engine, fmt, previous, reasons, chunk_leads, resume, overwrite
        The options of ``predscore score`` (``reasons`` and ``chunk_leads`` default
        to the ``scoring`` section).
    now : Timestamp, optional
        The current time (default: the clock), to refuse a cutoff in the future.
    say : callable, optional
        Called with a line worth telling the user (rules-only fallback, resumed
        chunks, Spark partitions).
    progress : callable, optional
        ``progress(done, total)`` after each chunk (local engine).
    store : Store, optional
        What reps write: with ``store.pipeline``, their answers join the
        ``qualifications`` rows (recorded_at = entry time; a ``validated`` folder
        holds those of its ``validate --out``); with ``store.history``, the run's
        scores are appended to the score history (run id: the output folder's name).

    Returns
    -------
    dict
        The run's manifest (counts in and out, model, timings, outputs).

    Raises
    ------
    ScoringError
        When the cutoff is in the future or before every lead, the output exists
        without ``overwrite``, or a resumed run does not match.
    ModelError
        When ``model`` cannot be loaded, or no model exists and
        ``scoring.when_no_model`` is ``error``.
    """
    data, out = Path(data), Path(out)
    previous = None if previous is None else Path(previous)
    tell = say or (lambda _line: None)
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    if as_of > now:
        raise ScoringError(
            f"--as-of {as_of} is in the future (now {now.floor('s')}): "
            "scores would use events that have not happened"
        )
    if not Path(data).is_dir():
        raise ScoringError(f"{data}: data folder not found")
    settings = config.scoring
    rules = rules if rules is not None else config.rules
    scorer = Scorer.load(config, model, rules_only=rules_only, rules=rules)
    if scorer.mode == "rules" and not rules_only:
        tell(
            "no trained model found: scoring with the rules alone (train one with "
            "`predscore train`)"
        )
    entries = None
    if store is not None and config.store.pipeline and not validated:
        entries = qualification_rows(store)
    dataset = read_dataset(
        data, as_of, config.validation, validated=validated, entries=entries
    )
    run = prepare_run(
        data=data,
        tables=dataset.tables,
        out=out,
        as_of=as_of,
        scorer=scorer,
        chunk_leads=chunk_leads or settings.chunk_leads,
        reasons=settings.reasons if reasons is None else reasons,
        owner_column=settings.owner_column,
        settings=scorer.settings(),
        validation_rejections=dataset.rejections,
        overwrite=overwrite,
        resume=resume,
    )
    if run.resumed:
        tell(f"resuming: {len(run.resumed)} of {len(run.chunks)} chunk(s) already done")
    if engine == "spark":
        from predscore.scoring.spark import run_spark

        manifest = run_spark(run, settings, fmt=fmt, previous=previous, say=tell)
    else:
        manifest = run_scoring(run, fmt=fmt, previous=previous, progress=progress)
    if store is not None and config.store.history:
        _record_history(store, out, as_of, now)
    return manifest


def _record_history(
    store: Store, out: Path, as_of: pd.Timestamp, now: pd.Timestamp
) -> None:
    """Append the published scores to the score history (one run: the folder)."""
    path = out / "scores.parquet"
    if not path.is_file():  # CSV output: the history reads the CSV's columns
        path = out / "scores.csv"
        scores = pd.read_csv(path, usecols=_HISTORY_COLUMNS)
    else:
        scores = pd.read_parquet(path, columns=_HISTORY_COLUMNS)
    append_run(store, out.name, scores, as_of.to_pydatetime(), now.to_pydatetime())


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
