"""Distribution drift: profiles of a reference sample, PSI and Jensen-Shannon distance.

Stage: evaluation. Input: a reference sample (the model's training rows, its
probabilities, its routes) and a current one (today's open leads); output: a compact
*profile* of each reference column (bin edges or kept levels, and the share of each
bin: JSON, stored in the model bundle at training time) and, per column, how far the
current sample has moved from it.

Numbers are binned on the reference quantiles (right-closed bins; equal quantiles
merge, so a count that is mostly 0 gets few bins) with a last bin for missing
values; categories by level, the rare and the unseen levels pooled with the missing
values in a last ``other/missing`` bin. Both samples are compared on those bins:

* PSI (Population Stability Index) ``sum((a - e) * ln(a / e))``, an empty bin given
  the share ``epsilon`` so that it stays finite;
* the Jensen-Shannon distance (base 2: 0 for the same shares, 1 for disjoint ones),
  which is bounded and symmetric where PSI is neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon

from predscore.errors import PredscoreError

__all__ = [
    "OTHER",
    "bin_labels",
    "bin_shares",
    "distribution_shift",
    "js_distance",
    "profile_column",
    "profile_frame",
    "psi",
]

#: label of the last bin of a category: rare, unseen and missing levels
OTHER = "other/missing"
_DIGITS = 6  # shares stored rounded: a bundle stays small and readable


def psi(expected: Any, actual: Any, epsilon: float = 1e-4) -> float:
    """Population Stability Index of ``actual`` shares against ``expected`` ones.

    Parameters
    ----------
    expected, actual : array-like
        Shares of the same bins (each summing to 1).
    epsilon : float
        Share given to an empty bin on either side.

    Examples
    --------
    >>> round(psi([0.5, 0.5], [0.25, 0.75]), 4)
    0.2747
    >>> psi([0.2, 0.8], [0.2, 0.8])
    0.0
    """
    e = np.clip(np.asarray(expected, dtype=float), epsilon, None)
    a = np.clip(np.asarray(actual, dtype=float), epsilon, None)
    if e.shape != a.shape:
        raise PredscoreError(f"psi: {e.shape[0]} bins against {a.shape[0]}")
    return float(np.sum((a - e) * np.log(a / e)))


def js_distance(expected: Any, actual: Any) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two share vectors.

    Examples
    --------
    >>> js_distance([1.0, 0.0], [0.0, 1.0])
    1.0
    >>> js_distance([0.3, 0.7], [0.3, 0.7])
    0.0
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.shape != a.shape:
        raise PredscoreError(f"js_distance: {e.shape[0]} bins against {a.shape[0]}")
    if e.sum() <= 0 or a.sum() <= 0:
        return float("nan")
    value = float(jensenshannon(e, a, base=2))
    return 0.0 if not np.isfinite(value) else min(max(value, 0.0), 1.0)


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    if total == 0:
        return [0.0] * len(counts)
    return [float(round(float(c) / total, _DIGITS)) for c in counts]


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(
        values
    )


def profile_column(
    values: pd.Series,
    *,
    bins: int = 10,
    max_levels: int = 20,
    min_level_share: float = 0.0,
    levels: list[str] | None = None,
) -> dict[str, Any]:
    """Profile of one reference column: its bins and the share of each.

    Parameters
    ----------
    values : Series
        The reference sample of the column.
    bins : int
        Quantile bins of a number (fewer when quantiles coincide).
    max_levels, min_level_share : int, float
        A category keeps apart its ``max_levels`` most frequent levels whose share
        reaches ``min_level_share``; the others join ``other/missing``.
    levels : list of str, optional
        Fixed levels of a category (e.g. the three routes), whatever their counts.

    Returns
    -------
    dict
        ``{"kind": "numeric", "edges": [...], "shares": [...]}`` (``len(edges) + 1``
        bins, then the missing bin) or ``{"kind": "category", "levels": [...],
        "shares": [...]}`` (one bin per level, then ``other/missing``).

    Examples
    --------
    >>> profile_column(pd.Series([1.0, 2.0, 3.0, 4.0, None]), bins=2)
    {'kind': 'numeric', 'edges': [2.5], 'shares': [0.4, 0.4, 0.2]}
    >>> profile_column(pd.Series(["a", "a", "b", None]), min_level_share=0.3)
    {'kind': 'category', 'levels': ['a'], 'shares': [0.5, 0.5]}
    """
    if levels is None and _is_numeric(values):
        numbers = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
        finite = numbers[np.isfinite(numbers)]
        if len(finite):
            cuts = np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])
            edges = [float(x) for x in np.unique(cuts)]
        else:
            edges = []
        profile: dict[str, Any] = {"kind": "numeric", "edges": edges}
    else:
        if levels is None:
            text = values.dropna().astype(str)
            counts = text.value_counts(sort=False)
            # most frequent first, ties by name: the same profile for the same sample
            order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            floor = min_level_share * len(values)
            levels = [k for k, c in order if c >= max(floor, 1)][:max_levels]
        profile = {"kind": "category", "levels": list(levels)}
    profile["shares"] = _shares(_bin_counts(values, profile))
    return profile


def _bin_counts(values: pd.Series, profile: Mapping[str, Any]) -> np.ndarray:
    if profile["kind"] == "numeric":
        edges = np.asarray(profile["edges"], dtype=float)
        numbers = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
        missing = ~np.isfinite(numbers)
        index = np.searchsorted(edges, numbers[~missing], side="left")
        counts = np.bincount(index, minlength=len(edges) + 1).astype(float)
        return np.append(counts, missing.sum())
    levels = list(profile["levels"])
    known = values.notna().to_numpy()
    index = np.full(len(values), len(levels), dtype=np.int64)
    codes = pd.Index(levels, dtype=object).get_indexer(
        values[known].astype(object).astype(str).to_numpy(dtype=object)
    )
    index[known] = np.where(codes < 0, len(levels), codes)
    return np.bincount(index, minlength=len(levels) + 1).astype(float)


def bin_shares(values: pd.Series, profile: Mapping[str, Any]) -> np.ndarray:
    """Shares of ``values`` in the bins of ``profile`` (same layout as its shares)."""
    counts = _bin_counts(values, profile)
    total = counts.sum()
    return counts / total if total else counts


def bin_labels(profile: Mapping[str, Any]) -> list[str]:
    """Human labels of a profile's bins (``≤ 3``, ``(3, 10]``, ``> 10``, ``missing``;
    or the levels then ``other/missing``)."""
    if profile["kind"] == "category":
        return [*map(str, profile["levels"]), OTHER]
    edges = [f"{e:.4g}" for e in profile["edges"]]
    if not edges:
        return ["any", "missing"]
    middle = [f"({a}, {b}]" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return [f"≤ {edges[0]}", *middle, f"> {edges[-1]}", "missing"]


def profile_frame(
    frame: pd.DataFrame,
    columns: Iterable[str],
    *,
    bins: int = 10,
    max_levels: int = 20,
    min_level_share: float = 0.0,
) -> dict[str, dict[str, Any]]:
    """:func:`profile_column` of each of ``columns`` of ``frame``, by name."""
    return {
        c: profile_column(
            frame[c],
            bins=bins,
            max_levels=max_levels,
            min_level_share=min_level_share,
        )
        for c in columns
    }


def distribution_shift(
    profiles: Mapping[str, Mapping[str, Any]],
    frame: pd.DataFrame,
    epsilon: float = 1e-4,
) -> pd.DataFrame:
    """How far each profiled column of ``frame`` has moved from its reference.

    Returns
    -------
    DataFrame
        One row per profiled column, the most drifted first (PSI, then JS
        distance): ``feature``, ``kind``, ``psi``, ``js``, ``moved_bin`` (label of
        the bin whose share moved most), ``reference_share`` and ``current_share``
        of that bin, ``rows``. A column absent from ``frame`` counts as all missing.

    Examples
    --------
    >>> ref = {"x": profile_column(pd.Series(["a", "b"] * 50))}
    >>> shift = distribution_shift(ref, pd.DataFrame({"x": ["a"] * 90 + ["b"] * 10}))
    >>> shift.loc[0, "moved_bin"], float(shift.loc[0, "current_share"])
    ('a', 0.9)
    """
    rows = []
    for name, profile in profiles.items():
        values = (
            frame[name]
            if name in frame
            else pd.Series([None] * len(frame), dtype=object)
        )
        expected = np.asarray(profile["shares"], dtype=float)
        actual = bin_shares(values, profile)
        moved = int(np.argmax(np.abs(actual - expected))) if len(expected) else 0
        rows.append(
            {
                "feature": name,
                "kind": profile["kind"],
                "psi": psi(expected, actual, epsilon) if len(values) else np.nan,
                "js": js_distance(expected, actual) if len(values) else np.nan,
                "moved_bin": bin_labels(profile)[moved],
                "reference_share": float(expected[moved]),
                "current_share": float(actual[moved]),
                "rows": len(values),
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "feature",
            "kind",
            "psi",
            "js",
            "moved_bin",
            "reference_share",
            "current_share",
            "rows",
        ],
    )
    return table.sort_values(
        ["psi", "js", "feature"], ascending=[False, False, True], na_position="last"
    ).reset_index(drop=True)
