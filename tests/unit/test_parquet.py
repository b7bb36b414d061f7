"""Atomic Parquet files: a file appears complete or not at all."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from predscore.errors import DataValidationError
from predscore.io import AtomicParquetWriter, file_sha256, read_parquet, write_parquet

SCHEMA = pa.schema([pa.field("lead_id", pa.string()), pa.field("n", pa.int64())])


def _chunk(ids: list[str]) -> pa.Table:
    return pa.table({"lead_id": ids, "n": list(range(len(ids)))}, schema=SCHEMA)


def test_streamed_file_appears_only_when_complete(tmp_path: Path) -> None:
    path = tmp_path / "out" / "leads.parquet"
    with AtomicParquetWriter(path, SCHEMA) as writer:
        writer.write(_chunk(["L1", "L2"]))
        writer.write(_chunk(["L3"]))
        assert not path.exists()
    assert writer.rows == 3
    assert read_parquet(path)["lead_id"].tolist() == ["L1", "L2", "L3"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["leads.parquet"]


def test_failure_while_streaming_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "leads.parquet"
    with (
        pytest.raises(RuntimeError, match="boom"),
        AtomicParquetWriter(path, SCHEMA) as w,
    ):
        w.write(_chunk(["L1"]))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_a_chunk_of_another_schema_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "leads.parquet"
    other = pa.table({"lead_id": ["L1"]})
    with pytest.raises(ValueError), AtomicParquetWriter(path, SCHEMA) as writer:
        writer.write(other)
    assert list(tmp_path.iterdir()) == []


def test_same_table_gives_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_parquet(_chunk(["L1", "L2"]), first)
    write_parquet(_chunk(["L1", "L2"]), second)
    assert file_sha256(first) == file_sha256(second)
    assert pq.read_table(first).equals(_chunk(["L1", "L2"]))


def test_read_parquet_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"missing\.parquet: file not found"):
        read_parquet(tmp_path / "missing.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(
        DataValidationError, match=r"bad\.parquet: not a readable Parquet"
    ):
        read_parquet(bad)
