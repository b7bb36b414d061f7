"""Probability calibration: raw log-odds of the trees → close rates that can be read.

Stage: model. Fitted on the calibration period (leads newer than the training and
validation periods), so that "0.30" means about 30 of 100 such leads close. Two maps:
``sigmoid`` (Platt: ``p = 1 / (1 + exp(-(a·z + b)))``) and ``isotonic`` (monotone
steps, linearly interpolated). The method is chosen by cross-validated Brier score
inside the calibration period, folds by lead. Isotonic overfits small samples, hence
the ``isotonic_min_leads`` guard (snapshots of one lead are not independent
observations: the guard counts leads, not rows). Both maps are stored as plain numbers (JSON), so a
bundle needs no pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from predscore.config import CalibrationConfig
from predscore.errors import ModelError

__all__ = ["Calibrator", "fit_calibrator"]


@dataclass(frozen=True)
class Calibrator:
    """A fitted monotone map from raw log-odds to probability.

    ``params``: sigmoid ``{"a", "b"}``; isotonic ``{"x", "y"}`` (the step knots).
    """

    method: str
    params: dict[str, object]
    cv_brier: dict[str, float] = field(default_factory=dict)

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Probabilities for raw log-odds ``raw``."""
        raw = np.asarray(raw, dtype=float)
        if self.method == "sigmoid":
            a, b = float(self.params["a"]), float(self.params["b"])
            return 1.0 / (1.0 + np.exp(-(a * raw + b)))
        x = np.asarray(self.params["x"], dtype=float)
        y = np.asarray(self.params["y"], dtype=float)
        return np.interp(raw, x, y)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (see :meth:`from_dict`)."""
        return {"method": self.method, "params": self.params, "cv_brier": self.cv_brier}

    @classmethod
    def from_dict(cls, data: dict) -> Calibrator:
        """Inverse of :meth:`to_dict`."""
        return cls(data["method"], dict(data["params"]), dict(data.get("cv_brier", {})))


def _fit_one(method: str, raw: np.ndarray, y: np.ndarray, w: np.ndarray) -> Calibrator:
    if method == "sigmoid":
        # a 1-D logistic regression on the log-odds, practically unpenalised
        lr = LogisticRegression(C=1e6, solver="lbfgs", max_iter=1000)
        lr.fit(raw.reshape(-1, 1), y, sample_weight=w)
        return Calibrator(
            "sigmoid", {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}
        )
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(raw, y, sample_weight=w)
    return Calibrator(
        "isotonic",
        {
            "x": [float(v) for v in iso.X_thresholds_],
            "y": [float(v) for v in iso.y_thresholds_],
        },
    )


def fit_calibrator(
    raw: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    groups: np.ndarray,
    config: CalibrationConfig,
) -> Calibrator:
    """Choose and fit the calibration map on the calibration period.

    Parameters
    ----------
    raw, labels, weights : array
        Raw log-odds, 0/1 outcomes and row weights of the calibration rows.
    groups : array
        Lead id of each row: folds never split a lead's snapshots.
    config : CalibrationConfig
        Candidate methods, folds, isotonic guard.

    Returns
    -------
    Calibrator
        Refitted on all rows with the method of lowest cross-validated Brier score;
        ``cv_brier`` keeps each candidate's score.
    """
    raw = np.asarray(raw, dtype=float)
    y = np.asarray(labels, dtype=int)
    w = np.asarray(weights, dtype=float)
    if len(np.unique(y)) < 2:
        raise ModelError(
            f"calibration needs both won and lost leads; the {len(y)} calibration "
            f"rows are all {'won' if len(y) and y[0] == 1 else 'lost'} (the calibration "
            "period needs closed leads of both kinds: wait for more history)"
        )
    n_groups = len(np.unique(groups))
    methods = [
        m
        for m in config.methods
        if m != "isotonic" or n_groups >= config.isotonic_min_leads
    ] or ["sigmoid"]
    folds = min(config.folds, n_groups)
    scores: dict[str, float] = {}
    if len(methods) > 1 and folds >= 2:
        for method in methods:
            losses, total = 0.0, 0.0
            for fit_idx, held in GroupKFold(n_splits=folds).split(raw, y, groups):
                if len(np.unique(y[fit_idx])) < 2:
                    continue
                cal = _fit_one(method, raw[fit_idx], y[fit_idx], w[fit_idx])
                p = cal.transform(raw[held])
                losses += float(np.sum(w[held] * (p - y[held]) ** 2))
                total += float(np.sum(w[held]))
            scores[method] = losses / total if total else float("inf")
        best = min(methods, key=lambda m: (scores[m], m))
    else:
        best = methods[0]
    fitted = _fit_one(best, raw, y, w)
    return Calibrator(fitted.method, fitted.params, scores)
