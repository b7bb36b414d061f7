"""Experiments: train, evaluate and backtest the model beside the rule baseline.

Stage: above both :mod:`predscore.model` and :mod:`predscore.rules` (which never import
each other), below the command line. Pure workflows: tables and configuration in,
results out; files and MLflow are written by :mod:`predscore.model.tracking` and the CLI.

Public API
----------
``train_model(tables, config, rules=None, progress=None) -> TrainingResult``
``evaluate_model(tables, bundle, config, rules=None) -> (dict, DataFrame)``
``backtest(tables, config, folds, rules=None) -> BacktestResult``
``side_by_side(features, probability, rules, rule_probability) -> dict``
"""

from predscore.experiment.compare import evaluation_figures, side_by_side
from predscore.experiment.evaluate import BacktestResult, backtest, evaluate_model
from predscore.experiment.train import (
    GridChoice,
    TrainingResult,
    check_history,
    choose_candidate,
    feature_candidates,
    train_model,
)

__all__ = [
    "BacktestResult",
    "GridChoice",
    "TrainingResult",
    "backtest",
    "check_history",
    "choose_candidate",
    "evaluate_model",
    "evaluation_figures",
    "feature_candidates",
    "side_by_side",
    "train_model",
]
