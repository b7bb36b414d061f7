"""Scores into the CRM's database: upsert the latest, append the history.

Stage: export (the database edge). Two tables, created when missing (their columns
are the configured field names):

* ``scores_table`` (``lead_scores``): one row per lead, its latest score; keyed by
  the lead's field. A row is replaced only by a run scored at the same time or
  later: exporting an older run never overwrites a newer score.
* ``history_table`` (``lead_score_history``): one row per run and lead, keyed by
  both; a run exported again adds nothing.

Both are written in one transaction, ``batch_rows`` rows per statement: a failure
anywhere (a lost connection, a constraint, an interrupted job) leaves both tables as
they were, and exporting the same run twice changes nothing. ``INSERT … ON CONFLICT``
of PostgreSQL and SQLite (SQLAlchemy's dialect inserts); the URL comes from the
environment variable ``url_env``, never from the file, and messages mask its
password.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from predscore.config.export import ExportConfig, SqlExport
from predscore.errors import ConfigError, OutputError

__all__ = ["export_sql", "export_url", "export_tables"]

Progress = Callable[[int], None]

_TYPES = {
    "lead_id": String(255),
    "score": Float,
    "probability": Float,
    "tier": String(16),
    "route": String(16),
    "rank": Integer,
    "delta": Float,
    "model_version": String(255),
    "model_segment": String(255),
    "scored_at": DateTime(timezone=True),
    "run_id": String(64),
}


def export_url(settings: SqlExport, environ: Mapping[str, str] | None = None) -> URL:
    """The destination's URL from its environment variable (``postgresql://`` with
    the psycopg 3 driver).

    Raises
    ------
    ConfigError
        Naming the variable when it is unset or not a database URL.
    """
    environ = os.environ if environ is None else environ
    value = environ.get(settings.url_env)
    if not value:
        raise ConfigError(
            f"the SQL export needs the database URL in the environment variable "
            f"{settings.url_env}; it is unset"
        )
    try:
        url = make_url(value)
    except ArgumentError:
        raise ConfigError(f"{settings.url_env} does not hold a database URL") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def export_tables(config: ExportConfig) -> tuple[Table, Table]:
    """The scores table and the history table of ``config`` (SQLAlchemy)."""
    settings = config.destination()
    assert isinstance(settings, SqlExport)
    names = config.fields
    metadata = MetaData(schema=settings.schema_name)

    def columns(keys: tuple[str, ...]) -> list[Column]:
        out = [Column(names[c], _TYPES[c], primary_key=c in keys) for c in names]
        length = config.reasons.max_chars
        return out + [Column(f, String(length)) for f in config.reasons.fields]

    scores = Table(settings.scores_table, metadata, *columns(("lead_id",)))
    history = Table(settings.history_table, metadata, *columns(("run_id", "lead_id")))
    return scores, history


def _plain(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _count(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _insert(engine: Engine, table: Table) -> Any:
    dialect = engine.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ConfigError(
        f"the SQL export writes to PostgreSQL or SQLite, not {dialect} "
        "(INSERT … ON CONFLICT)"
    )


def export_sql(
    records: pd.DataFrame,
    config: ExportConfig,
    url: URL | str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Upsert ``records`` (:func:`~.records.export_records` of one run) into the
    scores table and append them to the history, in one transaction.

    Parameters
    ----------
    records : DataFrame
        One row per lead, columns named as the tables' (the configured fields).
    config : ExportConfig
        ``fields``, ``reasons``, ``sql`` (tables, batch size, URL variable).
    url : URL or str, optional
        The database (default: from ``sql.url_env``).
    progress : callable, optional
        Called with the rows written so far after each batch (inside the
        transaction: an exception raised there rolls everything back).

    Returns
    -------
    dict
        ``rows`` (leads exported), ``history_added`` (rows the history gained: 0
        when the run was exported before), ``scores_rows`` and ``history_rows``
        (the tables' sizes after).

    Raises
    ------
    OutputError
        When the database refuses (the URL's password masked); nothing is written.
    """
    settings = config.destination()
    assert isinstance(settings, SqlExport)
    target = export_url(settings) if url is None else make_url(url)
    if target.drivername in ("postgresql", "postgres"):
        target = target.set(drivername="postgresql+psycopg")
    scores, history = export_tables(config)
    names = config.fields
    key = names["lead_id"]
    at = names["scored_at"]
    rows = [
        {k: _plain(v) for k, v in zip(records.columns, values, strict=True)}
        for values in records.itertuples(index=False)
    ]
    engine = create_engine(target)
    try:
        with engine.begin() as connection:
            scores.metadata.create_all(connection)
            before = _count(connection, history)
            done = 0
            for start in range(0, len(rows), settings.batch_rows):
                batch = rows[start : start + settings.batch_rows]
                upsert = _insert(engine, scores)
                changed = {
                    c.name: upsert.excluded[c.name]
                    for c in scores.columns
                    if c.name != key
                }
                connection.execute(
                    upsert.on_conflict_do_update(
                        index_elements=[key],
                        set_=changed,
                        where=scores.c[at] <= upsert.excluded[at],
                    ),
                    batch,
                )
                append = _insert(engine, history)
                connection.execute(
                    append.on_conflict_do_nothing(
                        index_elements=[names["run_id"], key]
                    ),
                    batch,
                )
                done += len(batch)
                if progress is not None:
                    progress(done)
            after = _count(connection, history)
            size = _count(connection, scores)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise OutputError(
            f"SQL export to {target.render_as_string(hide_password=True)} failed, "
            f"nothing written: {reason[0] if reason else type(exc).__name__}"
        ) from None
    finally:
        engine.dispose()
    return {
        "rows": len(rows),
        "history_added": int(after - before),
        "scores_rows": int(size),
        "history_rows": int(after),
    }
