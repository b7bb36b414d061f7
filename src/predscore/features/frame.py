"""Feature tables as pandas frames: numbers as numbers, texts as sorted categories.

Stage: features. Input: the engine's Arrow batches, or the columns of a few leads as
it computes them (numbers in numpy); output: the frame
:func:`~predscore.features.build_features` returns, in which a text feature is a
categorical whose categories are sorted (the same data gives the same codes).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.extensions import ExtensionArray
from pandas.api.internals import create_dataframe_from_blocks

from predscore.features.registry import FeatureSpec

__all__ = ["Column", "columns_frame", "to_frame"]

#: A feature column as the engine computes it: numbers in numpy, texts and keys in
#: Arrow.
Column = np.ndarray | pa.Array | pa.ChunkedArray


def _dtype_of(levels: tuple[str, ...]) -> pd.CategoricalDtype:
    """The categorical dtype of sorted ``levels``."""
    return pd.CategoricalDtype(pd.Index(list(levels), dtype="str"))


#: :func:`_dtype_of` built once per levels (building one checks its levels, which
#: costs more than a column of a few leads): for a few levels only
_cached_dtype_of = functools.lru_cache(maxsize=4096)(_dtype_of)
_NO_CATEGORY = _dtype_of(())
_FEW_ROWS = 1_000
_FEW_VALUES = 64


def to_frame(parts: list[pa.Table], specs: tuple[FeatureSpec, ...]) -> pd.DataFrame:
    """One frame of the batches ``parts``, categories per ``specs``."""
    table = pa.concat_tables(parts)
    if table.num_rows <= _FEW_ROWS:
        columns = dict(zip(table.column_names, table.columns, strict=True))
        return columns_frame(columns, specs)
    empty = []
    for name in (spec.name for spec in specs if spec.dtype == "category"):
        at = table.schema.get_field_index(name)
        encoded = _as_category(table.column(at))
        if not len(encoded.dictionary):
            empty.append(name)
        table = table.set_column(at, name, encoded)
    frame = table.to_pandas()
    for name in empty:  # a column without any text: categories of text all the same
        frame[name] = pd.Categorical.from_codes(
            np.full(len(frame), -1), dtype=_NO_CATEGORY
        )
    return frame


def columns_frame(
    columns: Mapping[str, Column], specs: tuple[FeatureSpec, ...]
) -> pd.DataFrame:
    """The frame of a few rows' columns (the API's leads: tables of at most
    ``_FEW_ROWS`` rows go through it too), built block by block.

    What :func:`to_frame` of the same columns as a table gives (dtypes and values: a
    test compares both), without the round trip of the numbers through Arrow, and
    without Arrow's ``to_pandas``, which spends about as long per column whatever the
    rows (most of it building each categorical's dtype): numbers and flags without
    missing values keep their type, integers with missing values become floats
    (NaN), the rest converts as Arrow converts it; categories of the same few levels
    share one cached dtype.
    """
    categories = {spec.name for spec in specs if spec.dtype == "category"}
    numpy_columns: dict[np.dtype, tuple[list[np.ndarray], list[int]]] = {}
    blocks: list[tuple[object, np.ndarray]] = []
    n_rows = 0
    for at, (name, column) in enumerate(columns.items()):
        n_rows = len(column)
        values = _values(column, name in categories)
        if not isinstance(values, np.ndarray):  # categories, texts, times in a zone
            blocks.append((values, np.array([at])))
            continue
        arrays, places = numpy_columns.setdefault(values.dtype, ([], []))
        arrays.append(values)
        places.append(at)
    for arrays, places in numpy_columns.values():
        blocks.append((np.stack(arrays), np.asarray(places)))
    return create_dataframe_from_blocks(
        blocks, index=pd.RangeIndex(n_rows), columns=pd.Index(list(columns))
    )


def _values(column: Column, category: bool) -> np.ndarray | ExtensionArray:
    """A column's values as Arrow's ``to_pandas`` gives them."""
    if isinstance(column, np.ndarray):
        if column.dtype.kind in "biuf" and not category:
            return column  # numbers: what Arrow would give back
        column = pa.array(column)
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    if category:
        return _categorical(column)
    kind = column.type
    if (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or (pa.types.is_boolean(kind) and not column.null_count)
    ):
        return column.to_numpy()  # integers with a missing value: floats, NaN
    series = column.to_pandas()  # e.g. flags with a missing value: objects
    return series.to_numpy() if isinstance(series.dtype, np.dtype) else series.array


def _categorical(column: pa.ChunkedArray) -> pd.Categorical:
    """Text as a categorical of sorted categories (:func:`_as_category`)."""
    if len(column) <= _FEW_VALUES:  # a few leads: codes straight from Python
        levels, codes = _sorted_codes(column.to_pylist())
        return pd.Categorical.from_codes(
            np.array(codes, dtype=np.int32),
            dtype=_cached_dtype_of(tuple(levels)),
            validate=False,
        )
    encoded = _as_category(column)
    levels = tuple(encoded.dictionary.to_pylist())
    return pd.Categorical.from_codes(
        encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False),
        dtype=(_cached_dtype_of if len(levels) <= _FEW_VALUES else _dtype_of)(levels),
        validate=False,
    )


def _sorted_codes(values: list) -> tuple[list[str], list[int]]:
    """The distinct texts of ``values`` sorted, and each value's position among
    them (-1: missing)."""
    levels = sorted({str(v) for v in values if v is not None})
    position = {level: i for i, level in enumerate(levels)}
    return levels, [-1 if v is None else position[str(v)] for v in values]


def _as_category(column: pa.ChunkedArray) -> pa.DictionaryArray:
    """Text as a dictionary with sorted entries (pandas: a categorical with sorted
    categories): the same data gives the same codes."""
    if len(column) <= _FEW_VALUES:  # a few leads: Python's sort is the same order
        # (code points, which UTF-8 bytes sort as) at a fraction of the calls
        levels, codes = _sorted_codes(column.to_pylist())
        return pa.DictionaryArray.from_arrays(
            pa.array(codes, pa.int32(), mask=np.asarray(codes) < 0),
            pa.array(levels, pa.string()),
        )
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    encoded = pc.dictionary_encode(pc.cast(column, pa.string()).combine_chunks())
    order = pc.sort_indices(encoded.dictionary)
    rank = np.empty(len(order), dtype=np.int32)
    rank[order.to_numpy()] = np.arange(len(order), dtype=np.int32)
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    codes = pa.array(
        rank[np.nan_to_num(indices, nan=0).astype(np.int64)] if len(rank) else indices,
        pa.int32(),
        mask=~pc.is_valid(encoded.indices).to_numpy(zero_copy_only=False),
    )
    return pa.DictionaryArray.from_arrays(codes, encoded.dictionary.take(order))
