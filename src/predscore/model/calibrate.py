"""Probability calibration: raw log-odds → close rates that can be read.

Stage: model. Cross-fitted on out-of-fold predictions (every prediction made by a
model that never saw its lead), so that "0.30" means about 30 of 100 such leads
close. Two maps: ``sigmoid`` (Platt: ``p = 1 / (1 + exp(-(a·z + b)))``, its slope
kept positive: where the fit finds none, slope 1 and the level alone) and
``isotonic`` (monotone steps, linearly interpolated), each with a recency
half-life: newer leads weigh more, so the level follows a close rate that moved.
The pair is chosen forward in time: fitted on the earlier folds, scored (Brier) on
the next. The fold models learnt from fewer and older rows than the model refitted
on every row, and their log-odds sit lower or higher than the refit's: with
``level: refit`` the chosen map keeps its shape and its output log-odds get a shift
(:meth:`Calibrator.relevel`) so that its mean probability over the refit's own rows,
recency-weighted as chosen, equals their close rate. Isotonic overfits small samples, hence the ``isotonic_min_leads`` guard
(snapshots of one lead are not independent observations: the guard counts leads,
not rows). Both maps are stored as plain numbers (JSON), so a bundle needs no
pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.isotonic import IsotonicRegression

from predscore.config import CalibrationConfig
from predscore.errors import ModelError
from predscore.model.linear import logistic_newton

__all__ = ["MAX_OFFSET", "Calibrator", "choose_calibration", "platt_fit"]

#: the largest shift of the log-odds :meth:`Calibrator.relevel` makes
MAX_OFFSET = 30.0
#: probabilities of an isotonic map are kept this far from 0 and 1 when shifted
_EDGE = 1e-6


@dataclass(frozen=True)
class Calibrator:
    """A fitted monotone map from raw log-odds to probability.

    ``params``: sigmoid ``{"a", "b"}``; isotonic ``{"x", "y"}`` (the step knots);
    either may hold ``shift``, added to the log-odds of the map's probability
    (:meth:`relevel`: the prior-shift correction of a close rate that moved). ``row_weight``: how the rows were weighed (``per_snapshot`` or
    ``per_lead``), for :meth:`relevel`.
    """

    method: str
    params: dict[str, object]
    cv_brier: dict[str, float] = field(default_factory=dict)
    recency_half_life_days: float | None = None
    row_weight: str = "per_snapshot"

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Probabilities for raw log-odds ``raw``."""
        raw = np.asarray(raw, dtype=float)
        shift = float(self.params.get("shift", 0.0))
        if self.method == "sigmoid":
            a, b = float(self.params["a"]), float(self.params["b"])
            return 1.0 / (1.0 + np.exp(-np.clip(a * raw + b + shift, -500, 500)))
        x = np.asarray(self.params["x"], dtype=float)
        y = np.asarray(self.params["y"], dtype=float)
        p = np.interp(raw, x, y)
        if shift == 0.0:
            return p
        p = np.clip(p, _EDGE, 1 - _EDGE)
        return 1.0 / (1.0 + np.exp(-(np.log(p / (1 - p)) + shift)))

    def relevel(
        self, raw: np.ndarray, labels: np.ndarray, weights: np.ndarray
    ) -> Calibrator:
        """This map with the shift of its output log-odds that makes its weighted
        mean probability over ``raw`` equal the weighted close rate of ``labels``.

        The shift is found by bisection (the mean rises with it) within
        ±:data:`MAX_OFFSET` log-odds of the current one.
        """
        raw = np.asarray(raw, dtype=float)
        w = np.asarray(weights, dtype=float)
        target = float(np.average(np.asarray(labels, dtype=float), weights=w))
        base = float(self.params.get("shift", 0.0))

        def mean_at(shift: float) -> float:
            shifted = Calibrator(self.method, {**self.params, "shift": shift})
            return float(np.average(shifted.transform(raw), weights=w))

        low, high = base - MAX_OFFSET, base + MAX_OFFSET
        for _ in range(60):
            middle = 0.5 * (low + high)
            if mean_at(middle) < target:
                low = middle
            else:
                high = middle
        params = {**self.params, "shift": 0.5 * (low + high)}
        return Calibrator(
            self.method,
            params,
            self.cv_brier,
            self.recency_half_life_days,
            self.row_weight,
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (see :meth:`from_dict`)."""
        return {
            "method": self.method,
            "params": self.params,
            "cv_brier": self.cv_brier,
            "recency_half_life_days": self.recency_half_life_days,
            "row_weight": self.row_weight,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Calibrator:
        """Inverse of :meth:`to_dict`."""
        return cls(
            data["method"],
            dict(data["params"]),
            dict(data.get("cv_brier", {})),
            data.get("recency_half_life_days"),
            data.get("row_weight", "per_snapshot"),
        )


def platt_fit(
    raw: np.ndarray, labels: np.ndarray, weights: np.ndarray
) -> tuple[float, float]:
    """Unpenalised weighted logistic fit ``p = 1 / (1 + exp(-(a·raw + b)))``.

    It runs hundreds of times per training (every tree count of every fold, every
    calibration candidate), where a general solver's set-up costs more than the fit:
    the linear model's Newton solver (:func:`predscore.model.linear.logistic_newton`,
    steps halved until the loss goes down) without penalty; same optimum as
    scikit-learn's ``LogisticRegression`` without penalty (tested). The log-odds are
    centred first: a narrow range far from 0, as a fold of rare wins gives, makes
    slope and intercept nearly collinear.
    """
    z = np.asarray(raw, dtype=float)
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    centre = float(np.sum(w * z))
    coefs, intercept = logistic_newton((z - centre)[:, None], labels, w, None)
    a = float(coefs[0])
    return a, float(intercept - a * centre)


def _fit_one(method: str, raw: np.ndarray, y: np.ndarray, w: np.ndarray) -> Calibrator:
    if method == "sigmoid":
        a, b = platt_fit(raw, y, w)
        if not a > 0:
            # out of fold the model ranks no better than chance on these rows: a
            # map must never turn its ranking round, so the model's own log-odds
            # keep their scale (slope 1) and only the level is fitted
            identity = Calibrator("sigmoid", {"a": 1.0, "b": 0.0})
            shifted = identity.relevel(raw, y, w)
            a, b = 1.0, float(shifted.params["shift"])
        return Calibrator("sigmoid", {"a": a, "b": b})
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(raw, y, sample_weight=w)
    return Calibrator(
        "isotonic",
        {
            "x": [float(v) for v in iso.X_thresholds_],
            "y": [float(v) for v in iso.y_thresholds_],
        },
    )


def _decay(age_days: np.ndarray, half_life: float | None) -> np.ndarray:
    if half_life is None:
        return np.ones(len(age_days))
    return np.power(0.5, np.clip(age_days, 0, None) / half_life)


def _ages(as_of: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Age in days of the ``rows`` of ``as_of`` (datetime64) before their newest."""
    picked = as_of[rows]
    return (picked.max() - picked) / np.timedelta64(1, "D")


def choose_calibration(
    raw: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    groups: np.ndarray,
    folds: np.ndarray,
    as_of: np.ndarray,
    config: CalibrationConfig,
    forward: bool = True,
    fold_weights: np.ndarray | None = None,
) -> Calibrator:
    """Choose and fit the calibration map on out-of-fold predictions.

    Parameters
    ----------
    raw, labels, weights : array
        Out-of-fold log-odds (or rule points), 0/1 outcomes and row weights.
    groups : array
        Lead of each row (the isotonic guard counts leads, not rows).
    folds : array of int
        Cross-validation fold of each row (0, 1, ... oldest first when ``forward``).
    as_of : array of datetime64
        Snapshot time of each row: the recency weights count back from the newest.
    config : CalibrationConfig
        Candidate methods and recency half-lives.
    forward : bool
        Time-ordered folds: each candidate is fitted on the folds before k and
        scored on fold k; otherwise on every other fold (then recency is off).
    fold_weights : array, optional
        Weight of each fold's score (default: equal).

    Returns
    -------
    Calibrator
        The candidate of lowest weighted Brier score, refitted on every row with its
        recency weights; ``cv_brier`` keeps each candidate's score
        (``"method/half-life"``).
    """
    raw = np.asarray(raw, dtype=float)
    y = np.asarray(labels, dtype=int)
    w = np.asarray(weights, dtype=float)
    as_of = np.asarray(as_of, dtype="datetime64[ns]")
    if len(np.unique(y)) < 2:
        raise ModelError(
            f"calibration needs both won and lost leads; the {len(y)} out-of-fold "
            f"rows are all {'won' if len(y) and y[0] == 1 else 'lost'}: wait for more "
            "history"
        )
    ids = np.unique(folds)
    fold_w = np.ones(len(ids)) if fold_weights is None else np.asarray(fold_weights)
    n_leads = len(np.unique(groups))
    methods = [
        m
        for m in config.methods
        if m != "isotonic" or n_leads >= config.isotonic_min_leads
    ] or ["sigmoid"]
    half_lives = config.recency_half_life_days if forward else [None]
    candidates = [(m, h) for m in methods for h in half_lives]
    scores: dict[str, float] = {}
    if len(candidates) > 1 and len(ids) >= 2:
        for method, half_life in candidates:
            loss = total = 0.0
            for k, fold in enumerate(ids):
                held = folds == fold
                fit = folds < fold if forward else ~held
                if not fit.any() or len(np.unique(y[fit])) < 2:
                    continue
                decay = _decay(_ages(as_of, fit), half_life)
                cal = _fit_one(method, raw[fit], y[fit], w[fit] * decay)
                p = cal.transform(raw[held])
                brier = float(np.average((p - y[held]) ** 2, weights=w[held]))
                loss += fold_w[k] * brier
                total += fold_w[k]
            scores[_name(method, half_life)] = loss / total if total else float("inf")
        best = min(candidates, key=lambda c: (scores[_name(*c)], _name(*c)))
    else:
        best = candidates[0]
    everything = np.ones(len(raw), dtype=bool)
    decay = _decay(_ages(as_of, everything), best[1])
    fitted = _fit_one(best[0], raw, y, w * decay)
    params = {**fitted.params}
    return Calibrator(fitted.method, params, scores, best[1], config.row_weight)


def _name(method: str, half_life: float | None) -> str:
    return f"{method}/{'none' if half_life is None else f'{half_life:g}d'}"
