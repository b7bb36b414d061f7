"""The MLflow side of model health: monitoring metrics, recorded comparisons.

Stage: model (I/O edge). ``predscore monitor`` logs its figures as metrics of the run
that trained the model it watches (:func:`log_monitoring`; the cutoff of the scoring
run is the metric's time, so that MLflow draws their history). ``predscore compare``
records its verdict on the challenger's registry version as tags
(:func:`record_comparison`), which the promotion gate reads back
(:func:`recorded_comparison`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from predscore.config import TrackingConfig
from predscore.model.tracking import _mlflow, registered_version

__all__ = [
    "COMPARISON_TAG",
    "log_monitoring",
    "model_run_id",
    "record_comparison",
    "recorded_comparison",
]

#: tag of a registry version holding its comparison with a champion (JSON)
COMPARISON_TAG = "predscore.comparison"


def model_run_id(origin: str, config: TrackingConfig) -> str | None:
    """The MLflow run that trained the model of ``origin`` (see
    :func:`~predscore.model.tracking.resolve_model`); None for a bundle folder that
    is not an exported registry version."""
    if origin.startswith("runs:/"):
        return origin[len("runs:/") :].split("/", 1)[0] or None
    version = registered_version(origin, config)
    if version is None:
        return None
    name = config.registered_model
    if origin.startswith("models:/"):
        name = origin[len("models:/") :].split("@", 1)[0].split("/", 1)[0]
    elif (Path(origin) / "champion.json").is_file():
        name = json.loads((Path(origin) / "champion.json").read_text()).get(
            "model", name
        )
    try:
        client = _mlflow(config).MlflowClient()
        return str(client.get_model_version(name, version).run_id)
    except Exception:  # the version vanished from the store since: no run to log to
        return None


def log_monitoring(
    run_id: str,
    metrics: Mapping[str, float | None],
    config: TrackingConfig,
    at: pd.Timestamp,
) -> int:
    """Log ``metrics`` (None and NaN skipped) on the run ``run_id``, at time ``at``;
    return the number logged."""
    from mlflow.entities import Metric

    mlflow = _mlflow(config)
    stamp = int(pd.Timestamp(at).timestamp() * 1000)
    step = int(time.time())  # a re-run of the same check adds a point, not a clash
    batch = [
        Metric(key, float(value), stamp, step)
        for key, value in metrics.items()
        if value is not None and value == value
    ]
    if batch:
        mlflow.MlflowClient().log_batch(run_id, metrics=batch)
    return len(batch)


def record_comparison(
    version: str, document: Mapping[str, Any], config: TrackingConfig
) -> None:
    """Record ``document`` (a comparison with the champion) on registry ``version``."""
    client = _mlflow(config).MlflowClient()
    client.set_model_version_tag(
        config.registered_model, version, COMPARISON_TAG, json.dumps(document)
    )


def recorded_comparison(version: str, config: TrackingConfig) -> dict[str, Any] | None:
    """The comparison recorded on registry ``version`` (None when there is none)."""
    client = _mlflow(config).MlflowClient()
    found = client.get_model_version(config.registered_model, version)
    text = (found.tags or {}).get(COMPARISON_TAG)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
