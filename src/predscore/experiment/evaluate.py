"""Evaluation of a trained model, and rolling-origin backtests, beside the rules.

Stage: experiment. ``evaluate_model`` rebuilds the snapshots with the configuration
stored in the bundle, takes the same test leads as training did (same split, same
seed) and measures model and rules side by side, and optionally reference models
fitted on the leads the model learnt from. ``backtest`` replays the training
procedure K times: for fold k, everything whose outcome was known when period k began
trains the model (itself split by time into train / valid / calibration), the leads
created in period k test it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from predscore.config import PredscoreConfig, RulesConfig
from predscore.errors import DataValidationError, ModelError
from predscore.experiment.compare import scored_rows, side_by_side
from predscore.experiment.references import reference_probability
from predscore.experiment.train import (
    check_history,
    fit_lead_model,
    score_rule_baseline,
    split_parts,
)
from predscore.features import build_snapshots, newest_event
from predscore.model import ModelBundle, rolling_folds, rows_known_at, split_leads

__all__ = ["BacktestResult", "backtest", "evaluate_model"]

Progress = Callable[[str], None]


def evaluate_model(
    tables: object,
    bundle: ModelBundle,
    config: PredscoreConfig,
    rules: RulesConfig | None = None,
    references: Sequence[str] = (),
    cutoff: pd.Timestamp | None = None,
) -> tuple[dict[str, object], pd.DataFrame]:
    """Model and rules (and reference models) on the bundle's test leads.

    Parameters
    ----------
    tables : path or mapping of DataFrame
        Validated canonical tables, the same the bundle was trained on.
    bundle : ModelBundle
        The trained model with its features configuration, split and seed.
    config : PredscoreConfig
        ``model.calibration`` maps the rules' points to a probability;
        ``model.threads`` and ``seed`` serve the reference models.
    rules : RulesConfig, optional
        The rule baseline to compare with.
    references : sequence of str
        Reference models to fit and compare with (names of
        :data:`predscore.experiment.references.REFERENCES`). Each is fitted on every
        snapshot of the leads outside the test part (the leads whose snapshots grew,
        stopped and calibrated the model), with the model's feature columns.
    cutoff : Timestamp, optional
        As in :func:`predscore.experiment.train_model`: with a label horizon, the
        test rows are those whose label is known at it.

    Returns
    -------
    (dict, DataFrame)
        The ``metrics.json`` document (:func:`side_by_side`: ``model``, ``rules``,
        one entry per reference, ``segments``, plus ``split``) and the scored test
        rows (:func:`scored_rows`: ``lead_id``, ``as_of``, ``label``,
        ``probability`` and, when the rules apply, ``rule_points``, ``rule_route``,
        ``rule_probability``; ``<reference>_probability`` per reference).

    Raises
    ------
    ModelError
        When the test part holds no snapshot.
    ConfigError
        When a reference name is unknown.
    """
    cutoff = evaluation_cutoff(tables, bundle, cutoff)
    snapshots = build_snapshots(tables, bundle.features, bundle.icp, cutoff)
    assignment, strategy = split_leads(
        snapshots, bundle.split, bundle.seed, horizon_days=bundle.features.horizon_days
    )
    parts = split_parts(snapshots, assignment)
    test = parts["test"]
    if len(test) == 0:
        raise ModelError("the test period holds no snapshot: nothing to evaluate")
    probability = bundle.model.predict_proba(test)
    rule_out, rule_prob, note = score_rule_baseline(parts, rules, config.model)
    learnt = pd.concat(
        [parts[name] for name in ("train", "valid", "calibration")], ignore_index=True
    )
    others = {
        name: reference_probability(
            name, learnt, test, config.model.threads, config.seed
        )
        for name in references
    }
    metrics = side_by_side(test, probability, rule_out, rule_prob, others)
    metrics["split"] = strategy
    if note:
        metrics["rules_note"] = note
    scored = scored_rows(test, probability, rule_out, rule_prob, others)
    return metrics, scored


def evaluation_cutoff(
    tables: object, bundle: ModelBundle, cutoff: pd.Timestamp | None
) -> pd.Timestamp | None:
    """The label cutoff to evaluate ``bundle`` at (models with a label horizon only).

    Default: the cutoff recorded at training (``metadata["label_cutoff"]``), else the
    newest event. An earlier cutoff than the training one is refused: fewer leads
    have a known label then, the time split moves back and the test period would
    hold leads the model was fitted or calibrated on.
    """
    if bundle.features.horizon_days is None:
        return cutoff
    recorded = bundle.metadata.get("label_cutoff")
    trained = None if recorded is None else pd.Timestamp(recorded)
    if cutoff is None:
        return trained if trained is not None else newest_event(tables)
    cutoff = pd.Timestamp(cutoff)
    if cutoff.tzinfo is None:
        cutoff = cutoff.tz_localize("UTC")
    if trained is not None and cutoff < trained:
        raise DataValidationError(
            f"cutoff {cutoff.isoformat()} is before the one this model's labels were "
            f"read at ({trained.isoformat()}): its test period would hold leads it was "
            "trained or calibrated on; evaluate at that cutoff or later"
        )
    return cutoff


@dataclass(frozen=True)
class BacktestResult:
    """Per-fold metrics (one row per fold and scorer) and their mean."""

    folds: pd.DataFrame
    mean: pd.DataFrame
    skipped: list[str]


_KEYS = ("roc_auc", "pr_auc", "brier", "ece", "lift_top10", "capture_top20")


def backtest(
    tables: object,
    config: PredscoreConfig,
    folds: int,
    rules: RulesConfig | None = None,
    progress: Progress | None = None,
    cutoff: pd.Timestamp | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation over ``folds`` periods (see the module docstring).

    The engagement features are those of ``config.features`` (the grid is chosen by
    ``train``); a fold whose known history is below ``model.history`` is skipped and
    listed with its reason. With ``features.horizon_days``, a fold learns from the
    rows whose label was known at its origin (:func:`predscore.model.rows_known_at`)
    and tests on every row of its leads known at ``cutoff``.
    """
    say = progress or (lambda _line: None)
    horizon, kept = config.features.horizon_days, config.features.horizon_rows
    snapshots = build_snapshots(tables, config.features, config.icp, cutoff)
    rows, skipped = [], []
    for fold in rolling_folds(snapshots, folds, horizon, kept):
        say(f"fold {fold.number}/{folds}: origin {fold.origin:%Y-%m-%d}")
        # only rows known at the origin: the model of that day saw no later label
        known = snapshots[
            snapshots["lead_id"].isin(fold.train_leads).to_numpy()
            & rows_known_at(snapshots, fold.origin, horizon, kept)
        ]
        test = snapshots[snapshots["lead_id"].isin(fold.test_leads)].reset_index(
            drop=True
        )
        assignment, _ = split_leads(
            known, config.model.split, config.seed, False, horizon
        )
        try:
            check_history(known, config.model.history, assignment)
        except ModelError as exc:
            skipped.append(f"fold {fold.number}: {exc}")
            continue
        parts = split_parts(known, assignment) | {"test": test}
        model = fit_lead_model(parts, config.model, config.seed)
        probability = model.predict_proba(test)
        rule_out, rule_prob, _ = score_rule_baseline(parts, rules, config.model)
        doc = side_by_side(test, probability, rule_out, rule_prob)
        for scorer in ("model", "rules"):
            if scorer in doc:
                rows.append(
                    {
                        "fold": fold.number,
                        "origin": fold.origin,
                        "end": fold.end,
                        "train_leads": int(known["lead_id"].nunique()),
                        "test_leads": int(test["lead_id"].nunique()),
                        "scorer": scorer,
                        **{k: doc[scorer][k] for k in _KEYS},
                    }
                )
    table = pd.DataFrame(rows)
    mean = (
        table.groupby("scorer")[list(_KEYS)].agg(["mean", "std"])
        if len(table)
        else pd.DataFrame()
    )
    if len(mean):
        mean.columns = [f"{k}_{stat}" for k, stat in mean.columns]
        mean = mean.replace({np.nan: None})
    return BacktestResult(table, mean.reset_index() if len(mean) else mean, skipped)
