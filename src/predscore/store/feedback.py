"""Feedback of reps on scores: recorded with the run it was given on, summarised.

Stage: the I/O edge of what reps write, plus its summary. :func:`add_feedback`
appends a verdict (agree, too high, too low) with a configured reason and an
optional text, the run and model version and the probability the rep saw, audited.
:func:`summarise_feedback` (pure) counts verdicts per reason, per rep and per score
band; the feedback page, ``predscore feedback --out`` and each training run
(an MLflow artifact, as a diagnostic, never a label) show it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from predscore.config import RepsConfig
from predscore.errors import StoreError
from predscore.io import write_text
from predscore.store.audit import record
from predscore.store.database import Store
from predscore.store.models import VERDICTS, FeedbackRow

__all__ = [
    "FEEDBACK_COLUMNS",
    "SUMMARY_COLUMNS",
    "add_feedback",
    "export_feedback",
    "read_feedback",
    "summarise_feedback",
]

FEEDBACK_COLUMNS = [
    "lead_id",
    "run_id",
    "model_version",
    "probability",
    "verdict",
    "reason",
    "text",
    "given_by",
    "given_at",
]
SUMMARY_COLUMNS = ["by", "group", "n", *VERDICTS]


def add_feedback(
    store: Store,
    reps: RepsConfig,
    *,
    lead_id: str,
    verdict: str,
    reason: str,
    text: str | None,
    who: str,
    at: datetime,
    run_id: str | None = None,
    model_version: str | None = None,
    probability: float | None = None,
) -> None:
    """Append one rep's feedback on one lead's score.

    Raises
    ------
    StoreError
        When the verdict or the reason is not one of the configured ones.
    """
    if verdict not in VERDICTS:
        raise StoreError(f"verdict {verdict!r}: expected one of {', '.join(VERDICTS)}")
    codes = [r.code for r in reps.feedback_reasons]
    if reason not in codes:
        raise StoreError(f"reason {reason!r}: expected one of {', '.join(codes)}")
    note = (text or "").strip()[: reps.max_text_chars] or None
    with store.write() as session:
        session.add(
            FeedbackRow(
                lead_id=lead_id,
                run_id=run_id,
                model_version=model_version,
                probability=probability,
                verdict=verdict,
                reason=reason,
                text=note,
                given_by=who,
                given_at=at,
            )
        )
        record(session, who, "feedback.add", "feedback", at, lead_id, verdict=verdict)


def read_feedback(store: Store) -> pd.DataFrame:
    """Every feedback row, oldest first (:data:`FEEDBACK_COLUMNS`)."""
    with store.read() as session:
        rows = session.scalars(select(FeedbackRow).order_by(FeedbackRow.id)).all()
        return pd.DataFrame(
            [[getattr(r, c) for c in FEEDBACK_COLUMNS] for r in rows],
            columns=FEEDBACK_COLUMNS,
        )


def summarise_feedback(feedback: pd.DataFrame, reps: RepsConfig) -> pd.DataFrame:
    """Verdict counts per reason, per rep and per score band (long format).

    Returns
    -------
    DataFrame
        :data:`SUMMARY_COLUMNS`: ``by`` (``all``, ``reason``, ``rep``, ``band``),
        ``group``, ``n`` and one count column per verdict.

    Examples
    --------
    >>> from predscore.config import RepsConfig
    >>> fb = pd.DataFrame({"reason": ["other", "other"], "given_by": ["ana", "bo"],
    ...     "probability": [0.2, 0.6], "verdict": ["agree", "too_high"]})
    >>> summarise_feedback(fb, RepsConfig()).query("by == 'band'")[["group", "n"]]
    ...     .to_dict("records")
    [{'group': '0.10-0.30', 'n': 1}, {'group': '0.50-1.00', 'n': 1}]
    """
    frame = feedback.assign(
        all="all",
        band=[reps.band(p) for p in feedback["probability"]],
        rep=feedback["given_by"],
    )
    parts = []
    for by in ("all", "reason", "rep", "band"):
        if frame.empty:
            continue
        counts = (
            pd.crosstab(frame[by], frame["verdict"])
            .reindex(columns=list(VERDICTS), fill_value=0)
            .astype("int64")
            .rename_axis(index=None, columns=None)
        )
        counts.insert(0, "n", counts.sum(axis=1))
        parts.append(counts.reset_index(names="group").assign(by=by)[SUMMARY_COLUMNS])
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SUMMARY_COLUMNS})
    return pd.concat(parts, ignore_index=True)


def export_feedback(store: Store, reps: RepsConfig, out: Path) -> pd.DataFrame:
    """Write the feedback summary to ``out`` (CSV) and return it."""
    summary = summarise_feedback(read_feedback(store), reps)
    write_text(summary.to_csv(index=False), Path(out))
    return summary
