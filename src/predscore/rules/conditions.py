"""Evaluate declared rule conditions on a feature frame, as boolean masks.

Stage: rules (after features). Input: a feature frame (one row per lead and as-of) and
:class:`~predscore.config.Condition` objects; output: one numpy boolean mask per
condition. Vectorised: one pandas comparison per leaf, never a loop over leads.
Every comparison is false on a missing value; only ``is_null`` matches one.
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from predscore.config import Condition
from predscore.errors import ConfigError

__all__ = ["check_features", "condition_mask"]

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def check_features(frame: pd.DataFrame, features: Iterable[str], where: str) -> None:
    """Raise :class:`ConfigError` naming ``where`` (the rule) for any missing column."""
    for feature in features:
        if feature not in frame.columns:
            close = difflib.get_close_matches(feature, map(str, frame.columns), n=3)
            hint = f"; did you mean {close}?" if close else ""
            raise ConfigError(
                f"{where}: feature '{feature}' is not a column of the feature frame "
                f"({frame.shape[1]} columns){hint}"
            )


def condition_mask(frame: pd.DataFrame, condition: Condition, where: str) -> np.ndarray:
    """Boolean mask of the rows of ``frame`` where ``condition`` holds.

    Parameters
    ----------
    frame : DataFrame
        Feature rows.
    condition : Condition
        Leaf or ``all`` / ``any`` combinator.
    where : str
        Rule key and name, used in error messages (e.g. ``rules.points 'webinar'``).

    Raises
    ------
    ConfigError
        When a feature is missing or a value cannot be compared with the column.
    """
    if condition.all is not None:
        masks = [condition_mask(frame, sub, where) for sub in condition.all]
        return np.logical_and.reduce(masks)
    if condition.any is not None:
        masks = [condition_mask(frame, sub, where) for sub in condition.any]
        return np.logical_or.reduce(masks)
    return _leaf_mask(frame, condition, where)


def _leaf_mask(frame: pd.DataFrame, condition: Condition, where: str) -> np.ndarray:
    feature, op, value = condition.feature, condition.op, condition.value
    assert feature is not None and op is not None  # guaranteed by Condition
    check_features(frame, [feature], where)
    column = frame[feature]
    present = column.notna().to_numpy()
    if op == "is_null":
        return ~present
    if op == "not_null":
        return present
    try:
        if op in ("in", "not_in"):
            hit = column.isin(value).to_numpy(dtype=bool)
            hit = ~hit if op == "not_in" else hit
        else:
            hit = _COMPARE[op](column, value).to_numpy(dtype=bool, na_value=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{where}: cannot apply '{op} {value!r}' to feature '{feature}' "
            f"(dtype {column.dtype}): {exc}"
        ) from exc
    # a missing value neither matches nor fails to match: the rule stays silent
    return hit & present
