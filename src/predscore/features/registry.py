"""Feature declarations: what each output column is, where it comes from, its type.

Stage: features. Each family module (:mod:`fit`, :mod:`engagement`,
:mod:`qualification`) declares its columns as :class:`FeatureSpec` objects, next to the
SQL that computes them; :func:`predscore.features.feature_specs` lists them all in
output order. The specs are the data behind the feature table's documentation, its
dtypes, and the checks of the tests (for example, which columns are windowed counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Dtype", "Family", "FeatureSpec", "KEY_COLUMNS", "SNAPSHOT_COLUMNS"]

Family = Literal["fit", "engagement", "qualification"]
#: ``int32`` counts (never missing), ``float64`` numbers (NaN when unknown),
#: ``category`` text (missing when unknown).
Dtype = Literal["int32", "float64", "category"]

#: First columns of every feature table: the entity and the point in time.
KEY_COLUMNS = ("lead_id", "as_of")
#: Columns a training snapshot adds after the key, before the features.
SNAPSHOT_COLUMNS = ("closed_at", "label")


@dataclass(frozen=True)
class FeatureSpec:
    """One feature column.

    Parameters
    ----------
    name : str
        Column name (snake_case; windows end in ``_{n}d``, durations in ``_days``).
    family : {"fit", "engagement", "qualification"}
        Feature family.
    dtype : {"int32", "float64", "category"}
        Output dtype.
    source : str
        Canonical table(s) it is computed from.
    doc : str
        One line for the report and the reasons.
    time_column : str or None
        Event-time column filtered against ``as_of`` (None for attributes).
    window_days : int or None
        Window ending at ``as_of``, if the feature is windowed.
    kind : str
        Sub-family used by checks, e.g. ``count`` (non-negative, nests across windows).
    """

    name: str
    family: Family
    dtype: Dtype
    source: str
    doc: str
    time_column: str | None = None
    window_days: int | None = None
    kind: str = ""

    @property
    def stem(self) -> str:
        """Name without its window suffix (``n_web_view_7d`` → ``n_web_view``)."""
        suffix = f"_{self.window_days}d"
        if self.window_days is not None and self.name.endswith(suffix):
            return self.name[: -len(suffix)]
        return self.name
