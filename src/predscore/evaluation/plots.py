"""Evaluation plots: calibration, ROC and precision-recall, cumulative gains, importance.

Stage: evaluation. Every function takes outcomes and the scores of one or more scorers
(``{"model": ..., "rules": ...}``) and returns a matplotlib Figure; writing it is the
caller's business. Figures are made without pyplot: importing this module leaves a
notebook's backend alone, and nothing needs a screen.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from predscore.evaluation.calibration import calibration_table

__all__ = ["calibration_plot", "gains_plot", "importance_plot", "roc_pr_plot"]

Scores = Mapping[str, object]


def calibration_plot(labels: object, probabilities: Scores, bins: int = 10) -> Figure:
    """Observed close rate against mean predicted probability, per bin."""
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1, label="perfect")
    for name, p in probabilities.items():
        table = calibration_table(labels, p, bins)
        ax.plot(table["predicted"], table["observed"], marker="o", label=name)
    ax.set(
        xlabel="predicted probability",
        ylabel="observed close rate",
        title="Calibration",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend()
    fig.tight_layout()
    return fig


def roc_pr_plot(labels: object, scores: Scores) -> Figure:
    """ROC curve and precision-recall curve side by side."""
    y = np.asarray(labels, dtype=int)
    fig = Figure(figsize=(10, 4.5))
    roc_ax, pr_ax = fig.subplots(1, 2)
    roc_ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1)
    for name, s in scores.items():
        fpr, tpr, _ = roc_curve(y, np.asarray(s, dtype=float))
        roc_ax.plot(fpr, tpr, label=name)
        precision, recall, _ = precision_recall_curve(y, np.asarray(s, dtype=float))
        pr_ax.plot(recall, precision, label=name)
    pr_ax.axhline(y.mean(), ls="--", c="grey", lw=1)
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    roc_ax.legend()
    pr_ax.legend()
    fig.tight_layout()
    return fig


def gains_plot(labels: object, scores: Scores) -> Figure:
    """Cumulative share of wins captured against share of leads contacted."""
    y = np.asarray(labels, dtype=float)
    fig = Figure(figsize=(10, 4.5))
    gain_ax, lift_ax = fig.subplots(1, 2)
    share = np.arange(1, len(y) + 1) / max(len(y), 1)
    gain_ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1, label="random")
    for name, s in scores.items():
        order = np.argsort(-np.asarray(s, dtype=float), kind="stable")
        captured = np.cumsum(y[order]) / max(y.sum(), 1)
        gain_ax.plot(share, captured, label=name)
        lift = captured / share
        lift_ax.plot(share, lift, label=name)
    lift_ax.axhline(1, ls="--", c="grey", lw=1)
    gain_ax.set(
        xlabel="share of leads, best first", ylabel="share of wins", title="Gains"
    )
    lift_ax.set(xlabel="share of leads, best first", ylabel="lift", title="Lift")
    gain_ax.legend()
    lift_ax.legend()
    fig.tight_layout()
    return fig


def importance_plot(importance: pd.Series, top: int = 20) -> Figure:
    """Horizontal bars of the ``top`` features by importance (e.g. total gain)."""
    head = importance.sort_values(ascending=False).head(top)[::-1]
    fig = Figure(figsize=(7, 0.3 * len(head) + 1.2))
    ax = fig.subplots()
    ax.barh(head.index.astype(str), head.to_numpy())
    ax.set(xlabel="total gain", title=f"Feature importance (top {len(head)})")
    fig.tight_layout()
    return fig
