"""Explained scores of a batch of leads: one row per lead with its reasons.

Stage: explain (above model and rules; the scoring stage calls it). Input: feature rows
built with the model's features configuration, an :class:`~.explainer.Explainer` and
the rule baseline; output: the explained score table, one row per feature row:

``lead_id``, ``as_of``, ``probability``, ``score``, ``base``, ``fit_points``,
``engagement_points``, ``qualification_points``, ``grid``, ``tier``, ``route``,
``rule_points``, ``rule_route``, ``eliminated_by``, ``reasons`` (list of ``{feature,
family, value, points, text}``: the kept reasons and the folded rest of each family,
whose points plus ``base`` add up to ``score``) and ``rule_reasons`` (the rules' own
reasons, beside them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predscore.config import RulesConfig
from predscore.explain.explainer import Explainer, Explanation
from predscore.explain.routing import route_leads
from predscore.rules import score_rules, temperature

__all__ = [
    "EXPLAINED_COLUMNS",
    "NUMBER_COLUMNS",
    "REASON_KEYS",
    "check_additivity",
    "explain_leads",
    "reason_lists",
]

#: Keys of one reason record (the rules' keys plus the family).
REASON_KEYS = ("feature", "family", "value", "points", "text")
#: The model's numbers of a lead: probability, score, base and the family subtotals.
NUMBER_COLUMNS = (
    "probability",
    "score",
    "base",
    "fit_points",
    "engagement_points",
    "qualification_points",
)
#: Columns of :func:`explain_leads` after the key columns.
EXPLAINED_COLUMNS = (
    *NUMBER_COLUMNS,
    "grid",
    "tier",
    "route",
    "rule_points",
    "rule_route",
    "eliminated_by",
    "reasons",
    "rule_reasons",
)


def reason_lists(reasons: pd.DataFrame, n_rows: int) -> list[list[dict]]:
    """One list of reason records per row position, from the long reason frame."""
    out: list[list[dict]] = [[] for _ in range(n_rows)]
    columns = [reasons[k].to_numpy(dtype=object) for k in REASON_KEYS]
    columns[REASON_KEYS.index("points")] = reasons["points"].to_numpy(float).tolist()
    for row, *values in zip(reasons["row"].to_numpy(), *columns, strict=True):
        out[row].append(dict(zip(REASON_KEYS, values, strict=True)))
    return out


def explain_leads(
    rows: pd.DataFrame,
    explainer: Explainer,
    rules: RulesConfig,
    explanation: Explanation | None = None,
) -> pd.DataFrame:
    """Explained scores of feature rows, beside the rule baseline.

    Parameters
    ----------
    rows : DataFrame
        Feature rows (``lead_id``, ``as_of`` and the model's columns).
    explainer : Explainer
        The model's explainer.
    rules : RulesConfig
        Rule baseline: its temperature gives the tier (cold when the route
        disqualifies), its vetoing criteria disqualify, its reasons are shown beside
        the model's.
    explanation : Explanation, optional
        ``explainer.explain(rows)`` when already computed.

    Returns
    -------
    DataFrame
        The key columns of ``rows``, then :data:`EXPLAINED_COLUMNS`; same index.

    Raises
    ------
    ConfigError
        When a rule or template reads a column the rows lack.
    """
    explained = explanation if explanation is not None else explainer.explain(rows)
    config = explainer.config
    ruled = score_rules(rows, rules)
    out = explained.summary(config)
    eliminated = ruled["eliminated_by"].to_numpy(dtype=object)
    out["route"] = route_leads(explained.probability, eliminated, config.routing)
    # the timeline's temperature; cold only when the model's route disqualifies (the
    # rules' own tier cools every eliminated lead, which the model may not follow)
    out["tier"] = np.where(
        out["route"].to_numpy() == "disqualify", "cold", temperature(rows, rules)
    )
    out["rule_points"] = ruled["rule_points"].to_numpy(dtype=float)
    out["rule_route"] = ruled["rule_route"].to_numpy()
    out["eliminated_by"] = pd.Series(eliminated, index=out.index, dtype=object)
    out["reasons"] = reason_lists(explained.reasons, len(rows))
    out["rule_reasons"] = ruled["rule_reasons"].to_numpy()
    keys = [c for c in out.columns if c not in EXPLAINED_COLUMNS]
    return out.loc[:, [*keys, *EXPLAINED_COLUMNS]]


def check_additivity(explained: pd.DataFrame) -> float:
    """Largest ``|base + Σ reason points - score|`` over the rows (0 when exact)."""
    total = np.array([sum(r["points"] for r in rs) for rs in explained["reasons"]])
    gap = explained["base"].to_numpy() + total - explained["score"].to_numpy()
    return float(np.max(np.abs(gap))) if len(gap) else 0.0
