"""The tree family: LightGBM boosters grown on the feature matrix.

Stage: model (pure: arrays in, arrays out). A :class:`TreeComponent` is a fitted
booster and the number of its trees in use; contributions are LightGBM's exact
TreeSHAP (``pred_contrib``) on log-odds, categorical splits included. Same data,
parameters and seed ⇒ the same trees, byte for byte (deterministic mode, a fixed
thread count).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

from predscore.config import LIGHTGBM_DATASET_PARAMS

__all__ = ["TreeComponent", "grow_trees", "staged_raw", "tree_dataset", "tree_params"]

#: LightGBM's own ``max_bin`` when none is given
_LIGHTGBM_MAX_BIN = 255


def tree_params(params: dict[str, Any], seed: int, threads: int) -> dict[str, Any]:
    """LightGBM booster parameters with predscore's fixed settings (seed, threads,
    determinism); the binning ones (``LIGHTGBM_DATASET_PARAMS``) are
    :func:`tree_dataset`'s."""
    return {
        **{k: v for k, v in params.items() if k not in LIGHTGBM_DATASET_PARAMS},
        "objective": params.get("objective", "binary"),
        "metric": "binary_logloss",
        "seed": seed,
        "num_threads": threads,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }


def tree_dataset(
    matrix: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    features: list[str],
    categorical: Sequence[int],
    params: dict[str, Any] | None = None,
) -> lgb.Dataset:
    """A LightGBM dataset, binned once (boosters of several complexities share it)
    by the binning keys of ``params`` (``LIGHTGBM_DATASET_PARAMS``); the others are
    the boosters'. ``max_bin_by_name`` (feature name → bins) gives the named
    features their own bin count, the others keep ``max_bin``."""
    binning = {k: v for k, v in (params or {}).items() if k in LIGHTGBM_DATASET_PARAMS}
    by_name = binning.pop("max_bin_by_name", None)
    if by_name and any(f in by_name for f in features):
        default = binning.get("max_bin", _LIGHTGBM_MAX_BIN)
        binning["max_bin_by_feature"] = [int(by_name.get(f, default)) for f in features]
    return lgb.Dataset(
        matrix,
        label=labels,
        weight=weights,
        feature_name=list(features),
        categorical_feature=list(categorical),
        free_raw_data=True,
        params={"verbose": -1, **binning},
    )


def grow_trees(dataset: lgb.Dataset, params: dict[str, Any], trees: int) -> lgb.Booster:
    """Grow ``trees`` boosting rounds on ``dataset`` (``params`` from :func:`tree_params`)."""
    return lgb.train(params, dataset, num_boost_round=trees)


def staged_raw(
    booster: lgb.Booster, matrix: np.ndarray, steps: Sequence[int]
) -> dict[int, np.ndarray]:
    """Raw log-odds after each number of trees of ``steps`` (ascending), each tree
    evaluated once."""
    out: dict[int, np.ndarray] = {}
    total = np.zeros(len(matrix))
    done = 0
    available = booster.current_iteration()
    for requested in steps:
        step = min(requested, available)
        if step > done:
            total = total + booster.predict(
                matrix, raw_score=True, start_iteration=done, num_iteration=step - done
            )
            done = step
        out[requested] = total.copy()
    return out


def _threads(threads: int | None) -> dict[str, int]:
    return {} if threads is None else {"num_threads": int(threads)}


@dataclass
class TreeComponent:
    """A fitted booster and the number of its trees in use."""

    booster: lgb.Booster
    trees: int

    family = "lightgbm"

    def raw(self, matrix: np.ndarray, threads: int | None = None) -> np.ndarray:
        """Raw log-odds of each row (``threads``: LightGBM's, default the
        training's; they change no value)."""
        return self.booster.predict(
            matrix, raw_score=True, num_iteration=self.trees, **_threads(threads)
        )

    def contributions(
        self, matrix: np.ndarray, threads: int | None = None
    ) -> np.ndarray:
        """TreeSHAP contributions on log-odds; last column the expected value."""
        return self.booster.predict(
            matrix, pred_contrib=True, num_iteration=self.trees, **_threads(threads)
        )

    def importance(self) -> np.ndarray:
        """Total gain of each feature, as shares summing to 1."""
        gain = self.booster.feature_importance(
            importance_type="gain", iteration=self.trees
        ).astype(float)
        total = gain.sum()
        return gain / total if total > 0 else gain
