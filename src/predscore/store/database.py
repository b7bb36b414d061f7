"""The store's database: an engine, its migrations, and transactions to read or write.

Stage: the I/O edge of what reps write. :func:`database_url` picks the database (the
URL in the environment variable ``store.url_env``, else the SQLite file
``store.path``); :func:`open_store` connects and brings the schema to the newest
Alembic revision shipped in the package (an Alembic configuration built in code,
:func:`alembic_config`, no ``alembic.ini``). :meth:`Store.write` is a transaction
that takes the write lock at once on SQLite (``BEGIN IMMEDIATE``), so that two reps
writing at the same moment wait for each other (``busy timeout``) instead of one of
them failing; PostgreSQL's row inserts never conflict. The URL's password is never
shown (``repr`` and messages hide it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session

from predscore.config import StoreConfig
from predscore.errors import ConfigError

__all__ = ["Store", "alembic_config", "database_url", "open_store"]

_SQLITE_TIMEOUT_S = 30.0


def database_url(config: StoreConfig, environ: Mapping[str, str]) -> str:
    """The store's SQLAlchemy URL: ``$<url_env>`` when set, else the SQLite file."""
    url = environ.get(config.url_env, "").strip()
    if url:
        return url
    return f"sqlite:///{config.path}"


def alembic_config(connection: Connection) -> Config:
    """Alembic's configuration for the migrations shipped in ``predscore.store``."""
    folder = resources.files("predscore.store").joinpath("migrations")
    config = Config()
    config.set_main_option("script_location", str(folder))
    config.attributes["connection"] = connection
    return config


def _sqlite_pragmas(engine: Engine) -> None:
    """SQLite: let SQLAlchemy start transactions (pysqlite's own would defer the lock),
    write-ahead log (readers never wait for a writer), foreign keys on."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(_SQLITE_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Store:
    """A connection pool to the store's database.

    Parameters
    ----------
    url : str
        SQLAlchemy URL (``sqlite:///path.db``, ``postgresql+psycopg://…``).
    password_cost : int
        scrypt cost of new passwords (N = 2**cost).
    min_password_length : int
        Shorter new passwords are refused.
    """

    def __init__(
        self, url: str, password_cost: int = 14, min_password_length: int = 10
    ) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ConfigError(f"store: not a database URL ({exc})") from None
        self.url = parsed
        self.password_cost = password_cost
        self.min_password_length = min_password_length
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(
                parsed, connect_args={"timeout": _SQLITE_TIMEOUT_S}
            )
            _sqlite_pragmas(self.engine)
        else:
            self.engine = create_engine(parsed, pool_pre_ping=True)
        self._writer = self.engine.execution_options(immediate=True)

    def __repr__(self) -> str:  # never the password
        return f"Store({self.url.render_as_string(hide_password=True)!r})"

    def upgrade(self) -> None:
        """Bring the schema to the newest revision shipped in the package.

        Raises
        ------
        ConfigError
            When the database cannot be reached or migrated.
        """
        try:
            with self.engine.begin() as connection:
                command.upgrade(alembic_config(connection), "head")
        except SQLAlchemyError as exc:
            raise ConfigError(
                f"store {self.url.render_as_string(hide_password=True)}: cannot "
                f"migrate the database ({type(exc).__name__}: {exc.orig or exc})"
            ) from None

    def revision(self) -> str | None:
        """The schema's current revision (None on an empty database)."""
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head(self) -> str | None:
        """The newest revision shipped in the package."""
        with self.engine.connect() as connection:
            return ScriptDirectory.from_config(
                alembic_config(connection)
            ).get_current_head()

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that writes (committed on success, rolled back on error)."""
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session."""
        with Session(self.engine) as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close the pool's connections."""
        self.engine.dispose()


def open_store(
    config: StoreConfig, environ: Mapping[str, str], upgrade: bool = True
) -> Store:
    """Connect to the configured store and (by default) migrate it to the newest schema.

    Raises
    ------
    ConfigError
        When the URL is not valid or the database cannot be reached or migrated.
    """
    store = Store(
        database_url(config, environ),
        password_cost=config.password_cost,
        min_password_length=config.min_password_length,
    )
    if upgrade:
        store.upgrade()
    return store
