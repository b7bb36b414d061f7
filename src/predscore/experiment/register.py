"""A training, explained and registered: what ``predscore train`` does, as a function.

Stage: experiment. Input: a data folder, its validated tables and the configuration;
output: the :class:`~predscore.experiment.train.TrainingResult`, logged to MLflow with
its documents (metrics, configuration, feature list, data hash, grid, candidates, the
global view of the explanations) and figures, and registered as the challenger.
Writing an evaluation or a backtest to a folder, as the commands do, lives here too.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predscore.config import PredscoreConfig, RulesConfig
from predscore.errors import PredscoreError
from predscore.experiment.compare import evaluation_figures
from predscore.experiment.evaluate import BacktestResult
from predscore.experiment.train import TrainingResult, train_model
from predscore.explain import Explainer, global_view
from predscore.features import TableSource, build_snapshots
from predscore.io import folder_hashes, write_text
from predscore.model import ModelBundle
from predscore.model.tracking import LoggedRun, check_store, log_training
from predscore.store import VERDICTS, summarise_feedback

__all__ = [
    "RegisteredTraining",
    "global_artifacts",
    "save_backtest",
    "save_evaluation",
    "train_and_register",
]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RegisteredTraining:
    """A training and where it went (see :func:`train_and_register`)."""

    result: TrainingResult
    logged: LoggedRun
    logging_seconds: float
    notes: list[str]


def global_artifacts(
    tables: Any,
    bundle: ModelBundle,
    test: pd.DataFrame,
    config: PredscoreConfig,
    cutoff: Any = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Figures and documents of the global view of a training.

    The explanations of up to ``explain.global_rows`` snapshots of the newest leads
    (drawn with the seed): mean |SHAP| per human feature
    (``explain/global_importance.json``) and a beeswarm plot (``shap_beeswarm.png``).

    Raises
    ------
    PredscoreError
        When the rows cannot be built or explained (the caller may skip the view).
    """
    leads = np.sort(test["lead_id"].astype(str).unique())
    if not len(leads):
        return {}, {}
    wanted = config.explain.global_rows
    per_lead = len(test) / len(leads)
    n = min(len(leads), max(1, math.ceil(wanted / per_lead)))
    rng = np.random.default_rng(config.seed)
    picked = rng.choice(leads, size=n, replace=False)
    rows = build_snapshots(
        TableSource(tables).lead_tables(picked),
        bundle.features,
        bundle.icp,
        cutoff,
        engine=config.engine,
    )
    if len(rows) > wanted:
        rows = rows.iloc[np.sort(rng.choice(len(rows), wanted, replace=False))]
    explainer = Explainer.from_bundle(bundle, config.explain)
    view = global_view(explainer.explain(rows), rows, explainer)
    table = view.table.assign(rows=len(rows))
    return (
        {"shap_beeswarm.png": view.figure},
        {"explain/global_importance.json": table.to_dict(orient="records")},
    )


def train_and_register(
    data: Path,
    tables: Any,
    config: PredscoreConfig,
    rules: RulesConfig | None = None,
    cutoff: pd.Timestamp | None = None,
    progress: Progress | None = None,
    feedback: pd.DataFrame | None = None,
) -> RegisteredTraining:
    """Train (:func:`~predscore.experiment.train.train_model`), explain the newest
    leads and log everything to MLflow; register the model as the challenger.

    Parameters
    ----------
    data : Path
        The data folder as given (its files are hashed into the run).
    tables : Path or dict of DataFrame
        Its validated tables (:func:`predscore.read_dataset`).
    config : PredscoreConfig
        The whole configuration (the model section decides the procedure).
    rules : RulesConfig, optional
        The rule baseline trained beside the model.
    cutoff : Timestamp, optional
        The data's cutoff for horizon labels.
    progress : callable, optional
        Called with a short status line at each step.
    feedback : DataFrame, optional
        The reps' feedback on scores (:func:`predscore.store.read_feedback`): its
        summary per reason, rep and score band is logged with the run
        (``feedback.json``, ``feedback.*`` metrics) as a diagnostic; it is never a
        label and never reaches the training rows.

    Raises
    ------
    InsufficientHistoryError
        When the data hold too few labelled leads or wins to learn from.
    ModelError
        When the MLflow store cannot be reached (before any training).
    """
    say = progress or (lambda _message: None)
    say("reaching the MLflow store")
    check_store(config.model.tracking)  # before minutes of work, not after
    result = train_model(tables, config, rules, say, cutoff)
    notes: list[str] = []
    say("explaining the newest leads (global view)")
    try:
        shap_figures, shap_documents = global_artifacts(
            tables, result.bundle, result.test, config, cutoff
        )
    except PredscoreError as exc:  # the training is logged anyway
        notes.append(f"global explanation view skipped: {exc}")
        shap_figures, shap_documents = {}, {}
    say("logging the run to MLflow")
    started = time.perf_counter()
    metrics = {**result.metrics, "timings": result.timings, "parts": result.parts}
    feedback_documents, feedback_metrics = _feedback_diagnostic(feedback, config)
    logged = log_training(
        result.bundle,
        config.model.tracking,
        params={
            "model": config.model.model_dump(mode="json", exclude={"tracking"}),
            "selected": result.metrics["selected"],
            "split_strategy": result.strategy,
            "seed": config.seed,
        },
        metrics={"cv": {k: metrics[k] for k in ("model", "rules") if k in metrics}}
        | {"timings": result.timings}
        | feedback_metrics,
        documents={
            "metrics.json": json.loads(json.dumps(metrics, default=str)),
            "config/predscore.json": config.model_dump(mode="json"),
            "features.json": {"features": result.bundle.model.features_},
            "data.json": {"folder": str(data), "files": folder_hashes(Path(data))},
            "grid.json": result.grid.to_dict(orient="records"),
            "candidates.json": result.candidates.to_dict(orient="records"),
            **shap_documents,
            **feedback_documents,
        },
        figures=evaluation_figures(result.test, result.importance) | shap_figures,
        example=result.example,
        tags={"data": str(data)},
    )
    return RegisteredTraining(
        result=result,
        logged=logged,
        logging_seconds=time.perf_counter() - started,
        notes=notes,
    )


def _feedback_diagnostic(
    feedback: pd.DataFrame | None, config: PredscoreConfig
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``feedback.json`` (the summary) and the verdict counts, when there is feedback."""
    if feedback is None:
        return {}, {}
    summary = summarise_feedback(feedback, config.reps)
    overall = summary[summary["by"] == "all"]
    counts = (
        {k: int(overall.iloc[0][k]) for k in ("n", *VERDICTS)}
        if len(overall)
        else dict.fromkeys(("n", *VERDICTS), 0)
    )
    document = {
        "note": "reps' feedback on scores: a diagnostic, never a training label",
        "summary": summary.to_dict(orient="records"),
    }
    return {"feedback.json": document}, {"feedback": counts}


def save_evaluation(
    out: Path, metrics: dict[str, Any], scored: pd.DataFrame, bundle: ModelBundle
) -> Path:
    """Write an evaluation (:func:`~predscore.experiment.evaluate.evaluate_model`) to
    ``out``: ``metrics.json`` and ``plots/*.png``; returns the metrics file."""
    out = Path(out)
    figures = evaluation_figures(scored, bundle.model.feature_importance())
    (out / "plots").mkdir(parents=True, exist_ok=True)
    for name, figure in figures.items():
        figure.savefig(out / "plots" / name, dpi=110)
    path = out / "metrics.json"
    write_text(json.dumps(metrics, indent=2, default=str), path)
    return path


def save_backtest(out: Path, result: BacktestResult) -> Path:
    """Write a backtest (:func:`~predscore.experiment.evaluate.backtest`) to
    ``out/backtest.json``: per fold, over the folds, skipped folds, intervals."""
    document = {
        "folds": result.folds.to_dict(orient="records"),
        "mean": result.mean.to_dict(orient="records"),
        "skipped": result.skipped,
        "intervals": result.intervals,
        "segment_models": result.segments,
    }
    path = Path(out) / "backtest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(json.dumps(document, indent=2, default=str), path)
    return path
