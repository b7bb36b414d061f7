"""Probability metrics: Brier score, expected calibration error, reliability table.

Stage: evaluation. Input: outcomes and predicted probabilities of the same rows;
output: numbers and a small table, shared by the model and the rule baseline (once its
points are mapped to probabilities).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss

__all__ = ["brier", "calibration_table", "expected_calibration_error"]


def _arrays(labels: object, probabilities: object) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    if y.shape != p.shape:
        raise ValueError(f"labels {y.shape} and probabilities {p.shape} differ")
    if len(p) and (np.nanmin(p) < 0 or np.nanmax(p) > 1):
        raise ValueError("probabilities must lie in [0, 1]")
    return y, p


def brier(labels: object, probabilities: object) -> float:
    """Mean squared difference between probability and outcome (scikit-learn's
    Brier score; lower is better); NaN without rows."""
    y, p = _arrays(labels, probabilities)
    return float(brier_score_loss(y, p)) if len(y) else float("nan")


def calibration_table(
    labels: object, probabilities: object, bins: int = 10
) -> pd.DataFrame:
    """Rows, mean predicted probability and observed rate per equal-width bin.

    Bin ``i`` holds probabilities in ``[i/bins, (i+1)/bins)`` (the last bin includes
    1). Empty bins are left out.
    """
    y, p = _arrays(labels, probabilities)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": idx, "p": p, "y": y})
    table = frame.groupby("bin").agg(
        rows=("y", "size"), predicted=("p", "mean"), observed=("y", "mean")
    )
    table["low"] = table.index / bins
    table["high"] = (table.index + 1) / bins
    return table.reset_index(drop=True)[
        ["low", "high", "rows", "predicted", "observed"]
    ]


def expected_calibration_error(
    labels: object, probabilities: object, bins: int = 10
) -> float:
    """ECE: the row-weighted mean of ``|observed - predicted|`` over the bins."""
    table = calibration_table(labels, probabilities, bins)
    if table["rows"].sum() == 0:
        return float("nan")
    gap = (table["observed"] - table["predicted"]).abs()
    return float((gap * table["rows"]).sum() / table["rows"].sum())
