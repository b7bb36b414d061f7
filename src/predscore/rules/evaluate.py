"""Evaluate the rule baseline on labelled feature rows (training snapshots).

Stage: rules. Input: labelled feature rows (``label`` column) and
:class:`~predscore.config.RulesConfig`; output: headline metrics (via
:mod:`predscore.evaluation`, the same functions the model uses), the distribution of
routes and the close rate of the trap segments, overall and among the leads the rules
send to a meeting.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from predscore.config import RulesConfig
from predscore.evaluation import evaluate_scores, segment_rates, trap_segments
from predscore.rules.baseline import score_rules

__all__ = ["RuleEvaluation", "evaluate_rules"]


@dataclass(frozen=True)
class RuleEvaluation:
    """What :func:`evaluate_rules` measured."""

    metrics: dict[str, float]
    routes: pd.DataFrame
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
        top 10 % and 20 %, precision and recall of ``rule_route == "meeting"``;
        ``routes``: rows, share and close rate per route; ``segments``: per trap
        segment, rows and close rate, share routed to meeting and the mean points.
    """
    scored = score_rules(features, config)
    y = features[label].to_numpy()
    meeting = scored["rule_route"].eq("meeting").to_numpy()
    metrics = evaluate_scores(y, scored["rule_points"].to_numpy(), decision=meeting)
    routes = (
        pd.DataFrame({"route": scored["rule_route"].to_numpy(), "label": y})
        .groupby("route")["label"]
        .agg(rows="size", close_rate="mean")
        .assign(share=lambda t: t["rows"] / t["rows"].sum())
        .reset_index()
    )
    masks = trap_segments(features)
    segments = segment_rates(y, masks).assign(
        meeting_share=[meeting[m].mean() for m in masks.values()],
        mean_points=[
            scored["rule_points"].to_numpy()[m].mean() for m in masks.values()
        ],
        disqualified_share=[
            scored["rule_route"].eq("disqualify").to_numpy()[m].mean()
            for m in masks.values()
        ],
    )
    return RuleEvaluation(metrics=metrics, routes=routes, segments=segments)
