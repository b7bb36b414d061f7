"""Metrics shared by the rule baseline and the model (same leads, same definitions).

Public API
----------
``evaluate_scores(labels, scores, decision=None, top_shares=(0.1, 0.2)) -> dict``
``roc_auc``, ``average_precision``, ``lift_at``, ``decision_metrics``,
``segment_rates``: the pieces.
``paired_bootstrap(labels, groups, scores, against, ...) -> DataFrame``
    Differences of one scorer with the others (ROC AUC, Brier) and their
    intervals, resampling leads.
``trap_segments(features) -> dict[str, mask]``
    "engaged, no authority, no project" vs "quiet decision-maker with a deadline";
    both empty on data without engagement or qualification answers.
``funnel_table(tables)``, ``engagement_close_rates(tables, bins=5, by=None)``
    Descriptive views of the canonical tables before any model: leads per funnel
    stage and how they closed; close rate by band of marketing engagement.
"""

from predscore.evaluation.funnel import (
    FUNNEL_STAGES,
    engagement_close_rates,
    funnel_table,
)
from predscore.evaluation.intervals import paired_bootstrap
from predscore.evaluation.metrics import (
    average_precision,
    decision_metrics,
    evaluate_scores,
    lift_at,
    roc_auc,
    segment_rates,
)
from predscore.evaluation.segments import (
    ENGAGED_NO_PROJECT,
    QUIET_DEADLINE,
    trap_segments,
)

__all__ = [
    "ENGAGED_NO_PROJECT",
    "FUNNEL_STAGES",
    "QUIET_DEADLINE",
    "average_precision",
    "decision_metrics",
    "paired_bootstrap",
    "engagement_close_rates",
    "evaluate_scores",
    "funnel_table",
    "lift_at",
    "roc_auc",
    "segment_rates",
    "trap_segments",
]
