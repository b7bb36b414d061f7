"""Experiments: train, evaluate and backtest the model beside the rule baseline.

Stage: above both :mod:`predscore.model` and :mod:`predscore.rules` (which never import
each other), below the command line. Pure workflows: tables and configuration in,
results out; files and MLflow are written by :mod:`predscore.model.tracking` and the CLI.

Public API
----------
``train_model(tables, config, rules=None, progress=None) -> TrainingResult``
    Every choice by time-series cross-validation, refit on every labelled lead.
``train_and_register(data, tables, config, rules=None, cutoff=None) -> RegisteredTraining``
    What ``predscore train`` does: that training, the global view of its
    explanations, logged to MLflow and registered as the challenger.
``save_evaluation(out, metrics, scored, bundle) -> Path``
    ``metrics.json`` and the plots of an evaluation, as ``predscore evaluate`` writes.
``fit_procedure(candidates, count, config, strategy) -> FittedProcedure``
    That procedure on given rows (replayed at past origins by the two below).
``evaluate_model(tables, bundle, config, rules=None, references=None) -> (dict, DataFrame)``
    The bundle's procedure replayed at origins before its newest leads, beside the
    rules and the references (``lgbm_default``, ``logreg``, ``flaml``) fitted on the
    same rows; paired bootstrap intervals by lead.
``evaluation_periods(rows, strategy, config) -> list[EvaluationPeriod]``
    The leads ``evaluate`` scores, by retraining period (``benchmarks/results.py``
    scores the same periods).
``backtest(tables, config, folds, rules=None) -> BacktestResult``
``segment_comparison(scored, config)``, ``segment_models_table(entries)``,
``segment_report_table(report)``
    With segment models: each segment's leads scored by them and by the global
    model of the same procedure, paired intervals of the differences.
``side_by_side(features, probability, rules, rule_probability, references=None) -> dict``
``metrics_table(metrics)``, ``segments_table(metrics)``
    That document as tables (one row per scorer; one row per trap segment).
``evaluation_figures(scored, importance) -> dict[str, Figure]``
    Calibration, ROC/PR, gains and lift, importance.
``compare_registered(data, config, as_of, champion=None, challenger=None) -> Comparison``
    What ``predscore compare`` does: both models on the newest labelled leads,
    paired intervals of the differences, the verdict recorded for ``promote``.
``compare_models(tables, champion, challenger, config) -> dict``, ``newest_leads``
``promote_checked(config, version=None, force=False) -> Promotion``
    ``promote`` with its gate: a significantly worse challenger is refused.
``training_profile(rows, bundle, config, rules=None) -> dict``
    The training profile a bundle keeps for ``predscore monitor``.
``reference_probability(name, train, test, threads=1, seed=0)``, ``REFERENCES``
    The reference models alone (``benchmarks/results.py`` uses them).
"""

from predscore.experiment.challenge import (
    Promotion,
    PromotionRefused,
    compare_models,
    compare_registered,
    newest_leads,
    promote_checked,
)
from predscore.experiment.compare import (
    METRIC_KEYS,
    evaluation_figures,
    intervals_table,
    metrics_table,
    segment_models_table,
    segment_report_table,
    segments_table,
    side_by_side,
)
from predscore.experiment.evaluate import (
    BacktestResult,
    EvaluationPeriod,
    backtest,
    evaluate_model,
    evaluation_periods,
    procedure_config,
    segment_comparison,
)
from predscore.experiment.profile import training_profile
from predscore.experiment.references import REFERENCES, reference_probability
from predscore.experiment.register import (
    RegisteredTraining,
    global_artifacts,
    save_backtest,
    save_evaluation,
    train_and_register,
)
from predscore.experiment.train import (
    FittedProcedure,
    TrainingResult,
    check_history,
    feature_candidates,
    fit_procedure,
    labelled_snapshots,
    rule_probability_map,
    train_model,
    training_warnings,
)

__all__ = [
    "METRIC_KEYS",
    "REFERENCES",
    "BacktestResult",
    "Promotion",
    "PromotionRefused",
    "EvaluationPeriod",
    "compare_models",
    "compare_registered",
    "newest_leads",
    "promote_checked",
    "training_profile",
    "FittedProcedure",
    "RegisteredTraining",
    "TrainingResult",
    "backtest",
    "check_history",
    "global_artifacts",
    "save_backtest",
    "save_evaluation",
    "train_and_register",
    "evaluate_model",
    "evaluation_figures",
    "feature_candidates",
    "intervals_table",
    "fit_procedure",
    "labelled_snapshots",
    "metrics_table",
    "procedure_config",
    "reference_probability",
    "rule_probability_map",
    "segment_comparison",
    "segment_models_table",
    "segment_report_table",
    "segments_table",
    "side_by_side",
    "evaluation_periods",
    "train_model",
    "training_warnings",
]
