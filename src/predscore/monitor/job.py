"""``predscore monitor`` as one function: find, check, write, log.

Stage: monitor (I/O edge). Input: a data folder, the scoring runs, a model URI (or the
one that scored the current run), an output folder and the configuration; output:
``monitor.json`` and ``monitor.html`` in the output folder, the check's figures as
MLflow metrics of the model's training run when the model came from MLflow, and the
:class:`~.check.MonitorResult` (its ``exit_code`` is 3 when a threshold was crossed).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from predscore.config import PredscoreConfig
from predscore.io import write_text
from predscore.model.health import log_monitoring, model_run_id
from predscore.model.tracking import resolve_model
from predscore.monitor.check import (
    MonitorResult,
    check_model,
    health_metrics,
    model_origin,
)
from predscore.monitor.page import render_page
from predscore.monitor.runs import find_runs
from predscore.schema.validate import read_dataset

__all__ = ["monitor_model", "write_monitoring"]


def write_monitoring(result: MonitorResult, out: Path) -> tuple[Path, Path]:
    """Write ``monitor.json`` and ``monitor.html`` into ``out``; return both paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    document = out / "monitor.json"
    page = out / "monitor.html"
    write_text(json.dumps(result.document, indent=2, default=str), document)
    write_text(render_page(result.document), page)
    return document, page


def monitor_model(
    data: Path,
    scores: Path,
    out: Path,
    config: PredscoreConfig,
    as_of: pd.Timestamp,
    *,
    model: str | None = None,
    history: Path | None = None,
    validated: bool = False,
    log_to_mlflow: bool = True,
    progress: Callable[[str], None] | None = None,
) -> MonitorResult:
    """Check the health of the model behind a scoring run and write the outputs.

    Parameters
    ----------
    data : Path
        Folder of the canonical tables: today's leads and the outcomes known now.
    scores : Path
        A scoring run (``predscore score --out``) or a folder of runs (the newest
        cutoff is the current one; the others are earlier runs).
    out : Path
        Folder for ``monitor.json`` and ``monitor.html``.
    config : PredscoreConfig
        ``monitor`` (bins and thresholds), ``model.tracking``, ``validation``,
        ``engine``.
    as_of : Timestamp
        What is known now (the data are validated at it; outcomes after it do not
        count).
    model : str, optional
        Bundle folder or MLflow model URI; default: the model named by the current
        run's manifest.
    history : Path, optional
        Folder of earlier scoring runs (default: the runs beside ``scores``).
    validated : bool
        ``data`` is already validated (``predscore validate --out``).
    log_to_mlflow : bool
        Log the figures as metrics of the model's training run (when it has one).
    progress : callable, optional
        Called with a short line at each step.

    Returns
    -------
    MonitorResult
        The document (``document["mlflow_run"]``: the run the metrics went to) and
        the alerts; ``exit_code`` 3 when a threshold was crossed.

    Raises
    ------
    MonitorError
        No scoring run, a run scored by the rules alone, a model without a
        training profile.
    ModelError
        When the model cannot be loaded.
    """
    say = progress or (lambda _line: None)
    runs = find_runs(Path(scores), history)
    origin = model if model is not None else model_origin(runs.current)
    say(f"loading the model {origin}")
    bundle, origin = resolve_model(origin, config.model.tracking)
    say("reading the data")
    dataset = read_dataset(Path(data), as_of, config.validation, validated=validated)
    result = check_model(
        dataset.tables, runs, bundle, origin, config, as_of, progress=say
    )
    run_id = model_run_id(origin, config.model.tracking) if log_to_mlflow else None
    if run_id is not None:
        say("logging the figures to MLflow")
        log_monitoring(
            run_id, health_metrics(result), config.model.tracking, runs.current.as_of
        )
    result.document["mlflow_run"] = run_id
    write_monitoring(result, Path(out))
    return result
