"""Parquet files written atomically, read as-is.

Stage: the disk edge of the flow. Writers go to a temporary name in the target folder
and rename into place only when complete, so a killed run never leaves a half-written
file; readers return the stored columns with no cleaning (schema conformance is the job
of :mod:`predscore.schema`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from predscore.errors import DataValidationError, OutputError

__all__ = [
    "AtomicParquetWriter",
    "atomic_path",
    "file_sha256",
    "read_parquet",
    "write_parquet",
]

# Fixed writer options: same data ⇒ same bytes (no timestamps are stored by pyarrow).
_WRITE_OPTIONS = {"compression": "zstd", "version": "2.6"}


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; rename it to ``path`` on success only.

    Raises
    ------
    OutputError
        Naming ``path``, when the folder cannot be created or the file cannot be
        written (a full disk, no permission); the temporary file is removed.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{path.parent}: cannot create the folder ({_reason(exc)})"
        ) from exc
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({_reason(exc)})") from exc
    finally:
        if tmp.exists():
            tmp.unlink()


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write an Arrow table to ``path`` atomically."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **_WRITE_OPTIONS)


class AtomicParquetWriter:
    """Stream record batches into one Parquet file that appears only when complete.

    Use as a context manager; on an exception the partial file is removed.
    """

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.rows = 0
        self._ctx = atomic_path(path)
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> AtomicParquetWriter:
        tmp = self._ctx.__enter__()
        try:
            self._writer = pq.ParquetWriter(tmp, self.schema, **_WRITE_OPTIONS)
        except BaseException as exc:
            # the temporary file may exist already: let atomic_path remove it
            self._ctx.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def write(self, table: pa.Table) -> None:
        """Append a table whose schema equals the writer's."""
        assert self._writer is not None, "use AtomicParquetWriter as a context manager"
        self._writer.write_table(table)
        self.rows += table.num_rows

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._writer is not None
        try:
            self._writer.close()
        except BaseException as close_exc:
            # a file that cannot be finished must not be renamed into place
            if exc_type is None:
                exc_type, exc, tb = type(close_exc), close_exc, close_exc.__traceback__
            self._ctx.__exit__(exc_type, exc, tb)
            raise
        self._ctx.__exit__(exc_type, exc, tb)


def read_parquet(
    path: Path,
    columns: list[str] | None = None,
    filters: list[tuple[str, str, object]] | None = None,
) -> pd.DataFrame:
    """Read a Parquet file as stored; a clear error if it is missing or unreadable.

    ``filters`` (pyarrow's ``[(column, op, value)]``, all must hold) select rows while
    reading, skipping the row groups whose statistics exclude them: one lead's events
    out of a large table without loading it.
    """
    if not path.exists():
        raise DataValidationError(f"{path}: file not found")
    try:
        return pq.read_table(path, columns=columns, filters=filters).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise DataValidationError(
            f"{path}: not a readable Parquet file ({exc})"
        ) from exc


def folder_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of each Parquet and CSV file of ``folder``, by file name (sorted)."""
    files = sorted(
        p for p in Path(folder).iterdir() if p.suffix in {".parquet", ".csv"}
    )
    return {p.name: file_sha256(p) for p in files}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
