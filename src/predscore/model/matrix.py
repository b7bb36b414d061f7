"""Feature rows → the numeric matrix every model family reads.

Stage: model. Input: feature or snapshot rows (:mod:`predscore.features`); output: a
float32 matrix, column-major, one column per model feature, categories as the codes
of the levels seen in training (an unseen level, like a missing value, is NaN). The
trees and the linear model read the same matrix, so a row always means the same to
both, and a category level unseen in training reads as missing in both.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

from predscore.errors import DataValidationError
from predscore.features import KEY_COLUMNS, SNAPSHOT_COLUMNS

__all__ = ["category_levels", "compact_rows", "feature_columns", "feature_matrix"]

_NOT_FEATURES = frozenset(KEY_COLUMNS) | frozenset(SNAPSHOT_COLUMNS)


def feature_columns(frame: pd.DataFrame, exclude: list[str] | tuple = ()) -> list[str]:
    """The model's input columns of a feature or snapshot frame, in frame order."""
    skip = _NOT_FEATURES | set(exclude)
    return [c for c in frame.columns if c not in skip]


def category_levels(frame: pd.DataFrame, features: list[str]) -> dict[str, list[str]]:
    """The levels of each categorical feature present in ``frame`` (the training
    rows), in the column's category order. A level the column declares but no
    training row holds (snapshots built at a later cutoff declare every level of
    the data) is unseen: it reads as missing, as a level new in production does."""
    return {
        c: [str(v) for v in frame[c].cat.remove_unused_categories().cat.categories]
        for c in features
        if isinstance(frame[c].dtype, pd.CategoricalDtype)
    }


def compact_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its float64 feature columns as float32, the precision every
    model reads them at (:func:`feature_matrix`): training rows take half the memory,
    and no model sees a different value."""
    wide = [c for c in feature_columns(frame) if frame[c].dtype == np.dtype("float64")]
    if not wide:
        return frame
    return frame.astype(dict.fromkeys(wide, "float32"))


def _codes(column: pd.Series, levels: list[str]) -> np.ndarray:
    """Codes of ``column`` among ``levels``; an unseen level or a missing value: -1."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        # the column's own categories looked up once, not each row's value
        return _lookup(column.dtype, levels)[column.array.codes]
    values = column.astype("string").astype(object)
    return pd.Categorical(values.where(values.isin(levels)), categories=levels).codes


#: Lookups of a column's categories among a model's levels, by identity of the two
#: (the dtype's entry goes with it; the model's levels live as long as the model): a
#: server reads columns of the same few dtypes, with the same model, pass after pass.
_LOOKUPS: dict[tuple[int, int], tuple[weakref.ref, list, np.ndarray]] = {}


def _lookup(dtype: pd.CategoricalDtype, levels: list[str]) -> np.ndarray:
    """The code among ``levels`` of each of ``dtype``'s categories, then -1 (the
    code of a missing value, -1, reads the last entry)."""
    key = (id(dtype), id(levels))
    known = _LOOKUPS.get(key)
    if known is None or known[0]() is not dtype or known[1] is not levels:
        position = {level: i for i, level in enumerate(levels)}
        names = dtype.categories.tolist()
        lookup = np.array([position.get(str(n), -1) for n in names] + [-1])
        if len(_LOOKUPS) >= 4_096:
            _LOOKUPS.clear()
        gone = weakref.ref(dtype, lambda _, key=key: _LOOKUPS.pop(key, None))
        known = _LOOKUPS[key] = (gone, levels, lookup)
    return known[2]


#: Frames of at most this many rows are converted in one piece (a copy that costs
#: nothing at that size); larger ones column by column, never copied whole.
_FEW_ROWS = 64


def _small_block(
    frame: pd.DataFrame,
    features: list[str],
    categories: dict[str, list[str]],
    out: np.ndarray,
) -> None:
    """:func:`feature_matrix` of a small frame, written into ``out``: its number
    columns converted in one piece, each categorical by its codes."""
    numbers = frame.select_dtypes(include="number", exclude="complex")
    at = {c: j for j, c in enumerate(numbers.columns.tolist())}
    taken, given = [], []
    for i, c in enumerate(features):
        if c in categories:
            codes = _codes(frame[c], categories[c])
            out[:, i] = np.where(codes < 0, np.nan, codes)
        elif c in at:
            taken.append(at[c])
            given.append(i)
        else:  # text that should hold numbers (or flags): parsed, or refused
            values = pd.to_numeric(frame[c], errors="raise")
            out[:, i] = values.to_numpy(dtype=np.float32, na_value=np.nan)
    if taken:
        values = numbers.to_numpy(dtype=np.float32, na_value=np.nan)
        out[:, given] = values[:, taken]


def feature_matrix(
    frames: pd.DataFrame | list[pd.DataFrame],
    features: list[str],
    categories: dict[str, list[str]],
) -> np.ndarray:
    """The model's columns of ``frames`` (stacked) as one float32 matrix.

    Raises
    ------
    DataValidationError
        When a frame lacks a feature column the model was trained on.
    """
    frames = [frames] if isinstance(frames, pd.DataFrame) else list(frames)
    for frame in frames:
        missing = set(features).difference(frame.columns.tolist())
        if missing:
            missing = [c for c in features if c in missing]
            raise DataValidationError(
                f"feature rows lack {len(missing)} column(s) the model was trained "
                f"on: {missing[:10]}{' ...' if len(missing) > 10 else ''}; build them "
                "with the features configuration stored in the model"
            )
    rows = sum(len(frame) for frame in frames)
    out = np.empty((rows, len(features)), dtype=np.float32, order="F")
    start = 0
    for frame in frames:
        block = slice(start, start + len(frame))
        start += len(frame)
        if len(frame) <= _FEW_ROWS:  # a few leads (the API): one conversion, not 200
            _small_block(frame, features, categories, out[block])
            continue
        for i, c in enumerate(features):
            if c in categories:
                codes = _codes(frame[c], categories[c])
                out[block, i] = np.where(codes < 0, np.nan, codes)
            else:
                values = frame[c]
                if not pd.api.types.is_numeric_dtype(values.dtype):
                    values = pd.to_numeric(values, errors="raise")
                out[block, i] = values.to_numpy(dtype=np.float32, na_value=np.nan)
    return out
