"""Canonical tables survive the Parquet store unchanged; writes are atomic."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import predscore.io.parquet as parquet_module
from predscore.errors import DataValidationError, OutputError, SchemaError
from predscore.schema import (
    TABLE_ORDER,
    conform,
    empty_table,
    pandera_schema,
    read_raw_tables,
    read_table,
    table_path,
    write_table,
)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _write_all(tables: dict[str, pd.DataFrame], folder: Path) -> None:
    for table in TABLE_ORDER:
        write_table(tables[table], folder, table)


# --- round trip ----------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLE_ORDER)
def test_round_trip_returns_the_canonical_frame(
    canonical_tables: dict[str, pd.DataFrame], tmp_path: Path, table: str
) -> None:
    frame = canonical_tables[table]
    path = write_table(frame, tmp_path, table)
    assert path == table_path(tmp_path, table) == tmp_path / f"{table}.parquet"
    back = read_table(tmp_path, table)
    pd.testing.assert_frame_equal(back, frame)
    pandera_schema(table).validate(back)


@pytest.mark.parametrize("table", TABLE_ORDER)
def test_canonical_frame_is_a_fixed_point_of_conform(
    canonical_tables: dict[str, pd.DataFrame], table: str
) -> None:
    frame = canonical_tables[table]
    pd.testing.assert_frame_equal(conform(frame, table), frame)


def test_round_trip_keeps_each_kind_of_value(
    canonical_tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    _write_all(canonical_tables, tmp_path)
    accounts = read_table(tmp_path, "accounts")
    leads = read_table(tmp_path, "leads")

    assert accounts["created_at"].dtype == "datetime64[us, UTC]"
    assert accounts["created_at"].iloc[2] == pd.Timestamp("2023-06-01T12:34:56.789012Z")
    assert pd.isna(accounts["created_at"].iloc[1])
    assert isinstance(accounts["sector"].dtype, pd.CategoricalDtype)
    assert list(accounts["sector"].cat.categories) == ["fintech", "software_saas"]
    assert accounts["tech_stack"].tolist() == [["aws", "hubspot"], [], None]
    assert accounts["employees"].dtype == "Int64"
    assert accounts["employees"].isna().tolist() == [False, True, False]
    # extra lead attributes are kept with their own types
    assert list(leads.columns[-6:]) == [
        "total_visits",
        "time_on_site_minutes",
        "do_not_email",
        "lead_quality",
        "city",
        "last_seen_at",
    ]
    assert leads["total_visits"].dtype == "Int64"
    assert leads["do_not_email"].dtype == bool
    assert leads["last_seen_at"].dtype == "datetime64[us, UTC]"


def test_stored_arrow_types_are_canonical(
    canonical_tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    schema = pq.read_schema(
        write_table(canonical_tables["accounts"], tmp_path, "accounts")
    )
    assert schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("sector").type == pa.dictionary(pa.int32(), pa.string())
    assert schema.field("tech_stack").type == pa.list_(pa.string())
    assert schema.field("employees").type == pa.int64()
    assert schema.names[0] == "account_id"


def test_conform_fixes_dtypes_of_a_loosely_typed_frame(tmp_path: Path) -> None:
    loose = pd.DataFrame(
        {
            "lead_id": ["L1", "L2"],
            "occurred_at": pd.to_datetime(
                ["2024-01-02T10:00:00Z", "2024-01-03T10:00:00Z"]
            ),
            "channel": ["web", "email"],
            "action": ["view", "open"],
            "quantity": [1, None],
        }
    )  # nanosecond timestamps, no detail column, object categories
    write_table(loose, tmp_path, "activities")
    back = read_table(tmp_path, "activities")
    assert back["occurred_at"].dtype == "datetime64[us, UTC]"
    assert list(back["channel"].cat.categories) == ["email", "web"]
    assert back["detail"].isna().all()
    pandera_schema("activities").validate(back)


def test_columns_a_table_does_not_keep_are_not_stored(
    canonical_tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    frame = canonical_tables["outcomes"].assign(owner_email=["a@x.com", "b@x.com"])
    write_table(frame, tmp_path, "outcomes")
    back = read_table(tmp_path, "outcomes")
    assert "owner_email" not in back.columns
    pd.testing.assert_frame_equal(back, canonical_tables["outcomes"])


@pytest.mark.parametrize("table", TABLE_ORDER)
def test_empty_table_round_trip(tmp_path: Path, table: str) -> None:
    write_table(empty_table(table), tmp_path, table)
    back = read_table(tmp_path, table)
    assert len(back) == 0
    pd.testing.assert_frame_equal(back, empty_table(table))
    pandera_schema(table).validate(back)


# --- atomic writes -------------------------------------------------------------------


def test_failed_conversion_writes_nothing_and_names_the_column(
    canonical_tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    good = canonical_tables["accounts"]
    path = write_table(good, tmp_path, "accounts")
    before = path.read_bytes()
    bad = good.astype({"employees": object})
    bad.loc[1, "employees"] = "many"

    with pytest.raises(SchemaError, match=r"accounts\.parquet: column 'employees'"):
        write_table(bad, tmp_path, "accounts")

    assert _files(tmp_path) == ["accounts.parquet"]  # no temporary file left
    assert path.read_bytes() == before


def test_failed_arrow_conversion_of_an_extra_column_writes_nothing(
    canonical_tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    bad = canonical_tables["leads"].assign(
        mixed=pd.Series([1, "two", 3.0], dtype=object)
    )

    with pytest.raises(SchemaError, match=r"leads\.parquet: column 'mixed'"):
        write_table(bad, tmp_path, "leads")

    assert _files(tmp_path) == []


def test_failure_while_writing_leaves_previous_file_and_no_temporary(
    canonical_tables: dict[str, pd.DataFrame],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_table(canonical_tables["leads"], tmp_path, "leads")
    before = path.read_bytes()

    def write_half_then_fail(table: pa.Table, where: Path, **_: object) -> None:
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(parquet_module.pq, "write_table", write_half_then_fail)
    with pytest.raises(
        OutputError, match=r"leads\.parquet: cannot write \(disk full\)"
    ):
        write_table(canonical_tables["leads"].iloc[:1], tmp_path, "leads")

    assert _files(tmp_path) == ["leads.parquet"]
    assert path.read_bytes() == before


# --- reading a data folder -----------------------------------------------------------


def test_read_raw_tables_returns_the_five_tables_as_stored(
    canonical_tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    _write_all(canonical_tables, tmp_path)
    raw = read_raw_tables(tmp_path)
    assert list(raw) == list(TABLE_ORDER)
    assert {t: len(f) for t, f in raw.items()} == {
        t: len(f) for t, f in canonical_tables.items()
    }


def test_read_raw_tables_names_the_missing_file(
    canonical_tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    _write_all(canonical_tables, tmp_path)
    (tmp_path / "qualifications.parquet").unlink()

    with pytest.raises(SchemaError, match=r"qualifications\.parquet: expected") as info:
        read_raw_tables(tmp_path)

    assert "canonical table 'qualifications'" in str(info.value)
    assert info.value.path == str(tmp_path / "qualifications.parquet")


def test_read_raw_tables_on_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(
        SchemaError, match="expected a data folder, found no such folder"
    ):
        read_raw_tables(tmp_path / "nowhere")


def test_read_table_of_a_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"leads\.parquet: file not found"):
        read_table(tmp_path, "leads")
    (tmp_path / "leads.parquet").write_text("not parquet")
    with pytest.raises(DataValidationError, match="not a readable Parquet file"):
        read_table(tmp_path, "leads")
