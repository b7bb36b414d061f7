"""Per-lead explanations reps can trust: TreeSHAP → human features → points → sentences.

Stage: above the model and the rules (it reads both), below scoring and the command
line. Input: feature rows built with a model bundle's features configuration, the
bundle, ``configs/explain.yaml`` (:class:`~predscore.config.ExplainConfig`) and the rule
baseline; output: per lead the score (``scale`` × calibrated probability), a base and
points per human feature that add up to it exactly, the subtotals of the fit,
engagement and qualification families, a grid cell, a tier and a route, and the
strongest reasons as sentences with the lead's actual values.

Public API
----------
``Explainer(model=..., config=..., specs=..., icp=...)`` / ``Explainer.from_bundle``
    ``explain(rows) -> Explanation`` (arrays per lead and group, kept reasons).
``explain_leads(rows, explainer, rules) -> DataFrame``
    The explained score table (reasons as lists of records, rules beside them).
``explain_lead(tables, lead, as_of, bundle, settings, rules) -> Series``
    One open lead explained at a cutoff (``predscore explain``).
``global_view(explanation, rows, explainer) -> GlobalView``
    Mean |SHAP| per human feature and a beeswarm plot (logged with each training).
``reference_contributions(model, rows) -> DataFrame``
    The same contributions computed by shap's own TreeSHAP, as an independent check.
``points_scale``, ``build_grouping``, ``route_leads``, ``grid_cells``
    The steps, usable alone.
"""

from predscore.explain.explainer import (
    REASON_COLUMNS,
    Explainer,
    Explanation,
    round_to_total,
)
from predscore.explain.global_view import GlobalView, global_view
from predscore.explain.groups import Group, Grouping, build_grouping
from predscore.explain.lead import explain_lead
from predscore.explain.points import PointsScale, points_scale
from predscore.explain.reference import reference_contributions
from predscore.explain.routing import grid_cells, route_leads
from predscore.explain.table import (
    EXPLAINED_COLUMNS,
    NUMBER_COLUMNS,
    REASON_KEYS,
    check_additivity,
    explain_leads,
    reason_lists,
)

__all__ = [
    "EXPLAINED_COLUMNS",
    "NUMBER_COLUMNS",
    "REASON_COLUMNS",
    "REASON_KEYS",
    "Explainer",
    "Explanation",
    "GlobalView",
    "Group",
    "Grouping",
    "PointsScale",
    "build_grouping",
    "check_additivity",
    "explain_lead",
    "explain_leads",
    "global_view",
    "grid_cells",
    "points_scale",
    "reason_lists",
    "reference_contributions",
    "round_to_total",
    "route_leads",
]
