"""From log-odds contributions to points that add up to the score a rep sees.

Stage: explain. Input: per-group TreeSHAP contributions on the trees' log-odds, the
base log-odds (the model's expected value) and the calibration map; output: the score
(``scale`` × calibrated probability), the base score and per-group points.

The mapping. Let ``b`` be the base log-odds, ``z = b + Σ φ_g`` a lead's log-odds
(``φ_g`` the contribution of group ``g``), ``C`` the calibration map and ``s`` the scale.
The score is ``S = s·C(z)`` and the base ``S₀ = s·C(b)``. Each group gets
``points_g = φ_g · (S − S₀) / (z − b)``: its share of the log-odds difference, applied
to the score difference. Hence ``S₀ + Σ points_g = S`` exactly (up to floating point);
because ``C`` is increasing, ``(S − S₀) / (z − b) ≥ 0`` and every reason keeps the sign
of its log-odds contribution, and reasons keep their order within a lead. When
``z = b`` (to 1e-9) the ratio is the slope ``s·C'(b)``: the points are then the
first-order effect of each group and still add up to ``S − S₀ ≈ 0``. With an isotonic
calibration a lead whose log-odds fall on the same flat step as ``b`` gets zero points
everywhere: its score really does not move away from the base.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["PointsScale", "points_scale"]

_SAME = 1e-9  # log-odds this close to the base count as the base
_STEP = 1e-4  # half-width of the finite difference giving the slope at the base


@dataclass(frozen=True)
class PointsScale:
    """Score, base score and the log-odds → points ratio of each row."""

    logodds: np.ndarray
    probability: np.ndarray
    score: np.ndarray
    base: float
    ratio: np.ndarray

    def points(self, contributions: np.ndarray) -> np.ndarray:
        """Points of per-group log-odds contributions (rows × groups)."""
        return np.asarray(contributions, dtype=float) * self.ratio[:, None]


def points_scale(
    logodds: np.ndarray,
    base_logodds: float,
    calibrate: Callable[[np.ndarray], np.ndarray],
    scale: float,
) -> PointsScale:
    """The points scale of each row (see the module docstring for the mapping).

    Parameters
    ----------
    logodds : array
        Each row's log-odds: the base plus the sum of its contributions.
    base_logodds : float
        The model's expected log-odds (TreeSHAP's base value).
    calibrate : callable
        Increasing map from log-odds to probability (the model's calibrator).
    scale : float
        Score of a probability of 1 (100: the score is a percentage).

    Examples
    --------
    >>> import numpy as np
    >>> sigmoid = lambda z: 1 / (1 + np.exp(-z))
    >>> s = points_scale(np.array([2.0, 0.0]), 0.0, sigmoid, 100)
    >>> phi = np.array([[1.5, 0.5], [0.3, -0.3]])
    >>> bool(np.allclose(s.base + s.points(phi).sum(axis=1), s.score))
    True
    """
    z = np.asarray(logodds, dtype=float)
    b = float(base_logodds)
    probability = np.asarray(calibrate(z), dtype=float)
    score = scale * probability
    base = float(scale * np.asarray(calibrate(np.array([b])), dtype=float)[0])
    ends = np.asarray(calibrate(np.array([b - _STEP, b + _STEP])), dtype=float)
    slope = scale * float(ends[1] - ends[0]) / (2 * _STEP)
    delta = z - b
    far = np.abs(delta) > _SAME
    ratio = np.full(len(z), slope)
    ratio[far] = (score[far] - base) / delta[far]
    return PointsScale(z, probability, score, base, ratio)
