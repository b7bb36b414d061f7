"""Realised performance of earlier scoring runs whose leads have since closed.

Stage: monitor (pure). Input: the scores of earlier runs (``lead_id``, ``as_of``,
``probability``: each run's open leads and what the model said then) and the
``outcomes`` table known today; output: per month of scoring, how the scores held up
(ROC AUC, Brier, calibration error, mean predicted against actual close rate), the
same over every judged row, and a reliability table.

A scored lead is *judged* once its outcome is known at ``cutoff``: without a label
horizon, when it has closed (label: won); with ``horizon_days``, when it closed
within the horizon of its scoring (label: won then) or the horizon has passed (label:
won within it, else 0). Leads not judged yet are counted, not scored: early in a
month's life only the fast closers are judged (mostly losses on the demo), which the
``judged_share`` column makes visible. With segment models (a ``model_segment``
column in the scores), the same metrics per segment model (``segments``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from predscore.evaluation.calibration import (
    calibration_table,
    expected_calibration_error,
)

__all__ = ["judged_rows", "realised_performance"]


def judged_rows(
    scored: pd.DataFrame,
    outcomes: pd.DataFrame,
    cutoff: pd.Timestamp,
    horizon_days: float | None = None,
) -> pd.DataFrame:
    """The scored rows with their outcome as known at ``cutoff``.

    Parameters
    ----------
    scored : DataFrame
        ``lead_id``, ``as_of`` (the run's cutoff) and ``probability``, one row per
        lead and run.
    outcomes : DataFrame
        The canonical ``outcomes`` table (``lead_id``, ``closed_at``, ``outcome``).
    cutoff : Timestamp
        What is known now: outcomes closed after it do not count.
    horizon_days : float, optional
        The model's label horizon (``features.horizon_days``).

    Returns
    -------
    DataFrame
        ``scored`` with ``judged`` (bool) and ``label`` (0/1, NaN when not judged).
    """
    closes = (
        outcomes.loc[:, ["lead_id", "closed_at", "outcome"]]
        .sort_values(["lead_id", "closed_at"])
        .drop_duplicates("lead_id", keep="first")
    )
    rows = scored.merge(closes, on="lead_id", how="left")
    closed_at = rows["closed_at"]
    # closed after the run scored it (an outcome at or before it was no open lead)
    closed = closed_at.notna() & (closed_at > rows["as_of"]) & (closed_at <= cutoff)
    won = rows["outcome"].astype(object).eq("won")
    if horizon_days is None:
        judged = closed
        label = np.where(judged, won.astype(float), np.nan)
    else:
        end = rows["as_of"] + pd.Timedelta(days=float(horizon_days))
        in_window = closed & (closed_at <= end)
        judged = in_window | (end <= cutoff)
        label = np.where(judged, (in_window & won).astype(float), np.nan)
    return rows.drop(columns=["closed_at", "outcome"]).assign(
        judged=judged.to_numpy(dtype=bool), label=label
    )


def _metrics(y: np.ndarray, p: np.ndarray, min_leads: int, bins: int) -> dict:
    both = len(y) >= min_leads and 0 < y.sum() < len(y)
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else None,
        "brier": float(brier_score_loss(y, p)) if len(y) else None,
        "ece": expected_calibration_error(y, p, bins) if len(y) else None,
        "predicted_rate": float(p.mean()) if len(y) else None,
        "actual_rate": float(y.mean()) if len(y) else None,
    }


def realised_performance(
    scored: pd.DataFrame,
    outcomes: pd.DataFrame,
    cutoff: pd.Timestamp,
    horizon_days: float | None = None,
    *,
    min_leads: int = 30,
    bins: int = 10,
) -> dict[str, Any]:
    """How the probabilities of earlier runs compare with what happened since.

    Parameters
    ----------
    scored, outcomes, cutoff, horizon_days
        As :func:`judged_rows`.
    min_leads : int
        Judged rows (with both outcomes) a month needs for its ROC AUC.
    bins : int
        Equal-width bins of the calibration error and the reliability table.

    Returns
    -------
    dict
        ``months``: one record per month of scoring (``month``, ``runs``,
        ``scored``, ``judged``, ``judged_share``, ``wins``, ``predicted_all``: mean
        probability of every scored lead, then on the judged rows ``roc_auc``,
        ``brier``, ``ece``, ``predicted_rate``, ``actual_rate``); ``overall``: the
        same metrics on every judged row; ``calibration``: the reliability table of
        every judged row (``low``, ``high``, ``rows``, ``predicted``, ``observed``);
        ``segments``: when ``scored`` has a ``model_segment`` column naming a
        segment model on some rows, one record per model (``segment``: its segment,
        None for the global model) with ``scored``, ``judged``, ``wins`` and the
        metrics of its judged rows.
    """
    rows = judged_rows(scored, outcomes, cutoff, horizon_days)
    if not len(rows):
        return {"months": [], "overall": None, "calibration": [], "segments": []}
    month = rows["as_of"].dt.strftime("%Y-%m")
    records = []
    for name, part in rows.groupby(month, sort=True):
        done = part.loc[part["judged"]]
        y = done["label"].to_numpy(dtype=float)
        p = done["probability"].to_numpy(dtype=float)
        records.append(
            {
                "month": str(name),
                "runs": int(part["as_of"].nunique()),
                "scored": len(part),
                "judged": len(done),
                "judged_share": len(done) / len(part),
                "wins": int(y.sum()),
                "predicted_all": float(part["probability"].mean()),
                **_metrics(y, p, min_leads, bins),
            }
        )
    done = rows.loc[rows["judged"]]
    y = done["label"].to_numpy(dtype=float)
    p = done["probability"].to_numpy(dtype=float)
    overall = {
        "scored": len(rows),
        "judged": len(done),
        "wins": int(y.sum()),
        **_metrics(y, p, min_leads, bins),
    }
    table = calibration_table(y, p, bins) if len(y) else pd.DataFrame()
    return {
        "months": records,
        "overall": overall,
        "calibration": table.to_dict(orient="records"),
        "segments": _by_segment(rows, min_leads, bins),
    }


def _by_segment(rows: pd.DataFrame, min_leads: int, bins: int) -> list[dict]:
    """The metrics of each segment model's judged rows (see
    :func:`realised_performance`); empty when no segment model scored."""
    if "model_segment" not in rows or rows["model_segment"].isna().all():
        return []
    segment = rows["model_segment"].astype(object).where(rows["model_segment"].notna())
    out = []
    for name in [*sorted(segment.dropna().unique()), None]:
        part = rows.loc[segment.isna() if name is None else segment.eq(name)]
        if not len(part):
            continue
        done = part.loc[part["judged"]]
        y = done["label"].to_numpy(dtype=float)
        p = done["probability"].to_numpy(dtype=float)
        out.append(
            {
                "segment": name,
                "scored": len(part),
                "judged": len(done),
                "wins": int(y.sum()),
                **_metrics(y, p, min_leads, bins),
            }
        )
    return out
