"""The validated tables read lead by lead: which leads are open, and their rows.

Stage: features (input edge, by lead; scoring runs and explanations read through it).
Input: a folder of validated canonical tables (``validate --out``) or a mapping of
validated frames; output: the open leads at a cutoff, the five tables
restricted to some leads (the features of a lead depend only on its own rows and its
account, so they are the same as on the whole tables), and the display context of the
leads (account name, sector, job title, country, owner).

Folder reads go through DuckDB with the lead ids as a semi-join, so a chunk of leads
never loads the whole activity log.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from predscore.errors import DataValidationError
from predscore.features import pit
from predscore.features.sql import quote_ident, quote_str
from predscore.schema import TABLE_ORDER, TABLES, conform, table_path

__all__ = ["CONTEXT_COLUMNS", "LeadCounts", "TableSource"]

#: Display columns copied next to each score (``owner`` from ``scoring.owner_column``).
CONTEXT_COLUMNS = ("account_name", "sector", "job_title", "country", "owner")


@dataclass(frozen=True)
class LeadCounts:
    """Where every lead of the leads table stands at the cutoff."""

    leads: int  # rows of the (validated) leads table
    open: int  # created at or before the cutoff, not closed then: to score
    closed: int  # closed (won or lost) at or before the cutoff
    not_yet_created: int  # created after the cutoff


class TableSource:
    """Validated tables, from a folder or from frames.

    Parameters
    ----------
    tables : path or mapping of DataFrame
        Folder holding ``<table>.parquet`` for the five tables, or the frames.

    Raises
    ------
    DataValidationError
        When a table file is missing.
    """

    def __init__(self, tables: Path | Mapping[str, pd.DataFrame]) -> None:
        self.folder = None if isinstance(tables, Mapping) else Path(tables)
        self.frames = dict(tables) if isinstance(tables, Mapping) else None
        self._db: duckdb.DuckDBPyConnection | None = None
        if self.folder is not None:
            for table in TABLE_ORDER:
                path = table_path(self.folder, table)
                if not path.is_file():
                    raise DataValidationError(f"{path}: file not found")

    # -- helpers -----------------------------------------------------------------------
    def _con(self) -> duckdb.DuckDBPyConnection:
        """The source's DuckDB connection (opened once: a request of the API asks it
        several questions), with the five tables as views."""
        if self._db is None:
            con = duckdb.connect(":memory:")
            con.execute("SET TimeZone = 'UTC'")
            for table in TABLE_ORDER:
                if self.frames is not None:
                    con.register(table, self.frames[table])
                else:
                    assert self.folder is not None
                    path = quote_str(str(table_path(self.folder, table)))
                    con.execute(
                        f"CREATE VIEW {table} AS SELECT * FROM read_parquet({path})"
                    )
            self._db = con
        return self._db

    def _open(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        """``with self._open() as con``: the connection, left open afterwards."""
        return contextlib.nullcontext(self._con())

    def close(self) -> None:
        """Close the DuckDB connection (it reopens when asked again)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def __getstate__(self) -> dict:
        # a connection cannot travel (Spark ships the source to its executors)
        return {**self.__dict__, "_db": None}

    def columns(self, table: str) -> list[str]:
        """Column names of a table."""
        if self.frames is not None:
            return [str(c) for c in self.frames[table].columns]
        with self._open() as con:
            return [str(r[0]) for r in con.execute(f"DESCRIBE {table}").fetchall()]

    def lead_extras(self) -> dict[str, str]:
        """Extra lead columns (beyond the canonical ones) and their DuckDB types."""
        known = TABLES["leads"].by_name
        with self._open() as con:
            described = con.execute("DESCRIBE leads").fetchall()
        return {str(r[0]): str(r[1]) for r in described if r[0] not in known}

    # -- what to score -----------------------------------------------------------------
    def open_leads(self, as_of: pd.Timestamp) -> tuple[np.ndarray, LeadCounts]:
        """Ids of the leads open at ``as_of`` (sorted), and where the others stand."""
        as_of_us = pit.epoch_us(as_of)
        created = "epoch_us(l.created_at)"
        closed = "epoch_us(o.closed_at)"
        sql = (
            f"SELECT l.lead_id, {created} AS created_us, min({closed}) AS closed_us "
            "FROM leads l LEFT JOIN outcomes o ON o.lead_id = l.lead_id "
            "GROUP BY l.lead_id, l.created_at"
        )
        with self._open() as con:
            frame = con.sql(sql).to_arrow_table()
        ids = np.asarray(frame["lead_id"].to_pylist(), dtype=object)
        created_us = frame["created_us"].to_numpy(zero_copy_only=False)
        closed_us = frame["closed_us"].to_numpy(zero_copy_only=False)
        later = created_us > as_of_us
        shut = ~later & ~np.isnan(closed_us.astype(float)) & (closed_us <= as_of_us)
        is_open = ~later & ~shut
        open_ids = np.sort(ids[is_open].astype(str))
        counts = LeadCounts(
            leads=len(ids),
            open=int(is_open.sum()),
            closed=int(shut.sum()),
            not_yet_created=int(later.sum()),
        )
        return open_ids, counts

    def first_created(self) -> pd.Timestamp | None:
        """Creation time of the oldest lead (None when there is none)."""
        with self._open() as con:
            value = con.execute(
                "SELECT epoch_us(min(created_at)) FROM leads"
            ).fetchall()[0][0]
        return None if value is None else pd.Timestamp(int(value), unit="us", tz="UTC")

    # -- rows of some leads ------------------------------------------------------------
    def lead_tables(self, lead_ids: Iterable[str]) -> dict[str, pd.DataFrame]:
        """The five tables restricted to ``lead_ids`` (and their accounts)."""
        ids = pa.table({"lead_id": pa.array(sorted({str(i) for i in lead_ids}))})
        out: dict[str, pd.DataFrame] = {}
        with self._open() as con:
            con.register("wanted", ids)
            for table in (t for t in TABLE_ORDER if t != "accounts"):
                read = con.sql(
                    f"SELECT t.* FROM {table} t SEMI JOIN wanted w "
                    "ON t.lead_id = w.lead_id"
                ).to_arrow_table()
                out[table] = read.to_pandas()
            read = con.sql(
                "SELECT a.* FROM accounts a SEMI JOIN "
                "(SELECT DISTINCT l.account_id FROM leads l SEMI JOIN wanted w "
                "ON l.lead_id = w.lead_id) k ON a.account_id = k.account_id"
            ).to_arrow_table()
            out["accounts"] = read.to_pandas()
        return {t: conform(out[t], t).reset_index(drop=True) for t in TABLE_ORDER}

    def context(self, lead_ids: Iterable[str], owner_column: str) -> pd.DataFrame:
        """Display context of the leads: :data:`CONTEXT_COLUMNS`, indexed by lead_id.

        ``owner`` is the lead column ``owner_column`` when the leads table has it.
        """
        ids = pa.table({"lead_id": pa.array(sorted({str(i) for i in lead_ids}))})
        has_owner = owner_column in self.columns("leads")
        owner = (
            f"CAST(l.{quote_ident(owner_column)} AS VARCHAR)"
            if has_owner
            else "CAST(NULL AS VARCHAR)"
        )
        sql = (
            "SELECT l.lead_id, CAST(a.name AS VARCHAR) AS account_name, "
            "CAST(a.sector AS VARCHAR) AS sector, "
            "CAST(l.job_title AS VARCHAR) AS job_title, "
            "CAST(coalesce(l.country, a.country) AS VARCHAR) AS country, "
            f"{owner} AS owner "
            "FROM leads l SEMI JOIN wanted w ON l.lead_id = w.lead_id "
            "LEFT JOIN accounts a ON a.account_id = l.account_id"
        )
        with self._open() as con:
            con.register("wanted", ids)
            frame = con.sql(sql).to_arrow_table().to_pandas()
        return frame.drop_duplicates("lead_id").set_index("lead_id")
