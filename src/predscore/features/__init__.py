"""Point-in-time features: fit, engagement and qualification, as of any moment.

Stage: after validation, before rules and model. Inputs are the validated canonical
tables (a data folder ``DIR/<table>.parquet`` or a mapping of frames); outputs are
feature tables keyed by ``(lead_id, as_of)``. Nothing timestamped after a row's
``as_of`` can change that row (see :mod:`predscore.features.pit`).

Public API
----------
``build_features(tables_or_dir, as_of, config=None, icp=None) -> DataFrame``
    One row per lead open at ``as_of``: ``lead_id``, ``as_of``, then the features.
``build_snapshots(tables_or_dir, config=None, icp=None, cutoff=None) -> DataFrame``
    Training rows: ``lead_id``, ``as_of``, ``closed_at``, ``label``, then the features,
    one row per closed lead every ``snapshot_every_days`` until before its close; with
    ``horizon_days``, the rows whose label is known at ``cutoff``, open leads included.
``export_features(tables_or_dir, as_of, path, config=None, icp=None) -> int``
    :func:`build_features` streamed to a Parquet file in bounded memory; rows written.
``export_snapshots(tables_or_dir, path, config=None, icp=None, cutoff=None) -> int``
    :func:`build_snapshots` streamed to a Parquet file in bounded memory; rows written.
``label_cutoff(tables_or_dir, as_of) -> (Timestamp | None, note | None)``
    The cutoff for horizon labels: ``as_of``, or the newest event when ``as_of`` is
    later than the data (``newest_event(tables_or_dir)``) or not given.
``write_features(frame, path) -> Path``
    Write a feature or snapshot frame to Parquet atomically.
``feature_specs(config=None, icp=None, lead_extras=None) -> tuple[FeatureSpec, ...]``
    The declaration (name, family, dtype, source, window, doc) of every feature column.

``TableSource(tables_or_dir)``
    The tables read lead by lead: the open leads at a cutoff, the rows of some leads.
``KeptConnection(engine=None)``
    A DuckDB connection kept open between calls of :func:`build_features`
    (``kept=``): a server scoring one lead per request opens no new database.

``config`` is ``PredscoreConfig.features`` (:class:`~predscore.config.FeaturesConfig`)
and ``icp`` is ``PredscoreConfig.icp`` (:class:`~predscore.config.IcpConfig`); both
default to the models' defaults.
"""

from predscore.features.build import (
    build_features,
    build_snapshots,
    export_features,
    export_snapshots,
    feature_specs,
    label_cutoff,
    newest_event,
    write_features,
)
from predscore.features.lead_tables import CONTEXT_COLUMNS, LeadCounts, TableSource
from predscore.features.registry import KEY_COLUMNS, SNAPSHOT_COLUMNS, FeatureSpec
from predscore.features.sources import KeptConnection

__all__ = [
    "CONTEXT_COLUMNS",
    "KEY_COLUMNS",
    "SNAPSHOT_COLUMNS",
    "FeatureSpec",
    "KeptConnection",
    "LeadCounts",
    "TableSource",
    "build_features",
    "build_snapshots",
    "export_features",
    "export_snapshots",
    "feature_specs",
    "label_cutoff",
    "newest_event",
    "write_features",
]
