"""Validation: structural errors raise, bad rows are rejected with a reason, the rest go on.

Each bad-input class has a scenario (a small change to ``tiny_tables``) and a test that
checks the rejection record (or the error message) *and* that the valid rows are kept.
The invariants at the end run over every scenario.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from predscore.config import ValidationConfig
from predscore.errors import DataValidationError, SchemaError
from predscore.schema import TABLE_ORDER, pandera_schema, write_table
from predscore.schema.validate import (
    REJECTION_COLUMNS,
    ValidationResult,
    load_dataset,
    validate_tables,
)

Tables = dict[str, pd.DataFrame]
AS_OF_TEXT = "2025-01-01T00:00:00+00:00"


def _set(tables: Tables, table: str, row: int, column: str, value: object) -> None:
    """Set one cell, widening the column to ``object`` so any value fits."""
    frame = tables[table].copy()
    if not isinstance(value, pd.Timestamp):
        frame[column] = frame[column].astype(object)
    frame.loc[row, column] = value
    tables[table] = frame


def _append(tables: Tables, table: str, **values: object) -> None:
    tables[table] = pd.concat(
        [tables[table], pd.DataFrame({k: [v] for k, v in values.items()})],
        ignore_index=True,
    )


def _only_rejection(result: ValidationResult, table: str) -> dict[str, object]:
    """The single rejection record of ``table`` (and no rejection elsewhere)."""
    rejections = result.rejections
    assert len(rejections) == 1, rejections.to_string()
    record = rejections.iloc[0].to_dict()
    assert record["table"] == table
    return record


def _kept(result: ValidationResult, table: str, column: str = "lead_id") -> list[str]:
    return result.tables[table][column].tolist()


def _rejected_rows(result: ValidationResult, table: str) -> list[int]:
    rejections = result.rejections
    return rejections.loc[rejections["table"] == table, "row"].tolist()


# --- scenarios: one small change to the tiny tables per bad-input class ---------------


def _duplicate_lead(t: Tables) -> None:
    t["leads"] = pd.concat([t["leads"], t["leads"].iloc[[1]]], ignore_index=True)


def _activity_of_unknown_lead(t: Tables) -> None:
    _set(t, "activities", 2, "lead_id", "L404")


def _lead_rejected(t: Tables) -> None:
    _set(t, "leads", 1, "role", "boss")
    _append(
        t,
        "qualifications",
        lead_id="L2",
        recorded_at=pd.Timestamp("2024-02-03T00:00:00Z"),
        field="need",
        value="yes",
    )


def _activity_after_as_of(t: Tables) -> None:
    _set(t, "activities", 2, "occurred_at", pd.Timestamp("2025-01-01T00:00:01Z"))
    _set(t, "activities", 3, "occurred_at", pd.Timestamp("2025-01-01T00:00:00Z"))


def _activity_before_creation(t: Tables) -> None:
    # L2 is created on 2024-02-01T09:00Z: one day earlier
    _set(t, "activities", 2, "occurred_at", pd.Timestamp("2024-01-31T09:00:00Z"))


def _qualification_before_creation(t: Tables) -> None:
    _set(t, "qualifications", 2, "recorded_at", pd.Timestamp("2024-02-29T09:00:00Z"))


def _outcome_pending(t: Tables) -> None:
    _set(t, "outcomes", 1, "outcome", "pending")


def _close_before_creation(t: Tables) -> None:
    _set(t, "outcomes", 1, "closed_at", pd.Timestamp("2024-01-15T00:00:00Z"))


def _unknown_account(t: Tables) -> None:
    _set(t, "leads", 0, "account_id", "A404")


def _negative_quantity(t: Tables) -> None:
    _set(t, "activities", 1, "quantity", -45.0)


def _bad_integer(t: Tables) -> None:
    _set(t, "accounts", 1, "employees", "many")


def _bad_timestamp(t: Tables) -> None:
    _set(t, "activities", 1, "occurred_at", "yesterday")


def _bad_flag(t: Tables) -> None:
    _set(t, "qualifications", 0, "value", "perhaps")


def _extra_columns(t: Tables) -> None:
    t["leads"] = t["leads"].assign(
        total_visits=[3, None, 1], newsletter=[True, False, True]
    )
    t["activities"] = t["activities"].assign(campaign_id=["c1", "c2", "c3", "c4"])


def _text_only(t: Tables) -> None:
    def to_text(cell: object) -> object:
        if isinstance(cell, list):
            return ",".join(cell)
        return None if pd.isna(cell) else str(cell)

    for name, frame in t.items():
        t[name] = frame.astype(object).map(to_text)


SCENARIOS: dict[str, Callable[[Tables], None]] = {
    "valid": lambda t: None,
    "duplicate lead": _duplicate_lead,
    "activity of unknown lead": _activity_of_unknown_lead,
    "rows of a rejected lead": _lead_rejected,
    "activity after as_of": _activity_after_as_of,
    "activity before creation": _activity_before_creation,
    "qualification before creation": _qualification_before_creation,
    "outcome pending": _outcome_pending,
    "close before creation": _close_before_creation,
    "unknown account": _unknown_account,
    "negative quantity": _negative_quantity,
    "bad integer": _bad_integer,
    "bad timestamp": _bad_timestamp,
    "bad flag": _bad_flag,
    "extra columns": _extra_columns,
    "text only": _text_only,
}


def _run(
    tables: Tables,
    scenario: str,
    as_of: pd.Timestamp,
    config: ValidationConfig | None = None,
) -> ValidationResult:
    SCENARIOS[scenario](tables)
    return validate_tables(tables, as_of, config)


# --- the valid case ------------------------------------------------------------------


def test_valid_tables_are_kept_whole(tiny_tables: Tables, as_of: pd.Timestamp) -> None:
    result = validate_tables(tiny_tables, as_of)

    assert result.rejections.empty
    assert list(result.rejections.columns) == list(REJECTION_COLUMNS)
    assert result.summary.to_dict("list") == {
        "table": list(TABLE_ORDER),
        "rows_in": [2, 3, 4, 3, 2],
        "kept": [2, 3, 4, 3, 2],
        "rejected": [0, 0, 0, 0, 0],
    }
    assert result.rejected_lead_ids == set()
    assert result.tables["activities"]["occurred_at"].dtype == "datetime64[us, UTC]"


def test_load_dataset_returns_what_was_written(
    canonical_tables: Tables, tmp_path: Path
) -> None:
    for table in TABLE_ORDER:
        write_table(canonical_tables[table], tmp_path, table)

    result = load_dataset(tmp_path, pd.Timestamp("2025-01-01T00:00:00Z"))

    assert result.rejections.empty
    for table in TABLE_ORDER:
        pd.testing.assert_frame_equal(result.tables[table], canonical_tables[table])


def test_as_of_is_required_and_naive_means_utc(
    tiny_tables: Tables, as_of: pd.Timestamp
) -> None:
    with pytest.raises(DataValidationError, match="as_of: expected a timestamp"):
        validate_tables(tiny_tables, pd.NaT)
    _set(tiny_tables, "activities", 3, "occurred_at", as_of + pd.Timedelta(seconds=1))
    result = validate_tables(tiny_tables, pd.Timestamp("2025-01-01 00:00:00"))
    assert _rejected_rows(result, "activities") == [3]


# --- structural problems: SchemaError, nothing goes on --------------------------------


def test_missing_table(tiny_tables: Tables, as_of: pd.Timestamp) -> None:
    del tiny_tables["outcomes"]
    with pytest.raises(SchemaError, match="^outcomes: expected table 'outcomes'"):
        validate_tables(tiny_tables, as_of)


def test_missing_table_file_is_named_by_load_dataset(
    canonical_tables: Tables, tmp_path: Path
) -> None:
    for table in ("accounts", "leads", "activities", "outcomes"):
        write_table(canonical_tables[table], tmp_path, table)
    with pytest.raises(SchemaError, match=r"qualifications\.parquet: expected"):
        load_dataset(tmp_path, pd.Timestamp("2025-01-01T00:00:00Z"))


def test_missing_required_column_names_the_column(
    tiny_tables: Tables, as_of: pd.Timestamp
) -> None:
    tiny_tables["activities"] = tiny_tables["activities"].drop(columns="channel")
    paths = {t: f"crm/{t}.parquet" for t in TABLE_ORDER}
    with pytest.raises(
        SchemaError,
        match=r"^crm/activities\.parquet: column 'channel': expected required column "
        r"'channel' \(text \(categorical\)\), found columns lead_id, occurred_at, action",
    ) as info:
        validate_tables(tiny_tables, as_of, paths=paths)
    assert info.value.column == "channel"


def test_missing_required_column_in_a_file_names_the_file(
    canonical_tables: Tables, tmp_path: Path
) -> None:
    for table in TABLE_ORDER:
        write_table(canonical_tables[table], tmp_path, table)
    leads = pq.read_table(tmp_path / "leads.parquet").drop_columns(["created_at"])
    pq.write_table(leads, tmp_path / "leads.parquet")

    with pytest.raises(SchemaError, match=r"leads\.parquet: column 'created_at'"):
        load_dataset(tmp_path, pd.Timestamp("2025-01-01T00:00:00Z"))


@pytest.mark.parametrize(
    ("table", "column", "values", "message"),
    [
        (
            "activities",
            "occurred_at",
            [True, False, True, False],
            r"column 'occurred_at': expected a timestamp \(UTC\), found boolean \(bool\)",
        ),
        (
            "leads",
            "created_at",
            [1704099600, 1706778000, 1709283600],
            r"column 'created_at': expected a timestamp \(UTC\), found number \(int64\)",
        ),
        (
            "accounts",
            "employees",
            [pd.Timestamp("2024-01-01T00:00:00Z")] * 2,
            r"column 'employees': expected an integer, found timestamp",
        ),
        (
            "outcomes",
            "amount",
            [pd.Timestamp("2024-01-01T00:00:00Z")] * 2,
            r"column 'amount': expected a number, found timestamp",
        ),
        (
            "leads",
            "lead_id",
            [True, False, True],
            r"column 'lead_id': expected an identifier \(text\), found boolean",
        ),
    ],
)
def test_wrong_column_type(
    tiny_tables: Tables,
    as_of: pd.Timestamp,
    table: str,
    column: str,
    values: list[object],
    message: str,
) -> None:
    tiny_tables[table] = tiny_tables[table].assign(**{column: values})
    with pytest.raises(SchemaError, match=f"^{table}: {message}"):
        validate_tables(tiny_tables, as_of)


# --- row-level problems: one rejection record, the valid rows go on -------------------


def test_duplicate_lead_id(tiny_tables: Tables, as_of: pd.Timestamp) -> None:
    result = _run(tiny_tables, "duplicate lead", as_of)

    assert _only_rejection(result, "leads") == {
        "lead_id": "L2",
        "table": "leads",
        "row": 3,
        "column": "lead_id",
        "reason": "duplicate lead_id (first seen at row 1)",
    }
    assert _kept(result, "leads") == ["L1", "L2", "L3"]
    assert _kept(result, "activities") == ["L1", "L1", "L2", "L3"]


def test_duplicate_outcome_keeps_the_first(
    tiny_tables: Tables, as_of: pd.Timestamp
) -> None:
    _append(
        tiny_tables,
        "outcomes",
        lead_id="L1",
        closed_at=pd.Timestamp("2024-06-01T00:00:00Z"),
        outcome="lost",
    )
    result = validate_tables(tiny_tables, as_of)

    record = _only_rejection(result, "outcomes")
    assert (record["row"], record["column"]) == (2, "lead_id")
    assert record["reason"] == "duplicate lead_id (first seen at row 0)"
    assert result.tables["outcomes"]["outcome"].tolist() == ["won", "lost"]


def test_activity_of_unknown_lead(tiny_tables: Tables, as_of: pd.Timestamp) -> None:
    result = _run(tiny_tables, "activity of unknown lead", as_of)

    assert _only_rejection(result, "activities") == {
        "lead_id": "L404",
        "table": "activities",
        "row": 2,
        "column": "lead_id",
        "reason": "unknown lead_id: no such row in leads",
    }
    assert _kept(result, "activities") == ["L1", "L1", "L3"]


def test_rows_of_a_rejected_lead_are_rejected_in_turn(
    tiny_tables: Tables, as_of: pd.Timestamp
) -> None:
    result = _run(tiny_tables, "rows of a rejected lead", as_of)

    rejections = result.rejections.set_index("table")
    assert rejections.loc["leads", "reason"] == (
        "'boss' in column 'role' is not one of "
        "['decision_maker', 'influencer', 'user', 'unknown']"
    )
    for table, row in [("activities", 2), ("qualifications", 3), ("outcomes", 1)]:
        record = rejections.loc[table]
        assert (record["lead_id"], record["row"], record["column"]) == (
            "L2",
            row,
            "lead_id",
        )
        assert record["reason"] == "lead_id rejected in leads (row 1)"
    assert len(result.rejections) == 4
    assert result.rejected_lead_ids == {"L2"}
    assert _kept(result, "leads") == ["L1", "L3"]
    assert _kept(result, "activities") == ["L1", "L1", "L3"]
    assert _kept(result, "qualifications") == ["L1", "L1", "L3"]
    assert _kept(result, "outcomes") == ["L1"]


def test_timestamp_after_as_of_is_rejected_but_at_as_of_is_kept(
    tiny_tables: Tables, as_of: pd.Timestamp
) -> None:
    result = _run(tiny_tables, "activity after as_of", as_of)

    assert _only_rejection(result, "activities") == {
        "lead_id": "L2",
        "table": "activities",
        "row": 2,
        "column": "occurred_at",
        "reason": f"occurred_at is after the as-of time {AS_OF_TEXT}",
    }
    kept = result.tables["activities"]
    assert kept["occurred_at"].max() == as_of
    assert _kept(result, "activities") == ["L1", "L1", "L3"]


@pytest.mark.parametrize(
    ("table", "row", "column", "lead_id"),
    [
        ("leads", 2, "created_at", "L3"),
        ("qualifications", 0, "recorded_at", "L1"),
        ("outcomes", 0, "closed_at", "L1"),
    ],
)
def test_future_timestamps_of_every_event_table(
    tiny_tables: Tables,
    as_of: pd.Timestamp,
    table: str,
    row: int,
    column: str,
    lead_id: str,
) -> None:
    _set(tiny_tables, table, row, column, as_of + pd.Timedelta(days=1))
    result = validate_tables(tiny_tables, as_of)

    record = result.rejections.iloc[0].to_dict()
    assert record == {
        "lead_id": lead_id,
        "table": table,
        "row": row,
        "column": column,
        "reason": f"{column} is after the as-of time {AS_OF_TEXT}",
    }
    assert result.summary.set_index("table").loc[table, "rejected"] == 1


@pytest.mark.parametrize(
    ("tolerance_days", "rejected"), [(0.0, True), (0.5, True), (1.0, False)]
)
def test_activity_before_lead_creation_and_tolerance(
    tiny_tables: Tables, as_of: pd.Timestamp, tolerance_days: float, rejected: bool
) -> None:
    config = ValidationConfig(activity_before_creation_tolerance_days=tolerance_days)
    result = _run(tiny_tables, "activity before creation", as_of, config)

    if rejected:
        assert _only_rejection(result, "activities") == {
            "lead_id": "L2",
            "table": "activities",
            "row": 2,
            "column": "occurred_at",
            "reason": "occurred_at is before the lead's created_at",
        }
        assert _kept(result, "activities") == ["L1", "L1", "L3"]
    else:
        assert result.rejections.empty
        assert _kept(result, "activities") == ["L1", "L1", "L2", "L3"]


def test_activity_tolerance_does_not_apply_to_qualifications(
    tiny_tables: Tables, as_of: pd.Timestamp
) -> None:
    config = ValidationConfig(activity_before_creation_tolerance_days=30)
    result = _run(tiny_tables, "qualification before creation", as_of, config)

    record = _only_rejection(result, "qualifications")
    assert (record["lead_id"], record["row"], record["column"]) == (
        "L3",
        2,
        "recorded_at",
    )
    assert record["reason"] == "recorded_at is before the lead's created_at"
    assert _kept(result, "qualifications") == ["L1", "L1"]


def test_outcome_other_than_won_or_lost(
    tiny_tables: Tables, as_of: pd.Timestamp
) -> None:
    result = _run(tiny_tables, "outcome pending", as_of)

    assert _only_rejection(result, "outcomes") == {
        "lead_id": "L2",
        "table": "outcomes",
        "row": 1,
        "column": "outcome",
        "reason": "'pending' in column 'outcome' is not one of ['won', 'lost']",
    }
    assert _kept(result, "outcomes") == ["L1"]
    assert _kept(result, "leads") == ["L1", "L2", "L3"]  # L2 is simply open


def test_close_date_before_creation(tiny_tables: Tables, as_of: pd.Timestamp) -> None:
    result = _run(tiny_tables, "close before creation", as_of)

    assert _only_rejection(result, "outcomes") == {
        "lead_id": "L2",
        "table": "outcomes",
        "row": 1,
        "column": "closed_at",
        "reason": "closed_at is before the lead's created_at",
    }
    assert _kept(result, "outcomes") == ["L1"]


@pytest.mark.parametrize(
    ("table", "row", "column", "value", "reason"),
    [
        (
            "activities",
            1,
            "occurred_at",
            "yesterday",
            "'yesterday' (expected a timestamp",
        ),
        (
            "activities",
            1,
            "occurred_at",
            "2024-13-45",
            "'2024-13-45' (expected a timestamp",
        ),
        ("activities", 1, "quantity", "lots", "'lots' (expected a number)"),
        ("activities", 1, "quantity", "inf", "'inf' (expected a number)"),
        ("outcomes", 0, "amount", "12,5", "'12,5' (expected a number)"),
        ("qualifications", 0, "value", "perhaps", "'perhaps' for flag field 'budget'"),
        (
            "qualifications",
            1,
            "value",
            "soon",
            "'soon' for number field 'timeline_months'",
        ),
    ],
)
def test_unparseable_value(
    tiny_tables: Tables,
    as_of: pd.Timestamp,
    table: str,
    row: int,
    column: str,
    value: str,
    reason: str,
) -> None:
    _set(tiny_tables, table, row, column, value)
    result = validate_tables(tiny_tables, as_of)

    record = _only_rejection(result, table)
    assert (record["lead_id"], record["row"], record["column"]) == ("L1", row, column)
    assert record["reason"].startswith(f"unparseable value {reason}")
    assert len(result.tables[table]) == len(tiny_tables[table]) - 1


def test_unparseable_flag_reason_lists_the_accepted_values(
    tiny_tables: Tables, as_of: pd.Timestamp
) -> None:
    result = _run(tiny_tables, "bad flag", as_of)
    assert _only_rejection(result, "qualifications")["reason"] == (
        "unparseable value 'perhaps' for flag field 'budget' (expected yes, no or unknown)"
    )
    assert result.tables["qualifications"]["value"].tolist() == ["3", "no"]


@pytest.mark.parametrize(("value", "shown"), [("many", "many"), (12.5, "12.5")])
def test_bad_integer_rejects_the_account_and_its_leads(
    tiny_tables: Tables, as_of: pd.Timestamp, value: object, shown: str
) -> None:
    _set(tiny_tables, "accounts", 1, "employees", value)
    result = validate_tables(tiny_tables, as_of)

    accounts = result.rejections[result.rejections["table"] == "accounts"]
    assert accounts[["row", "column", "reason"]].to_dict("records") == [
        {
            "row": 1,
            "column": "employees",
            "reason": f"unparseable value '{shown}' (expected an integer)",
        }
    ]
    assert accounts["lead_id"].isna().all()  # an account row has no lead
    assert _kept(result, "accounts", "account_id") == ["A1"]
    # the lead of that account goes too, with the reason pointing at the account row
    leads = result.rejections[result.rejections["table"] == "leads"]
    assert leads[["lead_id", "row", "column", "reason"]].to_dict("records") == [
        {
            "lead_id": "L2",
            "row": 1,
            "column": "account_id",
            "reason": "account_id rejected in accounts (row 1)",
        }
    ]
    assert _kept(result, "leads") == ["L1", "L3"]


def test_unknown_account_id(tiny_tables: Tables, as_of: pd.Timestamp) -> None:
    result = _run(tiny_tables, "unknown account", as_of)

    leads = result.rejections[result.rejections["table"] == "leads"]
    assert leads.to_dict("records") == [
        {
            "lead_id": "L1",
            "table": "leads",
            "row": 0,
            "column": "account_id",
            "reason": "unknown account_id: no such row in accounts",
        }
    ]
    assert _kept(result, "leads") == ["L2", "L3"]  # L3 has no account at all: fine
    assert _rejected_rows(result, "activities") == [0, 1]  # L1's, in turn
    assert _kept(result, "activities") == ["L2", "L3"]


@pytest.mark.parametrize(
    ("table", "row", "column", "value", "shown", "lead_id"),
    [
        ("activities", 1, "quantity", -45.0, "-45.0", "L1"),
        ("outcomes", 0, "amount", -1, "-1", "L1"),
        ("accounts", 0, "annual_revenue", "-5e6", "-5e6", None),
        ("accounts", 0, "employees", -3, "-3", None),
    ],
)
def test_negative_numbers(
    tiny_tables: Tables,
    as_of: pd.Timestamp,
    table: str,
    row: int,
    column: str,
    value: object,
    shown: str,
    lead_id: str | None,
) -> None:
    _set(tiny_tables, table, row, column, value)
    result = validate_tables(tiny_tables, as_of)

    records = result.rejections[result.rejections["table"] == table]
    assert len(records) == 1
    record = records.iloc[0].to_dict()
    assert (record["row"], record["column"]) == (row, column)
    assert record["lead_id"] == lead_id if lead_id else pd.isna(record["lead_id"])
    assert (
        record["reason"]
        == f"'{shown}' in column '{column}' is not a non-negative number"
    )
    assert len(result.tables[table]) == len(tiny_tables[table]) - 1


@pytest.mark.parametrize(
    ("table", "row", "column", "value"),
    [
        ("activities", 0, "channel", None),
        ("activities", 0, "action", "   "),
        ("qualifications", 1, "value", None),  # a number field with no number
        ("outcomes", 0, "closed_at", None),
    ],
)
def test_missing_required_value(
    tiny_tables: Tables,
    as_of: pd.Timestamp,
    table: str,
    row: int,
    column: str,
    value: object,
) -> None:
    _set(tiny_tables, table, row, column, value)
    result = validate_tables(tiny_tables, as_of)

    record = _only_rejection(result, table)
    assert (record["lead_id"], record["row"], record["column"]) == ("L1", row, column)
    assert record["reason"] == f"missing value in required column '{column}'"
    assert len(result.tables[table]) == len(tiny_tables[table]) - 1


def test_value_outside_a_closed_vocabulary(
    tiny_tables: Tables, as_of: pd.Timestamp
) -> None:
    _set(tiny_tables, "activities", 3, "channel", "carrier_pigeon")
    result = validate_tables(tiny_tables, as_of)

    record = _only_rejection(result, "activities")
    assert (record["lead_id"], record["row"], record["column"]) == ("L3", 3, "channel")
    assert record["reason"].startswith(
        "'carrier_pigeon' in column 'channel' is not one of ['email', 'webinar'"
    )
    assert _kept(result, "activities") == ["L1", "L1", "L2"]


def test_only_the_first_problem_of_a_row_is_reported(
    tiny_tables: Tables, as_of: pd.Timestamp
) -> None:
    _set(tiny_tables, "activities", 1, "lead_id", "L404")
    _set(tiny_tables, "activities", 1, "channel", "carrier_pigeon")
    _set(tiny_tables, "activities", 1, "occurred_at", "yesterday")
    result = validate_tables(tiny_tables, as_of)

    record = _only_rejection(result, "activities")
    assert (record["row"], record["column"]) == (1, "occurred_at")


# --- what valid rows become -----------------------------------------------------------


def test_qualification_answers_are_normalised(
    tiny_tables: Tables, as_of: pd.Timestamp
) -> None:
    answers = [
        ("budget", " Y "),
        ("authority", "TRUE"),
        ("need", "0"),
        ("champion", "Unknown"),
        ("timeline_months", "3.0"),
        ("budget_amount", "1234567.89"),
        ("favourite_vendor", "Acme, then Beta"),  # not a known field: kept as text
    ]
    tiny_tables["qualifications"] = pd.DataFrame(
        {
            "lead_id": "L1",
            "recorded_at": pd.Timestamp("2024-01-05T00:00:00Z"),
            "field": [f for f, _ in answers],
            "value": [v for _, v in answers],
        }
    )
    result = validate_tables(tiny_tables, as_of)

    assert result.rejections.empty
    assert result.tables["qualifications"]["value"].tolist() == [
        "yes",
        "yes",
        "no",
        "unknown",
        "3",
        "1234567.89",
        "Acme, then Beta",
    ]


def test_text_input_is_parsed(tiny_tables: Tables, as_of: pd.Timestamp) -> None:
    typed = validate_tables(copy.deepcopy(tiny_tables), as_of)
    result = _run(tiny_tables, "text only", as_of)

    assert result.rejections.empty
    for table in TABLE_ORDER:
        pd.testing.assert_frame_equal(result.tables[table], typed.tables[table])


def test_timestamps_are_normalised_to_utc(
    tiny_tables: Tables, as_of: pd.Timestamp
) -> None:
    occurred = ["2024-01-02T12:00:00+02:00", "2024-01-03 11:30", None, None]
    tiny_tables["activities"] = tiny_tables["activities"].assign(occurred_at=occurred)
    naive = tiny_tables["outcomes"]["closed_at"].dt.tz_localize(None)
    tiny_tables["outcomes"] = tiny_tables["outcomes"].assign(closed_at=naive)
    result = validate_tables(tiny_tables, as_of)

    assert result.tables["activities"]["occurred_at"].tolist() == [
        pd.Timestamp("2024-01-02T10:00:00Z"),
        pd.Timestamp("2024-01-03T11:30:00Z"),
    ]
    assert result.tables["outcomes"]["closed_at"].iloc[0] == pd.Timestamp(
        "2024-04-01T15:00:00Z"
    )


def test_numeric_ids_match_across_tables(
    tiny_tables: Tables, as_of: pd.Timestamp
) -> None:
    tiny_tables["leads"] = tiny_tables["leads"].assign(lead_id=[101, 102, 103])
    # a missing id turns a CSV column of integers into floats
    acts = tiny_tables["activities"].assign(lead_id=[101.0, 101.0, 102.0, None])
    tiny_tables["activities"] = acts
    tiny_tables["qualifications"] = tiny_tables["qualifications"].assign(
        lead_id=[101, 101, 103]
    )
    tiny_tables["outcomes"] = tiny_tables["outcomes"].assign(lead_id=[" 101 ", "102"])
    result = validate_tables(tiny_tables, as_of)

    record = _only_rejection(result, "activities")
    assert pd.isna(record["lead_id"])
    assert record["reason"] == "missing value in required column 'lead_id'"
    assert _kept(result, "activities") == ["101", "101", "102"]
    assert _kept(result, "outcomes") == ["101", "102"]


def test_extra_columns_kept_in_leads_dropped_elsewhere(
    tiny_tables: Tables, as_of: pd.Timestamp, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="predscore.schema.validate"):
        result = _run(tiny_tables, "extra columns", as_of)

    assert result.rejections.empty
    leads = result.tables["leads"]
    assert list(leads.columns[-2:]) == ["total_visits", "newsletter"]
    assert leads["newsletter"].tolist() == [True, False, True]
    assert "campaign_id" not in result.tables["activities"].columns
    assert "not in the canonical 'activities' table dropped: campaign_id" in caplog.text


# --- invariants over every scenario ----------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_invariants(tiny_tables: Tables, as_of: pd.Timestamp, scenario: str) -> None:
    """Every row kept or rejected once; outputs match the schema; inputs untouched."""
    SCENARIOS[scenario](tiny_tables)
    before = copy.deepcopy(tiny_tables)

    result = validate_tables(tiny_tables, as_of)

    summary = result.summary.set_index("table")
    per_table = result.rejections.groupby("table").size()
    assert list(summary.index) == list(TABLE_ORDER)
    assert not result.rejections.duplicated(["table", "row"]).any()
    for table in TABLE_ORDER:
        counts = summary.loc[table]
        assert counts["rows_in"] == len(tiny_tables[table])
        assert counts["rows_in"] == counts["kept"] + counts["rejected"]
        assert counts["kept"] == len(result.tables[table])
        assert counts["rejected"] == per_table.get(table, 0)
        pandera_schema(table).validate(result.tables[table])
        pd.testing.assert_frame_equal(tiny_tables[table], before[table])
    assert list(tiny_tables) == list(before)
    assert all(isinstance(reason, str) for reason in result.rejections["reason"])


def test_rejections_have_stable_dtypes(
    tiny_tables: Tables, as_of: pd.Timestamp
) -> None:
    empty = validate_tables(copy.deepcopy(tiny_tables), as_of).rejections
    some = _run(tiny_tables, "rows of a rejected lead", as_of).rejections

    assert dict(empty.dtypes) == dict(some.dtypes)
    assert some["row"].dtype == "int64"
    table = pa.Table.from_pandas(some, preserve_index=False)
    lead_type = table.schema.field("lead_id").type
    assert pa.types.is_string(lead_type) or pa.types.is_large_string(lead_type)


def test_action_must_belong_to_its_channel(
    tiny_tables: dict[str, pd.DataFrame], as_of: pd.Timestamp
) -> None:
    acts = tiny_tables["activities"].copy()
    acts.loc[0, ["channel", "action"]] = ["web", "attend"]
    result = validate_tables({**tiny_tables, "activities": acts}, as_of)
    rejected = result.rejections[result.rejections["table"] == "activities"]
    assert rejected["row"].tolist() == [0]
    assert rejected["column"].tolist() == ["action"]
    assert "does not belong to channel 'web'" in rejected["reason"].iloc[0]
    assert len(result.tables["activities"]) == len(acts) - 1


def test_negative_number_answer_is_rejected(
    tiny_tables: dict[str, pd.DataFrame], as_of: pd.Timestamp
) -> None:
    quals = tiny_tables["qualifications"].copy()
    row = quals.index[quals["field"] == "timeline_months"][0]
    quals.loc[row, "value"] = "-3"
    result = validate_tables({**tiny_tables, "qualifications": quals}, as_of)
    rejected = result.rejections[result.rejections["table"] == "qualifications"]
    assert rejected["row"].tolist() == [row]
    assert "negative value '-3'" in rejected["reason"].iloc[0]


def test_a_year_one_timestamp_is_judged_not_a_crash(
    golden_raw_tables: dict[str, pd.DataFrame], golden_as_of: pd.Timestamp
) -> None:
    """Found by fuzzing: a date at the edge of the calendar, shifted by its offset
    before year 1, broke the creation-time comparison (nanosecond overflow)."""
    raw = {t: frame.astype(object) for t, frame in golden_raw_tables.items()}
    raw["leads"].loc[0, "created_at"] = "0001-01-01T00:00:00+01:00"
    result = validate_tables(raw, golden_as_of)
    summary = result.summary.set_index("table")
    assert (summary["rows_in"] == summary["kept"] + summary["rejected"]).all()
