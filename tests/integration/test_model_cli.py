"""train → evaluate → promote → pyfunc, through the command line, on a fresh store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from predscore.cli import app

ROOT = Path(__file__).resolve().parents[2]
FAST_MODEL = {
    "feature_grid": {"half_life_days": [30.0], "windows_days": [[7, 30, 90]]},
    "trees": [
        {"name": "trees_small", "params": {"num_leaves": 4, "min_child_samples": 50}},
        {"name": "trees_medium", "params": {"num_leaves": 15, "min_child_samples": 30}},
    ],
    "max_trees": 300,
    "linear": {"C": [0.1]},
    "cv": {"folds": 3},
    "evaluation": {"origins": 2, "resamples": 200},
    "threads": 1,  # more threads than free cores slows LightGBM 5-20x on a busy machine
}


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo CRM (raw and validated) and the fast model settings, made once."""
    work = tmp_path_factory.mktemp("work")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        mp.setenv("PREDSCORE_CONFIG_DIR", str(ROOT / "configs"))
        _run("demo-data", "--out", "demo", "--leads", "1500", "--seed", "5")
        _run("validate", "--data", "demo", "--as-of", "2026-10-01", "--out", "valid")
    (work / "model.yaml").write_text(yaml.safe_dump(FAST_MODEL))
    return work


@pytest.fixture()
def env(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(workdir)  # the embedded store and models/ live under the cwd
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("PREDSCORE_CONFIG_DIR", str(ROOT / "configs"))
    return workdir


@pytest.fixture(scope="module")
def horizon_configs(workdir: Path) -> Path:
    """The repository's configs with a 120-day label horizon."""
    configs = workdir / "horizon-configs"
    configs.mkdir()
    for source in (ROOT / "configs").glob("*.yaml"):
        (configs / source.name).write_text(source.read_text())
    features = yaml.safe_load((configs / "features.yaml").read_text())
    features["horizon_days"] = 120
    (configs / "features.yaml").write_text(yaml.safe_dump(features))
    return configs


def test_train_evaluate_promote_and_serve_as_pyfunc(env: Path) -> None:
    out = _run("train", "--data", "valid", "--validated", "--config", "model.yaml")
    assert "version 1 (alias challenger)" in " ".join(out.split())
    assert "label: won; learnt from" in " ".join(out.split())
    assert "Candidates (time-series cross-validation" in " ".join(out.split())
    assert (env / "mlflow" / "mlflow.db").is_file()
    # artifacts go where tracking.artifact_location says, not to MLflow's ./mlruns
    assert (env / "mlflow" / "artifacts").is_dir() and not (env / "mlruns").exists()

    out = _run("evaluate", "--data", "valid", "--validated", "--out", "eval")
    metrics = json.loads((env / "eval" / "metrics.json").read_text())
    # out of time, the procedure replayed at 2 origins, beside rules and references
    assert len(metrics["origins"]) == 2
    assert metrics["model"]["roc_auc"] > metrics["rules"]["roc_auc"]
    versus = {(r["scorer"], r["metric"]) for r in metrics["intervals"]}
    assert versus == {
        (s, m)
        for s in ("lgbm_default", "logreg", "rules")
        for m in ("roc_auc", "brier")
    }
    assert "paired bootstrap" in " ".join(out.split())
    assert set(metrics["segments"]) == {
        "engaged, no authority, no project",
        "quiet decision-maker, need, deadline <= 3 months",
    }
    assert sorted(p.name for p in (env / "eval" / "plots").iterdir()) == [
        "calibration.png",
        "gains.png",
        "importance.png",
        "roc_pr.png",
    ]

    out = _run("promote")
    assert "version 1 is now champion" in " ".join(out.split())
    export = env / "models" / "champion"
    exported = json.loads((export / "bundle.json").read_text())
    trees = [c for c in exported["components"] if c["family"] == "lightgbm"]
    assert all((export / c["file"]).is_file() for c in trees)

    import mlflow.pyfunc

    from predscore.features import build_features
    from predscore.model import load_bundle

    bundle = load_bundle(export)
    rows = build_features(
        env / "valid", "2026-10-01T00:00:00Z", bundle.features, bundle.icp
    ).head(20)
    served = mlflow.pyfunc.load_model("models:/predscore@champion")
    as_strings = rows.astype(
        {
            c: object
            for c in rows.columns
            if isinstance(rows[c].dtype, pd.CategoricalDtype)
        }
    )
    np.testing.assert_allclose(
        np.asarray(served.predict(as_strings.drop(columns=["as_of"]))),
        bundle.predict_proba(rows).to_numpy(),
        atol=1e-12,
    )

    # a second training is the new challenger; the champion stays
    _run("train", "--data", "valid", "--validated", "--config", "model.yaml")
    client = mlflow.MlflowClient()
    assert (
        str(client.get_model_version_by_alias("predscore", "champion").version) == "1"
    )
    assert (
        str(client.get_model_version_by_alias("predscore", "challenger").version) == "2"
    )


def test_backtest_prints_folds(env: Path) -> None:
    out = _run(
        "backtest",
        "--data",
        "valid",
        "--validated",
        "--folds",
        "2",
        "--config",
        "model.yaml",
        "--out",
        "bt",
    )
    doc = json.loads((env / "bt" / "backtest.json").read_text())
    assert {row["scorer"] for row in doc["folds"]} == {
        "model",
        "rules",
        "lgbm_default",
        "logreg",
    }
    assert "Over the folds" in out and doc["intervals"]


def test_backtest_judges_segment_models_against_the_global_model(env: Path) -> None:
    segments = {
        "column": "region",
        "min_closed_leads": 200,
        "min_wins": 40,
        "keep": "above_minimums",
    }
    (env / "segments.yaml").write_text(
        yaml.safe_dump({**FAST_MODEL, "segments": segments})
    )
    out = _run(
        "backtest",
        "--data",
        "valid",
        "--validated",
        "--folds",
        "2",
        "--config",
        "segments.yaml",
        "--out",
        "bt-segments",
    )
    doc = json.loads((env / "bt-segments" / "backtest.json").read_text())
    assert "global" in {row["scorer"] for row in doc["folds"]}
    entries = {e["segment"]: e for e in doc["segment_models"]}
    test_leads = sum(
        row["test_leads"] for row in doc["folds"] if row["scorer"] == "model"
    )
    assert sum(e["leads"] for e in entries.values()) == test_leads
    # a segment with a model of its own differs from the global model somewhere;
    # one without is the global model itself
    assert any(e.get("roc_auc_difference") for e in entries.values())
    assert any(e.get("roc_auc_difference") == 0 for e in entries.values())
    assert "Segment models minus the global model" in out


def test_train_without_history_says_so_and_succeeds(env: Path) -> None:
    (env / "strict.yaml").write_text(
        yaml.safe_dump({**FAST_MODEL, "history": {"min_closed_leads": 10**6}})
    )
    out = _run("train", "--data", "valid", "--validated", "--config", "strict.yaml")
    assert "not enough history" in out and "rules" in out


def test_train_evaluate_backtest_with_a_horizon(
    env: Path, horizon_configs: Path
) -> None:
    """``features.horizon_days`` through the command line: the model learns "won
    within H days" from the rows whose window had passed at --as-of, open leads'
    included, and carries its horizon in the exported bundle."""
    configs = horizon_configs
    common = ("--data", "valid", "--validated", "--as-of", "2026-10-01")
    with_horizon = ("--config-dir", str(configs))
    out = _run(*with_horizon, "train", *common, "--config", "model.yaml")
    assert "label: won within 120 days" in " ".join(out.split())
    _run(*with_horizon, "promote")
    bundle = json.loads((env / "models" / "champion" / "bundle.json").read_text())
    assert bundle["features_config"]["horizon_days"] == 120
    _run(*with_horizon, "evaluate", *common, "--out", "eval-h")
    metrics = json.loads((env / "eval-h" / "metrics.json").read_text())
    assert metrics["model"]["roc_auc"] > metrics["rules"]["roc_auc"]
    out = _run(
        *with_horizon, "backtest", *common, "--folds", "2", "--config", "model.yaml"
    )
    assert "Over the folds" in out


def test_horizon_cutoff_is_never_after_the_data_nor_before_training(
    env: Path, horizon_configs: Path
) -> None:
    configs = horizon_configs
    with_horizon = ("--config-dir", str(configs))
    data = ("--data", "valid", "--validated")
    # an --as-of long after the export: labels are read at its newest event
    out = _run(
        *with_horizon, "train", *data, "--as-of", "2027-06-01", "--config", "model.yaml"
    )
    assert "is after the newest event of the data" in " ".join(out.split())
    _run(*with_horizon, "promote")
    bundle = json.loads((env / "models" / "champion" / "bundle.json").read_text())
    assert bundle["metadata"]["label_cutoff"] < "2026-10-02"
    # evaluating at an earlier cutoff would test leads it was calibrated on
    result = CliRunner().invoke(
        app, [*with_horizon, "evaluate", *data, "--as-of", "2026-06-01", "--out", "e"]
    )
    assert result.exit_code != 0
    assert "before the one this model's labels were read at" in " ".join(
        result.output.split()
    )
