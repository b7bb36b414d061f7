"""Model health: drift of today's leads, shift of the scores, realised performance.

Stage: monitor (above the model, the features and the evaluation; beside scoring and
experiment, whose published files it reads). ``predscore monitor`` is
:func:`monitor_model`.

Public API
----------
``monitor_model(data, scores, out, config, as_of, model=None, ...) -> MonitorResult``
    Feature drift against the model's training profile, score and route shift
    against training and the previous run, realised performance of earlier runs;
    writes ``monitor.json`` and ``monitor.html``, logs to MLflow.
``check_model(tables, runs, bundle, origin, config, cutoff) -> MonitorResult``
    The same check on tables and runs in hand (no file written).
``find_runs(scores, history=None) -> RunSet``, ``read_run(path) -> ScoringRun``
    Scoring runs on disk.
``realised_performance(scored, outcomes, cutoff, horizon_days=None) -> dict``
    How earlier probabilities held up against the outcomes known since.
``render_page(document) -> str``
    The self-contained HTML page of a ``monitor.json`` document.
"""

from predscore.monitor.check import (
    MonitorResult,
    check_model,
    health_metrics,
    model_origin,
    reference_of,
)
from predscore.monitor.job import monitor_model, write_monitoring
from predscore.monitor.page import render_page
from predscore.monitor.realised import judged_rows, realised_performance
from predscore.monitor.runs import (
    MonitorError,
    RunSet,
    ScoringRun,
    find_runs,
    read_run,
)

__all__ = [
    "MonitorError",
    "MonitorResult",
    "RunSet",
    "ScoringRun",
    "check_model",
    "find_runs",
    "health_metrics",
    "judged_rows",
    "model_origin",
    "monitor_model",
    "read_run",
    "realised_performance",
    "reference_of",
    "render_page",
    "write_monitoring",
]
