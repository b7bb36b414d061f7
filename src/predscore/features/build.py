"""Assemble feature tables: spine → fit + engagement + qualification, in batches.

Stage: features. Inputs: validated canonical tables (a data folder of Parquet files or
a mapping of frames), a :class:`~predscore.config.FeaturesConfig` and an
:class:`~predscore.config.IcpConfig`. Outputs: a feature frame, or a Parquet file
streamed batch by batch.

The work is done batch by batch by :mod:`engine` (DuckDB stages the spine's leads
and their events, numpy aggregates each batch of leads), so memory is bounded by the
batch, not by the data set. Exports write each batch while the next one is computed.
Rows come out in ``(lead_id, as_of)`` order.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from predscore.config import EngineConfig, FeaturesConfig, IcpConfig
from predscore.features import pit
from predscore.features.engine import iter_batches
from predscore.features.frame import to_frame
from predscore.features.in_memory import in_memory_features, stages_in_memory
from predscore.features.registry import FeatureSpec
from predscore.features.sources import KeptConnection, TablesOrDir, open_tables
from predscore.features.specs import feature_specs
from predscore.features.spine import newest_event_us, stage_cutoff
from predscore.io import AtomicParquetWriter, write_parquet

__all__ = [
    "build_features",
    "build_snapshots",
    "export_features",
    "export_snapshots",
    "feature_specs",
    "write_features",
]

AsOf = pd.Timestamp | datetime | str


def _open_at_cutoff(batch: pa.Table, cutoff_us: int) -> pa.Table:
    """``closed_at`` missing on the rows of leads not closed at the cutoff.

    The horizon spine gives those leads the close ``cutoff + 1`` (see :mod:`spine`):
    a stand-in, so that nothing recorded after the cutoff reaches their rows.
    """
    index = batch.schema.get_field_index("closed_at")
    closed = batch.column(index)
    limit = pa.scalar(cutoff_us, pa.int64()).cast(closed.type)
    masked = pc.if_else(pc.greater(closed, limit), pa.scalar(None, closed.type), closed)
    return batch.set_column(index, "closed_at", masked)


def _run(
    source: TablesOrDir,
    as_of_us: int | None,
    config: FeaturesConfig,
    icp: IcpConfig,
    cutoff_us: int | None = None,
    engine: EngineConfig | None = None,
    kept: KeptConnection | None = None,
) -> Iterator[tuple[tuple[FeatureSpec, ...], pa.Table]]:
    """Yield (specs, batch): features as of ``as_of_us``, or snapshots when None
    (labelled as known at ``cutoff_us`` when ``config.horizon_days`` is set)."""
    with open_tables(source, config, engine, kept) as tables:
        specs = feature_specs(config, icp, tables.lead_extras)
        horizon = as_of_us is None and config.horizon_days is not None
        if horizon:
            if cutoff_us is None:  # no cutoff given: the newest event bounds it
                cutoff_us = newest_event_us(tables.con) or 0
            stage_cutoff(tables.con, cutoff_us)
        for batch in iter_batches(tables, as_of_us, config, icp):
            yield specs, _open_at_cutoff(batch, cutoff_us) if horizon else batch


def _collect(
    source: TablesOrDir,
    as_of_us: int | None,
    config: FeaturesConfig,
    icp: IcpConfig,
    cutoff_us: int | None = None,
    engine: EngineConfig | None = None,
    kept: KeptConnection | None = None,
) -> pd.DataFrame:
    results = list(_run(source, as_of_us, config, icp, cutoff_us, engine, kept))
    return to_frame([batch for _, batch in results], results[0][0])


def newest_event(source: TablesOrDir) -> pd.Timestamp | None:
    """Time of the newest event of the tables (lead created, activity, qualification
    recorded, outcome closed); None when they hold none.

    A lower bound of the time the data was exported: a label cutoff later than it
    would read "not won" for windows the export cannot see the end of.
    """
    with open_tables(source, FeaturesConfig()) as tables:
        newest = newest_event_us(tables.con)
    return None if newest is None else pd.Timestamp(newest, unit="us", tz="UTC")


def label_cutoff(
    source: TablesOrDir, as_of: AsOf | None, slack_days: float = 1.0
) -> tuple[pd.Timestamp | None, str | None]:
    """The cutoff at which horizon labels are read (see :func:`build_snapshots`).

    ``as_of`` when given and not later than the newest event by more than
    ``slack_days``; otherwise the newest event (with a note saying why): labels are
    never read past what the export can show.
    """
    newest = newest_event(source)
    if as_of is None:
        return newest, None
    given = pd.Timestamp(pit.epoch_us(as_of), unit="us", tz="UTC")
    if newest is not None and given > newest + pd.Timedelta(days=slack_days):
        return newest, (
            f"--as-of {given:%Y-%m-%d %H:%M} is after the newest event of the data "
            f"({newest:%Y-%m-%d %H:%M}): horizon labels are read at the newest event, "
            "as windows ending later cannot be seen in this export"
        )
    return given, None


def _cutoff_us(cutoff: AsOf | None) -> int | None:
    return None if cutoff is None else pit.epoch_us(cutoff)


def build_features(
    tables_or_dir: TablesOrDir,
    as_of: AsOf,
    config: FeaturesConfig | None = None,
    icp: IcpConfig | None = None,
    *,
    engine: EngineConfig | None = None,
    kept: KeptConnection | None = None,
) -> pd.DataFrame:
    """Features of every lead open at ``as_of``, using only what was known then.

    Parameters
    ----------
    tables_or_dir : path or mapping of DataFrame
        A data folder holding the five validated canonical tables as
        ``<table>.parquet``, or a mapping ``{table: validated frame}``.
    as_of : Timestamp, datetime or str
        The cutoff (UTC; a naive time is read as UTC). Events at exactly ``as_of``
        count; later ones never do.
    config : FeaturesConfig, optional
        Windows, half-life, visits (``PredscoreConfig.features``).
    icp : IcpConfig, optional
        Ideal Customer Profile for the fit features (``PredscoreConfig.icp``).
    engine : EngineConfig, optional
        Batch size, memory limit and threads of this machine
        (``PredscoreConfig.engine``); they never change a value.
    kept : KeptConnection, optional
        A DuckDB connection kept open between calls (the scoring API's), with its
        own engine settings, used instead of a new connection.

    Returns
    -------
    DataFrame
        One row per lead created at or before ``as_of`` with no outcome closed at or
        before it, sorted by ``lead_id``: ``lead_id``, ``as_of``, then the columns of
        :func:`feature_specs` (``int32`` counts, ``float64`` numbers with NaN when
        unknown, ``category`` texts).

    Raises
    ------
    SchemaError
        When a table file or table is missing.
    ConfigError
        When ``config.passive_actions`` names an unknown channel or action.
    DataValidationError
        When an extra lead column clashes with a feature name.

    Examples
    --------
    >>> from predscore.schema import empty_table
    >>> tables = {t: empty_table(t) for t in
    ...           ("accounts", "leads", "activities", "qualifications", "outcomes")}
    >>> build_features(tables, "2026-01-01T00:00:00Z").shape[0]
    0
    """
    config = config or FeaturesConfig()
    icp = icp or IcpConfig()
    if stages_in_memory(tables_or_dir, config):  # a few leads: no SQL to stage them
        return in_memory_features(tables_or_dir, as_of, config, icp)  # type: ignore[arg-type]
    return _collect(tables_or_dir, pit.epoch_us(as_of), config, icp, None, engine, kept)


def build_snapshots(
    tables_or_dir: TablesOrDir,
    config: FeaturesConfig | None = None,
    icp: IcpConfig | None = None,
    cutoff: AsOf | None = None,
    *,
    engine: EngineConfig | None = None,
) -> pd.DataFrame:
    """Labelled training snapshots of every closed lead (and, with a horizon, of the
    leads still open at the cutoff).

    One row per closed lead every ``config.snapshot_every_days`` from its
    ``created_at`` (included) until strictly before its ``closed_at``; each row's
    features are exactly those :func:`build_features` gives for that lead at that
    ``as_of``. With ``config.horizon_days`` H, a row is kept when its label is known
    at ``cutoff``: every row of a lead closed at or before it, and the rows with
    ``as_of + H <= cutoff`` of a lead not closed then (label 0, ``closed_at``
    missing). Nothing after the cutoff changes any row.

    Parameters
    ----------
    tables_or_dir : path or mapping of DataFrame
        As in :func:`build_features`.
    config : FeaturesConfig, optional
        Also sets ``snapshot_every_days`` and ``horizon_days``.
    icp : IcpConfig, optional
        Ideal Customer Profile.
    cutoff : Timestamp, datetime or str, optional
        The data's cutoff, the time the tables describe (the ``as_of`` they were
        validated at): only read with a horizon. Default: the newest event of the
        tables (creation, activity, qualification or close), a lower bound of it.
    engine : EngineConfig, optional
        As in :func:`build_features`.

    Returns
    -------
    DataFrame
        ``lead_id``, ``as_of``, ``closed_at`` (missing for a lead not closed at the
        cutoff), ``label`` (``int8``: 1 when the lead was won within ``horizon_days``
        after ``as_of``, or won at all when it is None), then the features; sorted by
        ``(lead_id, as_of)``. Split by lead and time, never at random across
        snapshots of one lead.

    Raises
    ------
    SchemaError, ConfigError, DataValidationError
        As in :func:`build_features`.
    """
    config = config or FeaturesConfig()
    icp = icp or IcpConfig()
    return _collect(tables_or_dir, None, config, icp, _cutoff_us(cutoff), engine)


def _arrow_for_file(table: pa.Table, specs: tuple[FeatureSpec, ...]) -> pa.Table:
    """Categories dictionary-encoded (the engine already gives them so)."""
    categorical = {spec.name for spec in specs if spec.dtype == "category"}
    columns = [
        pc.dictionary_encode(column)
        if name in categorical and not pa.types.is_dictionary(column.type)
        else column
        for name, column in zip(table.column_names, table.columns, strict=True)
    ]
    return pa.table(columns, names=table.column_names)


def _export(
    source: TablesOrDir,
    as_of_us: int | None,
    path: Path,
    config: FeaturesConfig,
    icp: IcpConfig,
    cutoff_us: int | None = None,
    engine: EngineConfig | None = None,
) -> int:
    batches = _run(source, as_of_us, config, icp, cutoff_us, engine)
    specs, first = next(batches)  # there is always one batch, even when empty
    head = _arrow_for_file(first, specs)
    del first  # the file's copy (head) is what is kept

    def write(batch: pa.Table) -> None:
        writer.write(_arrow_for_file(batch, specs).cast(head.schema))

    # Encoding and compressing a batch (pyarrow, outside the GIL) overlaps with the
    # computation of the next one; one batch at most waits, so memory stays bounded.
    with (
        AtomicParquetWriter(path, head.schema) as writer,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="features-write") as pool,
    ):
        pending = pool.submit(writer.write, head)
        for _, batch in batches:
            pending.result()
            pending = pool.submit(write, batch)
        pending.result()
    return writer.rows


def export_features(
    tables_or_dir: TablesOrDir,
    as_of: AsOf,
    path: Path,
    config: FeaturesConfig | None = None,
    icp: IcpConfig | None = None,
    *,
    engine: EngineConfig | None = None,
) -> int:
    """Stream the features of :func:`build_features` to a Parquet file, batch by batch.

    Memory stays bounded by ``engine.batch_rows`` whatever the number of leads; the file
    appears only when complete. Reading it back gives the frame of
    :func:`build_features` (categories may be ordered differently).

    Returns
    -------
    int
        Number of rows written.
    """
    config = config or FeaturesConfig()
    icp = icp or IcpConfig()
    return _export(
        tables_or_dir, pit.epoch_us(as_of), Path(path), config, icp, None, engine
    )


def export_snapshots(
    tables_or_dir: TablesOrDir,
    path: Path,
    config: FeaturesConfig | None = None,
    icp: IcpConfig | None = None,
    cutoff: AsOf | None = None,
    *,
    engine: EngineConfig | None = None,
) -> int:
    """Stream the snapshots of :func:`build_snapshots` (same ``cutoff``) to a Parquet
    file.

    Returns
    -------
    int
        Number of rows written.
    """
    config = config or FeaturesConfig()
    icp = icp or IcpConfig()
    return _export(
        tables_or_dir, None, Path(path), config, icp, _cutoff_us(cutoff), engine
    )


def write_features(frame: pd.DataFrame, path: Path) -> Path:
    """Write a feature (or snapshot) frame to Parquet atomically; return the path.

    Categories are stored as dictionaries and timestamps as ``timestamp[us, UTC]``, so
    reading the file back with pandas gives the same dtypes.
    """
    path = Path(path)
    write_parquet(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path
