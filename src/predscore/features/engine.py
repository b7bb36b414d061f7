"""The batched feature engine: stage in DuckDB, aggregate batches of leads in numpy.

Stage: features. Inputs: the canonical tables opened by :mod:`sources`. Output: feature
tables (Arrow), one per batch of leads, in ``(lead_id, as_of)`` order.

1. ``grid``: one row per lead of the spine (:mod:`spine`), numbered ``li`` in
   ``lead_id`` order, with the attributes of the lead and its account that the fit
   features read (:mod:`fit`);
2. ``act`` and ``qual``: the activities and qualifications of those leads that a row
   can know, coded (:mod:`sources`);
3. batches of consecutive leads holding at most ``batch_rows`` rows (and
   ``EVENTS_PER_ROW`` times as many activities) between them all: each reads its own
   range of ``li`` and computes its rows' features with numpy
   (:func:`compute_columns`): the fit features once per lead, the others aggregating
   each event once over the rows that see it (:mod:`grid`, :mod:`engagement`,
   :mod:`qualification`). A few leads held in memory skip the DuckDB staging
   (:mod:`in_memory`) and go straight to :func:`compute_columns`.

Two batches are computed at once (one with ``threads: 1``): numpy runs on one core,
and most of its work releases the GIL, so a second batch uses the other core while
the first one reads DuckDB or is written. Each of the two then holds at most half the
budget, and even a small table is cut into a few batches so that the two cores share
it. Memory is bounded by ``batch_rows``, not by the data set (DuckDB spills its tables
beyond ``memory_limit``).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from predscore.config import EngineConfig, FeaturesConfig, IcpConfig
from predscore.errors import DataValidationError
from predscore.features import pit
from predscore.features.engagement import engagement_arrays, engagement_spans
from predscore.features.events import Events, passive_codes
from predscore.features.fit import fit_ages, fit_arrays, fit_attributes_sql
from predscore.features.frame import Column
from predscore.features.grid import Grid
from predscore.features.qualification import qualification_arrays
from predscore.features.registry import FeatureSpec
from predscore.features.sources import Tables, stage_events
from predscore.features.specs import feature_specs
from predscore.features.spine import (
    labels,
    open_spine_sql,
    snapshot_spine_sql,
    snapshot_step_us,
)

__all__ = ["EVENTS_PER_ROW", "compute_columns", "iter_batches"]

logger = logging.getLogger(__name__)
#: A batch holds at most ``EVENTS_PER_ROW * batch_rows`` activities as well as
#: ``batch_rows`` rows: what a batch costs depends on both (about as much memory for
#: one row of ~230 features as for eight activities).
EVENTS_PER_ROW = 8
#: A batch is not cut below this cost (in rows): below it, the fixed cost of a batch
#: (three DuckDB reads, a few hundred numpy calls) outweighs a second core.
MIN_BATCH_ROWS = 8_192


def _workers(engine: EngineConfig) -> int:
    """Batches computed at once: two, or one when the engine may use one thread."""
    return 1 if engine.threads == 1 else 2


def _stage(
    tables: Tables, as_of_us: int | None, config: FeaturesConfig
) -> tuple[int, list[range]]:
    """Create ``grid`` (the spine's leads, numbered ``li`` in ``lead_id`` order, with
    the attributes their fit features read) and the staged events; return the number
    of rows and the batches of leads."""
    spine = snapshot_spine_sql(config) if as_of_us is None else open_spine_sql(as_of_us)
    attributes = fit_attributes_sql(tables.lead_extras)
    con = tables.con
    con.execute(
        "CREATE OR REPLACE TEMP TABLE grid AS SELECT "
        "row_number() OVER (ORDER BY lead_id) - 1 AS li, * FROM ("
        f"SELECT s.*, {attributes} FROM ({spine}) s "
        "JOIN leads_v l ON l.lead_id = s.lead_id "
        "LEFT JOIN accounts_v a ON a.account_id = l.account_id) ORDER BY li"
    )
    n_leads, n_distinct = con.execute(
        "SELECT count(*), count(DISTINCT lead_id) FROM grid"
    ).fetchall()[0]
    # the spine keeps cardinality: one grid per lead, never two
    if n_leads != n_distinct:
        raise DataValidationError(
            f"features: {n_leads} spine leads for {n_distinct} distinct lead_id; "
            "lead_id must be unique in leads and outcomes, and account_id in accounts"
        )
    stage_events(con)
    sizes = con.sql(
        "SELECT g.n_rows, coalesce(e.n, 0) AS n_events FROM grid g "
        "LEFT JOIN (SELECT li, count(*) AS n FROM act GROUP BY li) e ON e.li = g.li "
        "ORDER BY g.li"
    ).fetchnumpy()
    rows = np.asarray(sizes["n_rows"], dtype=np.int64)
    events = np.asarray(sizes["n_events"], dtype=np.int64)
    batches = _lead_batches(
        rows, events, tables.engine.batch_rows, _workers(tables.engine)
    )
    return int(rows.sum()), batches


def _lead_batches(
    rows: np.ndarray, events: np.ndarray, batch_rows: int, workers: int = 1
) -> list[range]:
    """Consecutive ranges of leads with at most ``batch_rows / workers`` rows and
    ``EVENTS_PER_ROW`` times as many events (or a single lead); with several workers,
    at least two batches each when the data allows batches of ``MIN_BATCH_ROWS``."""
    # one cost per lead, in rows: the batches computed at once cost at most batch_rows
    cost = np.maximum(rows, events / EVENTS_PER_ROW)
    ends = np.cumsum(cost)
    if workers > 1:
        total = float(ends[-1]) if len(ends) else 0.0
        share = max(total / (2 * workers), MIN_BATCH_ROWS)
        batch_rows = max(min(batch_rows / workers, share), 1)
    batches, lo, done = [], 0, 0.0
    while lo < len(rows):
        hi = max(int(np.searchsorted(ends, done + batch_rows, side="right")), lo + 1)
        batches.append(range(lo, hi))
        lo, done = hi, float(ends[hi - 1])
    return batches or [range(0, 0)]


def _numpy(table: pa.Table, name: str) -> np.ndarray:
    return table[name].to_numpy(zero_copy_only=False)


def _keys(
    head: pa.Table, grid: Grid, rows: pa.Array, config: FeaturesConfig, snapshots: bool
) -> dict[str, pa.Array | pa.ChunkedArray]:
    """``lead_id``, ``as_of`` and, for snapshots, ``closed_at`` and ``label``."""
    utc = pa.timestamp("us", tz="UTC")
    keys = {
        "lead_id": head["lead_id"].take(rows),
        "as_of": pa.array(grid.as_of, utc),
    }
    if snapshots:
        closed = _numpy(head, "closed_us").astype(np.int64)[grid.lead]
        won = _numpy(head, "won").astype(bool)[grid.lead]
        keys["closed_at"] = pa.array(closed, utc)
        keys["label"] = pa.array(labels(won, closed, grid.as_of, config))
    return keys


def _finish(
    head: pa.Table,
    grid: Grid,
    computed: Mapping[str, Column],
    specs: tuple[FeatureSpec, ...],
    config: FeaturesConfig,
    icp: IcpConfig,
    snapshots: bool,
) -> dict[str, Column]:
    """Key columns, fit columns spread over the rows, contract order, leakage guard."""
    rows = pa.array(grid.lead)
    columns: dict[str, Column] = dict(_keys(head, grid, rows, config, snapshots))
    fit = fit_arrays(head, icp, config, specs)
    for spec in specs:
        if spec.family != "fit":
            columns[spec.name] = computed[spec.name]
            if spec.kind in ("recency", "age"):
                pit.check_ages(_lowest(computed[spec.name]), f"feature '{spec.name}'")
            continue
        column = fit[spec.name]
        if isinstance(column, np.ndarray):
            column = column[grid.lead]
        else:
            if spec.dtype == "category":  # encoded once per lead, not once per row
                column = pc.dictionary_encode(column)
            column = column.take(rows)
        if spec.time_column is not None:
            column = fit_ages(column, grid.as_of)
        columns[spec.name] = column
    return columns


def _lowest(values: Column) -> float | None:
    """The smallest value (NaN when every value is NaN), None without any value: as
    Arrow's ``min``."""
    if not isinstance(values, np.ndarray):
        return pc.min(values).as_py()
    if not len(values):
        return None
    known = values[~np.isnan(values)] if values.dtype.kind == "f" else values
    return float(known.min()) if len(known) else float("nan")


#: The staged activities as :class:`Events` takes them: 64-bit, missing codes -1 and
#: missing quantities 0, filled by DuckDB's threads rather than by a fill and a cast
#: in numpy.
_EVENT_COLUMNS = (
    "li, t_us, CAST(ch AS BIGINT) AS ch, CAST(coalesce(pair, -1) AS BIGINT) AS pair, "
    "CAST(coalesce(detail, -1) AS BIGINT) AS detail, coalesce(quantity, 0.0) AS quantity"
)


def _read(tables: Tables, leads: range, lock: threading.Lock) -> tuple[pa.Table, ...]:
    """The grid rows, activities and qualifications of the leads numbered ``leads``."""
    where = f"li >= {leads.start} AND li < {leads.stop}"
    # one connection, one statement at a time: the other batch waits for it
    with lock:
        return tuple(
            tables.con.sql(query).to_arrow_table()
            for query in (
                f"SELECT * FROM grid WHERE {where} ORDER BY li",
                f"SELECT {_EVENT_COLUMNS} FROM act WHERE {where} ORDER BY li, t_us",
                f"SELECT * FROM qual WHERE {where} ORDER BY li, t_us, value",
            )
        )


def compute_columns(
    head: pa.Table,
    activities: pa.Table,
    records: pa.Table,
    first_lead: int,
    step: int,
    config: FeaturesConfig,
    icp: IcpConfig,
    specs: tuple[FeatureSpec, ...],
    snapshots: bool = False,
) -> dict[str, Column]:
    """Features of the rows of a batch of leads, from its staged tables: one column
    per key and spec, numbers as numpy arrays, texts and keys as Arrow arrays.

    ``head`` holds one row per lead (the spine's columns and the staged attributes,
    :func:`~predscore.features.fit.fit_attributes_sql`), ``activities`` and ``records``
    the lead's coded activities and typed qualifications (``li`` numbers the leads
    from ``first_lead``), sorted by lead and time. The batch engine reads them from
    DuckDB; leads held in memory (:mod:`~predscore.features.in_memory`) stage them
    with Arrow: both compute every feature here.
    """
    grid = Grid.of(
        _numpy(head, "first_us").astype(np.int64), _numpy(head, "n_rows"), step
    )
    events = Events.of(
        activities,
        grid,
        first_lead,
        engagement_spans(config),
        passive_codes(config),
    )
    created = _numpy(head, "created_us").astype(np.int64)[grid.lead]
    computed = {
        **engagement_arrays(
            grid,
            events,
            created,
            config,
            [spec for spec in specs if spec.family == "engagement"],
        ),
        **qualification_arrays(grid, records, first_lead),
    }
    return _finish(head, grid, computed, specs, config, icp, snapshots)


def _batch(
    tables: Tables,
    leads: range,
    step: int,
    config: FeaturesConfig,
    icp: IcpConfig,
    specs: tuple[FeatureSpec, ...],
    snapshots: bool,
    lock: threading.Lock,
) -> pa.Table:
    """Features of the rows of the leads numbered ``leads``."""
    head, activities, records = _read(tables, leads, lock)
    return pa.table(
        compute_columns(
            head, activities, records, leads.start, step, config, icp, specs, snapshots
        )
    )


def iter_batches(
    tables: Tables, as_of_us: int | None, config: FeaturesConfig, icp: IcpConfig
) -> Iterator[pa.Table]:
    """Feature batches as of ``as_of_us``, or of the training snapshots when None."""
    snapshots = as_of_us is None
    n_rows, batches = _stage(tables, as_of_us, config)
    step = snapshot_step_us(config) if snapshots else 1
    specs = feature_specs(config, icp, tables.lead_extras)
    logger.info("features: %d rows in %d batch(es)", n_rows, len(batches))
    workers, lock = _workers(tables.engine), threading.Lock()
    todo = iter(batches)
    with ThreadPoolExecutor(workers, thread_name_prefix="features-batch") as pool:

        def start(leads: range) -> Future[pa.Table]:
            return pool.submit(
                _batch, tables, leads, step, config, icp, specs, snapshots, lock
            )

        pending = deque(start(leads) for leads in islice(todo, workers))
        while pending:
            done = pending.popleft().result()
            # with two workers or more, the next batch starts before this one is
            # handed over: the workers stay busy while the caller writes it (in order;
            # ``workers`` computing at most). With one (``threads: 1``), it starts
            # only once this one is handed over: one batch alive at a time, as before
            following = next(todo, None) if workers > 1 else None
            if following is not None:
                pending.append(start(following))
            yield done
            if workers == 1:
                del done  # handed over: free it before the next one is computed
                following = next(todo, None)
                if following is not None:
                    pending.append(start(following))
