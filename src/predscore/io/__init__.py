"""Disk I/O primitives: atomic Parquet writes, streamed writers, hashing."""

from predscore.io.parquet import (
    AtomicParquetWriter,
    atomic_path,
    file_sha256,
    read_parquet,
    write_parquet,
)

__all__ = [
    "AtomicParquetWriter",
    "atomic_path",
    "file_sha256",
    "read_parquet",
    "write_parquet",
]
