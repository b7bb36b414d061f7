"""MLflow tracking and registry: log a training, register it, promote, load by URI.

Stage: model (I/O edge). Embedded default: a SQLite tracking store and an artifact
folder under the working directory (``configs/model.yaml`` ``tracking``), no server;
``MLFLOW_TRACKING_URI`` in the environment overrides the store. Each training is a
run (params, metrics, configuration, feature list, data hash, plots, and the model as
a pyfunc with signature and input example) registered as a new version with the alias
``challenger``; :func:`promote` moves ``champion`` and exports the bundle to
``models/`` for users without MLflow. mlflow is imported lazily: scoring with an
exported bundle never pays for it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from predscore.config import TrackingConfig
from predscore.errors import ModelError
from predscore.model.bundle import BUNDLE_FILE, ModelBundle, load_bundle, save_bundle

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "LoggedRun",
    "check_store",
    "load_model",
    "log_training",
    "promote",
    "resolve_model",
    "tracking_uri",
]

CHALLENGER = "challenger"
CHAMPION = "champion"
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoggedRun:
    """Where a training went: run id, registered model name, version, model URI."""

    run_id: str
    experiment_id: str
    model_name: str
    version: str
    model_uri: str
    tracking_uri: str


def tracking_uri(config: TrackingConfig) -> str:
    """The store in use: ``MLFLOW_TRACKING_URI`` or the embedded SQLite default."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or config.tracking_uri
    if uri.startswith("sqlite:///"):
        # absolute: MLflow caches a store per URI for the life of the process, and a
        # relative path would keep naming the first folder's database
        path = Path(uri.removeprefix("sqlite:///")).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{path}"
    return uri


#: ``ours``: the MLFLOW_TRACKING_URI predscore itself set last (set_tracking_uri
#: writes it to the environment); ``user``: whether the value in use came from the
#: user (any other value), judged at each use: a process may serve several folders
_URI_STATE: dict[str, Any] = {"ours": None, "user": False}


def _mlflow(config: TrackingConfig) -> Any:
    # artifact progress bars and INFO chatter would drown the command's own report
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    uri = tracking_uri(config)
    # set_tracking_uri also sets MLFLOW_TRACKING_URI: tell the user's from ours
    given = os.environ.get("MLFLOW_TRACKING_URI")
    _URI_STATE["user"] = bool(given) and given != _URI_STATE["ours"]
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if not _URI_STATE["user"]:
        _URI_STATE["ours"] = os.environ.get("MLFLOW_TRACKING_URI")
    return mlflow


def check_store(config: TrackingConfig) -> str:
    """Reach the MLflow store before any work (a training would otherwise run for
    minutes and fail at the end); return its URI.

    Raises
    ------
    ModelError
        Naming the URI, when the store cannot be reached or opened.
    """
    uri = os.environ.get("MLFLOW_TRACKING_URI") or config.tracking_uri
    # one attempt, a short timeout: an absent server is told at once
    quick = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}
    saved = {k: os.environ.get(k) for k in quick}
    os.environ.update(quick)
    try:
        mlflow = _mlflow(config)
        mlflow.MlflowClient(uri).search_experiments(max_results=1)
    except Exception as exc:  # any failure of the store's own stack: told as one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc)
        raise ModelError(
            f"MLflow store {uri} cannot be reached ({first}); set "
            "model.tracking.tracking_uri or MLFLOW_TRACKING_URI to a store you can "
            "write to"
        ) from exc
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return uri


def _experiment_id(mlflow: Any, config: TrackingConfig) -> str:
    found = mlflow.get_experiment_by_name(config.experiment)
    if found is not None:
        return found.experiment_id
    location = None
    if not _URI_STATE["user"]:
        # the embedded store keeps its artifacts under tracking.artifact_location
        location = Path(config.artifact_location).resolve().as_uri()
    return mlflow.create_experiment(config.experiment, artifact_location=location)


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flat(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value
    return out


def _example(frame: pd.DataFrame) -> pd.DataFrame:
    """Input example with categories as plain strings (what a client sends)."""
    head = frame.head(5).copy()
    for column in head.columns:
        if isinstance(head[column].dtype, pd.CategoricalDtype):
            head[column] = head[column].astype(object)
    return head


def log_training(
    bundle: ModelBundle,
    config: TrackingConfig,
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, Any],
    documents: Mapping[str, Any],
    figures: Mapping[str, Any],
    example: pd.DataFrame,
    tags: Mapping[str, str] | None = None,
) -> LoggedRun:
    """Log one training as an MLflow run and register its model as ``challenger``.

    Parameters
    ----------
    bundle : ModelBundle
        The fitted model; logged as a pyfunc whose artifact ``bundle`` is its folder.
    config : TrackingConfig
        Store, experiment and registered model name.
    params, metrics : mapping
        Nested dicts, flattened to dotted keys (non-numeric metrics are skipped).
    documents : mapping
        ``{file name: JSON-able object or text}`` logged as run artifacts (the
        configuration, the feature list, the data hash, metrics.json...).
    figures : mapping
        ``{file name: matplotlib Figure}`` logged under ``plots/``.
    example : DataFrame
        Feature rows for the signature and input example.
    """
    mlflow = _mlflow(config)
    import matplotlib.pyplot as plt
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    from predscore.model.pyfunc import PredscorePyfunc

    experiment_id = _experiment_id(mlflow, config)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.set_tags(dict(tags or {}))
        flat = _flat("", params, {})
        mlflow.log_params({k: str(v)[:6000] for k, v in flat.items()})
        numeric = {
            k.replace(" ", "_").replace(",", "").replace("<=", "le").replace("=", ""): v
            for k, v in _flat("", metrics, {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v
        }
        mlflow.log_metrics(numeric)
        for name, content in documents.items():
            if isinstance(content, str):
                mlflow.log_text(content, name)
            else:
                mlflow.log_dict(content, name)
        for name, figure in figures.items():
            mlflow.log_figure(figure, f"plots/{name}")
            plt.close(figure)  # logged: free it (a training makes about ten)
        with tempfile.TemporaryDirectory() as tmp:
            folder = save_bundle(bundle, Path(tmp) / "bundle")
            inputs = _example(example)
            signature = ModelSignature(
                inputs=_input_schema(example), outputs=Schema([ColSpec("double")])
            )
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=PredscorePyfunc(),
                artifacts={"bundle": str(folder)},
                signature=signature,
                input_example=inputs,
                registered_model_name=config.registered_model,
                pip_requirements=_requirements(),
            )
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(config.registered_model, CHALLENGER, version)
    _LOG.info("run %s registered as version %s", run.info.run_id, version)
    return LoggedRun(
        run_id=run.info.run_id,
        experiment_id=experiment_id,
        model_name=config.registered_model,
        version=version,
        model_uri=f"models:/{config.registered_model}/{version}",
        tracking_uri=tracking_uri(config),
    )


def _input_schema(example: pd.DataFrame) -> Any:
    """Column types from the feature dtypes, not from the values of a few rows.

    Inferred from values, a text column that is empty in the example would be typed
    as a number and then refuse real rows.
    """
    from mlflow.types import ColSpec, Schema

    def kind(series: pd.Series) -> str:
        if pd.api.types.is_bool_dtype(series):
            return "boolean"
        if pd.api.types.is_integer_dtype(series):
            return "long"
        if pd.api.types.is_numeric_dtype(series):
            return "double"
        return "string"

    return Schema(
        [ColSpec(kind(example[c]), c, required=c == "lead_id") for c in example.columns]
    )


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [
        f"{name}=={version(name)}"
        for name in ("lightgbm", "numpy", "pandas", "scikit-learn", "pydantic")
    ]


def _download_bundle(uri: str, config: TrackingConfig) -> ModelBundle:
    mlflow = _mlflow(config)
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    except Exception as exc:  # mlflow raises several types for a bad URI
        raise ModelError(
            f"model {uri!r} not found in {tracking_uri(config)}: {exc}"
        ) from exc
    candidates = [local, local / "artifacts" / "bundle", local / "bundle"]
    for candidate in candidates:
        if (candidate / BUNDLE_FILE).is_file():
            return load_bundle(candidate)
    raise ModelError(f"model {uri!r} holds no predscore bundle")


def resolve_model(uri: str | None, config: TrackingConfig) -> tuple[ModelBundle, str]:
    """Load a model by URI; return it and a description of where it came from.

    ``uri`` may be a bundle folder (e.g. ``models/champion``), any MLflow model URI
    (``models:/predscore@champion``, ``models:/predscore/3``, ``runs:/<id>/model``),
    or None: the registry's champion, else its challenger, else the exported
    ``models/champion`` folder.

    Raises
    ------
    ModelError
        When nothing can be loaded; the message says what was tried.
    """
    if uri is not None:
        if Path(uri).is_dir():
            return load_bundle(Path(uri)), uri
        return _download_bundle(uri, config), uri
    tried = []
    for alias in (CHAMPION, CHALLENGER):
        candidate = f"models:/{config.registered_model}@{alias}"
        try:
            return _download_bundle(candidate, config), candidate
        except ModelError:
            tried.append(candidate)
    export = Path(config.export_dir)
    if (export / BUNDLE_FILE).is_file():
        return load_bundle(export), str(export)
    tried.append(str(export))
    raise ModelError(
        f"no model found (tried {', '.join(tried)}); train one with `predscore train` "
        "or pass --model"
    )


def load_model(
    uri: str | None = None, config: TrackingConfig | None = None
) -> tuple[ModelBundle, str]:
    """The model of ``uri`` (see :func:`resolve_model`) and where it came from;
    ``config`` is ``PredscoreConfig.model.tracking`` (default: the defaults)."""
    return resolve_model(uri, config or TrackingConfig())


def registered_version(origin: str, config: TrackingConfig) -> str | None:
    """The registry version behind a model origin given by :func:`resolve_model`.

    ``models:/NAME@ALIAS`` and ``models:/NAME/N`` ask the registry; an exported folder
    reads the ``champion.json`` that :func:`promote` writes beside the bundle; anything
    else (a bundle folder, ``runs:/``) has no version: None.
    """
    if origin.startswith("models:/"):
        name, _, rest = origin[len("models:/") :].partition("@")
        if rest:
            try:
                client = _mlflow(config).MlflowClient()
                return str(client.get_model_version_by_alias(name, rest).version)
            except Exception:  # an alias moved or vanished since: unknown
                return None
        tail = origin.rsplit("/", 1)[-1]
        return tail if tail.isdigit() else None
    note = Path(origin) / "champion.json"
    if note.is_file():
        try:
            return str(json.loads(note.read_text())["version"])
        except (ValueError, KeyError):
            return None
    return None


def promote(config: TrackingConfig, version: str | None = None) -> tuple[str, Path]:
    """Make ``version`` (default: the challenger) the champion and export it.

    Returns the version promoted and the export folder (``tracking.export_dir``),
    which then holds the champion's bundle and a ``champion.json`` naming its origin.

    Raises
    ------
    ModelError
        When the registered model, the challenger or the version does not exist.
    """
    mlflow = _mlflow(config)
    client = mlflow.MlflowClient()
    name = config.registered_model
    try:
        if version is None:
            version = str(client.get_model_version_by_alias(name, CHALLENGER).version)
        else:
            client.get_model_version(name, version)
    except Exception as exc:
        what = f"version {version}" if version else f"alias '{CHALLENGER}'"
        raise ModelError(
            f"registered model '{name}' has no {what} in {tracking_uri(config)}; "
            "train one with `predscore train`"
        ) from exc
    client.set_registered_model_alias(name, CHAMPION, version)
    bundle = _download_bundle(f"models:/{name}/{version}", config)
    export = Path(config.export_dir)
    save_bundle(bundle, export)
    (export / "champion.json").write_text(
        json.dumps(
            {"model": name, "version": version, "tracking_uri": tracking_uri(config)},
            indent=2,
        )
    )
    return version, export
