"""Read the SQL sources of a mapping: a query's rows, streamed into Arrow, as text.

Stage: the database edge of ingest, beside :mod:`predscore.ingest.readers` (the disk
edge). A source ``{sql: "SELECT …", url_env: PREDSCORE_SOURCE_URL}`` is read from
the database whose SQLAlchemy URL is in that environment variable (credentials never
in the mapping; the URL is never logged, and messages show it with its password
masked). ``postgresql://`` URLs use the psycopg 3 driver the project installs.

The rows are read the way a CSV export is: every value as text, so that the
mapping's casts, formats and value maps mean the same for a file and for a query,
and a table ingested from the database equals the same table ingested from its CSV
export. Dates and times come as ISO 8601 text (``2017-03-01``,
``2017-03-01 09:30:00``), numbers as their shortest text, booleans as ``true`` /
``false``; SQL NULL is missing.

Streaming: from PostgreSQL, ADBC (``adbc-driver-postgresql``, the Arrow project's
database connectivity) reads the server's binary COPY output straight into Arrow
record batches; from any other database, SQLAlchemy runs the query on a server-side
cursor (``stream_results``) and fetches ``chunk_rows`` rows at a time into Arrow
arrays. Each batch is cast to text in Arrow before the next is read, so the rows
never sit whole in memory as Python objects; the frame the mapping reads is made
once, from the compact Arrow table.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from predscore.errors import ConfigError, DataValidationError
from predscore.ingest.mapping import SourceSpec

__all__ = ["masked_url", "query_digest", "read_sql_source", "source_url"]


def source_url(spec: SourceSpec, environ: Mapping[str, str] | None = None) -> URL:
    """The database URL of an SQL source, from its environment variable.

    Raises
    ------
    ConfigError
        Naming the variable when it is unset or not a database URL.
    """
    environ = os.environ if environ is None else environ
    value = environ.get(spec.url_env)
    if not value:
        raise ConfigError(
            f"the SQL source needs the database URL in the environment variable "
            f"{spec.url_env} (e.g. postgresql://user:password@host/db); it is unset"
        )
    try:
        url = make_url(value)
    except ArgumentError:
        raise ConfigError(
            f"{spec.url_env} does not hold a database URL (dialect://user@host/db)"
        ) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def masked_url(url: URL) -> str:
    """The URL as text with its password hidden (for messages and reports)."""
    return url.render_as_string(hide_password=True)


def query_digest(sql: str) -> str:
    """SHA-256 of the query text (the report's record of what was read)."""
    return hashlib.sha256(sql.encode()).hexdigest()


def _as_text(values: list[object]) -> pa.Array:
    """One column of a chunk of Python values as Arrow text: typed by Arrow, then
    :func:`_text`; a column Arrow cannot type (mixed kinds) as each value's ``str``."""
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())
    return _text(array)


def _text(array: pa.Array) -> pa.Array:
    """A typed Arrow column as the text a CSV export of it holds."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return array.cast(pa.string())
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.string())
    if pa.types.is_boolean(array.type):
        return pc.if_else(array, "true", "false")
    if pa.types.is_timestamp(array.type):
        # ISO 8601 with a space, as databases print them; whole seconds unless finer
        fine = pc.any(pc.not_equal(pc.microsecond(array), 0)).as_py()
        tz = None if array.type.tz is None else "UTC"
        array = array.cast(pa.timestamp("us" if fine else "s", tz))
        return pc.strftime(
            array, format="%Y-%m-%d %H:%M:%S" + ("" if tz is None else "%z")
        )
    if pa.types.is_decimal(array.type):
        # numeric columns print their scale (1054.00): the text a CSV export holds
        return array.cast(pa.string())
    if pa.types.is_floating(array.type):
        return pa.array(
            [None if v is None else repr(float(v)) for v in array.to_pylist()],
            pa.string(),
        )
    if pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type):
        raise DataValidationError(
            "a binary column cannot be a text source column; select it as text"
        )
    try:
        return array.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        # a type Arrow does not print (intervals, nested values): each value's str
        return pa.array(
            [None if v is None else str(v) for v in array.to_pylist()], pa.string()
        )


def _adbc_chunks(spec: SourceSpec, url: URL) -> Iterator[pa.Table]:
    """PostgreSQL through ADBC: the server's binary COPY format straight into Arrow
    record batches, each cast to text (no Python object per value)."""
    import adbc_driver_postgresql.dbapi as adbc

    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with adbc.connect(plain) as connection, connection.cursor() as cursor:
        cursor.execute(spec.sql or "")
        reader = cursor.fetch_record_batch()
        names = [str(n).strip() for n in reader.schema.names]
        for batch in reader:
            yield pa.Table.from_arrays(
                [_text(column) for column in batch.columns], names=names
            )
        yield pa.Table.from_arrays(
            [pa.array([], pa.string()) for _ in names], names=names
        )


def _chunks(spec: SourceSpec, url: URL) -> Iterator[pa.Table]:
    """The query's rows, ``chunk_rows`` at a time, as Arrow tables of text; the
    last one empty (it carries the column names when the query has no row)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            result = connection.execution_options(
                stream_results=True, max_row_buffer=spec.chunk_rows
            ).execute(text(spec.sql or ""))
            names = [str(c).strip() for c in result.keys()]
            for rows in result.partitions(spec.chunk_rows):
                columns = zip(*rows, strict=True)
                arrays = [_as_text(list(col)) for col in columns]
                yield pa.Table.from_arrays(arrays, names=names)
            yield pa.Table.from_arrays(
                [pa.array([], pa.string()) for _ in names], names=names
            )
    finally:
        engine.dispose()


def _adbc_errors() -> type[Exception]:
    """The base class of ADBC's errors (``Exception`` subclasses by DB-API)."""
    from adbc_driver_manager import Error

    return Error


def read_sql_source(spec: SourceSpec, name: str) -> pd.DataFrame:
    """The rows of an SQL source as a frame of text columns (``str``, missing as
    NaN), in the query's order: row ``i`` is the query's ``i``-th row (0-based), the
    ``row`` rejections report.

    Raises
    ------
    ConfigError
        When the URL's variable is unset or invalid.
    DataValidationError
        When the database cannot be reached or the query fails (the message names
        the source and the URL with its password masked, and the database's reason).
    """
    url = source_url(spec)
    where = f"SQL source '{name}' ({masked_url(url)})"
    postgres = url.get_backend_name() == "postgresql"
    try:
        tables = list((_adbc_chunks if postgres else _chunks)(spec, url))
    except (SQLAlchemyError, _adbc_errors()) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        first = reason[0] if reason else type(exc).__name__
        # the driver may quote the URL it could not reach: never its password
        if url.password:
            first = first.replace(str(url.password), "***")
        raise DataValidationError(f"{where}: the query failed: {first}") from None
    names = tables[-1].column_names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DataValidationError(
            f"{where}: the query returns columns {duplicated} more than once; "
            "give each an alias"
        )
    table = pa.concat_tables(tables)
    del tables
    frame = table.to_pandas().astype(dict.fromkeys(names, "str"))
    # as a CSV export reads: an empty text is missing, and so are the na_values
    missing = ["", *spec.na_values]
    frame = frame.mask(frame.isin(missing))
    return frame.reset_index(drop=True)
