"""Independent check of the contributions against shap's own TreeSHAP.

Stage: explain (a check, for tests, benchmarks and sceptical data teams). predscore
explains with LightGBM's native TreeSHAP (``pred_contrib``). ``shap.TreeExplainer`` on
a LightGBM booster calls that same ``pred_contrib`` by default, so comparing with it
proves nothing; this module instead runs shap's own C++ TreeSHAP on the trees shap
parsed from the booster. shap encodes categorical splits with an off-by-one bit mask
(category ``c`` reads bit ``c - 1``, so category 0 is lost); the thresholds are
re-encoded here (bit ``c`` for category ``c``, values fed as ``code + 1``), which is
exact for categories numbered below 31.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from predscore.errors import ModelError
from predscore.model import LeadModel

__all__ = ["reference_contributions"]

_MAX_CATEGORY = 31  # shap casts the bit mask to a 32-bit int


def _split_nodes(node: dict[str, Any], out: dict[int, dict[str, Any]]) -> None:
    """Internal nodes of a dumped tree by ``split_index`` (shap's node numbering)."""
    if "split_index" in node:
        out[node["split_index"]] = node
        _split_nodes(node["left_child"], out)
        _split_nodes(node["right_child"], out)


def _shap_explainer(model: LeadModel) -> Any:
    with warnings.catch_warnings():  # shap's own colormap deprecations at import
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap

    explainer = shap.TreeExplainer(model.booster_)
    ensemble = explainer.model
    if ensemble.trees is None:
        raise ModelError("shap could not parse the trees of this booster")
    ensemble.model_type = "internal"  # run shap's C++ TreeSHAP, not pred_contrib
    dump = model.booster_.dump_model(num_iteration=model.best_iteration_)["tree_info"]
    for t, info in enumerate(dump):
        nodes: dict[int, dict[str, Any]] = {}
        _split_nodes(info["tree_structure"], nodes)
        for index, node in nodes.items():
            if node["decision_type"] != "==":
                continue
            categories = [int(c) for c in str(node["threshold"]).split("||")]
            if max(categories) >= _MAX_CATEGORY:
                raise ModelError(
                    f"tree {t} splits on category {max(categories)}; shap's bit mask "
                    f"holds categories below {_MAX_CATEGORY} only"
                )
            ensemble.thresholds[t, index] = float(sum(1 << c for c in categories))
    return explainer


def _shap_matrix(model: LeadModel, frame: pd.DataFrame) -> np.ndarray:
    """Model matrix as floats, categories as ``code + 1`` (missing: NaN)."""
    matrix = model.matrix(frame).astype(float)  # the encoding the trees were grown on
    for i in model.categorical_indices():
        matrix[:, i] = matrix[:, i] + 1  # NaN stays NaN
    return matrix


def reference_contributions(model: LeadModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Per-row TreeSHAP contributions of the model's trees on log-odds, computed
    by shap's own algorithm.

    Same layout as :meth:`LeadModel.contributions` (the features, then ``base``), so
    the two can be compared cell by cell with the tree component's own
    (``model.tree_component.contributions``; for a model of trees alone, the model's).

    Raises
    ------
    ModelError
        When the model has no trees, or shap cannot represent them (a category
        numbered 31 or more).
    """
    if model.booster_ is None:
        raise ModelError("this model has no trees: its contributions are linear")
    explainer = _shap_explainer(model)
    values = explainer.shap_values(
        _shap_matrix(model, frame),
        tree_limit=model.best_iteration_,
        check_additivity=False,
    )
    # expected value of the trees in use: their roots' values (shap sums all trees)
    ensemble = explainer.model
    expected = ensemble.values[: model.best_iteration_, 0, 0].sum()
    expected += float(np.ravel(ensemble.base_offset)[0])
    base = np.full((len(frame), 1), float(expected))
    return pd.DataFrame(
        np.hstack([values, base]),
        columns=[*model.features_, "base"],
        index=frame.index,
    )
