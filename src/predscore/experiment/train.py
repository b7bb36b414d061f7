"""Training workflow: snapshots → time split → windows chosen → trees → calibration.

Stage: experiment. Input: validated canonical tables and the configuration; output a
:class:`TrainingResult` (the bundle, the engagement grid it chose, and the model and
rules side by side on the held-out newest leads). Writing files and MLflow is the
caller's (:mod:`predscore.model.tracking`, the CLI).

Why a grid on engagement windows and half-life: every commercial tool hand-sets the
decay of old engagement; here each candidate's snapshots are built, trees are grown on
the training period and the candidate with the lowest validation log loss wins.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from predscore.config import (
    FeaturesConfig,
    HistoryConfig,
    ModelConfig,
    PredscoreConfig,
    RulesConfig,
)
from predscore.errors import ConfigError, InsufficientHistoryError
from predscore.experiment.compare import scored_rows, side_by_side
from predscore.features import build_snapshots
from predscore.model import LeadModel, ModelBundle, fit_calibrator, row_weights
from predscore.model.split import lead_table, split_leads
from predscore.rules import score_rules

__all__ = [
    "TrainingResult",
    "check_history",
    "feature_candidates",
    "fit_lead_model",
    "score_rule_baseline",
    "split_parts",
    "train_model",
]

Progress = Callable[[str], None]


@dataclass
class TrainingResult:
    """What one training produced (see :func:`train_model`)."""

    bundle: ModelBundle
    metrics: dict[str, Any]
    grid: pd.DataFrame
    parts: dict[str, dict[str, int]]
    strategy: str
    test: pd.DataFrame
    importance: pd.Series
    example: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def check_history(snapshots: pd.DataFrame, config: HistoryConfig) -> dict[str, int]:
    """Closed leads and wins available; raise when below the configured minimum.

    Raises
    ------
    InsufficientHistoryError
        With the counts found and needed, and what predscore does instead.
    """
    leads = lead_table(snapshots)
    closed, wins = len(leads), int(leads["won"].sum())
    if closed < config.min_closed_leads or wins < config.min_wins:
        raise InsufficientHistoryError(
            f"not enough history to train: {closed} closed leads and {wins} wins, "
            f"need at least {config.min_closed_leads} and {config.min_wins} "
            "(configs/model.yaml `history`); predscore keeps scoring with the rules "
            "alone until more leads have closed"
        )
    return {"closed_leads": closed, "wins": wins}


def feature_candidates(
    features: FeaturesConfig, model: ModelConfig
) -> list[FeaturesConfig]:
    """The engagement configurations of the grid, in a fixed order."""
    grid = model.feature_grid
    return [
        features.model_copy(update={"half_life_days": h, "windows_days": sorted(w)})
        for w, h in product(grid.windows_days, grid.half_life_days)
    ]


def _lead_model(
    config: ModelConfig, seed: int, params: dict | None = None
) -> LeadModel:
    return LeadModel.from_config(config, seed, params)


def split_parts(
    snapshots: pd.DataFrame, assignment: pd.Series
) -> dict[str, pd.DataFrame]:
    """Snapshots of each part (``train``, ``valid``, ``calibration``, ``test``)."""
    part = snapshots["lead_id"].map(assignment)
    return {
        name: snapshots.loc[part.eq(name).to_numpy()].reset_index(drop=True)
        for name in ("train", "valid", "calibration", "test")
    }


def _search(
    parts: Mapping[str, pd.DataFrame], config: ModelConfig, seed: int
) -> tuple[dict[str, Any], int]:
    """Optuna search of tree parameters on the validation period (log loss)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: optuna.Trial) -> float:
        params = {
            **config.lightgbm,
            "num_leaves": trial.suggest_int("num_leaves", 4, 64, log=True),
            "min_child_samples": trial.suggest_int(
                "min_child_samples", 10, 300, log=True
            ),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.4, 1.0),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 30.0, log=True),
        }
        model = _lead_model(config, seed, params).fit_trees(
            parts["train"], parts["valid"]
        )
        return model.valid_logloss_

    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed)
    )
    study.optimize(
        objective,
        n_trials=config.search.trials,
        timeout=config.search.timeout_seconds,
    )
    return {**config.lightgbm, **study.best_params}, len(study.trials)


def score_rule_baseline(
    parts: Mapping[str, pd.DataFrame], rules: RulesConfig | None, config: ModelConfig
) -> tuple[pd.DataFrame | None, np.ndarray | None, str | None]:
    """Rules on the test period, their points mapped to probability on calibration.

    Returns the rules' output on the test rows, the mapped probability, and a reason
    when the rules do not apply to this data set (a feature they read is absent).
    """
    if rules is None:
        return None, None, "no rules configured"
    try:
        calib = score_rules(parts["calibration"], rules)
        test = score_rules(parts["test"], rules)
    except ConfigError as exc:
        return None, None, f"rules not applicable: {exc}"
    cal = parts["calibration"]
    mapping = fit_calibrator(
        calib["rule_points"].to_numpy(dtype=float),
        cal["label"].to_numpy(),
        row_weights(cal, config.calibration.row_weight),
        cal["lead_id"].to_numpy(),
        config.calibration,
    )
    return test, mapping.transform(test["rule_points"].to_numpy(dtype=float)), None


def fit_lead_model(
    parts: Mapping[str, pd.DataFrame],
    config: ModelConfig,
    seed: int,
    params: dict[str, Any] | None = None,
) -> LeadModel:
    """Trees on train, early stopping on valid, calibration on calibration."""
    return _lead_model(config, seed, params).fit(
        parts["train"], parts["valid"], parts["calibration"]
    )


def _grid(
    tables: object,
    config: PredscoreConfig,
    progress: Progress,
) -> tuple[FeaturesConfig, dict[str, pd.DataFrame], pd.DataFrame, str]:
    """Build each candidate's snapshots; keep the best on validation log loss."""
    candidates = feature_candidates(config.features, config.model)
    rows, best, best_parts, assignment, strategy = [], None, None, None, "time"
    for i, candidate in enumerate(candidates, 1):
        progress(
            f"engagement grid {i}/{len(candidates)}: half-life "
            f"{candidate.half_life_days:g} d, windows {candidate.windows_days}"
        )
        snapshots = build_snapshots(tables, candidate, config.icp)
        if assignment is None:
            check_history(snapshots, config.model.history)
            assignment, strategy = split_leads(
                snapshots, config.model.split, config.seed
            )
        parts = split_parts(snapshots, assignment)
        if len(candidates) == 1:
            return candidate, parts, pd.DataFrame(), strategy
        model = _lead_model(config.model, config.seed).fit_trees(
            parts["train"], parts["valid"]
        )
        rows.append(
            {
                "half_life_days": candidate.half_life_days,
                "windows_days": list(candidate.windows_days),
                "valid_logloss": model.valid_logloss_,
                "best_iteration": model.best_iteration_,
            }
        )
        if best is None or model.valid_logloss_ < rows[best]["valid_logloss"]:
            best, best_parts = len(rows) - 1, parts
    chosen = candidates[best]
    return chosen, best_parts, pd.DataFrame(rows), strategy


def train_model(
    tables: object,
    config: PredscoreConfig,
    rules: RulesConfig | None = None,
    progress: Progress | None = None,
) -> TrainingResult:
    """Train the calibrated closing-probability model and evaluate it against rules.

    Parameters
    ----------
    tables : path or mapping of DataFrame
        Validated canonical tables (as :func:`predscore.features.build_snapshots`).
    config : PredscoreConfig
        ``model`` (split, trees, calibration, grid, search), ``features``, ``icp``,
        ``seed``.
    rules : RulesConfig, optional
        The rule baseline to compare with on the same test leads.
    progress : callable, optional
        Receives a short line at each step.

    Returns
    -------
    TrainingResult

    Raises
    ------
    InsufficientHistoryError
        Too few closed leads or wins (``model.history``).
    """
    say = progress or (lambda _line: None)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    chosen, parts, grid, strategy = _grid(tables, config, say)
    timings["snapshots_and_grid_s"] = time.perf_counter() - start
    params, trials = dict(config.model.lightgbm), 0
    if config.model.search.trials:
        say(f"searching tree parameters ({config.model.search.trials} trials)")
        t = time.perf_counter()
        params, trials = _search(parts, config.model, config.seed)
        timings["search_s"] = time.perf_counter() - t
    say("fitting the final model and its calibration")
    t = time.perf_counter()
    model = fit_lead_model(parts, config.model, config.seed, params)
    timings["fit_s"] = time.perf_counter() - t
    test = parts["test"]
    probability = model.predict_proba(test)
    rule_out, rule_prob, rules_note = score_rule_baseline(parts, rules, config.model)
    metrics = side_by_side(test, probability, rule_out, rule_prob)
    if rules_note:
        metrics["rules_note"] = rules_note
    metrics["calibration"] = {
        "method": model.calibrator_.method,
        "cv_brier": model.calibrator_.cv_brier,
    }
    metrics["selected"] = {
        "half_life_days": chosen.half_life_days,
        "windows_days": list(chosen.windows_days),
        "best_iteration": model.best_iteration_,
        "search_trials": trials,
    }
    counts = {
        name: {
            "rows": len(frame),
            "leads": int(frame["lead_id"].nunique()),
            "wins": int(lead_table(frame)["won"].sum()) if len(frame) else 0,
        }
        for name, frame in parts.items()
    }
    scored = scored_rows(test, probability, rule_out, rule_prob)
    bundle = ModelBundle(
        model=model,
        features=chosen,
        icp=config.icp,
        split=config.model.split,
        seed=config.seed,
        metadata={"parts": counts, "strategy": strategy, "params": params},
    )
    timings["total_s"] = time.perf_counter() - start
    return TrainingResult(
        bundle=bundle,
        metrics=metrics,
        grid=grid,
        parts=counts,
        strategy=strategy,
        test=scored,
        importance=model.feature_importance(),
        example=test.loc[:, ["lead_id", *model.features_]].head(5),
        timings=timings,
    )
