"""Feature rows → the numeric matrix every model family reads.

Stage: model. Input: feature or snapshot rows (:mod:`predscore.features`); output: a
float32 matrix, column-major, one column per model feature, categories as the codes
of the levels seen in training (an unseen level, like a missing value, is NaN). The
trees and the linear model read the same matrix, so a row always means the same to
both, and a category level unseen in training reads as missing in both.
"""

from __future__ import annotations

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
        position = {level: i for i, level in enumerate(levels)}
        names = column.array.categories.tolist()
        lookup = np.array([position.get(str(n), -1) for n in names] + [-1])
        return lookup[column.array.codes]  # code -1 (missing) → lookup[-1]
    values = column.astype("string").astype(object)
    return pd.Categorical(values.where(values.isin(levels)), categories=levels).codes


#: Frames of at most this many rows are converted in one piece (a copy that costs
#: nothing at that size); larger ones column by column, never copied whole.
_FEW_ROWS = 64


def _small_block(
    frame: pd.DataFrame,
    features: list[str],
    categories: dict[str, list[str]],
    out: np.ndarray,
) -> None:
    """:func:`feature_matrix` of a small frame, written into ``out``."""
    numeric = [i for i, c in enumerate(features) if c not in categories]
    columns = frame[[features[i] for i in numeric]]
    plain = columns.select_dtypes(exclude="number").columns
    if len(plain):  # text that should hold numbers: parsed (or refused) as below
        columns = columns.assign(
            **{c: pd.to_numeric(columns[c], errors="raise") for c in plain}
        )
    out[:, numeric] = columns.to_numpy(dtype=np.float32, na_value=np.nan)
    for i, c in enumerate(features):
        if c in categories:
            codes = _codes(frame[c], categories[c])
            out[:, i] = np.where(codes < 0, np.nan, codes)


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
        missing = [c for c in features if c not in frame.columns]
        if missing:
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
