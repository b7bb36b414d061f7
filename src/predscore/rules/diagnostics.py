"""Evaluate the rule baseline on labelled feature rows (training snapshots).

Stage: rules. Input: labelled feature rows (``label`` column) and
:class:`~predscore.config.RulesConfig`; output: headline metrics (via
:mod:`predscore.evaluation`, the same functions the model uses), the distribution of
routes and of eliminating criteria, and the close rate of the trap segments, overall
and among the leads the rules send to a meeting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from predscore.config import RulesConfig
from predscore.evaluation import evaluate_scores, roc_auc, segment_rates, trap_segments
from predscore.rules.baseline import score_rules

__all__ = ["RuleEvaluation", "evaluate_rules"]

_ROUTES = ("meeting", "nurture", "disqualify")


@dataclass(frozen=True)
class RuleEvaluation:
    """What :func:`evaluate_rules` measured (see there for the columns)."""

    metrics: dict[str, float]
    routes: pd.DataFrame
    criteria: pd.DataFrame
    segments: pd.DataFrame


def evaluate_rules(
    features: pd.DataFrame, config: RulesConfig, label: str = "label"
) -> RuleEvaluation:
    """Score labelled rows with the rules and measure them like a model.

    Parameters
    ----------
    features : DataFrame
        Feature rows with a 0/1 ``label`` column (e.g. training snapshots).
    config : RulesConfig
        The rule baseline.
    label : str
        Name of the label column.

    Returns
    -------
    RuleEvaluation
        ``metrics``: ROC AUC and PR AUC of ``rule_points``, lift and capture at the
        top 10 % and 20 %, precision, recall and share selected of
        ``rule_route == "meeting"``, and ``trap_roc_auc``, the ROC AUC of the points
        on the rows of the two trap segments only (NaN when they are empty or hold
        one class); ``routes``: rows, share and close rate per route (meeting,
        nurture, disqualify, all three always present); ``criteria``: the same per
        eliminating criterion, in config order; ``segments``: per trap segment, rows,
        close rate, share routed to meeting, share disqualified and mean points.
    """
    scored = score_rules(features, config, reasons=False)
    y = features[label].to_numpy()
    points = scored["rule_points"].to_numpy()
    route = scored["rule_route"].to_numpy()
    meeting = route == "meeting"
    metrics = evaluate_scores(y, points, decision=meeting)
    masks = trap_segments(features)
    trap = np.logical_or.reduce(list(masks.values()))
    metrics["trap_roc_auc"] = roc_auc(y[trap], points[trap]) if trap.any() else np.nan
    segments = segment_rates(y, masks).assign(
        meeting_share=[_mean(meeting, m) for m in masks.values()],
        disqualified_share=[_mean(route == "disqualify", m) for m in masks.values()],
        mean_points=[_mean(points, m) for m in masks.values()],
    )
    names = [c.name for c in config.eliminatory]
    criteria = _shares(y, scored["eliminated_by"].to_numpy(dtype=object), names)
    return RuleEvaluation(
        metrics=metrics,
        routes=_shares(y, route, list(_ROUTES)).rename(columns={"group": "route"}),
        criteria=criteria.rename(columns={"group": "criterion"}),
        segments=segments,
    )


def _mean(values: np.ndarray, mask: np.ndarray) -> float:
    """Mean of ``values`` over ``mask``; NaN (without a warning) when it is empty."""
    return float(np.mean(values[mask])) if mask.any() else float("nan")


def _shares(y: np.ndarray, groups: np.ndarray, order: list[str]) -> pd.DataFrame:
    """Rows, share of all rows and close rate per group, in ``order`` (zeros kept)."""
    rows = [(g, groups == g) for g in order]
    return pd.DataFrame(
        {
            "group": [g for g, _ in rows],
            "rows": [int(m.sum()) for _, m in rows],
            "share": [float(m.mean()) if len(m) else float("nan") for _, m in rows],
            "close_rate": [_mean(y, m) for _, m in rows],
        }
    )
