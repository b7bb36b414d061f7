"""The store's first schema: users, qualification entries, feedback, score history, audit.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from predscore.store.models import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(80), nullable=False, unique=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "qualification_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("lead_id", sa.String(200), nullable=False),
        sa.Column("field", sa.String(80), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
    )
    op.create_index(
        "ix_qualification_entries_lead", "qualification_entries", ["lead_id"]
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("lead_id", sa.String(200), nullable=False),
        sa.Column("run_id", sa.String(200), nullable=True),
        sa.Column("model_version", sa.String(200), nullable=True),
        sa.Column("probability", sa.Float, nullable=True),
        sa.Column("verdict", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(80), nullable=False),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("given_by", sa.String(80), nullable=False),
        sa.Column("given_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_feedback_lead", "feedback", ["lead_id"])
    op.create_table(
        "score_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(200), nullable=False),
        sa.Column("lead_id", sa.String(200), nullable=False),
        sa.Column("as_of", UtcDateTime(), nullable=False),
        sa.Column("probability", sa.Float, nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("route", sa.String(20), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=True),
        sa.Column("scored_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_score_history_lead", "score_history", ["lead_id", "as_of"])
    op.create_index("ix_score_history_run", "score_history", ["run_id"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(40), nullable=False),
        sa.Column("target_id", sa.String(200), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
    )


def downgrade() -> None:
    for index, table in (
        ("ix_score_history_run", "score_history"),
        ("ix_score_history_lead", "score_history"),
        ("ix_feedback_lead", "feedback"),
        ("ix_qualification_entries_lead", "qualification_entries"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "audit",
        "score_history",
        "feedback",
        "qualification_entries",
        "users",
    ):
        op.drop_table(table)
