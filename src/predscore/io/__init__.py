"""Disk I/O primitives: atomic Parquet and text writes, streamed writers, hashing."""

from predscore.io.parquet import (
    AtomicParquetWriter,
    atomic_path,
    file_sha256,
    folder_hashes,
    read_parquet,
    write_parquet,
)
from predscore.io.text import write_text

__all__ = [
    "AtomicParquetWriter",
    "atomic_path",
    "file_sha256",
    "folder_hashes",
    "read_parquet",
    "write_parquet",
    "write_text",
]
