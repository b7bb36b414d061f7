"""Feature tables as pandas frames: numbers as numbers, texts as sorted categories.

Stage: features. Input: the Arrow batches of the engine; output: the frame
:func:`~predscore.features.build_features` returns, in which a text feature is a
categorical whose categories are sorted (the same data gives the same codes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from predscore.features.registry import FeatureSpec

__all__ = ["to_frame"]

_NO_CATEGORY = pd.CategoricalDtype(pd.Index([], dtype="str"))
_FEW_ROWS = 1_000
_FEW_VALUES = 64


def to_frame(parts: list[pa.Table], specs: tuple[FeatureSpec, ...]) -> pd.DataFrame:
    """One frame of the batches ``parts``, categories per ``specs``."""
    table = pa.concat_tables(parts)
    empty = []
    for spec in specs:
        if spec.dtype == "category":
            at = table.schema.get_field_index(spec.name)
            encoded = _as_category(table.column(at))
            if not len(encoded.dictionary):
                empty.append(spec.name)
            table = table.set_column(at, spec.name, encoded)
    # a few rows (the API's leads): threads would cost more than they save
    frame = table.to_pandas(use_threads=table.num_rows > _FEW_ROWS)
    for name in empty:  # a column without any text: categories of text all the same
        frame[name] = pd.Categorical.from_codes(
            np.full(len(frame), -1), dtype=_NO_CATEGORY
        )
    return frame


def _as_category(column: pa.ChunkedArray) -> pa.DictionaryArray:
    """Text as a dictionary with sorted entries (pandas: a categorical with sorted
    categories): the same data gives the same codes."""
    if len(column) <= _FEW_VALUES:  # a few leads: Python's sort is the same order
        # (code points, which UTF-8 bytes sort as) at a fraction of the calls
        values = column.to_pylist()
        levels = sorted({str(v) for v in values if v is not None})
        position = {level: i for i, level in enumerate(levels)}
        return pa.DictionaryArray.from_arrays(
            pa.array(
                [None if v is None else position[str(v)] for v in values], pa.int32()
            ),
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
