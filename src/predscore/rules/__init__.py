"""Rule baseline: eliminatory criteria, points grid, thresholds and temperature.

Stage: after features, beside the model (the two never import each other). Reads
feature columns by name only. Configuration: ``configs/rules.yaml``
(:class:`~predscore.config.RulesConfig`).

Public API
----------
``score_rules(features, config, reasons=True) -> DataFrame``
    Per row: ``rule_points``, ``rule_route``, ``eliminated_by``, ``mql``, ``sql``,
    ``tier``, ``rule_reasons`` (list of ``{feature, value, points, text}``; left
    out with ``reasons=False``, which costs a fraction of the time).
``rule_columns(features, config) -> dict``
    The same columns as arrays, without a frame (what a scorer reads).
``RuleScorer(config=...)``
    The same behind a scikit-learn-like ``fit`` / ``score`` / ``transform``.
``evaluate_rules(features, config) -> RuleEvaluation``
    Metrics (shared with the model), routes, eliminating criteria and trap segments
    on labelled rows.
"""

from predscore.rules.baseline import (
    RULE_COLUMNS,
    RuleScorer,
    rule_columns,
    score_rules,
    temperature,
)
from predscore.rules.diagnostics import RuleEvaluation, evaluate_rules

__all__ = [
    "RULE_COLUMNS",
    "RuleEvaluation",
    "RuleScorer",
    "evaluate_rules",
    "rule_columns",
    "score_rules",
    "temperature",
]
