"""The audit log: one row per write to the store, in the same transaction as the write.

Stage: the I/O edge of what reps write. Every function of the store that writes calls
:func:`record` inside its transaction, so a write and its audit row commit or fail
together. ``detail`` is a small JSON object of what changed (ids, fields, counts),
never a password or a hash.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from predscore.store.database import Store
from predscore.store.models import AuditRow

__all__ = ["read_audit", "record"]


def record(
    session: Session,
    actor: str,
    action: str,
    target: str,
    at: datetime,
    target_id: str | None = None,
    **detail: Any,
) -> None:
    """Add the audit row of a write to ``session`` (its transaction commits both)."""
    session.add(
        AuditRow(
            at=at,
            actor=actor,
            action=action,
            target=target,
            target_id=target_id,
            detail=json.dumps(detail, sort_keys=True, default=str) if detail else None,
        )
    )


def read_audit(store: Store) -> pd.DataFrame:
    """Every audit row, oldest first (columns of the ``audit`` table)."""
    with store.read() as session:
        rows = session.scalars(select(AuditRow).order_by(AuditRow.id)).all()
        return pd.DataFrame(
            [
                {
                    "id": r.id,
                    "at": r.at,
                    "actor": r.actor,
                    "action": r.action,
                    "target": r.target,
                    "target_id": r.target_id,
                    "detail": r.detail,
                }
                for r in rows
            ],
            columns=["id", "at", "actor", "action", "target", "target_id", "detail"],
        )
