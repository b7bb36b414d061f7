"""Closing-probability model: candidates chosen by time-series cross-validation,
calibration cross-fitted, bundles, MLflow.

Stage: model, beside the rules (the two never import each other). Input: training
snapshots and feature rows of :mod:`predscore.features`; output: calibrated closing
probabilities, per-feature contributions, and model bundles on disk or in MLflow.

Public API
----------
``cv_folds``, ``select_model``, ``Selection``
    Expanding-window folds by lead; every candidate (tree complexities, linear
    model, blend, recency weights) scored on them; calibration cross-fitted.
``LeadModel``, ``ModelSpec``
    A choice refitted on rows: ``predict_proba``, ``predict_raw``,
    ``contributions`` (exact, on log-odds, for every family).
``Calibrator``, ``choose_calibration``
    Isotonic or sigmoid map with a recency half-life, chosen forward in time.
``labelled_rows``, ``holdout_leads``, ``rolling_folds``, ``lead_table``,
``immature_leads``, ``judged_rows``, ``rows_known_at``
    The rows a model may learn from; held-out and rolling-origin splits.
``SegmentModels``, ``fit_segment_models``
    A model of its own for each segment (region, team, product) with enough
    history; the global model for the rest.
``ModelBundle``, ``save_bundle``, ``load_bundle``
    The fitted model (and its segment models) with the feature configuration it
    needs, on disk.
:mod:`predscore.model.tracking` (MLflow runs, registry, promote, URIs) and
:mod:`predscore.model.pyfunc` import mlflow; import them only where it is used.
"""

from predscore.model.bundle import ModelBundle, load_bundle, save_bundle
from predscore.model.calibrate import Calibrator, choose_calibration
from predscore.model.estimator import LeadModel, ModelSpec, row_weights
from predscore.model.matrix import compact_rows, feature_columns, feature_matrix
from predscore.model.segments import SegmentModels, fit_segment_models
from predscore.model.selection import (
    CvFold,
    Selection,
    cv_folds,
    engagement_score,
    select_model,
)
from predscore.model.split import (
    Fold,
    holdout_leads,
    immature_leads,
    judged_rows,
    labelled_rows,
    lead_table,
    rolling_folds,
    rows_known_at,
    training_rows_at,
)

__all__ = [
    "Calibrator",
    "CvFold",
    "Fold",
    "LeadModel",
    "ModelBundle",
    "ModelSpec",
    "SegmentModels",
    "Selection",
    "choose_calibration",
    "cv_folds",
    "engagement_score",
    "feature_columns",
    "compact_rows",
    "feature_matrix",
    "fit_segment_models",
    "holdout_leads",
    "immature_leads",
    "judged_rows",
    "labelled_rows",
    "lead_table",
    "load_bundle",
    "rolling_folds",
    "row_weights",
    "rows_known_at",
    "training_rows_at",
    "save_bundle",
    "select_model",
]
