"""Features of a few leads held in memory (a request), staged without SQL.

Stage: features. Input: the five canonical tables of a request as Arrow tables of the
canonical schema (what validation returns: :func:`predscore.serve.canonical.
canonical_tables` gives them for a request validation would keep whole) and one as-of
time. Output: the feature frame :func:`~predscore.features.build_features` returns for
the same tables and time, row for row.

The batch engine stages its leads in DuckDB (spine, attributes, coded activities,
qualifications) and computes each batch with numpy
(:func:`~predscore.features.engine.compute_columns`). For a handful of leads the SQL
costs far more than the numpy work, so this module stages the same tables with
Arrow instead, under the same rules: the leads open at ``as_of`` in ``lead_id``
order, each with its account's attributes; the activities and qualifications known at
``as_of``, coded by the same vocabularies (:data:`~.events.CHANNEL_CODE`,
:data:`~.events.PAIR_CODE`, :data:`~.qualification.FIELD_CODE`) and sorted as the SQL
sorts them. Every feature is then computed by ``compute_columns``, the one
implementation both paths share (a Hypothesis test in
tests/property/test_features_properties.py checks the two paths give the same frame).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from predscore.config import FeaturesConfig, IcpConfig
from predscore.errors import DataValidationError
from predscore.features import pit
from predscore.features.engine import compute_columns
from predscore.features.events import CHANNEL_CODE, PAIR_CODE
from predscore.features.fit import FIT_ATTRIBUTES, FIT_PREFIX
from predscore.features.frame import columns_frame
from predscore.features.qualification import FIELD_CODE
from predscore.features.registry import FeatureSpec
from predscore.features.sources import check_passive_actions
from predscore.features.specs import feature_specs
from predscore.schema import TABLE_ORDER, TABLES

__all__ = ["MAX_LEADS", "in_memory_features", "stages_in_memory"]

_UTC = pa.timestamp("us", tz="UTC")
_SEPARATOR = "\x1f"  # joins a channel and an action into one key of a pair
_PAIR_KEYS = pa.array([f"{c}{_SEPARATOR}{a}" for c, a in PAIR_CODE], pa.string())
_CHANNELS = pa.array(list(CHANNEL_CODE), pa.string())
_FIELDS = pa.array(list(FIELD_CODE), pa.string())


#: Leads staged in memory at most: beyond, the batch engine's bounded memory pays.
MAX_LEADS = 1_000


def stages_in_memory(tables: object, config: FeaturesConfig) -> bool:
    """Whether :func:`in_memory_features` stages these tables: a mapping of the five
    canonical tables as Arrow tables, at most :data:`MAX_LEADS` leads, with no extra
    lead attribute that would become a feature (those are typed the way a file's
    columns are, by DuckDB)."""
    if not isinstance(tables, Mapping) or set(tables) != set(TABLE_ORDER):
        return False
    if not all(isinstance(tables[name], pa.Table) for name in TABLE_ORDER):
        return False
    leads = tables["leads"]
    if leads.num_rows > MAX_LEADS:
        return False
    canonical = TABLES["leads"].by_name
    excluded = set(config.non_feature_columns)
    return all(n in canonical or n in excluded for n in leads.schema.names)


def _repeated(column: pa.ChunkedArray, among: pa.ChunkedArray) -> bool:
    """Whether a value of ``among`` occurs more than once in ``column``."""
    counts = pc.value_counts(column.combine_chunks())
    twice = pc.and_(
        pc.is_in(counts.field("values"), value_set=among.combine_chunks()),
        pc.greater(counts.field("counts"), 1),
    )
    return bool(pc.any(twice).as_py())


def _check_unique(leads: pa.Table, tables: Mapping[str, pa.Table]) -> None:
    """The batch engine's check: one spine row per open lead (its ``lead_id`` once
    in leads and at most once in outcomes, its account once in accounts)."""
    ids = leads["lead_id"]
    if (
        _repeated(ids, ids)
        or _repeated(tables["outcomes"]["lead_id"], ids)
        or _repeated(tables["accounts"]["account_id"], leads["account_id"])
    ):
        raise DataValidationError(
            "features: a lead would have two feature rows; lead_id must be unique in "
            "leads and outcomes, and account_id in accounts"
        )


def _epoch_us(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.cast(pc.cast(column, _UTC), pa.int64())


def _index(values: pa.ChunkedArray, keys: pa.Array) -> np.ndarray:
    """Position of each value among ``keys``, -1 when absent or missing."""
    found = pc.index_in(values, value_set=keys)
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _head(tables: Mapping[str, pa.Table], as_of_us: int) -> pa.Table:
    """The open spine at ``as_of_us`` with the attributes of each lead and account."""
    leads = tables["leads"]
    created = _epoch_us(leads["created_at"]).to_numpy(zero_copy_only=False)
    outcomes = tables["outcomes"]
    at = _index(leads["lead_id"], outcomes["lead_id"].combine_chunks())
    never = np.iinfo(np.int64).max  # an outcome without a time closes nothing
    closed_at = pc.fill_null(_epoch_us(outcomes["closed_at"]), never).to_numpy()
    closed = np.where(
        at >= 0, closed_at[np.maximum(at, 0)] if len(closed_at) else never, never
    )
    leads = leads.filter(pa.array(pit.is_open_at(created, closed, as_of_us)))
    _check_unique(leads, tables)
    leads = leads.take(pc.sort_indices(leads["lead_id"]))
    accounts = tables["accounts"]
    at = _index(leads["account_id"], accounts["account_id"].combine_chunks())
    account_rows = pa.array(at, mask=at < 0)
    n = leads.num_rows
    as_of = np.full(n, as_of_us, dtype=np.int64)
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "lead_id": pc.cast(leads["lead_id"], pa.string()),
        "created_us": _epoch_us(leads["created_at"]),
        "first_us": pa.array(as_of),
        "n_rows": pa.array(np.ones(n, dtype=np.int64)),
        "last_us": pa.array(as_of),
        "closed_us": pa.nulls(n, pa.int64()),
        "won": pa.array(np.zeros(n, dtype=bool)),
    }
    for name, (expr, kind) in FIT_ATTRIBUTES.items():
        table, column = expr.split(".")
        if table == "l":
            values = leads[column]
        else:
            values = accounts[column].take(account_rows)
        columns[FIT_PREFIX + name] = pc.cast(values, kind)
    return pa.table(columns)


def _known_rows(
    table: pa.Table, time_column: str, head: pa.Table, as_of_us: int
) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """The rows of the head's leads known at ``as_of_us``, their lead numbers and
    times."""
    li = _index(table["lead_id"], head["lead_id"].combine_chunks())
    t = _epoch_us(table[time_column]).to_numpy(zero_copy_only=False)
    keep = (li >= 0) & pit.is_known(t, as_of_us)
    return table.filter(pa.array(keep)), li[keep], t[keep].astype(np.int64)


def _activities(head: pa.Table, activities: pa.Table, as_of_us: int) -> pa.Table:
    """The coded activities (as the engine reads them), sorted by lead and time."""
    rows, li, t = _known_rows(activities, "occurred_at", head, as_of_us)
    channel = pc.cast(rows["channel"], pa.string())
    ch = _index(channel, _CHANNELS)
    pair = _index(
        pc.binary_join_element_wise(
            channel, pc.cast(rows["action"], pa.string()), _SEPARATOR
        ),
        _PAIR_KEYS,
    )
    detail = pc.cast(rows["detail"], pa.string()).combine_chunks()
    detail_code = pc.fill_null(pc.dictionary_encode(detail).indices, -1)
    quantity = pc.fill_null(pc.cast(rows["quantity"], pa.float64()), 0.0)
    keep = ch >= 0  # a channel outside the vocabulary: left out, as the SQL does
    order = np.lexsort((t[keep], li[keep]))
    return pa.table(
        {
            "li": li[keep][order],
            "t_us": t[keep][order],
            "ch": ch[keep][order],
            "pair": pair[keep][order],
            "detail": detail_code.to_numpy(zero_copy_only=False).astype(np.int64)[keep][
                order
            ],
            "quantity": quantity.to_numpy(zero_copy_only=False)[keep][order],
        }
    )


def _qualifications(head: pa.Table, records: pa.Table, as_of_us: int) -> pa.Table:
    """The qualifications known at ``as_of_us``, sorted by lead, time and value."""
    rows, li, t = _known_rows(records, "recorded_at", head, as_of_us)
    field = _index(pc.cast(rows["field"], pa.string()), _FIELDS)
    keep = field >= 0  # fields outside the vocabulary are ignored
    value = pc.cast(rows["value"], pa.string()).filter(pa.array(keep))
    li, t, field = li[keep], t[keep], field[keep]
    # values in byte order: ranks of the sorted distinct texts
    ranks = pc.rank(value, sort_keys="ascending", tiebreaker="dense")
    rank = ranks.to_numpy(zero_copy_only=False) if len(value) else np.zeros(0)
    order = np.lexsort((rank, t, li))
    return pa.table(
        {
            "li": li[order],
            "t_us": t[order],
            "field": field[order].astype(np.int8),
            "value": value.take(pa.array(order)),
        }
    )


#: The specs of the last few (features, ICP) configurations, by identity: a server
#: scores with the same two objects for its whole life.
_SPECS: dict[tuple[int, int], tuple[FeaturesConfig, IcpConfig, tuple]] = {}


def _specs(config: FeaturesConfig, icp: IcpConfig) -> tuple[FeatureSpec, ...]:
    key = (id(config), id(icp))
    known = _SPECS.get(key)
    if known is None or known[0] is not config or known[1] is not icp:
        if len(_SPECS) >= 8:
            _SPECS.clear()
        known = _SPECS[key] = (config, icp, feature_specs(config, icp, {}))
    return known[2]


def in_memory_features(
    tables: Mapping[str, pa.Table],
    as_of: pd.Timestamp,
    config: FeaturesConfig,
    icp: IcpConfig,
) -> pd.DataFrame:
    """Features of every lead of ``tables`` open at ``as_of``.

    Equal to :func:`~predscore.features.build_features` of the same tables at the
    same time; for tables :func:`stages_in_memory` accepts.
    """
    check_passive_actions(config)
    as_of_us = pit.epoch_us(as_of)
    specs = _specs(config, icp)
    # one chunk per column (a pass of several requests concatenates their tables)
    tables = {name: tables[name].combine_chunks() for name in TABLE_ORDER}
    head = _head(tables, as_of_us)
    columns = compute_columns(
        head,
        _activities(head, tables["activities"], as_of_us),
        _qualifications(head, tables["qualifications"], as_of_us),
        0,
        1,
        config,
        icp,
        specs,
    )
    return columns_frame(columns, specs)
