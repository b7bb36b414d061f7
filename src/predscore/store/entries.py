"""Qualification answers reps record on a lead: appended, never changed, read as rows.

Stage: the I/O edge of what reps write. :func:`add_entries` appends a rep's answers
(each checked against the configured question: closed vocabularies, whole months)
with who and when, one row per answer, audited in the same transaction; nothing
ever updates or deletes an entry, so two reps answering on the same lead at once
both keep their rows and the latest answer wins in the features
(:mod:`predscore.features.qualification`). :func:`qualification_rows` gives every
entry as rows of the canonical ``qualifications`` table (``recorded_at`` = the
entry's time), which the pipeline merges with the CRM export point in time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pandas as pd
from sqlalchemy import func, select

from predscore.config import RepsConfig
from predscore.errors import StoreError
from predscore.store.audit import record
from predscore.store.database import Store
from predscore.store.models import QualificationEntry

__all__ = [
    "ENTRY_COLUMNS",
    "add_entries",
    "check_answers",
    "count_entries",
    "lead_entries",
    "qualification_rows",
]

ENTRY_COLUMNS = ["lead_id", "recorded_at", "field", "value", "recorded_by"]


def check_answers(answers: Mapping[str, str], reps: RepsConfig) -> dict[str, str]:
    """The non-empty answers, each checked against its configured question.

    Raises
    ------
    StoreError
        When a field has no question or an answer is outside its vocabulary.
    """
    clean: dict[str, str] = {}
    for field, raw in answers.items():
        value = str(raw).strip()
        if not value:
            continue
        question = reps.question(field)
        if question is None:
            known = ", ".join(q.field for q in reps.questions)
            raise StoreError(f"field {field!r}: not a question of reps ({known})")
        if not question.accepts(value):
            expected = (
                f"whole months from 0 to {question.max_months}"
                if question.kind == "months"
                else ", ".join(question.choices)
            )
            raise StoreError(f"{field}: {value[:40]!r} is not an answer ({expected})")
        clean[field] = str(int(value)) if question.kind == "months" else value
    return clean


def add_entries(
    store: Store,
    lead_id: str,
    answers: Mapping[str, str],
    reps: RepsConfig,
    who: str,
    at: datetime,
) -> int:
    """Append the answers of one rep on one lead; return how many rows were added.

    Raises
    ------
    StoreError
        When an answer is not valid (nothing is written then).
    """
    clean = check_answers(answers, reps)
    if not clean:
        return 0
    with store.write() as session:
        session.add_all(
            QualificationEntry(
                lead_id=lead_id, field=f, value=v, recorded_by=who, recorded_at=at
            )
            for f, v in clean.items()
        )
        record(
            session,
            who,
            "qualification.add",
            "qualification_entries",
            at,
            lead_id,
            fields=sorted(clean),
        )
    return len(clean)


def _frame(rows: list[QualificationEntry]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [[getattr(r, c) for c in ENTRY_COLUMNS] for r in rows], columns=ENTRY_COLUMNS
    )
    frame["recorded_at"] = pd.to_datetime(frame["recorded_at"], utc=True).astype(
        "datetime64[us, UTC]"
    )
    return frame


def lead_entries(store: Store, lead_id: str) -> pd.DataFrame:
    """A lead's entries, oldest first (:data:`ENTRY_COLUMNS`)."""
    with store.read() as session:
        rows = session.scalars(
            select(QualificationEntry)
            .where(QualificationEntry.lead_id == lead_id)
            .order_by(QualificationEntry.recorded_at, QualificationEntry.id)
        ).all()
        return _frame(list(rows))


def qualification_rows(store: Store) -> pd.DataFrame:
    """Every entry as ``qualifications`` rows: lead_id, recorded_at, field, value."""
    with store.read() as session:
        rows = session.scalars(
            select(QualificationEntry).order_by(QualificationEntry.id)
        ).all()
        return _frame(list(rows)).drop(columns="recorded_by")


def count_entries(store: Store) -> int:
    """How many entries the store holds."""
    with store.read() as session:
        return int(session.scalar(select(func.count(QualificationEntry.id))) or 0)
