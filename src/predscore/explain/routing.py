"""Where a lead goes: the model's route, and the fit × engagement grid cell.

Stage: explain. Input: calibrated probabilities, the rules' eliminating criterion and
the family points of the explanations; output: ``route`` (meeting, nurture,
disqualify) and ``grid`` (``A1`` … ``D4``: fit grade A-D, engagement level 1-4).
Thresholds come from ``configs/explain.yaml`` (``routing``, ``grid``). The tier (hot,
warm, cold) is not decided here: it is the rules' temperature from the project
timeline, which the model does not change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predscore.config import GridConfig, RoutingConfig

__all__ = ["grid_cells", "route_leads"]


def route_leads(
    probability: np.ndarray,
    eliminated_by: np.ndarray | None,
    config: RoutingConfig,
) -> np.ndarray:
    """Route of each lead from its calibrated probability.

    ``disqualify`` when the eliminatory criterion that holds is one of
    ``config.disqualify_when_eliminated_by``, or the probability is below
    ``disqualify_below_probability``; else ``meeting`` from
    ``meeting_min_probability`` (inclusive); else ``nurture``.

    Examples
    --------
    >>> from predscore.config import RoutingConfig
    >>> route_leads(np.array([0.5, 0.1, 0.01, 0.9]),
    ...             np.array([None, "no_need", None, "student_or_job_seeker"],
    ...                      dtype=object),
    ...             RoutingConfig()).tolist()
    ['meeting', 'nurture', 'disqualify', 'disqualify']
    """
    p = np.asarray(probability, dtype=float)
    out = np.where(p >= config.meeting_min_probability, "meeting", "nurture")
    out = np.where(p < config.disqualify_below_probability, "disqualify", out)
    if eliminated_by is not None and config.disqualify_when_eliminated_by:
        veto = pd.Series(np.asarray(eliminated_by, dtype=object)).isin(
            config.disqualify_when_eliminated_by
        )
        out = np.where(veto.to_numpy(), "disqualify", out)
    return out.astype(object)


def grid_cells(
    fit_points: np.ndarray, engagement_points: np.ndarray, config: GridConfig
) -> np.ndarray:
    """Fit grade (A best … D) and engagement level (1 most engaged … 4): ``"B2"``.

    Examples
    --------
    >>> from predscore.config import GridConfig
    >>> grid_cells(np.array([8.0, -9.0]), np.array([0.0, 6.0]), GridConfig()).tolist()
    ['A2', 'D1']
    """
    fit = np.asarray(fit_points, dtype=float)
    eng = np.asarray(engagement_points, dtype=float)
    grade = np.select([fit >= b for b in config.fit], ["A", "B", "C"], "D")
    level = np.select([eng >= b for b in config.engagement], ["1", "2", "3"], "4")
    return np.char.add(grade.astype(str), level.astype(str)).astype(object)
