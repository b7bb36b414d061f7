"""Experiments: train, evaluate and backtest the model beside the rule baseline.

Stage: above both :mod:`predscore.model` and :mod:`predscore.rules` (which never import
each other), below the command line. Pure workflows: tables and configuration in,
results out; files and MLflow are written by :mod:`predscore.model.tracking` and the CLI.

Public API
----------
``train_model(tables, config, rules=None, progress=None) -> TrainingResult``
``evaluate_model(tables, bundle, config, rules=None, references=()) -> (dict, DataFrame)``
    ``references``: reference models (``lgbm_default``, ``logreg``) fitted on the
    leads the model learnt from, measured on the same test leads.
``backtest(tables, config, folds, rules=None) -> BacktestResult``
``side_by_side(features, probability, rules, rule_probability, references=None) -> dict``
``metrics_table(metrics)``, ``segments_table(metrics)``
    That document as tables (one row per scorer; one row per trap segment).
``evaluation_figures(scored, importance) -> dict[str, Figure]``
    Calibration, ROC/PR, gains and lift, importance.
``reference_probability(name, train, test, threads=1, seed=0)``, ``REFERENCES``
    The reference models alone (``benchmarks/results.py`` uses them).
"""

from predscore.experiment.compare import (
    METRIC_KEYS,
    evaluation_figures,
    metrics_table,
    segments_table,
    side_by_side,
)
from predscore.experiment.evaluate import BacktestResult, backtest, evaluate_model
from predscore.experiment.references import REFERENCES, reference_probability
from predscore.experiment.train import (
    GridChoice,
    TrainingResult,
    check_history,
    choose_candidate,
    feature_candidates,
    train_model,
    training_warnings,
)

__all__ = [
    "METRIC_KEYS",
    "REFERENCES",
    "BacktestResult",
    "GridChoice",
    "TrainingResult",
    "backtest",
    "check_history",
    "choose_candidate",
    "evaluate_model",
    "evaluation_figures",
    "feature_candidates",
    "metrics_table",
    "reference_probability",
    "segments_table",
    "side_by_side",
    "train_model",
    "training_warnings",
]
