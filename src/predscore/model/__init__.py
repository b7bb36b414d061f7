"""Closing-probability model: LightGBM trees, calibration, bundles, MLflow.

Stage: model, beside the rules (the two never import each other). Input: training
snapshots and feature rows of :mod:`predscore.features`; output: calibrated closing
probabilities, per-feature contributions, and model bundles on disk or in MLflow.

Public API
----------
``LeadModel``
    Trees grown on a training period, stopped early on a validation period,
    calibrated on a calibration period; ``predict_proba``, ``predict_raw``,
    ``contributions`` (TreeSHAP on log-odds).
``Calibrator``, ``fit_calibrator``
    Isotonic or sigmoid map, chosen by cross-validated Brier score.
``split_leads``, ``rolling_folds``, ``lead_table``, ``immature_leads``, ``rows_known_at``
    Splits by lead and time; the leads too recent to judge; the rows known at a date.
``ModelBundle``, ``save_bundle``, ``load_bundle``
    The fitted model with the feature configuration it needs, on disk.
:mod:`predscore.model.tracking` (MLflow runs, registry, promote, URIs) and
:mod:`predscore.model.pyfunc` import mlflow; import them only where it is used.
"""

from predscore.model.bundle import ModelBundle, load_bundle, save_bundle
from predscore.model.calibrate import Calibrator, fit_calibrator
from predscore.model.estimator import LeadModel, feature_columns, row_weights
from predscore.model.split import (
    IMMATURE,
    PARTS,
    Fold,
    immature_leads,
    lead_table,
    rolling_folds,
    rows_known_at,
    split_leads,
)

__all__ = [
    "IMMATURE",
    "PARTS",
    "Calibrator",
    "Fold",
    "LeadModel",
    "ModelBundle",
    "feature_columns",
    "fit_calibrator",
    "immature_leads",
    "lead_table",
    "load_bundle",
    "rolling_folds",
    "row_weights",
    "rows_known_at",
    "save_bundle",
    "split_leads",
]
