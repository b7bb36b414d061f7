"""Evaluate declared rule conditions on feature rows, as boolean masks.

Stage: rules (after features). Input: feature rows (a frame, or a mapping of column
name to numpy array, one value per lead and as-of) and
:class:`~predscore.config.Condition` objects; output: one numpy boolean mask per
condition. Vectorised with numpy: one comparison per leaf, never a loop over leads (a
categorical column is compared once per category). Every comparison is false on a
missing value; only ``is_null`` matches one. Ordering (``lt``, ``le``, ``gt``, ``ge``)
needs a numeric column: text has no order a rule could mean.
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from predscore.config import Condition
from predscore.errors import ConfigError

__all__ = ["Rows", "check_features", "column_array", "condition_mask"]

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


#: Feature rows: a frame, or column name → one numpy array per column.
Rows = pd.DataFrame | Mapping[str, np.ndarray]
_ORDERING = frozenset({"lt", "le", "gt", "ge"})


def _names(frame: Rows) -> list[str]:
    return list(map(str, frame.columns if isinstance(frame, pd.DataFrame) else frame))


def check_features(frame: Rows, features: Iterable[str], where: str) -> None:
    """Raise :class:`ConfigError` naming ``where`` (the rule) for any missing column."""
    for feature in features:
        if feature not in frame:
            names = _names(frame)
            close = difflib.get_close_matches(feature, names, n=3)
            hint = f"; did you mean {close}?" if close else ""
            raise ConfigError(
                f"{where}: feature '{feature}' is not a column of the feature frame "
                f"({len(names)} columns){hint}"
            )


def condition_mask(frame: Rows, condition: Condition, where: str) -> np.ndarray:
    """Boolean mask of the rows of ``frame`` where ``condition`` holds.

    Parameters
    ----------
    frame : DataFrame or mapping of numpy arrays
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


def _compare(
    values: np.ndarray,
    op: str,
    value: Any,
    feature: str,
    where: str,
    distinct: bool = False,
) -> np.ndarray:
    """``values op value`` per element (missing values: anything, masked later);
    ``distinct``: no value occurs twice (a categorical's levels)."""
    try:
        if op in ("in", "not_in"):
            if values.dtype.kind in "iuf":  # numbers: only the numbers listed match
                numbers = [v for v in value if isinstance(v, int | float)]
                hit = np.isin(values, np.asarray(numbers, dtype=float))
            elif distinct:
                hit = np.asarray([any(u == v for v in value) for u in values], bool)
            else:  # each distinct value tested once, by equality
                codes, uniques = pd.factorize(values, use_na_sentinel=True)
                member = [any(u == v for v in value) for u in list(uniques)]
                hit = np.append(np.asarray(member, dtype=bool), False)[codes]
            return ~hit if op == "not_in" else hit
        if op in _ORDERING and (values.dtype == object or isinstance(value, str)):
            raise TypeError("text has no order: compare it with eq, ne, in or not_in")
        return np.asarray(_COMPARE[op](values, value), dtype=bool)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{where}: cannot apply '{op} {value!r}' to feature '{feature}' "
            f"(dtype {values.dtype}): {exc}"
        ) from exc


def column_array(column: pd.Series | np.ndarray) -> np.ndarray:
    """A column as numpy: numbers with NaN for missing, anything else as objects."""
    if not isinstance(column, pd.Series):
        return np.asarray(column)
    if isinstance(column.dtype, np.dtype):
        return column.to_numpy()
    if pd.api.types.is_numeric_dtype(column.dtype):  # nullable numbers and flags
        return column.to_numpy(dtype=float, na_value=np.nan)
    return column.to_numpy(dtype=object, na_value=np.nan)


def _utc_times(column: pd.Series) -> pd.Series:
    if column.dt.tz is not None:
        column = column.dt.tz_convert("UTC").dt.tz_localize(None)
    return column.astype("datetime64[ns]")


def _utc_value(value: Any, feature: str, where: str) -> Any:
    """A condition's time (or times) as a naive UTC ``numpy.datetime64``."""
    if isinstance(value, list):
        return [_utc_value(v, feature, where) for v in value]
    if value is None:
        return value
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{where}: cannot compare feature '{feature}' (a time) with {value!r}: "
            f"{exc}"
        ) from exc
    if stamp.tz is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_datetime64().astype("datetime64[ns]")


def _leaf_mask(frame: Rows, condition: Condition, where: str) -> np.ndarray:
    feature, op, value = condition.feature, condition.op, condition.value
    assert feature is not None and op is not None  # guaranteed by Condition
    check_features(frame, [feature], where)
    column = frame[feature]
    if isinstance(column, pd.Series) and isinstance(column.dtype, pd.CategoricalDtype):
        # once per category, then spread by the codes (-1: missing)
        codes = column.array.codes
        present = codes >= 0
        if op in ("is_null", "not_null"):
            return ~present if op == "is_null" else present
        levels = np.asarray(column.array.categories.tolist(), dtype=object)
        hit = _compare(levels, op, value, feature, where, distinct=True)
        hit = np.append(hit, False)[codes]
        return hit & present
    if isinstance(column, pd.Series) and pd.api.types.is_datetime64_any_dtype(
        column.dtype
    ):  # times compare as times (a value may be given as text): in UTC
        column, value = _utc_times(column), _utc_value(value, feature, where)
    values = column_array(column)
    present = ~np.asarray(pd.isna(values), dtype=bool)
    if op == "is_null":
        return ~present
    if op == "not_null":
        return present
    # a missing value neither matches nor fails to match: the rule stays silent
    return _compare(values, op, value, feature, where) & present
