"""Ranking and decision metrics shared by the rule baseline and the model.

Stage: evaluation (used by rules and, later, the model, so both are measured the same
way on the same leads). Inputs: binary labels, scores (higher = more likely to close)
and optionally a decision mask; outputs: plain dicts and frames of metrics. ROC AUC and
average precision are scikit-learn's; what it lacks (lift and capture of the top share,
a decision's precision and recall, close rates of segments) is here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from predscore.errors import PredscoreError

__all__ = [
    "average_precision",
    "decision_metrics",
    "evaluate_scores",
    "lift_at",
    "roc_auc",
    "segment_rates",
]


def _arrays(labels: object, scores: object) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=float)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        raise PredscoreError(
            f"labels and scores must be 1-D of the same length, got {y.shape} "
            f"and {s.shape}"
        )
    if not np.isin(y, (0.0, 1.0)).all():
        raise PredscoreError("labels must be 0/1 without missing values")
    if np.isnan(s).any():
        raise PredscoreError("scores must not contain missing values")
    return y, s


def roc_auc(labels: object, scores: object) -> float:
    """Area under the ROC curve (scikit-learn's: ties count half); NaN if one class."""
    y, s = _arrays(labels, scores)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, s))


def average_precision(labels: object, scores: object) -> float:
    """PR AUC as average precision (scikit-learn's: tied scores form one step); NaN
    without a win."""
    y, s = _arrays(labels, scores)
    if y.sum() == 0:
        return float("nan")
    return float(average_precision_score(y, s))


def lift_at(labels: object, scores: object, share: float) -> dict[str, float]:
    """Close rate, lift and capture of the top ``share`` of rows by score.

    Rows are ordered by score, then by position (stable), so ties are deterministic.
    """
    y, s = _arrays(labels, scores)
    k = max(1, int(np.ceil(share * len(y))))
    top = np.argsort(-s, kind="stable")[:k]
    base = y.mean()
    rate = y[top].mean()
    return {
        "rate": float(rate),
        "lift": float(rate / base) if base > 0 else float("nan"),
        "capture": float(y[top].sum() / y.sum()) if y.sum() > 0 else float("nan"),
    }


def decision_metrics(labels: object, decision: object) -> dict[str, float]:
    """Precision, recall and share selected of a yes/no decision (e.g. ``meeting``)."""
    y, d = _arrays(labels, np.asarray(decision, dtype=float))
    chosen = d == 1
    tp = float((y[chosen] == 1).sum())
    return {
        "selected_share": float(chosen.mean()),
        "precision": tp / float(chosen.sum()) if chosen.any() else float("nan"),
        "recall": tp / float(y.sum()) if y.sum() > 0 else float("nan"),
    }


def segment_rates(labels: object, segments: Mapping[str, object]) -> pd.DataFrame:
    """Rows and close rate (label mean) of each named boolean segment."""
    y = np.asarray(labels, dtype=float)
    rows = []
    for name, mask in segments.items():
        m = np.asarray(mask, dtype=bool)
        rows.append(
            {
                "segment": name,
                "rows": int(m.sum()),
                "close_rate": float(y[m].mean()) if m.any() else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def evaluate_scores(
    labels: object,
    scores: object,
    decision: object | None = None,
    top_shares: Sequence[float] = (0.1, 0.2),
) -> dict[str, float]:
    """All headline metrics of one scorer, as a flat dict.

    Parameters
    ----------
    labels : array-like of 0/1
        Outcome per row (e.g. ``label`` of the training snapshots).
    scores : array-like of float
        Higher means more likely to close (rule points, probability...).
    decision : array-like of bool, optional
        The scorer's yes/no decision (e.g. ``rule_route == "meeting"``).
    top_shares : sequence of float
        Shares of the ranked rows for lift and capture (0.1 = top 10 %).

    Returns
    -------
    dict
        ``rows``, ``base_rate``, ``roc_auc``, ``pr_auc``, ``lift_<p>``,
        ``capture_<p>``, and with a decision ``precision``, ``recall``,
        ``selected_share``.
    """
    y, s = _arrays(labels, scores)
    out = {
        "rows": float(len(y)),
        "base_rate": float(y.mean()),
        "roc_auc": roc_auc(y, s),
        "pr_auc": average_precision(y, s),
    }
    for share in top_shares:
        top = lift_at(y, s, share)
        pct = f"{round(share * 100):d}"
        out[f"lift_{pct}"] = top["lift"]
        out[f"capture_{pct}"] = top["capture"]
    if decision is not None:
        out.update(decision_metrics(y, decision))
    return out
