"""Score a few leads in memory: the API's path (validate, features, score, answer).

Stage: scoring. Input: the five canonical tables as raw frames (e.g. built from a JSON
request), a cutoff and a :class:`~.scorer.Scorer`; output: a :class:`ScoredBatch` in
which every lead of the leads table has either a score or a rejection with its reason
(invalid rows, closed leads, leads created after the cutoff included).

:func:`score_canonical` is the short path of a request that validation would keep
whole (:func:`predscore.serve.canonical.canonical_tables` decides): Arrow tables of
the canonical schema, every lead open, features staged in memory without SQL
(:mod:`predscore.features.in_memory`; a pass of more leads than it takes uses a DuckDB
connection kept open between requests), no validation pass and no display context
(the API returns none). :func:`score_canonical_many` scores several such requests in one pass (the
server's requests that arrived while another was being scored) and answers each with
its own leads, ranked among themselves: a lead's score never depends on the leads it
is scored beside.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from predscore.config import ValidationConfig
from predscore.features import KeptConnection
from predscore.features.lead_tables import CONTEXT_COLUMNS, TableSource
from predscore.schema.validate import validate_tables
from predscore.scoring.job import OUTPUT_SCHEMA, score_chunk, score_rows
from predscore.scoring.scorer import Scorer

__all__ = [
    "ScoredBatch",
    "plain_value",
    "score_canonical",
    "score_canonical_many",
    "score_tables",
]


@dataclass(frozen=True)
class ScoredBatch:
    """Scores (columns of ``scores.parquet``, best first) and rejections.

    ``table`` holds the scores as Arrow; :attr:`scores` is the same as a frame and
    :meth:`records` as plain Python rows (what an API answers with).
    """

    table: pa.Table
    rejections: pd.DataFrame

    @functools.cached_property
    def scores(self) -> pd.DataFrame:
        """The scores as a frame (``rank`` 1 first)."""
        return self.table.to_pandas()

    def records(self) -> list[dict[str, Any]]:
        """The scores as plain Python rows: lists of dicts, ``None`` for nulls."""
        return [plain_value(row) for row in self.table.to_pylist()]


def plain_value(value: Any) -> Any:
    """A cell as plain Python (read by Arrow or pandas): lists of dicts, None for
    nulls."""
    if isinstance(value, np.ndarray):
        return [plain_value(v) for v in value.tolist()]
    if isinstance(value, list):
        return [plain_value(v) for v in value]
    if isinstance(value, dict):
        return {k: plain_value(v) for k, v in value.items()}
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def score_tables(
    tables: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    scorer: Scorer,
    reasons: bool = True,
    owner_column: str = "owner",
    validation: ValidationConfig | None = None,
) -> ScoredBatch:
    """Validate raw tables and score every lead open at ``as_of``.

    Parameters
    ----------
    tables : mapping of DataFrame
        ``accounts``, ``leads``, ``activities``, ``qualifications``, ``outcomes`` as
        received (text columns are parsed and checked by validation).
    as_of : Timestamp
        The cutoff (UTC).
    scorer : Scorer
        The model or the rules.

    Returns
    -------
    ScoredBatch
        ``scores`` ranked (``rank`` 1 first, ``delta`` null) and ``rejections``: rows
        refused by validation, and leads that are not open at ``as_of``.
    """
    checked = validate_tables(dict(tables), as_of, validation)
    source = TableSource(checked.tables)
    ids, _ = source.open_leads(as_of)
    scored, rejected = score_chunk(
        source, ids, as_of, scorer, reasons, owner_column, tables=checked.tables
    )
    table, _ = _ranked(scored, scorer)
    leads = checked.tables["leads"]["lead_id"].astype(str)
    not_open = sorted(set(leads) - set(ids))
    closing = _not_open(not_open, checked.tables, as_of)
    rejections = pd.concat(
        [checked.rejections, rejected, closing], ignore_index=True
    ).reset_index(drop=True)
    return ScoredBatch(table=table, rejections=rejections)


def score_canonical(
    tables: Mapping[str, pa.Table],
    as_of: pd.Timestamp,
    scorer: Scorer,
    kept: KeptConnection,
    reasons: bool = True,
) -> ScoredBatch:
    """Score canonical tables in which validation would reject nothing.

    Parameters
    ----------
    tables : mapping of pyarrow.Table
        The five tables of the canonical Arrow schema; every lead open at ``as_of``.
    as_of : Timestamp
        The cutoff (UTC).
    scorer : Scorer
        The model or the rules.
    kept : KeptConnection
        The DuckDB connection the features of a pass too large to stage in memory
        are computed on.

    Returns
    -------
    ScoredBatch
        As :func:`score_tables`, display context columns empty.
    """
    return score_canonical_many([tables], as_of, scorer, kept, reasons)[0]


def score_canonical_many(
    requests: Sequence[Mapping[str, pa.Table]],
    as_of: pd.Timestamp,
    scorer: Scorer,
    kept: KeptConnection,
    reasons: bool = True,
) -> list[ScoredBatch]:
    """Score several requests' canonical tables in one pass; one batch per request.

    The requests must hold distinct leads and, for an account two of them share, the
    same account row (:func:`merge_canonical` checks). Each answer holds its own
    leads' scores ranked among themselves and its own leads' rejections: what
    :func:`score_canonical` of that request alone returns.

    Raises
    ------
    ValueError
        When two requests share a lead, or an account with different rows.
    """
    merged = merge_canonical(requests)
    ids = np.sort(np.asarray(merged["leads"]["lead_id"].to_pylist(), dtype=str))
    scored, rejected = score_rows(merged, ids, as_of, scorer, reasons, kept=kept)
    owner = {
        lead: i
        for i, tables in enumerate(requests)
        for lead in tables["leads"]["lead_id"].to_pylist()
    }
    ranked, bounds = _ranked(scored, scorer, owner, len(requests))
    rejected_owner = np.array(
        [owner.get(str(lead), -1) for lead in rejected["lead_id"]], dtype=np.int64
    )
    out = []
    for i in range(len(requests)):
        own = rejected_owner == i
        out.append(
            ScoredBatch(
                table=ranked.slice(bounds[i], bounds[i + 1] - bounds[i]),
                rejections=(
                    rejected[own] if own.any() else rejected.iloc[0:0]
                ).reset_index(drop=True),
            )
        )
    return out


def merge_canonical(requests: Sequence[Mapping[str, pa.Table]]) -> dict[str, pa.Table]:
    """The canonical tables of several requests as one set of tables.

    Rows are concatenated table by table; an account sent by several requests is kept
    once.

    Raises
    ------
    ValueError
        When two requests share a lead, an account with different rows, or a table
        with different columns.
    """
    if len(requests) == 1:
        return dict(requests[0])
    names = list(requests[0])
    for tables in requests[1:]:
        for name in names:
            if not tables[name].schema.equals(requests[0][name].schema):
                raise ValueError(f"requests' '{name}' tables differ in columns")
    leads = [lead for t in requests for lead in t["leads"]["lead_id"].to_pylist()]
    if len(set(leads)) != len(leads):
        raise ValueError("requests share a lead")
    merged = {name: pa.concat_tables([t[name] for t in requests]) for name in names}
    accounts = merged["accounts"]
    seen: dict[object, dict] = {}
    keep = []
    for row in accounts.to_pylist():
        key = row["account_id"]
        if key in seen:
            if seen[key] != row:
                raise ValueError(f"requests send account {key!r} with different rows")
            keep.append(False)
            continue
        seen[key] = row
        keep.append(True)
    if not all(keep):
        merged["accounts"] = accounts.filter(pa.array(keep))
    return merged


def _ranked(
    scored: pa.Table,
    scorer: Scorer,
    owner: Mapping[str, int] | None = None,
    requests: int = 1,
) -> tuple[pa.Table, np.ndarray]:
    """The scores of every request, each request's best first with ``rank`` 1 first,
    ``delta`` null, columns of the output (display context null where ``scored`` has
    none); and where each request's rows start (the rows of request ``i`` are
    ``bounds[i]:bounds[i + 1]``). ``owner``: the request of each lead (None: one)."""
    key = "probability" if scorer.bundle is not None else "rule_points"
    lead = np.asarray(scored["lead_id"].to_pylist(), dtype=str)
    request = np.array(
        [0 if owner is None else owner[str(x)] for x in lead], dtype=np.int64
    )
    value = scored[key].to_numpy(zero_copy_only=False).astype(float)
    order = np.lexsort((lead, -value, request))
    request = request[order]
    bounds = np.searchsorted(request, np.arange(requests + 1), side="left")
    table = scored.take(pa.array(order))
    n = table.num_rows
    rank = np.arange(n, dtype=np.int64) - bounds[request] + 1 if n else np.zeros(0, int)
    extra = {
        "rank": pa.array(rank, pa.int64()),
        "delta": pa.array(np.full(n, np.nan), pa.float64()),
        **{
            column: pa.nulls(n, pa.string())
            for column in CONTEXT_COLUMNS
            if column not in table.schema.names
        },
    }
    for name, values in extra.items():
        table = table.append_column(name, values)
    return table.select(list(OUTPUT_SCHEMA.names)), bounds


def _not_open(
    ids: list[str], tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp
) -> pd.DataFrame:
    """A rejection for each valid lead that is closed at ``as_of`` (not scored)."""
    outcomes = tables["outcomes"]
    closed = outcomes[outcomes["lead_id"].astype(str).isin(ids)]
    reason = {
        str(r.lead_id): f"closed ({r.outcome}) at {r.closed_at.isoformat()}: not open"
        for r in closed.itertuples()
    }
    return pd.DataFrame(
        {
            "lead_id": pd.Series(ids, dtype=object),
            "table": "outcomes",
            "row": pd.Series([None] * len(ids), dtype="Int64"),
            "column": None,
            "reason": [reason.get(i, f"not open at {as_of.isoformat()}") for i in ids],
        }
    )
