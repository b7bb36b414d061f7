"""The store's tables as SQLAlchemy 2 typed ORM classes.

Stage: the I/O edge of what reps write. Five tables: ``users`` (role rep or admin,
scrypt-hashed password, the CRM owner name their queue shows), ``qualification_entries``
(one answer of a rep on a lead: field, value, who, when; append-only),
``feedback`` (a rep's verdict on a score, with the run and model it was given on),
``score_history`` (one row per lead per batch scoring run) and ``audit`` (one row per
write, in the same transaction as the write). Who wrote a row is kept as the user
name, not a foreign key: entries outlive their authors' accounts. Timestamps are
UTC; :class:`UtcDateTime` gives them back time-zone aware on every backend (SQLite
stores no zone). The schema is created and upgraded only by the Alembic migrations
of ``predscore/store/migrations``; these classes must match them (a test compares).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Float, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ROLES",
    "VERDICTS",
    "AuditRow",
    "Base",
    "FeedbackRow",
    "QualificationEntry",
    "ScoreHistoryRow",
    "User",
    "UtcDateTime",
]

ROLES = ("rep", "admin")
VERDICTS = ("agree", "too_high", "too_low")


class UtcDateTime(TypeDecorator[datetime]):
    """A UTC instant: aware datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store keeps time-zone aware (UTC) timestamps only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of the store's tables."""


class User(Base):
    """A person who signs in to the pages."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(10))
    owner: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class QualificationEntry(Base):
    """One qualification answer a rep recorded on a lead (never updated)."""

    __tablename__ = "qualification_entries"
    __table_args__ = (Index("ix_qualification_entries_lead", "lead_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(80))
    value: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FeedbackRow(Base):
    """A rep's verdict on the score a lead was shown with (a diagnostic, not a label)."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_lead", "lead_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    verdict: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(80))
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    given_by: Mapped[str] = mapped_column(String(80))
    given_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ScoreHistoryRow(Base):
    """One lead's score in one batch scoring run."""

    __tablename__ = "score_history"
    __table_args__ = (
        Index("ix_score_history_lead", "lead_id", "as_of"),
        Index("ix_score_history_run", "run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(200))
    lead_id: Mapped[str] = mapped_column(String(200))
    as_of: Mapped[datetime] = mapped_column(UtcDateTime())
    probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    route: Mapped[str] = mapped_column(String(20))
    model_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditRow(Base):
    """One write to the store: who, when, what (never a password)."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
