"""A request's tables in the canonical Arrow schema, when validation would change nothing.

Stage: serve. The request model (pydantic) has already checked types, vocabularies,
signs and time zones. What batch validation would still do to a request's rows is
small and decidable row by row: reject a row stamped after ``as_of`` or before its
lead's creation, an action of another channel, a blank text, a duplicate lead, and
rewrite a flag or number answer into its canonical spelling. :func:`canonical_tables`
says whether any of that applies; when nothing does, it returns the five tables as
Arrow tables of the canonical schema (what validation would return, as the feature
engine reads it), so that a single lead skips the pandas and pandera work of
validation. When something does, it returns None and the caller validates the
request as the batch job would, rejections with their reasons included (the two
paths give the same tables: tests/integration/test_serve_app.py).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from predscore.schema import ACTIONS, QUALIFICATION_FIELDS, TABLE_ORDER, TABLES
from predscore.schema.tables import arrow_schema

__all__ = ["canonical_tables"]

_FLAGS = frozenset({"yes", "no", "unknown"})
_TEXT_KINDS = frozenset({"id", "string", "category"})


def _clean_text(value: Any) -> bool:
    """A text validation keeps as it is: missing, or not blank and already stripped."""
    return value is None or (value.strip() == value and value != "")


def _clean_answer(field: str, value: str) -> bool:
    """An answer already in the spelling validation would give it."""
    kind = QUALIFICATION_FIELDS.get(field, "text")
    if kind == "flag":
        return value in _FLAGS
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            return False
        if not math.isfinite(number) or number < 0:
            return False
        return str(np.format_float_positional(number, trim="-")) == value
    return _clean_text(value)


def _row_texts_clean(row: dict[str, Any], table: str) -> bool:
    spec = TABLES[table]
    for column in spec.columns:
        value = row.get(column.name)
        if column.kind in _TEXT_KINDS and not _clean_text(value):
            return False
        if column.kind == "string_list" and value is not None:
            if not all(_clean_text(v) and v is not None for v in value):
                return False
        if column.required and value is None:
            return False
    return True


@functools.cache
def _schema(table: str, extra: tuple[str, ...]) -> pa.Schema:
    return arrow_schema(table, pa.schema([(name, pa.string()) for name in extra]))


def _table(
    rows: list[dict[str, Any]], table: str, extra: tuple[str, ...] = ()
) -> pa.Table:
    # a field a row lacks is null
    return pa.Table.from_pylist(rows, schema=_schema(table, extra))


def canonical_tables(
    body: Any, as_of: datetime, tolerance_days: float = 0.0
) -> dict[str, pa.Table] | None:
    """The request's five tables as validation would return them, or None.

    Parameters
    ----------
    body : request model
        A validated ``POST /score`` body (``leads``, each with its account,
        activities and qualification answers).
    as_of : datetime
        The scoring time (UTC, aware).
    tolerance_days : float
        ``validation.activity_before_creation_tolerance_days``.

    Returns
    -------
    dict of pyarrow.Table or None
        ``accounts``, ``leads`` (with ``owner``), ``activities``, ``qualifications``
        and an empty ``outcomes``, of the canonical Arrow schema; None when
        validation would reject or rewrite a row, or when a lead carries extra
        attributes (their types are inferred the way a file's are, by validation).
    """
    leads: Sequence[Any] = body.leads
    slack = timedelta(days=tolerance_days)
    accounts: dict[str, dict[str, Any]] = {}
    lead_rows, acts, quals = [], [], []
    for lead in leads:
        if lead.attributes or lead.created_at > as_of:
            return None
        account_id = lead.account_id
        if lead.account is not None:
            given = lead.account.model_dump()
            if account_id is not None and account_id != given["account_id"]:
                return None
            account_id = given["account_id"]
            if accounts.get(account_id, given) != given:
                return None
            accounts[account_id] = given
        elif account_id is not None:
            accounts.setdefault(account_id, {"account_id": account_id})
        row = {c.name: getattr(lead, c.name, None) for c in TABLES["leads"].columns}
        row.update(account_id=account_id, owner=lead.owner)
        lead_rows.append(row)
        created = lead.created_at
        for act in lead.activities:
            if not created - slack <= act.occurred_at <= as_of:
                return None
            if act.action not in ACTIONS[act.channel]:
                return None
            acts.append({**act.model_dump(), "lead_id": lead.lead_id})
        for qual in lead.qualifications:
            if not created <= qual.recorded_at <= as_of:
                return None
            if not _clean_answer(qual.field, qual.value):
                return None
            quals.append({**qual.model_dump(), "lead_id": lead.lead_id})
    if len({row["lead_id"] for row in lead_rows}) != len(lead_rows):
        return None
    rows = {
        "accounts": list(accounts.values()),
        "leads": lead_rows,
        "activities": acts,
        "qualifications": quals,
        "outcomes": [],
    }
    for table in TABLE_ORDER:
        if not all(_row_texts_clean(row, table) for row in rows[table]):
            return None
    if any(not _clean_text(row["owner"]) for row in lead_rows):
        return None
    return {
        table: _table(rows[table], table, ("owner",) if table == "leads" else ())
        for table in TABLE_ORDER
    }
