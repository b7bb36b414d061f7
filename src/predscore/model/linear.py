"""The linear family: a regularised logistic regression on the feature matrix.

Stage: model (pure: arrays in, arrays out). Each feature becomes a few design
columns: a number is imputed with its training median, clipped to its training
range (``clip_quantile``), standardised, and joined by a missing indicator; a
category gets one column per level held by enough leads, one for the other levels
and one for missing. scikit-learn's ``LogisticRegression`` (L2) fits the weights.

Contributions are exact: a feature's contribution is the sum over its design
columns of ``coefficient × (value − training mean)`` in log-odds, the expected value
is ``intercept + Σ coefficient × training mean``, and the two add up to the model's
log-odds on every row (the linear SHAP values with independent features). The
fitted model is plain numbers (:meth:`LinearComponent.to_dict`): no pickle.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

__all__ = ["LinearComponent", "fit_linear"]


@dataclass
class LinearComponent:
    """A fitted linear model over the feature matrix.

    ``terms``: one dict per feature, in matrix order. Numbers: ``kind: number``,
    ``median``, ``low``, ``high``, ``mean``, ``scale``, ``coef``, ``missing_coef``;
    categories: ``kind: category``, ``levels`` (the matrix codes with a column of
    their own), ``coefs`` (one per level), ``other_coef``, ``missing_coef``. Each
    term also holds ``center``, its mean contribution over the training rows.
    """

    terms: list[dict[str, Any]]
    intercept: float

    family = "linear"

    @functools.cached_property
    def _numbers(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The number terms' matrix columns and their parameters, as arrays."""
        at = [i for i, term in enumerate(self.terms) if term["kind"] == "number"]
        keys = ("median", "low", "high", "mean", "scale", "coef", "missing_coef")
        return np.asarray(at, dtype=np.intp), {
            k: np.asarray([float(self.terms[i][k]) for i in at]) for k in keys
        }

    def _term_values(self, matrix: np.ndarray) -> np.ndarray:
        """Uncentred log-odds term of each feature: (rows, features)."""
        out = np.zeros((len(matrix), len(self.terms)))
        # the number terms all at once: the same operations, element by element
        at, p = self._numbers
        x = matrix[:, at].astype(float)
        missing = np.isnan(x)
        z = np.clip(np.where(missing, p["median"], x), p["low"], p["high"])
        z = (z - p["mean"]) / p["scale"]
        out[:, at] = p["coef"] * z + p["missing_coef"] * missing
        for i, term in enumerate(self.terms):
            if term["kind"] == "number":
                continue
            x = matrix[:, i].astype(float)
            missing = np.isnan(x)
            coefs = np.full(len(x), term["other_coef"])
            codes = np.where(missing, -1, x).astype(np.int64)
            levels = np.asarray(term["levels"], dtype=np.int64)
            if len(levels):
                lookup = np.full(int(max(levels.max(), codes.max(), 0)) + 1, np.nan)
                lookup[levels] = term["coefs"]
                known = codes >= 0
                found = np.full(len(x), np.nan)
                found[known] = lookup[codes[known]]
                coefs = np.where(np.isnan(found), coefs, found)
            out[:, i] = np.where(missing, term["missing_coef"], coefs)
        return out

    def raw(self, matrix: np.ndarray, threads: int | None = None) -> np.ndarray:
        """Log-odds of each row (``threads``: unused, numpy's own)."""
        return self.intercept + self._term_values(matrix).sum(axis=1)

    def contributions(
        self, matrix: np.ndarray, threads: int | None = None
    ) -> np.ndarray:
        """Per-feature contributions on log-odds; last column the expected value
        (``threads``: unused)."""
        centers = np.array([t["center"] for t in self.terms])
        phi = self._term_values(matrix) - centers
        base = np.full((len(matrix), 1), self.intercept + centers.sum())
        return np.hstack([phi, base])

    def importance(self) -> np.ndarray:
        """Spread of each feature's contribution over training (shares summing to 1)."""
        spread = np.array([t["spread"] for t in self.terms])
        total = spread.sum()
        return spread / total if total > 0 else spread

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (see :meth:`from_dict`)."""
        return {"terms": self.terms, "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinearComponent:
        """Inverse of :meth:`to_dict`."""
        return cls([dict(t) for t in data["terms"]], float(data["intercept"]))


def _design(
    matrix: np.ndarray,
    categorical: set[int],
    leads: np.ndarray,
    min_level_leads: int,
    clip_quantile: float,
) -> tuple[list[dict[str, Any]], list[np.ndarray], list[tuple[int, str, Any]]]:
    """Learn each feature's encoding; return the terms, the design columns and, per
    column, (feature, role, level)."""
    terms: list[dict[str, Any]] = []
    columns: list[np.ndarray] = []
    roles: list[tuple[int, str, Any]] = []
    per_row = 1.0 / np.bincount(leads)[leads]
    for i in range(matrix.shape[1]):
        x = matrix[:, i].astype(float)
        missing = np.isnan(x)
        if i in categorical:
            codes = np.where(missing, -1, x).astype(np.int64)
            # leads per level: each row counts 1 / (its lead's rows)
            present = codes >= 0
            counts = np.bincount(codes[present], weights=per_row[present])
            levels = [int(v) for v in np.flatnonzero(counts >= min_level_leads - 1e-9)]
            terms.append({"kind": "category", "levels": levels})
            for level in levels:
                column = codes == level
                if column.all():
                    continue
                columns.append(column.astype(float))
                roles.append((i, "level", level))
            other = (~missing) & ~np.isin(codes, levels)
            for role, column in (("other", other), ("missing", missing)):
                # a column that never changes is the intercept's: left out
                if column.any() and not column.all():
                    columns.append(column.astype(float))
                    roles.append((i, role, None))
            continue
        if missing.all():
            terms.append(
                {
                    "kind": "number",
                    "median": 0.0,
                    "low": 0.0,
                    "high": 0.0,
                    "mean": 0.0,
                    "scale": 1.0,
                }
            )
            continue
        present = x[~missing]
        median = float(np.median(present))
        low, high = (
            float(v) for v in np.quantile(present, [clip_quantile, 1 - clip_quantile])
        )
        z = np.clip(np.where(missing, median, x), low, high)
        mean, scale = float(z.mean()), float(z.std())
        scale = scale if scale > 0 else 1.0
        terms.append(
            {
                "kind": "number",
                "median": median,
                "low": low,
                "high": high,
                "mean": mean,
                "scale": scale,
            }
        )
        if high > low:
            columns.append((z - mean) / scale)
            roles.append((i, "value", None))
        if missing.any() and not missing.all():
            columns.append(missing.astype(float))
            roles.append((i, "missing", None))
    return terms, columns, roles


def fit_linear(
    matrix: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    leads: np.ndarray,
    categorical: set[int],
    C: float,
    min_level_leads: int = 20,
    clip_quantile: float = 0.001,
    max_iter: int = 2000,
) -> LinearComponent:
    """Fit the logistic regression on the feature matrix.

    Parameters
    ----------
    matrix : ndarray
        Feature matrix (:func:`predscore.model.matrix.feature_matrix`).
    labels, weights : ndarray
        0/1 outcome and weight of each row.
    leads : ndarray
        Integer lead code of each row: a level needs ``min_level_leads`` distinct
        leads (a lead's snapshots would overstate it) for a column of its own.
    categorical : set of int
        Indices of the categorical columns (values are level codes).
    C : float
        Inverse L2 strength (scikit-learn's ``C``).
    """
    terms, columns, roles = _design(
        matrix, categorical, leads, min_level_leads, clip_quantile
    )
    design = np.column_stack(columns) if columns else np.zeros((len(matrix), 0))
    # Newton-Cholesky: exact and fast when rows far outnumber design columns
    model = LogisticRegression(C=C, max_iter=max_iter, solver="newton-cholesky")
    with warnings.catch_warnings():
        # a few more iterations would move the weights in the 4th decimal
        warnings.simplefilter("ignore", ConvergenceWarning)
        if design.shape[1]:
            model.fit(design, labels, sample_weight=weights)
            coefs, intercept = model.coef_[0], float(model.intercept_[0])
        else:
            p = float(np.average(labels, weights=weights))
            coefs, intercept = np.zeros(0), float(np.log(p / (1 - p)))
    for term in terms:
        if term["kind"] == "number":
            term.update(coef=0.0, missing_coef=0.0)
        else:
            term.update(
                coefs=[0.0] * len(term["levels"]), other_coef=0.0, missing_coef=0.0
            )
    for (i, role, level), coef in zip(roles, coefs, strict=True):
        term = terms[i]
        if role == "value":
            term["coef"] = float(coef)
        elif role == "level":
            term["coefs"][term["levels"].index(level)] = float(coef)
        elif role == "other":
            term["other_coef"] = float(coef)
        else:
            term["missing_coef"] = float(coef)
    component = LinearComponent(terms, intercept)
    values = component._term_values(matrix)
    for term, column in zip(terms, values.T, strict=True):
        term["center"] = float(column.mean())
        term["spread"] = float(column.std())
    return component
