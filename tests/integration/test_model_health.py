"""predscore monitor and compare / promote on the demo: a drift injected over time is
flagged (exit code 3), undrifted data are not (exit code 0), earlier scoring runs are
judged against the outcomes known since, and a significantly worse challenger is
refused by promote unless forced; promote --version reverts.

One small demo (1,500 leads), one model trained by ``train_model`` (which stores the
training profile), scoring runs made by ``score_leads``; no mock anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from predscore.cli import app
from predscore.config import load_config
from predscore.experiment import (
    PromotionRefused,
    compare_registered,
    promote_checked,
    train_model,
)
from predscore.model import save_bundle
from predscore.monitor import monitor_model
from predscore.scoring import score_leads

ROOT = Path(__file__).resolve().parents[2]
NOW = pd.Timestamp("2026-10-01", tz="UTC")
FAST = {
    "feature_grid": {"half_life_days": [30.0], "windows_days": [[7, 30, 90]]},
    "trees": [
        {"name": "trees_small", "params": {"num_leaves": 4, "min_child_samples": 50}}
    ],
    "max_trees": 200,
    "linear": {"enabled": False},
    "recency_half_life_days": [None],
    "cv": {"folds": 2},
    "threads": 1,
}
#: a deliberately bad challenger: one stump
STUMP = FAST | {
    "trees": [{"name": "stump", "params": {"num_leaves": 2, "min_child_samples": 200}}],
    "max_trees": 1,
}


def _cli(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def health(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("health")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        mp.setenv("PREDSCORE_CONFIG_DIR", str(ROOT / "configs"))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        for name, extra in (
            ("plain", []),
            ("drift", ["--drift", "channel"]),
            ("sector", ["--drift", "sector"]),
        ):
            _cli(
                "demo-data",
                "--out",
                f"raw-{name}",
                "--leads",
                "1500",
                "--seed",
                "5",
                *extra,
            )
            _cli(
                "validate",
                "--data",
                f"raw-{name}",
                "--as-of",
                "2026-10-01",
                "--out",
                name,
            )
    config = load_config(ROOT / "configs", {"model": FAST})
    result = train_model(work / "plain", config, config.rules)
    save_bundle(result.bundle, work / "model")
    for data, as_of in (
        ("plain", "2026-06-01"),
        ("plain", "2026-09-30"),
        ("drift", "2026-09-30"),
        ("sector", "2026-09-30"),
    ):
        score_leads(
            work / data,
            work / f"runs-{data}" / as_of[:7],
            config,
            pd.Timestamp(as_of, tz="UTC"),
            model=str(work / "model"),
            validated=True,
            reasons=False,
            now=NOW,
        )
    return {"work": work, "config": config, "result": result}


def test_training_keeps_a_profile_of_its_rows(health: dict[str, Any]) -> None:
    reference = health["result"].bundle.metadata["reference"]
    bundle = health["result"].bundle
    assert set(reference["features"]) == set(bundle.model.features_)
    assert reference["rows"] == health["result"].parts["labelled"]["rows"]
    stored = json.loads((health["work"] / "model" / "bundle.json").read_text())
    assert stored["metadata"]["reference"]["features"]["source"]["kind"] == "category"
    assert sum(reference["route"]["shares"]) == pytest.approx(1.0, abs=1e-5)


def test_monitor_flags_the_injected_channel_drift_and_exits_3(
    health: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    work = health["work"]
    monkeypatch.chdir(work)
    monkeypatch.setenv("PREDSCORE_CONFIG_DIR", str(ROOT / "configs"))
    out = _cli(
        "monitor",
        "--data",
        "drift",
        "--validated",
        "--scores",
        "runs-drift/2026-09",
        "--model",
        "model",
        "--out",
        "mon-drift",
        "--as-of",
        "2026-10-01",
        "--no-mlflow",
        code=3,
    )
    assert "alert: feature drift:" in " ".join(out.split())
    doc = json.loads((work / "mon-drift" / "monitor.json").read_text())
    drifted = doc["drift"]["drifted"]
    # webinars turned into events: the event and webinar features moved most
    assert drifted and all("event" in f or "webinar" in f for f in drifted[:5])
    top = doc["drift"]["features"][0]
    assert top["psi"] >= 0.5
    page = (work / "mon-drift" / "monitor.html").read_text()
    assert drifted[0] in page and "data:image/png;base64," in page


def test_monitor_flags_a_sector_growing_in_the_pipeline(
    health: dict[str, Any],
) -> None:
    """Against the leads open at training (not the closed training rows), a sector
    whose share of new leads grows stands out, and nothing else moves much."""
    work, config = health["work"], health["config"]
    reference = health["result"].bundle.metadata["reference"]
    assert reference["open"]["leads"] > 0
    assert set(reference["open"]["features"]) == set(reference["features"])
    result = monitor_model(
        work / "sector",
        work / "runs-sector" / "2026-09",
        work / "mon-sector",
        config,
        NOW,
        model=str(work / "model"),
        validated=True,
        log_to_mlflow=False,
    )
    doc = result.document
    assert "open at training" in doc["drift"]["against"]
    first, second = doc["drift"]["features"][:2]
    # a week after training, the grown sector already stands apart from the rest
    assert first["feature"] == "sector" and first["psi"] >= 2 * second["psi"]


def test_monitor_on_undrifted_data_exits_0_and_judges_the_earlier_run(
    health: dict[str, Any],
) -> None:
    work, config = health["work"], health["config"]
    result = monitor_model(
        work / "plain",
        work / "runs-plain" / "2026-09",
        work / "mon-plain",
        config,
        NOW,
        model=str(work / "model"),
        validated=True,
        log_to_mlflow=False,
    )
    doc = result.document
    assert result.exit_code == 0, doc["alerts"]
    assert doc["drift"]["drifted"] == []
    assert doc["drift"]["features"][0]["psi"] < config.monitor.drift.psi_alert
    # the June run is the previous run and its leads have closed since
    assert doc["scores_shift"]["previous"]["as_of"].startswith("2026-06-01")
    months = {m["month"]: m for m in doc["realised"]["months"]}
    june = months["2026-06"]
    assert june["judged"] > 100 and june["roc_auc"] > 0.7
    assert 0 < june["actual_rate"] < 1 and june["brier"] < 0.25


def test_compare_refuses_a_worse_challenger_force_promotes_and_version_reverts(
    health: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from predscore.model.tracking import log_training

    monkeypatch.chdir(tmp_path)  # the embedded MLflow store lives under the cwd
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("PREDSCORE_CONFIG_DIR", str(ROOT / "configs"))
    work, config = health["work"], health["config"]
    tracking = config.model.tracking
    good = health["result"]
    bad = train_model(work / "plain", load_config(ROOT / "configs", {"model": STUMP}))
    for trained in (good, bad):
        log_training(
            trained.bundle,
            tracking,
            params={},
            metrics={},
            documents={},
            figures={},
            example=trained.example,
        )
    promote_checked(config, "1")  # the good model is the champion, the stump challenges
    found = compare_registered(work / "plain", config, NOW, validated=True)
    gate = found.document["gate"]
    assert gate["metric"] == "roc_auc" and gate["verdict"] == "worse"
    assert gate["high"] < 0 and gate["difference"] < -0.05
    metrics = {i["metric"] for i in found.document["intervals"]}
    assert metrics == {"roc_auc", "brier", "average_precision"}

    with pytest.raises(PromotionRefused, match="significantly worse"):
        promote_checked(config)
    out = _cli("promote", code=1)
    assert "version 2 is significantly worse than champion version 1" in " ".join(
        out.split()
    )
    out = _cli("promote", "--force")
    assert "version 2 is now champion" in " ".join(out.split())
    # the revert: an older version back as champion
    out = _cli("promote", "--version", "1")
    assert "version 1 is now champion" in " ".join(out.split())
    exported = json.loads(
        (tmp_path / "models" / "champion" / "champion.json").read_text()
    )
    assert exported["version"] == "1"
