"""The hand-written golden CRM export validates to exactly the expected result.

Why each row exists is told in ``tests/data/golden/README.md``; change the CSV files,
that page and the expectations below together.
"""

from __future__ import annotations

import pandas as pd
import pytest

from predscore.schema import TABLE_ORDER, pandera_schema
from predscore.schema.validate import ValidationResult, validate_tables

EXPECTED_SUMMARY = {
    "table": list(TABLE_ORDER),
    "rows_in": [6, 12, 15, 11, 6],
    "kept": [4, 6, 7, 7, 2],
    "rejected": [2, 6, 8, 4, 4],
}

# (table, row, column, lead_id, start of the reason), in table order then row order
EXPECTED_REJECTIONS = [
    ("accounts", 4, "employees", None, "'-12' in column 'employees' is not a non-neg"),
    ("accounts", 5, "account_id", None, "duplicate account_id (first seen at row 1)"),
    ("leads", 5, "lead_id", "L03", "duplicate lead_id (first seen at row 2)"),
    ("leads", 6, "role", "L07", "'boss' in column 'role' is not one of"),
    ("leads", 7, "account_id", "L08", "unknown account_id: no such row in accounts"),
    ("leads", 8, "account_id", "L09", "account_id rejected in accounts (row 4)"),
    ("leads", 9, "created_at", "L10", "created_at is after the as-of time"),
    ("leads", 10, "created_at", "L11", "unparseable value 'not a date'"),
    ("activities", 5, "occurred_at", "L03", "occurred_at is after the as-of time"),
    ("activities", 6, "occurred_at", "L03", "occurred_at is before the lead's"),
    ("activities", 8, "lead_id", "L07", "lead_id rejected in leads (row 6)"),
    ("activities", 9, "lead_id", "L99", "unknown lead_id: no such row in leads"),
    ("activities", 10, "channel", "L01", "'carrier_pigeon' in column 'channel'"),
    ("activities", 11, "quantity", "L02", "'-5' in column 'quantity' is not a non-neg"),
    ("activities", 12, "occurred_at", "L02", "unparseable value 'yesterday'"),
    ("activities", 14, "action", "L01", "missing value in required column 'action'"),
    ("qualifications", 4, "value", "L02", "unparseable value 'maybe' for flag field"),
    ("qualifications", 5, "value", "L02", "unparseable value 'Q3' for number field"),
    ("qualifications", 8, "lead_id", "L10", "lead_id rejected in leads (row 9)"),
    ("qualifications", 9, "recorded_at", "L12", "recorded_at is before the lead's"),
    ("outcomes", 2, "outcome", "L05", "'pending' in column 'outcome' is not one of"),
    ("outcomes", 3, "closed_at", "L12", "closed_at is before the lead's created_at"),
    ("outcomes", 4, "lead_id", "L01", "duplicate lead_id (first seen at row 0)"),
    ("outcomes", 5, "closed_at", "L04", "closed_at is after the as-of time"),
]


@pytest.fixture
def golden_result(
    golden_raw_tables: dict[str, pd.DataFrame], golden_as_of: pd.Timestamp
) -> ValidationResult:
    return validate_tables(golden_raw_tables, golden_as_of)


def test_golden_summary_counts(golden_result: ValidationResult) -> None:
    assert golden_result.summary.to_dict("list") == EXPECTED_SUMMARY


def test_golden_rejections(golden_result: ValidationResult) -> None:
    order = {t: i for i, t in enumerate(TABLE_ORDER)}
    found = sorted(
        (
            (
                r.table,
                r.row,
                r.column,
                None if pd.isna(r.lead_id) else r.lead_id,
                r.reason,
            )
            for r in golden_result.rejections.itertuples()
        ),
        key=lambda rec: (order[rec[0]], rec[1]),
    )
    assert [rec[:4] for rec in found] == [exp[:4] for exp in EXPECTED_REJECTIONS]
    for rec, exp in zip(found, EXPECTED_REJECTIONS, strict=True):
        assert rec[4].startswith(exp[4]), (rec, exp)


def test_golden_kept_rows(golden_result: ValidationResult) -> None:
    tables = golden_result.tables
    for table in TABLE_ORDER:
        pandera_schema(table).validate(tables[table])
    assert tables["leads"]["lead_id"].tolist() == [
        "L01",
        "L02",
        "L03",
        "L04",
        "L05",
        "L12",
    ]
    # open at as_of: no kept outcome (L03, L04 closed later, L05 pending, L12 bad close)
    assert tables["outcomes"]["lead_id"].tolist() == ["L01", "L02"]
    # L04 is the lead with no activity
    assert "L04" not in set(tables["activities"]["lead_id"])


def test_golden_edge_values(
    golden_result: ValidationResult, golden_as_of: pd.Timestamp
) -> None:
    tables = golden_result.tables
    accounts = tables["accounts"].set_index("account_id")
    assert pd.isna(accounts.loc["A03", "sector"])  # null sector stays null
    assert accounts.loc["A04", "sector"] == "space_biotech"  # unknown category kept
    assert accounts.loc["A04", "country"] == "NA"  # Namibia, not a missing value
    assert accounts.loc["A01", "tech_stack"] == ["salesforce", "aws"]
    assert accounts.loc["A03", "tech_stack"] is None

    activities = tables["activities"]
    assert activities["occurred_at"].max() == golden_as_of  # exactly at as_of: kept
    l12 = activities[activities["lead_id"] == "L12"]["occurred_at"]
    assert l12.tolist() == [pd.Timestamp("2025-01-15T09:00:00Z")]

    leads = tables["leads"].set_index("lead_id")
    assert leads.loc["L12", "created_at"] == pd.Timestamp("2024-12-01T09:00:00Z")
    assert leads.loc["L05", "source"] == "podcast"
    assert leads["email_opt_out"].tolist()[:2] == ["no", "no"]  # extra column kept

    values = tables["qualifications"]["value"].tolist()
    assert values == [
        "yes",
        "yes",
        "3",
        "125000.5",
        "Salesforce, HubSpot",
        "Acme",
        "yes",
    ]
