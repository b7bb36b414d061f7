"""Score history: every batch scoring run's scores, kept per lead across runs.

Stage: the I/O edge of what reps write (the batch job writes here too).
:func:`append_run` adds one row per scored lead of a run (run, lead, probability,
score, route, as-of, when scored), once per run, audited as one write;
:func:`lead_history` gives a lead's scores over time; :func:`previous_scores` gives
each lead's score in the latest run before a time, the base of the queue's change
since the previous run.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select

from predscore.store.audit import record
from predscore.store.database import Store
from predscore.store.models import ScoreHistoryRow

__all__ = ["HISTORY_COLUMNS", "append_run", "lead_history", "previous_scores"]

HISTORY_COLUMNS = ["run_id", "as_of", "probability", "score", "route", "scored_at"]


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def append_run(
    store: Store,
    run_id: str,
    scores: pd.DataFrame,
    as_of: datetime,
    scored_at: datetime,
    actor: str = "predscore score",
) -> int:
    """Record a run's scores (``lead_id``, ``probability``, ``score``, ``route``,
    ``model_version``); a run recorded again replaces its rows. Returns the rows."""
    rows = [
        {
            "run_id": run_id,
            "lead_id": str(r["lead_id"]),
            "as_of": as_of,
            "probability": _number(r.get("probability")),
            "score": _number(r.get("score")),
            "route": str(r["route"]),
            "model_version": None
            if r.get("model_version") is None
            else str(r["model_version"]),
            "scored_at": scored_at,
        }
        for r in scores.to_dict("records")
    ]
    with store.write() as session:
        session.execute(delete(ScoreHistoryRow).where(ScoreHistoryRow.run_id == run_id))
        if rows:
            session.execute(insert(ScoreHistoryRow), rows)
        record(
            session,
            actor,
            "history.append",
            "score_history",
            scored_at,
            run_id,
            leads=len(rows),
        )
    return len(rows)


def lead_history(store: Store, lead_id: str) -> pd.DataFrame:
    """A lead's score in every recorded run, oldest first (:data:`HISTORY_COLUMNS`)."""
    with store.read() as session:
        rows = session.execute(
            select(*(getattr(ScoreHistoryRow, c) for c in HISTORY_COLUMNS))
            .where(ScoreHistoryRow.lead_id == lead_id)
            .order_by(ScoreHistoryRow.as_of, ScoreHistoryRow.scored_at)
        ).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=HISTORY_COLUMNS)
    return frame.astype({"probability": "float64", "score": "float64"})


def previous_scores(store: Store, before: datetime) -> pd.Series:
    """Score (0-100) of each lead in the latest run with an as-of before ``before``;
    an empty series when there is none."""
    with store.read() as session:
        last = session.scalar(
            select(func.max(ScoreHistoryRow.as_of)).where(
                ScoreHistoryRow.as_of < before
            )
        )
        if last is None:
            return pd.Series(dtype="float64")
        run = session.scalar(
            select(ScoreHistoryRow.run_id)
            .where(ScoreHistoryRow.as_of == last)
            .order_by(ScoreHistoryRow.scored_at.desc())
            .limit(1)
        )
        rows = session.execute(
            select(ScoreHistoryRow.lead_id, ScoreHistoryRow.score).where(
                ScoreHistoryRow.run_id == run
            )
        ).all()
    return pd.Series(
        np.array([np.nan if s is None else s for _, s in rows], dtype="float64"),
        index=pd.Index([lead for lead, _ in rows], dtype=object),
    )
