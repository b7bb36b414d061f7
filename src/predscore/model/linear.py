"""The linear family: a regularised logistic regression on the feature matrix.

Stage: model (pure: arrays in, arrays out). Each feature becomes a few design
columns: a number is imputed with its training median, clipped to its training
range (``clip_quantile``), standardised, and joined by a missing indicator; a
category gets one column per level held by enough leads, one for the other levels
and one for missing. The weights are those of scikit-learn's
``LogisticRegression`` (L2), found by a Newton solver summed by blocks of rows
(:func:`logistic_newton`: one copy of the design in memory, not several).

Contributions are exact: a feature's contribution is the sum over its design
columns of ``coefficient × (value − training mean)`` in log-odds, the expected value
is ``intercept + Σ coefficient × training mean``, and the two add up to the model's
log-odds on every row (the linear SHAP values with independent features). The
fitted model is plain numbers (:meth:`LinearComponent.to_dict`): no pickle.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "LinearComponent",
    "LinearDesign",
    "fit_linear",
    "linear_design",
    "logistic_newton",
]


#: rows per block of the Newton sums and of the term values: a fit needs the design
#: plus a block, not several copies of the design
BLOCK_ROWS = 16_384


def _blocks(n: int) -> list[tuple[int, int]]:
    """(start, stop) of the blocks of :data:`BLOCK_ROWS` rows over ``n`` rows."""
    return [(a, min(a + BLOCK_ROWS, n)) for a in range(0, n, BLOCK_ROWS)]


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
    #: the design's coefficients then intercept, as fitted (a warm start for a
    #: nearby fit on the same rows: :func:`fit_linear`'s ``start``); not saved
    solution: np.ndarray | None = field(default=None, repr=False, compare=False)

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
        """Log-odds of each row (``threads``: unused, numpy's own); by blocks of
        rows, so that a large matrix never has its float64 terms in memory."""
        out = np.empty(len(matrix))
        for a, z in _blocks(len(matrix)):
            out[a:z] = self.intercept + self._term_values(matrix[a:z]).sum(axis=1)
        return out

    def _moments(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each term over the rows, by blocks."""
        total = np.zeros(len(self.terms))
        squares = np.zeros(len(self.terms))
        for a, z in _blocks(len(matrix)):
            block = self._term_values(matrix[a:z])
            total += block.sum(axis=0)
            squares += np.square(block).sum(axis=0)
        n = max(len(matrix), 1)
        mean = total / n
        return mean, np.sqrt(np.clip(squares / n - mean * mean, 0.0, None))

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
    """Learn each feature's encoding; return the terms, the design columns (indicators
    as booleans, numbers as float32: the design of a large history is the training's
    largest array) and, per column, (feature, role, level)."""
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
                columns.append(column)
                roles.append((i, "level", level))
            other = (~missing) & ~np.isin(codes, levels)
            for role, column in (("other", other), ("missing", missing)):
                # a column that never changes is the intercept's: left out
                if column.any() and not column.all():
                    columns.append(column)
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
            columns.append(((z - mean) / scale).astype(np.float32))
            roles.append((i, "value", None))
        if missing.any() and not missing.all():
            columns.append(missing)
            roles.append((i, "missing", None))
    return terms, columns, roles


def logistic_newton(
    design: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    C: float | None,
    max_iter: int = 100,
    tol: float = 1e-10,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method, summed by blocks.

    Minimises scikit-learn's ``LogisticRegression(C=C)`` objective,
    ``C · Σ wᵢ·logloss(yᵢ, xᵢ·β + b) + ½‖β‖²`` (intercept not penalised), with the
    same optimum (tested); ``C=None``: no penalty (Platt's fit,
    :func:`predscore.model.calibrate.platt_fit`). scikit-learn's solvers hold several float64 copies of
    the design (its weighted copy for the Hessian among them): on a large history
    the linear candidate was the peak of training memory. Here the gradient and the
    Hessian are summed over blocks of :data:`BLOCK_ROWS` rows in float64, each step
    is halved until the objective goes down, and the fit stops when no coordinate
    of the gradient exceeds ``tol`` times the total weight.

    ``start``: coefficients then intercept to start from (the solution of a nearby
    fit on the same design: another ``C`` or weighting), else the close rate's
    log-odds.

    Returns
    -------
    (ndarray, float)
        Coefficients and intercept.
    """
    n, d = design.shape
    y = np.asarray(labels, dtype=float)
    w = np.asarray(weights, dtype=float) * (1.0 if C is None else C)
    if start is not None and len(start) == d + 1:
        beta = np.asarray(start, dtype=float).copy()
    else:
        rate = float(np.clip(np.sum(w * y) / np.sum(w), 1e-9, 1 - 1e-9))
        beta = np.zeros(d + 1)
        beta[d] = np.log(rate / (1 - rate))
    penalty = np.zeros(d + 1) if C is None else np.ones(d + 1)
    penalty[d] = 0.0  # the intercept is not penalised
    blocks = _blocks(n)
    wide = np.empty((min(n, BLOCK_ROWS), d))  # a block in float64, reused
    narrow = np.empty((min(n, BLOCK_ROWS), d), dtype=np.float32)

    def rows(a: int, z: int) -> np.ndarray:
        out = wide[: z - a]
        out[...] = design[a:z]
        return out

    def along(b: np.ndarray) -> np.ndarray:
        """``design @ b[:d] + b[d]`` in float64."""
        out = np.empty(n)
        for a, z in blocks:
            out[a:z] = rows(a, z) @ b[:d] + b[d]
        return out

    def objective(m: np.ndarray, b: np.ndarray) -> float:
        data = np.sum(w * (np.logaddexp(0.0, m) - y * m))
        return float(data + 0.5 * np.sum(penalty * b * b))

    margin = along(beta)
    current = objective(margin, beta)
    scale = float(np.sum(w)) or 1.0
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-np.clip(margin, -500, 500)))
        residual = w * (p - y)
        gradient = penalty * beta
        for a, z in blocks:
            gradient[:d] += rows(a, z).T @ residual[a:z]
        gradient[d] += residual.sum()
        if np.abs(gradient).max() <= tol * scale:
            break  # before the Hessian: the last pass costs a gradient only
        # the Hessian only steers the step (the gradient, exact, decides where the
        # fit ends): Σ xᵢxᵢᵀ·cᵢ as (x·√c)ᵀ(x·√c) in float32, one symmetric product
        # per block, summed in float64
        curvature = w * p * (1 - p)
        root = np.sqrt(curvature).astype(np.float32)
        weight = curvature.astype(np.float32)
        hessian = np.diag(penalty)
        for a, z in blocks:
            scaled = np.multiply(design[a:z], root[a:z, None], out=narrow[: z - a])
            hessian[:d, :d] += scaled.T @ scaled
            hessian[:d, d] += design[a:z].T @ weight[a:z]
        hessian[d, :d] = hessian[:d, d]
        hessian[d, d] += curvature.sum()
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        moved = along(step)  # the margins move along this line
        size = 1.0
        for _halving in range(40):
            trial = beta - size * step
            trial_margin = margin - size * moved
            after = objective(trial_margin, trial)
            if after <= current - 1e-4 * size * float(gradient @ step):
                break
            size *= 0.5
        else:
            break  # no step lowers the objective: at the optimum up to rounding
        beta, margin, current = trial, trial_margin, after
    return beta[:d].copy(), float(beta[d])


@dataclass
class LinearDesign:
    """Training rows encoded for the linear model: each feature's encoding
    (``terms``, without coefficients), the design columns (float32, one row per
    matrix row) and each column's (feature, role, level)."""

    terms: list[dict[str, Any]]
    columns: np.ndarray
    roles: list[tuple[int, str, Any]]


def linear_design(
    matrix: np.ndarray,
    leads: np.ndarray,
    categorical: set[int],
    min_level_leads: int = 20,
    clip_quantile: float = 0.001,
) -> LinearDesign:
    """Encode the training rows (what :func:`fit_linear` solves on); the encoding
    reads the rows' values and leads only, not their labels or weights: fits that
    differ in ``C`` or weights share it."""
    terms, columns, roles = _design(
        matrix, categorical, leads, min_level_leads, clip_quantile
    )
    design = np.empty((len(matrix), len(columns)), dtype=np.float32)
    # filled by blocks of rows, a block's columns written contiguously then
    # transposed in: a column written straight into the row-major design strides
    # over all of it
    block = np.empty((len(columns), min(len(matrix), BLOCK_ROWS)), dtype=np.float32)
    for a, z in _blocks(len(matrix)):
        part = block[:, : z - a]
        for j, column in enumerate(columns):
            part[j] = column[a:z]
        design[a:z] = part.T
    return LinearDesign(terms, design, roles)


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
    start: np.ndarray | None = None,
    explained: bool = True,
    design: LinearDesign | None = None,
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
    start : ndarray, optional
        The ``solution`` of a fit on the same rows (another ``C`` or weighting):
        the solver starts there (same optimum, fewer steps).
    explained : bool
        False: the terms' training centres and spreads, which contributions and
        importance read, are left out (a model that only scores: a fold's).
    design : LinearDesign, optional
        :func:`linear_design` of these rows with these encoding settings, shared
        by fits that differ in ``C`` or weights (default: encoded here).
    """
    if design is None:
        design = linear_design(
            matrix, leads, categorical, min_level_leads, clip_quantile
        )
    terms, roles = copy.deepcopy(design.terms), design.roles
    coefs, intercept = logistic_newton(
        design.columns,
        np.asarray(labels, dtype=float),
        weights,
        C,
        max_iter,
        start=start,
    )
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
    component = LinearComponent(terms, intercept, np.append(coefs, intercept))
    if not explained:
        return component
    centers, spreads = component._moments(matrix)
    for term, center, spread in zip(terms, centers, spreads, strict=True):
        term["center"] = float(center)
        term["spread"] = float(spread)
    return component
