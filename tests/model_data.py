"""Shared small demo data for the model tests: generated once per test session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from predscore.config import DemoConfig, IcpConfig, PredscoreConfig
from predscore.demo import generate_demo_data
from predscore.schema.validate import load_dataset

DEMO_LEADS = 1500


def small_demo(folder: Path, leads: int = DEMO_LEADS, seed: int = 7) -> dict:
    """Validated tables of a small demo CRM (dirty rows included, then rejected)."""
    config = DemoConfig(leads=leads, seed=seed)
    generate_demo_data(folder, config, IcpConfig())
    return load_dataset(folder, config.end, PredscoreConfig().validation).tables


def fast_config(**model: object) -> PredscoreConfig:
    """Defaults with one engagement candidate, two tree complexities, one linear
    candidate, three folds, one thread: seconds."""
    base = {
        "feature_grid": {"half_life_days": [30.0], "windows_days": [[7, 30, 90]]},
        "trees": [
            {
                "name": "trees_small",
                "params": {"num_leaves": 4, "min_child_samples": 50},
            },
            {
                "name": "trees_medium",
                "params": {"num_leaves": 15, "min_child_samples": 30},
            },
        ],
        "max_trees": 300,
        "linear": {"C": [0.1]},
        "recency_half_life_days": [None, 180.0],
        "cv": {"folds": 3, "min_train_wins": 5},  # scaled to the small history
        "history": {"min_closed_leads": 100, "min_wins": 20},
        # one thread: on a busy 2-core machine more threads than free cores slow the
        # fits 5-20x (and a test's results do not depend on it)
        "threads": 1,
    }
    return PredscoreConfig.model_validate(
        {"seed": 3, "model": {**base, **model}, "features": {"snapshot_every_days": 14}}
    )


def small_bundle(
    valid: Path, out: Path, config: PredscoreConfig | None = None
) -> dict[str, Any]:
    """Train a small model on a validated folder (no MLflow), save its bundle to
    ``out`` and return its training rows (``train``) and the newest 20 % of the
    leads, held out (``test``)."""
    from predscore.experiment import fit_procedure
    from predscore.features import build_snapshots
    from predscore.model import ModelBundle, holdout_leads, labelled_rows, save_bundle

    config = config or fast_config()
    snapshots = build_snapshots(valid, config.features, config.icp)
    rows, strategy, _ = labelled_rows(snapshots, config.model.split)
    held = rows["lead_id"].isin(holdout_leads(rows, 0.2, strategy, config.seed))
    train = rows.loc[~held.to_numpy()].reset_index(drop=True)
    test = rows.loc[held.to_numpy()].reset_index(drop=True)
    fitted = fit_procedure([(config.features, train)], 1, config, strategy)
    bundle = ModelBundle(
        model=fitted.model,
        features=config.features,
        icp=config.icp,
        split=config.model.split,
        seed=config.seed,
    )
    save_bundle(bundle, out)
    return {"train": train, "test": test}


def demo_folders(work: Path, root: Path, leads: int = DEMO_LEADS) -> Path:
    """``work/demo`` (raw, through ``predscore demo-data``) and ``work/valid``
    (``predscore validate --out`` as of 2026-10-01), with the repository's configs."""
    import pytest
    from typer.testing import CliRunner

    from predscore.cli import app

    commands = (
        ["demo-data", "--out", str(work / "demo"), "--leads", str(leads)],
        ["validate", "--data", str(work / "demo"), "--as-of", "2026-10-01"]
        + ["--out", str(work / "valid")],
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREDSCORE_CONFIG_DIR", str(root / "configs"))
        for args in commands:
            result = CliRunner().invoke(app, args, catch_exceptions=False)
            assert result.exit_code == 0, result.output
    return work
