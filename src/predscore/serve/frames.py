"""A ``POST /score`` request as the five canonical tables the scoring stage takes.

Stage: serve. Input: a validated request body (one lead or a few, each with its
account, activities and qualification answers nested); output: raw frames of
``accounts``, ``leads``, ``activities``, ``qualifications`` and an empty ``outcomes``
(the leads are open), plus, for every row, where it came from in the request
(``leads[0].activities[2]``) so that a rejection can point at it. Consistency the
tables cannot express (an account given twice with different fields, an account id
that contradicts the nested account) is a :class:`RequestError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pydantic import BaseModel

from predscore.errors import PredscoreError
from predscore.schema import TABLE_ORDER, TABLES

__all__ = ["RequestError", "RequestTables", "request_tables"]

_LEAD_FIELDS = tuple(c.name for c in TABLES["leads"].columns)
_RESERVED = {*_LEAD_FIELDS, "owner", "account", "activities", "qualifications"}


class RequestError(PredscoreError):
    """A request body that passes the schema but contradicts itself.

    ``loc`` is the path of the offending field, as in pydantic's errors.
    """

    def __init__(self, loc: Sequence[str | int], message: str) -> None:
        self.loc = ("body", *loc)
        super().__init__(message)


@dataclass(frozen=True)
class RequestTables:
    """The five raw tables of a request and the request path of each of their rows."""

    tables: dict[str, pd.DataFrame]
    locations: dict[str, list[str]]

    def location(self, table: str, row: Any) -> str | None:
        """Where row ``row`` of ``table`` came from in the request, if known."""
        rows = self.locations.get(table, [])
        if row is None or pd.isna(row) or not 0 <= int(row) < len(rows):
            return None
        return rows[int(row)]


def _utc(value: Any) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value).tz_convert("UTC")


def _account_rows(
    leads: Sequence[Any],
) -> tuple[list[dict[str, Any]], list[str], list[str | None]]:
    """Accounts (each once), their locations, and the account id of each lead."""
    accounts: dict[str, tuple[dict[str, Any], str]] = {}
    lead_accounts: list[str | None] = []
    for i, lead in enumerate(leads):
        account_id = lead.account_id
        if lead.account is not None:
            given = lead.account.account_id
            if account_id is not None and account_id != given:
                raise RequestError(
                    ("leads", i, "account", "account_id"),
                    f"leads[{i}]: account.account_id {given!r} differs from "
                    f"account_id {account_id!r}; give one id",
                )
            account_id = given
            row = lead.account.model_dump()
            row["created_at"] = _utc(row["created_at"])
            seen = accounts.get(account_id)
            if seen is not None and seen[0] != row:
                raise RequestError(
                    ("leads", i, "account"),
                    f"leads[{i}].account: account {account_id!r} is also given at "
                    f"{seen[1]} with other fields; send the same account once",
                )
            accounts.setdefault(account_id, (row, f"leads[{i}].account"))
        lead_accounts.append(account_id)
    for i, account_id in enumerate(lead_accounts):
        # an account known by id only: scored with unknown firmographics rather than
        # rejected as an unknown account
        if account_id is not None and account_id not in accounts:
            accounts[account_id] = (
                {"account_id": account_id},
                f"leads[{i}].account_id",
            )
    rows = [row for row, _ in accounts.values()]
    return rows, [where for _, where in accounts.values()], lead_accounts


def _lead_row(lead: Any, i: int, account_id: str | None) -> dict[str, Any]:
    clash = sorted(set(lead.attributes) & _RESERVED)
    if clash:
        raise RequestError(
            ("leads", i, "attributes", clash[0]),
            f"leads[{i}].attributes.{clash[0]}: a lead field, not an extra attribute; "
            "send it as a field of the lead",
        )
    row = {name: getattr(lead, name) for name in _LEAD_FIELDS}
    row.update(account_id=account_id, owner=lead.owner, **lead.attributes)
    row["created_at"] = _utc(row["created_at"])
    return row


def _frame(
    rows: list[dict[str, Any]], table: str, extra: Sequence[str] = ()
) -> pd.DataFrame:
    columns = [c.name for c in TABLES[table].columns] + list(extra)
    return (
        pd.DataFrame.from_records(rows, columns=columns)
        if rows
        else pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    )


def request_tables(body: BaseModel) -> RequestTables:
    """The five canonical tables of a request body (``leads`` is the list of leads).

    Raises
    ------
    RequestError
        When an account id contradicts its nested account, an account is given twice
        with different fields, or an extra attribute takes the name of a lead field.
    """
    leads: Sequence[Any] = body.leads  # type: ignore[attr-defined]
    accounts, account_where, lead_accounts = _account_rows(leads)
    lead_rows, acts, quals = [], [], []
    where: dict[str, list[str]] = {t: [] for t in TABLE_ORDER}
    where["accounts"] = account_where
    for i, (lead, account_id) in enumerate(zip(leads, lead_accounts, strict=True)):
        lead_rows.append(_lead_row(lead, i, account_id))
        where["leads"].append(f"leads[{i}]")
        for j, act in enumerate(lead.activities):
            row = act.model_dump()
            row.update(lead_id=lead.lead_id, occurred_at=_utc(row["occurred_at"]))
            acts.append(row)
            where["activities"].append(f"leads[{i}].activities[{j}]")
        for j, qual in enumerate(lead.qualifications):
            row = qual.model_dump()
            row.update(lead_id=lead.lead_id, recorded_at=_utc(row["recorded_at"]))
            quals.append(row)
            where["qualifications"].append(f"leads[{i}].qualifications[{j}]")
    extras = sorted({name for lead in leads for name in lead.attributes})
    tables = {
        "accounts": _frame(accounts, "accounts"),
        "leads": _frame(lead_rows, "leads", ["owner", *extras]),
        "activities": _frame(acts, "activities"),
        "qualifications": _frame(quals, "qualifications"),
        "outcomes": _frame([], "outcomes"),
    }
    return RequestTables(tables=tables, locations=where)
