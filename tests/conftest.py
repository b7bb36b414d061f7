"""Shared test configuration and fixtures.

Having this file at ``tests/`` puts the folder on ``sys.path`` (pytest's default
"prepend" import mode), so test modules import the helpers that live here:
``oracles`` (reference implementations) and ``feature_tables`` (hand-written data).

Fixtures:

* ``tiny_tables``: a valid dict of the five raw tables (typed the way a source such as
  the demo generator delivers them, not yet conformed); validates with no rejection at
  ``as_of``. Each call returns fresh frames, so a test may change them freely.
* ``canonical_tables``: the five tables exactly as validation returns them and the
  Parquet store reads them (canonical dtypes built by hand, not by ``conform``), with a
  null in every optional column, an empty and a null tech stack and extra lead columns.
* ``artifacts``: a folder for what a test leaves for people to look at (screenshots,
  fuzzing counts): ``$PREDSCORE_TEST_OUTPUT`` when set, else a temporary folder; the
  suite never writes into the repository.
* ``golden_dir`` / ``golden_as_of`` / ``golden_raw_tables``: the hand-written CSV data
  set of ``tests/data/golden`` (see its README), read as text the way a CRM export is.
* ``postgres_url``: the SQLAlchemy URL of a real PostgreSQL server the suite starts once
  (:mod:`postgres_server`); tests that use it skip with the reason when it cannot be
  started. ``db_url``: the same tests on an SQLite file and on that server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import pytest

import postgres_server
from predscore.schema import TABLE_ORDER

GOLDEN_DIR = Path(__file__).parent / "data" / "golden"
GOLDEN_AS_OF = pd.Timestamp("2025-03-01T00:00:00Z")


def _utc(*values: str | None) -> pd.Series:
    """Canonical timestamp column: ``datetime64[us, UTC]``, None → NaT."""
    stamps = pd.to_datetime(list(values), utc=True, format="ISO8601")
    return pd.Series(stamps).astype("datetime64[us, UTC]")


def _text(values: Sequence[str | None]) -> pd.Series:
    return pd.Series(list(values), dtype="str")


def _category(values: Sequence[str | None]) -> pd.Series:
    cats = sorted({v for v in values if v is not None})
    return pd.Series(pd.Categorical(list(values), categories=cats))


@pytest.fixture
def as_of() -> pd.Timestamp:
    """The as-of time at which ``tiny_tables`` is valid."""
    return pd.Timestamp("2025-01-01T00:00:00Z")


@pytest.fixture
def tiny_tables() -> dict[str, pd.DataFrame]:
    """Five valid raw tables: 2 accounts, 3 leads (one won, one lost, one open)."""
    ts = pd.Timestamp
    return {
        "accounts": pd.DataFrame(
            {
                "account_id": ["A1", "A2"],
                "name": ["Acme", "Beta"],
                "sector": ["fintech", None],
                "employees": pd.array([120, None], dtype="Int64"),
                "annual_revenue": [1.0e7, None],
                "country": ["FR", "DE"],
                "region": ["EMEA", "EMEA"],
                "tech_stack": [["aws", "hubspot"], []],
                "created_at": [ts("2023-01-01T00:00:00Z"), None],
            }
        ),
        "leads": pd.DataFrame(
            {
                "lead_id": ["L1", "L2", "L3"],
                "account_id": ["A1", "A2", None],
                "created_at": [
                    ts("2024-01-01T09:00:00Z"),
                    ts("2024-02-01T09:00:00Z"),
                    ts("2024-03-01T09:00:00Z"),
                ],
                "source": ["inbound", "event", None],
                "job_title": ["CEO", "Developer", None],
                "role": ["decision_maker", "user", "unknown"],
                "seniority": ["c_level", "individual", None],
                "department": ["executive", "it", None],
                "country": ["FR", "DE", None],
            }
        ),
        "activities": pd.DataFrame(
            {
                "lead_id": ["L1", "L1", "L2", "L3"],
                "occurred_at": [
                    ts("2024-01-02T10:00:00Z"),
                    ts("2024-01-03T11:30:00Z"),
                    ts("2024-02-02T08:00:00Z"),
                    ts("2024-03-05T16:45:00Z"),
                ],
                "channel": ["email", "web", "webinar", "form"],
                "action": ["open", "view", "attend", "demo_request"],
                "detail": [None, "/pricing", "webinar-ai", None],
                "quantity": [None, 45.0, 3600.0, None],
            }
        ),
        "qualifications": pd.DataFrame(
            {
                "lead_id": ["L1", "L1", "L3"],
                "recorded_at": [
                    ts("2024-01-05T12:00:00Z"),
                    ts("2024-01-06T12:00:00Z"),
                    ts("2024-03-06T12:00:00Z"),
                ],
                "field": ["budget", "timeline_months", "authority"],
                "value": ["yes", "3", "no"],
            }
        ),
        "outcomes": pd.DataFrame(
            {
                "lead_id": ["L1", "L2"],
                "closed_at": [ts("2024-04-01T15:00:00Z"), ts("2024-05-01T15:00:00Z")],
                "outcome": ["won", "lost"],
                "amount": [48000.0, None],
                "reason": [None, "no budget"],
            }
        ),
    }


@pytest.fixture
def canonical_tables() -> dict[str, pd.DataFrame]:
    """The five tables with canonical dtypes, built by hand (not by ``conform``)."""
    return {
        "accounts": pd.DataFrame(
            {
                "account_id": _text(["A1", "A2", "A3"]),
                "name": _text(["Acme", None, "Zeta"]),
                "sector": _category(["fintech", None, "software_saas"]),
                "employees": pd.array([120, None, 4000], dtype="Int64"),
                "annual_revenue": [1.0e7, None, 2.5e8],
                "country": _category(["FR", "DE", None]),
                "region": _category(["EMEA", "EMEA", None]),
                "tech_stack": pd.Series([["aws", "hubspot"], [], None], dtype=object),
                "created_at": _utc(
                    "2023-01-01T00:00:00Z", None, "2023-06-01T12:34:56.789012Z"
                ),
            }
        ),
        "leads": pd.DataFrame(
            {
                "lead_id": _text(["L1", "L2", "L3"]),
                "account_id": _text(["A1", "A3", None]),
                "created_at": _utc(
                    "2024-01-01T09:00:00Z",
                    "2024-02-01T09:00:00Z",
                    "2024-03-01T09:00:00Z",
                ),
                "source": _category(["inbound", "event", None]),
                "job_title": _text(["CEO", "Developer", None]),
                "role": _category(["decision_maker", "user", None]),
                "seniority": _category(["c_level", None, "individual"]),
                "department": _category(["executive", "it", None]),
                "country": _category(["FR", "DE", None]),
                # extra attribute columns declared by a mapping, one per dtype
                "total_visits": pd.array([12, None, 0], dtype="Int64"),
                "time_on_site_minutes": [35.5, None, 0.0],
                "do_not_email": [False, True, False],
                "lead_quality": _category(["high", None, "low"]),
                "city": _text(["Paris", None, "Berlin"]),
                "last_seen_at": _utc(
                    "2024-03-01T00:00:00Z", None, "2024-03-02T00:00:00Z"
                ),
            }
        ),
        "activities": pd.DataFrame(
            {
                "lead_id": _text(["L1", "L1", "L2"]),
                "occurred_at": _utc(
                    "2024-01-02T10:00:00Z",
                    "2024-01-03T11:30:00.000001Z",
                    "2024-02-02T08:00:00Z",
                ),
                "channel": _category(["email", "web", "webinar"]),
                "action": _category(["open", "view", "attend"]),
                "detail": _category([None, "/pricing", "webinar-ai"]),
                "quantity": [None, 45.0, 3600.0],
            }
        ),
        "qualifications": pd.DataFrame(
            {
                "lead_id": _text(["L1", "L1"]),
                "recorded_at": _utc("2024-01-05T12:00:00Z", "2024-01-06T12:00:00Z"),
                "field": _category(["budget", "timeline_months"]),
                "value": _text(["yes", "3"]),
            }
        ),
        "outcomes": pd.DataFrame(
            {
                "lead_id": _text(["L1", "L2"]),
                "closed_at": _utc("2024-04-01T15:00:00Z", "2024-05-01T15:00:00Z"),
                "outcome": _category(["won", "lost"]),
                "amount": [48000.0, None],
                "reason": _text([None, "no budget"]),
            }
        ),
    }


@pytest.fixture
def golden_dir() -> Path:
    """Folder of the hand-written golden CSV data set."""
    return GOLDEN_DIR


@pytest.fixture
def golden_as_of() -> pd.Timestamp:
    """The as-of time the golden data set is written for (see its README)."""
    return GOLDEN_AS_OF


@pytest.fixture
def golden_raw_tables(golden_dir: Path) -> dict[str, pd.DataFrame]:
    """The golden CSV tables read as text; only empty cells are missing (``NA`` is not)."""
    return {
        table: pd.read_csv(
            golden_dir / f"{table}.csv", dtype=str, keep_default_na=False
        ).replace("", None)
        for table in TABLE_ORDER
    }


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where tests leave screenshots and counts (``$PREDSCORE_TEST_OUTPUT`` or tmp)."""
    chosen = os.environ.get("PREDSCORE_TEST_OUTPUT")
    if not chosen:
        return tmp_path_factory.mktemp("artifacts")
    folder = Path(chosen)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the whole session (skips with the reason when absent)."""
    reason = postgres_server.unavailable()
    if reason is not None:
        pytest.skip(reason)
    with postgres_server.server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL: an SQLite file, then the session's PostgreSQL server (a fresh
    database each time, so that tests never see each other's rows)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'predscore.db'}"
    from sqlalchemy import create_engine, text

    server = request.getfixturevalue("postgres_url")
    name = f"t_{tmp_path.name.lower().replace('-', '_')[:40]}_{os.getpid()}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as con:
        con.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}"
