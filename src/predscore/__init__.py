"""predscore: predictive B2B lead scoring.

Learns from historical won/lost leads which open leads will close: point-in-time fit,
engagement and qualification features, a transparent rule baseline, a calibrated
closing-probability model and per-lead explanations in plain language.

Everything a command does is one function here, in the order the data flows::

    import predscore

    config = predscore.load_config("configs")
    predscore.generate_demo_data("data/demo", config.demo, config.icp)
    data = predscore.read_dataset("data/demo", as_of, config.validation)
    rows = predscore.build_features(data.tables, as_of, config.features, config.icp)
    run = predscore.train_and_register("data/demo", data.tables, config)
    bundle, origin = predscore.load_model(None, config.model.tracking)
    manifest = predscore.score_leads("data/demo", "scores", config, as_of)
    predscore.export_scores("scores", predscore.load_export_config(path))

Importing ``predscore`` is light and has no side effect: the names below are loaded
from their stage's module on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from predscore._version import __version__ as __version__
from predscore.config import (
    PredscoreConfig,
    load_config,
    load_export_config,
    load_rules,
)
from predscore.errors import (
    ConfigError,
    DataValidationError,
    InsufficientHistoryError,
    LeakageError,
    ModelError,
    OutputError,
    PredscoreError,
    SchemaError,
)

#: public name → the module that defines it (loaded on first use)
_LAZY = {
    # data: demo CRM, CRM exports through a mapping, validation
    "generate_demo_data": "predscore.demo",
    "run_ingest": "predscore.ingest",
    "load_mapping": "predscore.ingest",
    "read_dataset": "predscore.schema.validate",
    "load_dataset": "predscore.schema.validate",
    "validate_tables": "predscore.schema.validate",
    # point-in-time features
    "build_features": "predscore.features",
    "build_snapshots": "predscore.features",
    "export_features": "predscore.features",
    "export_snapshots": "predscore.features",
    "feature_specs": "predscore.features",
    "TableSource": "predscore.features",
    # rule baseline and model
    "score_rules": "predscore.rules",
    "LeadModel": "predscore.model",
    "ModelBundle": "predscore.model",
    "load_bundle": "predscore.model",
    "save_bundle": "predscore.model",
    "load_model": "predscore.model.tracking",
    "promote": "predscore.model.tracking",
    # experiments: train, evaluate, backtest
    "train_model": "predscore.experiment",
    "train_and_register": "predscore.experiment",
    "evaluate_model": "predscore.experiment",
    "save_evaluation": "predscore.experiment",
    "backtest": "predscore.experiment",
    "save_backtest": "predscore.experiment",
    # model health: drift, realised performance, champion vs challenger
    "monitor_model": "predscore.monitor",
    "compare_registered": "predscore.experiment",
    "compare_models": "predscore.experiment",
    "promote_checked": "predscore.experiment",
    # explanations and scoring
    "Explainer": "predscore.explain",
    "explain_lead": "predscore.explain",
    "explain_leads": "predscore.explain",
    "Scorer": "predscore.scoring",
    "score_tables": "predscore.scoring",
    "score_leads": "predscore.scoring",
    # outputs for reps, and back to the CRM
    "render_report": "predscore.report",
    "create_app": "predscore.serve",
    "export_scores": "predscore.export",
}

__all__ = [
    "backtest",
    "build_features",
    "build_snapshots",
    "compare_models",
    "compare_registered",
    "ConfigError",
    "create_app",
    "DataValidationError",
    "evaluate_model",
    "explain_lead",
    "explain_leads",
    "Explainer",
    "export_features",
    "export_scores",
    "export_snapshots",
    "feature_specs",
    "generate_demo_data",
    "InsufficientHistoryError",
    "LeadModel",
    "LeakageError",
    "load_bundle",
    "load_config",
    "load_dataset",
    "load_export_config",
    "load_mapping",
    "load_model",
    "load_rules",
    "ModelBundle",
    "ModelError",
    "monitor_model",
    "OutputError",
    "PredscoreConfig",
    "PredscoreError",
    "promote",
    "promote_checked",
    "read_dataset",
    "render_report",
    "run_ingest",
    "save_backtest",
    "save_bundle",
    "save_evaluation",
    "SchemaError",
    "score_leads",
    "score_rules",
    "score_tables",
    "Scorer",
    "TableSource",
    "train_and_register",
    "train_model",
    "validate_tables",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'predscore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what type checkers and IDEs see
    from predscore.demo import generate_demo_data
    from predscore.experiment import (
        backtest,
        compare_models,
        compare_registered,
        evaluate_model,
        promote_checked,
        save_backtest,
        save_evaluation,
        train_and_register,
        train_model,
    )
    from predscore.explain import Explainer, explain_lead, explain_leads
    from predscore.export import export_scores
    from predscore.features import (
        TableSource,
        build_features,
        build_snapshots,
        export_features,
        export_snapshots,
        feature_specs,
    )
    from predscore.ingest import load_mapping, run_ingest
    from predscore.model import LeadModel, ModelBundle, load_bundle, save_bundle
    from predscore.model.tracking import load_model, promote
    from predscore.monitor import monitor_model
    from predscore.report import render_report
    from predscore.rules import score_rules
    from predscore.schema.validate import load_dataset, read_dataset, validate_tables
    from predscore.scoring import Scorer, score_leads, score_tables
    from predscore.serve import create_app
