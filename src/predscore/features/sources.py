"""Canonical tables as DuckDB relations, from a data folder or from frames.

Stage: features (input edge). The engine reads the five validated canonical tables
either lazily from ``DIR/<table>.parquet`` or from a mapping of validated DataFrames,
and exposes them under fixed names with times as epoch microseconds:

* ``leads_v``  — ``lead_id, account_id, created_us``, the raw lead attributes, extras
  (but not ``non_feature_columns`` such as the owning rep);
* ``accounts_v`` — firmographics;
* ``act`` and ``qual`` — activities (see :func:`events.stage_activities_sql`) and
  qualifications of the spine's leads, staged once (:func:`stage_events`) as temporary
  tables sorted by lead number, so that each batch of leads reads only its own range;
* ``out_v`` — ``lead_id, closed_us, outcome``.

DuckDB runs with a memory limit and spills to a private temporary folder that is removed
on exit: that, and batching (see :mod:`build`), is what keeps memory bounded.

A :class:`KeptConnection` is a configured connection kept open between calls (the
scoring API's, one per server process): each call registers its own tables and
replaces the views and staged tables of the one before, so that a single lead costs
its queries, not a new database.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from predscore.config import EngineConfig, FeaturesConfig
from predscore.errors import ConfigError, SchemaError
from predscore.features.events import stage_activities
from predscore.features.qualification import stage_qualifications_sql
from predscore.features.sql import quote_ident, quote_str
from predscore.schema.store import table_path, to_arrow
from predscore.schema.tables import ACTIONS, TABLE_ORDER, TABLES

__all__ = [
    "KeptConnection",
    "Tables",
    "TablesOrDir",
    "check_passive_actions",
    "open_tables",
    "stage_events",
]

#: A data folder, or the five tables as validated frames or as Arrow tables of the
#: canonical schema (:func:`predscore.schema.arrow_schema`).
TablesOrDir = Path | str | Mapping[str, pd.DataFrame | pa.Table]


@dataclass(frozen=True)
class Tables:
    """An open DuckDB connection holding the canonical relations.

    ``lead_extras`` maps each extra lead attribute column to its DuckDB type;
    ``engine`` holds the resources the feature engine may use on this machine.
    """

    con: duckdb.DuckDBPyConnection
    lead_extras: Mapping[str, str]
    engine: EngineConfig = EngineConfig()


def check_passive_actions(config: FeaturesConfig) -> None:
    for channel, actions in config.passive_actions.items():
        if channel not in ACTIONS:
            raise ConfigError(
                f"features.passive_actions: unknown channel '{channel}'; "
                f"expected one of {sorted(ACTIONS)}"
            )
        unknown = sorted(set(actions) - set(ACTIONS[channel]))
        if unknown:
            raise ConfigError(
                f"features.passive_actions.{channel}: unknown action(s) {unknown}; "
                f"expected some of {list(ACTIONS[channel])}"
            )


def _register_raw(
    con: duckdb.DuckDBPyConnection, source: TablesOrDir
) -> tuple[pa.Schema, ...] | None:
    """Expose each table as ``raw_<table>`` without reading it into memory; return
    the Arrow schemas registered (None for a data folder)."""
    if isinstance(source, Mapping):
        schemas = []
        for table in TABLE_ORDER:
            if table not in source:
                raise SchemaError(
                    "<tables>", None, f"the canonical table '{table}'", "nothing"
                )
            # Arrow with the canonical types, exactly as a Parquet read would see them.
            given = source[table]
            arrow = given if isinstance(given, pa.Table) else to_arrow(given, table)
            con.register(f"raw_{table}", arrow)
            schemas.append(arrow.schema)
        return tuple(schemas)
    data_dir = Path(source)
    for table in TABLE_ORDER:
        path = table_path(data_dir, table)
        if not path.is_file():
            raise SchemaError(
                str(path), None, f"the canonical table '{table}'", "no such file"
            )
        con.execute(
            f"CREATE VIEW raw_{table} AS SELECT * FROM read_parquet({quote_str(str(path))})"
        )
    return None


def _lead_extras(
    con: duckdb.DuckDBPyConnection, config: FeaturesConfig
) -> dict[str, str]:
    """Extra lead columns that become fit features (not canonical, not excluded)."""
    described = con.execute("DESCRIBE raw_leads").fetchall()
    known = TABLES["leads"].by_name
    # Who owns a lead says how the CRM routes work, not whether the lead closes; a
    # model that learnt it would score reps, not leads.
    excluded = set(config.non_feature_columns)
    return {
        str(row[0]): str(row[1])
        for row in described
        if row[0] not in known and row[0] not in excluded
    }


def _create_views(
    con: duckdb.DuckDBPyConnection, extras: Mapping[str, str], config: FeaturesConfig
) -> None:
    extra_cols = "".join(f", {quote_ident(name)}" for name in extras)
    con.execute(
        "CREATE OR REPLACE VIEW leads_v AS SELECT CAST(lead_id AS VARCHAR) AS lead_id, "
        "CAST(account_id AS VARCHAR) AS account_id, epoch_us(created_at) AS created_us, "
        "CAST(source AS VARCHAR) AS source, CAST(role AS VARCHAR) AS role, "
        "CAST(seniority AS VARCHAR) AS seniority, "
        "CAST(department AS VARCHAR) AS department, CAST(country AS VARCHAR) AS country"
        f"{extra_cols} FROM raw_leads"
    )
    con.execute(
        "CREATE OR REPLACE VIEW accounts_v AS SELECT CAST(account_id AS VARCHAR) AS account_id, "
        "CAST(sector AS VARCHAR) AS sector, CAST(employees AS DOUBLE) AS employees, "
        "CAST(annual_revenue AS DOUBLE) AS annual_revenue, "
        "CAST(country AS VARCHAR) AS country, CAST(region AS VARCHAR) AS region, "
        "CAST(tech_stack AS VARCHAR[]) AS tech_stack FROM raw_accounts"
    )
    con.execute(
        "CREATE OR REPLACE VIEW out_v AS SELECT CAST(lead_id AS VARCHAR) AS lead_id, "
        "epoch_us(closed_at) AS closed_us, CAST(outcome AS VARCHAR) AS outcome "
        "FROM raw_outcomes"
    )


def stage_events(con: duckdb.DuckDBPyConnection) -> None:
    """Stage ``act`` and ``qual`` for the leads of the table ``grid``.

    Only rows that some feature row can know are kept: those at or before the lead's
    last as-of time (the sessionisation of web views only looks back, so it is
    unchanged). Nothing is sorted here: a batch of leads selects its rows by lead
    number (when the source is stored by lead, as exports usually are, the table's
    zone maps skip most of it) and sorts only those.
    """
    stage_activities(con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE qual AS {stage_qualifications_sql()}")


def _configure(
    con: duckdb.DuckDBPyConnection, engine: EngineConfig, spill: str
) -> None:
    """Memory limit, spill folder, UTC session, threads."""
    try:
        con.execute(f"SET memory_limit = {quote_str(engine.memory_limit)}")
    except duckdb.Error as exc:
        raise ConfigError(
            f"engine.memory_limit: {engine.memory_limit!r} is not a memory size; "
            "expected e.g. 4GB or 512MB"
        ) from exc
    con.execute(f"SET temp_directory = {quote_str(spill)}")
    con.execute("SET TimeZone = 'UTC'")
    if engine.threads is not None:
        con.execute(f"SET threads = {int(engine.threads)}")


class KeptConnection:
    """A configured DuckDB connection kept open for many small calls.

    One call at a time uses it (:func:`open_tables` holds its lock); :meth:`close`
    closes it and removes its spill folder.
    """

    def __init__(self, engine: EngineConfig | None = None) -> None:
        self.engine = engine or EngineConfig()
        spill = tempfile.mkdtemp(prefix="predscore-duckdb-")
        self.con = duckdb.connect(":memory:")
        self.lock = threading.Lock()
        # the views over the last call's tables: the next call with tables of the same
        # schemas (the usual case) re-registers the tables and keeps the views
        self.views: tuple[tuple[pa.Schema, ...], FeaturesConfig, dict[str, str]] | None
        self.views = None
        # closed when dropped or, at the latest, when the interpreter exits
        self._finalizer = weakref.finalize(self, _close, self.con, spill)
        try:
            _configure(self.con, self.engine, spill)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the connection and remove its spill folder."""
        self._finalizer()


def _close(con: duckdb.DuckDBPyConnection, spill: str) -> None:
    con.close()
    shutil.rmtree(spill, ignore_errors=True)


@contextlib.contextmanager
def open_tables(
    source: TablesOrDir,
    config: FeaturesConfig,
    engine: EngineConfig | None = None,
    kept: KeptConnection | None = None,
) -> Iterator[Tables]:
    """Open a private DuckDB connection over the canonical tables of ``source``
    (or use ``kept``, with its own engine settings).

    Parameters
    ----------
    source : path or mapping of DataFrame
        A data folder holding the five ``<table>.parquet`` files, or a mapping from
        table name to validated frame.
    config : FeaturesConfig
        Passive actions and columns that are never features.
    engine : EngineConfig, optional
        Memory limit and threads of this machine (default: the defaults).
    kept : KeptConnection, optional
        A connection kept open between calls, used instead of a new one.

    Raises
    ------
    SchemaError
        When a table is missing.
    ConfigError
        When ``passive_actions`` names an unknown channel or action, or
        ``memory_limit`` is not a memory size.
    """
    check_passive_actions(config)
    if kept is not None:
        with kept.lock:
            schemas = _register_raw(kept.con, source)
            if (
                schemas is not None
                and kept.views is not None
                and kept.views[:2] == (schemas, config)
            ):
                extras = kept.views[2]
            else:
                kept.views = None
                extras = _lead_extras(kept.con, config)
                _create_views(kept.con, extras, config)
                if schemas is not None:
                    kept.views = (schemas, config, extras)
            yield Tables(con=kept.con, lead_extras=extras, engine=kept.engine)
        return
    engine = engine or EngineConfig()
    with tempfile.TemporaryDirectory(prefix="predscore-duckdb-") as spill:
        con = duckdb.connect(":memory:")
        try:
            _configure(con, engine, spill)
            _register_raw(con, source)
            extras = _lead_extras(con, config)
            _create_views(con, extras, config)
            yield Tables(con=con, lead_extras=extras, engine=engine)
        finally:
            con.close()
