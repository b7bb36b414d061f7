"""Assemble feature tables: spine → fit + engagement + qualification, in batches.

Stage: features. Inputs: validated canonical tables (a data folder of Parquet files or
a mapping of frames), a :class:`~predscore.config.FeaturesConfig` and an
:class:`~predscore.config.IcpConfig`. Outputs: a feature frame, or a Parquet file
streamed batch by batch.

Joins, time filters and aggregations are SQL run by DuckDB (engagement aggregates are
laid out as columns by numpy, see :mod:`engagement`). The spine is numbered in ``(lead_id, as_of)`` order and
cut into batches of at most ``batch_rows`` rows; each batch reads only the activities and
qualifications of its own lead range, so memory is bounded by the batch, not by the
data set (DuckDB spills beyond ``memory_limit``). Rows come out in ``(lead_id, as_of)``
order.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from predscore.config import FeaturesConfig, IcpConfig
from predscore.errors import DataValidationError
from predscore.features import pit
from predscore.features.engagement import engagement_arrays, engagement_columns
from predscore.features.fit import fit_columns, fit_sql
from predscore.features.qualification import qualification_columns, qualification_sql
from predscore.features.registry import FeatureSpec
from predscore.features.sources import Tables, TablesOrDir, open_tables, stage_events
from predscore.features.spine import open_spine_sql, snapshot_spine_sql
from predscore.features.sql import quote_str
from predscore.io import AtomicParquetWriter, write_parquet

__all__ = [
    "build_features",
    "build_snapshots",
    "export_features",
    "export_snapshots",
    "feature_specs",
    "write_features",
]

logger = logging.getLogger(__name__)
AsOf = pd.Timestamp | datetime | str


def feature_specs(
    config: FeaturesConfig | None = None,
    icp: IcpConfig | None = None,
    lead_extras: Mapping[str, str] | None = None,
) -> tuple[FeatureSpec, ...]:
    """Declarations of every feature column, in output order.

    Parameters
    ----------
    config : FeaturesConfig, optional
        Windows and other knobs that shape the column set (defaults when omitted).
    icp : IcpConfig, optional
        Ideal Customer Profile (defaults when omitted).
    lead_extras : mapping of str to str, optional
        Extra lead columns of a data set and their DuckDB types; they follow the fit
        features.

    Returns
    -------
    tuple of FeatureSpec
        Fit, then engagement, then qualification features.
    """
    config = config or FeaturesConfig()
    icp = icp or IcpConfig()
    others = [*engagement_columns(config), *qualification_columns()]
    reserved = {spec.name for spec in others}
    fit = [spec for spec, _ in fit_columns(icp, config, lead_extras or {}, reserved)]
    return (*fit, *others)


def _batch_sql(
    tables: Tables,
    config: FeaturesConfig,
    icp: IcpConfig,
    lead_filter: str,
    snapshots: bool,
) -> str:
    """Keys, fit and qualification features of the batch (SQL, one row per spine row)."""
    keys = "s.closed_us, s.label, " if snapshots else ""
    # extra columns clashing with a feature were reported by feature_specs already
    fit = fit_sql(fit_columns(icp, config, tables.lead_extras))
    created_age = pit.age_us("s.created_us", "s.as_of_us")
    return f"""
    WITH fit AS ({fit}),
    qua AS ({qualification_sql(lead_filter)})
    SELECT s.sid, s.lead_id, s.as_of_us, {keys}{created_age} AS created_age_us,
           fit.* EXCLUDE (sid), qua.* EXCLUDE (sid)
    FROM spine_b s JOIN fit ON fit.sid = s.sid JOIN qua ON qua.sid = s.sid
    ORDER BY s.sid
    """


def _lead_filter(tables: Tables) -> str:
    """Condition selecting the staged rows of the batch's lead range (a pruned scan)."""
    lo, hi = tables.con.execute(
        "SELECT min(lead_id), max(lead_id) FROM spine_b"
    ).fetchall()[0]
    if lo is None:
        return "FALSE"
    return f"lead_id BETWEEN {quote_str(lo)} AND {quote_str(hi)}"


def _finish(
    batch: pa.Table,
    engagement: Mapping[str, pa.Array],
    specs: tuple[FeatureSpec, ...],
    snapshots: bool,
) -> pa.Table:
    """Key columns as timestamps, columns in contract order, leakage guard."""
    utc = pa.timestamp("us", tz="UTC")
    columns: dict[str, pa.ChunkedArray] = {
        "lead_id": batch["lead_id"],
        "as_of": batch["as_of_us"].cast(utc),
    }
    if snapshots:
        columns["closed_at"] = batch["closed_us"].cast(utc)
        columns["label"] = batch["label"].cast(pa.int8())
    for spec in specs:
        column = engagement.get(spec.name)
        columns[spec.name] = batch[spec.name] if column is None else column
        if spec.kind in ("recency", "age"):
            lowest = pc.min(columns[spec.name]).as_py()
            pit.check_ages(lowest, f"feature '{spec.name}'")
    return pa.table(columns)


def _batch(
    tables: Tables,
    rows: range,
    config: FeaturesConfig,
    icp: IcpConfig,
    specs: tuple[FeatureSpec, ...],
    snapshots: bool,
) -> pa.Table:
    """Features of the spine rows whose ``sid`` is in ``rows``."""
    con = tables.con
    con.execute(
        "CREATE OR REPLACE TEMP TABLE spine_b AS SELECT * FROM spine "
        f"WHERE sid >= {rows.start} AND sid < {rows.stop}"
    )
    lead_filter = _lead_filter(tables)
    sql = _batch_sql(tables, config, icp, lead_filter, snapshots)
    batch = con.sql(sql).to_arrow_table()
    # the spine is a left join: never drop or duplicate a row
    if batch.num_rows != len(rows):
        raise DataValidationError(
            f"features: {batch.num_rows} feature rows for {len(rows)} spine rows; "
            "lead_id must be unique in leads and account_id in accounts"
        )
    created_age = batch["created_age_us"].to_numpy(zero_copy_only=False)
    engagement = engagement_arrays(con, config, lead_filter, rows.start, created_age)
    return _finish(batch, engagement, specs, snapshots)


def _iter_batches(
    tables: Tables, as_of_us: int | None, config: FeaturesConfig, icp: IcpConfig
) -> Iterator[pa.Table]:
    """Feature batches as of ``as_of_us``, or of the training snapshots when None."""
    snapshots = as_of_us is None
    spine_sql = (
        snapshot_spine_sql(config) if as_of_us is None else open_spine_sql(as_of_us)
    )
    con = tables.con
    con.execute(
        "CREATE OR REPLACE TEMP TABLE spine AS SELECT "
        f"row_number() OVER (ORDER BY lead_id, as_of_us) - 1 AS sid, * FROM ({spine_sql})"
    )
    stage_events(con, config, as_of_us)
    (n_rows,) = con.execute("SELECT count(*) FROM spine").fetchall()[0]
    n_batches = max(1, math.ceil(n_rows / config.batch_rows))
    size = max(1, math.ceil(n_rows / n_batches))
    specs = feature_specs(config, icp, tables.lead_extras)
    logger.info("features: %d rows in %d batch(es)", n_rows, n_batches)
    for k in range(n_batches):
        rows = range(min(n_rows, k * size), min(n_rows, (k + 1) * size))
        yield _batch(tables, rows, config, icp, specs, snapshots)


def _to_frame(parts: list[pa.Table], specs: tuple[FeatureSpec, ...]) -> pd.DataFrame:
    frame = pa.concat_tables(parts).to_pandas()
    for spec in specs:
        if spec.dtype == "category":
            frame[spec.name] = _as_category(frame[spec.name])
    return frame


def _as_category(series: pd.Series) -> pd.Series:
    """Categorical with sorted categories: the same data gives the same codes."""
    return series.astype("str").astype("category")


def _run(
    source: TablesOrDir, as_of_us: int | None, config: FeaturesConfig, icp: IcpConfig
) -> Iterator[tuple[tuple[FeatureSpec, ...], pa.Table]]:
    """Yield (specs, batch): features as of ``as_of_us``, or snapshots when None."""
    with open_tables(source, config) as tables:
        specs = feature_specs(config, icp, tables.lead_extras)
        for batch in _iter_batches(tables, as_of_us, config, icp):
            yield specs, batch


def _collect(
    source: TablesOrDir, as_of_us: int | None, config: FeaturesConfig, icp: IcpConfig
) -> pd.DataFrame:
    results = list(_run(source, as_of_us, config, icp))
    return _to_frame([batch for _, batch in results], results[0][0])


def build_features(
    tables_or_dir: TablesOrDir,
    as_of: AsOf,
    config: FeaturesConfig | None = None,
    icp: IcpConfig | None = None,
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
        Windows, half-life, visits, engine limits (``PredscoreConfig.features``).
    icp : IcpConfig, optional
        Ideal Customer Profile for the fit features (``PredscoreConfig.icp``).

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
    return _collect(tables_or_dir, pit.epoch_us(as_of), config, icp)


def build_snapshots(
    tables_or_dir: TablesOrDir,
    config: FeaturesConfig | None = None,
    icp: IcpConfig | None = None,
) -> pd.DataFrame:
    """Labelled training snapshots of every closed lead.

    One row per closed lead every ``config.snapshot_every_days`` from its
    ``created_at`` (included) until strictly before its ``closed_at``; each row's
    features are exactly those :func:`build_features` gives for that lead at that
    ``as_of``.

    Parameters
    ----------
    tables_or_dir : path or mapping of DataFrame
        As in :func:`build_features`.
    config : FeaturesConfig, optional
        Also sets ``snapshot_every_days`` and ``horizon_days``.
    icp : IcpConfig, optional
        Ideal Customer Profile.

    Returns
    -------
    DataFrame
        ``lead_id``, ``as_of``, ``closed_at``, ``label`` (``int8``: 1 when the lead was
        won within ``horizon_days`` after ``as_of``, or won at all when it is None),
        then the features; sorted by ``(lead_id, as_of)``. Split by lead and time, never
        at random across snapshots of one lead.

    Raises
    ------
    SchemaError, ConfigError, DataValidationError
        As in :func:`build_features`.
    """
    config = config or FeaturesConfig()
    icp = icp or IcpConfig()
    return _collect(tables_or_dir, None, config, icp)


def _arrow_for_file(table: pa.Table, specs: tuple[FeatureSpec, ...]) -> pa.Table:
    categorical = {spec.name for spec in specs if spec.dtype == "category"}
    columns = [
        pc.dictionary_encode(table[name]) if name in categorical else table[name]
        for name in table.column_names
    ]
    return pa.table(columns, names=table.column_names)


def _export(
    source: TablesOrDir,
    as_of_us: int | None,
    path: Path,
    config: FeaturesConfig,
    icp: IcpConfig,
) -> int:
    batches = _run(source, as_of_us, config, icp)
    specs, first = next(batches)  # there is always one batch, even when empty
    head = _arrow_for_file(first, specs)
    with AtomicParquetWriter(path, head.schema) as writer:
        writer.write(head)
        for _, batch in batches:
            writer.write(_arrow_for_file(batch, specs).cast(head.schema))
    return writer.rows


def export_features(
    tables_or_dir: TablesOrDir,
    as_of: AsOf,
    path: Path,
    config: FeaturesConfig | None = None,
    icp: IcpConfig | None = None,
) -> int:
    """Stream the features of :func:`build_features` to a Parquet file, batch by batch.

    Memory stays bounded by ``config.batch_rows`` whatever the number of leads; the file
    appears only when complete. Reading it back gives the frame of
    :func:`build_features` (categories may be ordered differently).

    Returns
    -------
    int
        Number of rows written.
    """
    config = config or FeaturesConfig()
    icp = icp or IcpConfig()
    return _export(tables_or_dir, pit.epoch_us(as_of), Path(path), config, icp)


def export_snapshots(
    tables_or_dir: TablesOrDir,
    path: Path,
    config: FeaturesConfig | None = None,
    icp: IcpConfig | None = None,
) -> int:
    """Stream the snapshots of :func:`build_snapshots` to a Parquet file.

    Returns
    -------
    int
        Number of rows written.
    """
    config = config or FeaturesConfig()
    icp = icp or IcpConfig()
    return _export(tables_or_dir, None, Path(path), config, icp)


def write_features(frame: pd.DataFrame, path: Path) -> Path:
    """Write a feature (or snapshot) frame to Parquet atomically; return the path.

    Categories are stored as dictionaries and timestamps as ``timestamp[us, UTC]``, so
    reading the file back with pandas gives the same dtypes.
    """
    path = Path(path)
    write_parquet(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path
