"""Transparent points-based lead scorer built from ``configs/rules.yaml``.

Stage: rules (after features, beside the model). Input: a feature frame (one row per
``(lead_id, as_of)``, columns named as in :mod:`predscore.features`) and
:class:`~predscore.config.RulesConfig`; output: per row ``rule_points``, ``rule_route``
(meeting, nurture, disqualify), ``eliminated_by``, ``mql``, ``sql``, ``tier`` (hot, warm,
cold) and ``rule_reasons`` (list of ``{feature, value, points, text}``, one per rule that
fired; the points of a lead's reasons add up to its ``rule_points`` exactly).

Every rule is one vectorised mask over all rows. Points are computed for eliminated
leads too (so the score still ranks them) but their route is ``disqualify``, they are
neither MQL nor SQL, and they are cold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predscore.config import EliminatoryCriterion, PointRule, RulesConfig
from predscore.rules.conditions import check_features, condition_mask
from predscore.rules.reasons import Fired, collect_reasons, fired_reasons

__all__ = ["RULE_COLUMNS", "RuleScorer", "rule_columns", "score_rules", "temperature"]

RULE_COLUMNS = (
    "rule_points",
    "rule_route",
    "eliminated_by",
    "mql",
    "sql",
    "tier",
    "rule_reasons",
)
_KEYS = ("lead_id", "as_of")


def score_rules(
    features: pd.DataFrame, config: RulesConfig, reasons: bool = True
) -> pd.DataFrame:
    """Apply the rule baseline to feature rows.

    Parameters
    ----------
    features : DataFrame
        Feature rows; the key columns ``lead_id`` and ``as_of`` are carried over when
        present.
    config : RulesConfig
        Eliminatory criteria, points grid, thresholds and temperature.
    reasons : bool
        False: no ``rule_reasons`` column (their sentences are most of the cost;
        training and evaluation read points, routes and eliminations only).

    Returns
    -------
    DataFrame
        Same index and row order as ``features``: the key columns present, then
        :data:`RULE_COLUMNS` (without ``rule_reasons`` when ``reasons`` is False).

    Raises
    ------
    ConfigError
        When a rule reads a feature the frame lacks, or compares it with a value of
        the wrong type; the message names the rule and the feature.
    """
    columns = {
        **{k: features[k] for k in _KEYS if k in features.columns},
        **rule_columns(features, config, reasons),
    }
    columns["eliminated_by"] = pd.Series(
        columns["eliminated_by"], index=features.index, dtype=object
    )
    return pd.DataFrame(columns, index=features.index)


def rule_columns(
    features: pd.DataFrame, config: RulesConfig, reasons: bool = True
) -> dict[str, np.ndarray | list]:
    """:func:`score_rules`' :data:`RULE_COLUMNS` as arrays in row order
    (``rule_reasons`` a list, left out when ``reasons`` is False), without a frame
    to build: what a scorer reads."""
    n_rows = len(features)
    eliminated_by, elim_parts = _apply_eliminatory(
        features, config.eliminatory, reasons
    )
    points, point_parts = _apply_points(
        features,
        config.points,
        start=len(config.eliminatory),
        decimals=config.decimals,
        reasons=reasons,
    )
    kept = pd.isna(eliminated_by)
    thresholds = config.thresholds
    columns: dict[str, np.ndarray | list] = {
        "rule_points": points,
        "rule_route": np.where(
            ~kept,
            "disqualify",
            np.where(points >= thresholds.meeting, "meeting", "nurture"),
        ),
        "eliminated_by": eliminated_by,
        "mql": kept & (points >= thresholds.mql),
        "sql": kept & (points >= thresholds.sql),
        "tier": np.where(kept, temperature(features, config), "cold"),
    }
    if reasons:
        columns["rule_reasons"] = collect_reasons([*elim_parts, *point_parts], n_rows)
    return columns


def _apply_eliminatory(
    features: pd.DataFrame, criteria: list[EliminatoryCriterion], reasons: bool
) -> tuple[np.ndarray, list[Fired]]:
    """First matching criterion per row, and a zero-point reason naming it (none
    when ``reasons`` is False)."""
    eliminated_by = np.full(len(features), None, dtype=object)
    parts = []
    for order, criterion in enumerate(criteria):
        where = f"rules.eliminatory '{criterion.name}'"
        mask = condition_mask(features, criterion.when, where) & pd.isna(eliminated_by)
        eliminated_by[mask] = criterion.name
        if not reasons:
            continue
        rows = np.flatnonzero(mask)
        feature = criterion.when.features()[0]
        parts.append(
            fired_reasons(
                order,
                rows,
                feature,
                _values_at(features, feature, rows),
                np.zeros(len(rows)),
                criterion.text,
                where,
            )
        )
    return eliminated_by, parts


def _apply_points(
    features: pd.DataFrame,
    rules: list[PointRule],
    start: int,
    decimals: int,
    reasons: bool,
) -> tuple[np.ndarray, list[Fired]]:
    """Total points per row and the reasons of every rule that gave non-zero points
    (none when ``reasons`` is False)."""
    total = np.zeros(len(features))
    parts = []
    for offset, rule in enumerate(rules):
        where = f"rules.points '{rule.name}'"
        awarded, value, feature = _rule_points(features, rule, where)
        # rounded per rule, so that the reasons shown still add up to the total
        awarded = np.round(awarded, decimals) + 0.0
        total += awarded
        if not reasons:
            continue
        rows = np.flatnonzero(awarded != 0)
        parts.append(
            fired_reasons(
                start + offset,
                rows,
                feature,
                _values_at(features, feature, rows) if value is None else value[rows],
                awarded[rows],
                rule.text,
                where,
            )
        )
    return total, parts


def _floats(column: pd.Series) -> np.ndarray:
    """A column as floats, NaN where missing."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf":
        return column.to_numpy(dtype=float)  # numpy numbers: no missing marker
    return column.to_numpy(dtype=float, na_value=np.nan)


def _values_at(features: pd.DataFrame, feature: str, rows: np.ndarray) -> np.ndarray:
    """The values of ``feature`` at ``rows`` (read only when a rule fired)."""
    if not len(rows):
        return np.empty(0, dtype=object)
    column = features[feature]
    if isinstance(column.dtype, pd.CategoricalDtype):  # levels at the rows' codes
        codes = column.array.codes[rows]
        if (codes >= 0).all():  # (a missing value reads as its categories' own)
            return np.asarray(column.array.categories, dtype=object)[codes]
    return column.to_numpy(dtype=object)[rows]


def _rule_points(
    features: pd.DataFrame, rule: PointRule, where: str
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Points of one rule per row, the value shown in its reason (None: the
    feature's own value) and that feature."""
    when = (
        np.ones(len(features), dtype=bool)
        if rule.when is None
        else condition_mask(features, rule.when, where)
    )
    if rule.units is None:
        feature = rule.when.features()[0] if rule.when is not None else ""
        return np.where(when, rule.points, 0.0), None, feature
    check_features(features, rule.units, where)
    units = sum(
        np.nan_to_num(_floats(features[name])) * weight
        for name, weight in rule.units.items()
    )
    raw = rule.points * units
    if rule.max_points is not None:
        raw = np.clip(raw, -rule.max_points, rule.max_points)
    return np.where(when, raw, 0.0), units, next(iter(rule.units))


def temperature(features: pd.DataFrame, config: RulesConfig) -> np.ndarray:
    """Hot / warm / cold from the timeline (``config.temperature``); unknown is cold.

    The rules' own ``tier`` also makes an eliminated lead cold; a model that does not
    follow the eliminatory criteria uses this temperature as it is.
    """
    spec = config.temperature
    if spec.feature is None:
        return np.full(len(features), "cold")
    check_features(features, [spec.feature], "rules.temperature")
    months = pd.to_numeric(features[spec.feature], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    return np.select(
        [months <= spec.hot_max, months <= spec.warm_max], ["hot", "warm"], "cold"
    )


class RuleScorer:
    """scikit-learn-like wrapper of :func:`score_rules` (nothing is learned).

    Parameters
    ----------
    config : RulesConfig
        The rule baseline to apply.
    """

    def __init__(self, *, config: RulesConfig) -> None:
        self.config = config

    def fit(self, features: pd.DataFrame, y: object = None) -> RuleScorer:
        """Check that every feature the rules read is present; return ``self``."""
        score_rules(features.head(0), self.config)
        self.n_features_in_ = features.shape[1]
        return self

    def score(self, features: pd.DataFrame) -> np.ndarray:
        """Rule points per row (higher means more likely to close)."""
        return score_rules(features, self.config, reasons=False)[
            "rule_points"
        ].to_numpy()

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        """Full rule output per row (see :func:`score_rules`)."""
        return score_rules(features, self.config)
