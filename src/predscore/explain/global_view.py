"""Global view of the explanations for the data team: which human features matter.

Stage: explain. Input: an :class:`~.explainer.Explanation` of many rows (e.g. the test
snapshots of a training) and those rows; output: a table of mean |SHAP| per human
feature (on log-odds, and in points) and a beeswarm plot (one dot per row and feature,
coloured by the feature's shown value). Logged to MLflow with each training
(``predscore train``). The backend is the caller's (a notebook's inline one, Agg
without a screen): importing this module never switches it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from predscore.explain.explainer import Explainer, Explanation

__all__ = ["GlobalView", "global_view"]


@dataclass(frozen=True)
class GlobalView:
    """Mean |SHAP| per human feature (``table``) and the beeswarm ``figure``."""

    table: pd.DataFrame
    figure: Figure


def _shown_values(rows: pd.DataFrame, explainer: Explainer) -> np.ndarray:
    """Numeric value of each group's shown column (category codes), for the colours."""
    out = np.full((len(rows), len(explainer.grouping.groups)), np.nan)
    for j, group in enumerate(explainer.grouping.groups):
        if group.value not in rows.columns:
            continue
        column = rows[group.value]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy(dtype=float)
            out[:, j] = np.where(codes < 0, np.nan, codes)
        else:
            out[:, j] = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    return out


def global_view(
    explanation: Explanation,
    rows: pd.DataFrame,
    explainer: Explainer,
    max_display: int = 20,
) -> GlobalView:
    """Mean |SHAP| per human feature and the beeswarm plot of ``explanation``.

    Parameters
    ----------
    explanation : Explanation
        ``explainer.explain(rows)``.
    rows : DataFrame
        The explained feature rows (for the colours of the beeswarm).
    explainer : Explainer
        Gives the groups' families and shown columns.
    max_display : int
        Features in the plot (the rest are summed into one line).

    Returns
    -------
    GlobalView
        ``table``: ``feature``, ``family``, ``mean_abs_logodds``, ``mean_abs_points``,
        ``mean_points``, ``share`` (of the total mean |SHAP|), highest first.
    """
    with warnings.catch_warnings():  # shap's own colormap deprecations at import
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap

    contributions = explanation.contributions
    mean_abs = np.abs(contributions).mean(axis=0) if len(contributions) else 0.0
    table = pd.DataFrame(
        {
            "feature": explanation.groups,
            "family": explanation.families,
            "mean_abs_logodds": mean_abs,
            "mean_abs_points": np.abs(explanation.points).mean(axis=0)
            if len(contributions)
            else 0.0,
            "mean_points": explanation.points.mean(axis=0)
            if len(contributions)
            else 0.0,
        }
    )
    total = table["mean_abs_logodds"].sum()
    table["share"] = table["mean_abs_logodds"] / total if total > 0 else 0.0
    table = table.sort_values(
        ["mean_abs_logodds", "feature"], ascending=[False, True]
    ).reset_index(drop=True)
    values = shap.Explanation(
        values=contributions,
        base_values=np.full(len(contributions), explanation.base_logodds),
        data=_shown_values(rows, explainer),
        feature_names=explanation.groups,
    )
    import matplotlib.pyplot as plt  # shap draws the beeswarm through pyplot

    figure, ax = plt.subplots(figsize=(8, 0.35 * min(max_display, 30) + 1.5))
    shap.plots.beeswarm(
        values, max_display=max_display, ax=ax, show=False, plot_size=None
    )
    ax.set_title("Per-lead contributions by human feature (log-odds)")
    figure.tight_layout()
    return GlobalView(table=table, figure=figure)
