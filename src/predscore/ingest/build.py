"""Source frames → raw canonical tables, each row tied to its row in the source file.

Stage: inside ingest, after reading and joining, before validation. Every rule of the
mapping is evaluated (:func:`~predscore.ingest.derive.apply_rule`); a row with a value
that cannot be derived keeps its first reason, so that the caller rejects it. The label
sorts each row of the leads' source into won, lost or open (or rejects it); won and
lost rows also become ``outcomes`` rows.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from predscore.errors import ConfigError
from predscore.ingest.derive import Derived, apply_rule
from predscore.ingest.mapping import Cast, IngestMapping, LabelSpec, TableMap
from predscore.schema import TABLE_ORDER, TABLES

__all__ = ["RawTable", "build_tables", "check_columns"]

_CAST: dict[str, Cast] = {
    "id": "text",
    "string": "text",
    "category": "text",
    "int": "int",
    "float": "float",
    "timestamp": "timestamp",
    "string_list": "text",
}


@dataclass(frozen=True)
class RawTable:
    """A canonical table before validation.

    ``rows[i]`` is the position, in the file of ``source``, of row ``i`` of ``frame``;
    ``problems`` has one row per frame row that could not be derived (``position`` in
    the frame, ``column``, ``reason``).
    """

    table: str
    source: str | None
    frame: pd.DataFrame
    rows: np.ndarray
    problems: pd.DataFrame


def _unknown_column(key: str, column: str, source: str, columns: list[str]) -> str:
    close = difflib.get_close_matches(column, columns, n=3)
    hint = f"; did you mean {close}?" if close else f"; columns: {columns}"
    return f"key '{key}': unknown column {column!r} in source '{source}'{hint}"


def check_columns(mapping: IngestMapping, frames: dict[str, pd.DataFrame]) -> None:
    """Check that every column the mapping reads exists in its source.

    Raises
    ------
    ConfigError
        Naming the dotted key, the column and the closest existing columns.
    """
    leads_source = mapping.leads.from_
    reads = [
        (key, source, column)
        for key, source, rule in mapping.rules()
        for column in rule.source_columns()
    ]
    reads.append(("label.column", leads_source, mapping.label.column))
    for key, source, column in reads:
        if column not in frames[source].columns:
            raise ConfigError(
                _unknown_column(key, column, source, list(frames[source].columns))
            )
    everything = {c for frame in frames.values() for c in frame.columns}
    for column in mapping.leaks:
        if column not in everything:
            raise ConfigError(
                _unknown_column(
                    f"leaks.{column}", column, "any source", sorted(everything)
                )
            )


def _problem_frame(
    derived: dict[str, Derived], extra: pd.Series | None
) -> pd.DataFrame:
    """First problem of each row, columns taken in mapping order."""
    parts = [
        pd.DataFrame({"column": name, "reason": d.problems[d.bad]})
        for name, d in derived.items()
        if d.bad.any()
    ]
    if extra is not None and extra.notna().any():
        parts.append(
            extra.dropna().rename("reason").to_frame().assign(column=extra.name)
        )
    if not parts:
        return pd.DataFrame(
            {"position": pd.Series(dtype="int64"), "column": [], "reason": []}
        )
    merged = pd.concat(parts)
    merged = merged[~merged.index.duplicated(keep="first")].sort_index()
    return merged.rename_axis("position").reset_index()[
        ["position", "column", "reason"]
    ]


def _derive_all(table: str, spec: TableMap, source: pd.DataFrame) -> dict[str, Derived]:
    canonical = TABLES[table].by_name
    derived = {
        name: apply_rule(
            source, rule, _CAST[canonical[name].kind], f"{table}.columns.{name}"
        )
        for name, rule in spec.columns.items()
    }
    for name, rule in spec.extra.items():
        derived[name] = apply_rule(source, rule, "text", f"{table}.extra.{name}")
    return derived


def _classify(label: LabelSpec, source: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Outcome of each row (won / lost / open / None) and the reason of rejected ones."""
    text = source[label.column].astype("string").str.strip()
    text = text.where(text.ne(""))
    listed = text.map(label.outcome_of()).astype(object)
    outcome = listed.where(listed.notna(), label.other)
    outcome = outcome.where(text.notna(), label.missing)
    reasons = pd.Series(None, index=source.index, dtype=object, name=label.column)
    rejected = outcome.eq("reject")
    lists = f"won {label.won}, lost {label.lost}, open {label.open}"
    reasons[rejected & text.isna()] = (
        f"missing label in source column '{label.column}' (label.missing: reject)"
    )
    unknown = rejected & text.notna()
    reasons[unknown] = (
        "unknown label value "
        + text[unknown].astype(str).str.slice(0, 40).map(repr)
        + f" in source column '{label.column}' (expected {lists})"
    )
    return outcome.where(~rejected, None), reasons


def _table(
    table: str,
    source_name: str | None,
    derived: dict[str, Derived],
    index: pd.Index,
    extra_problem: pd.Series | None = None,
) -> RawTable:
    frame = pd.DataFrame({name: d.values for name, d in derived.items()}, index=index)
    problems = _problem_frame(derived, extra_problem)
    positions = pd.Series(np.arange(len(index)), index=index)
    problems = problems.assign(position=positions[problems["position"]].to_numpy())
    return RawTable(
        table=table,
        source=source_name,
        frame=frame.reset_index(drop=True),
        rows=np.asarray(index, dtype="int64"),
        problems=problems,
    )


def _empty(table: str) -> RawTable:
    frame = pd.DataFrame(
        {c.name: pd.Series(dtype=object) for c in TABLES[table].columns}
    )
    return RawTable(
        table, None, frame, np.zeros(0, dtype="int64"), _problem_frame({}, None)
    )


def build_tables(
    mapping: IngestMapping, frames: dict[str, pd.DataFrame]
) -> tuple[dict[str, RawTable], pd.Series]:
    """Evaluate the mapping over the (joined) source frames.

    Parameters
    ----------
    mapping : IngestMapping
        A mapping whose columns were checked with :func:`check_columns`.
    frames : dict of DataFrame
        Source name → frame as read (row ``i`` = row ``i`` of the file) and joined.

    Returns
    -------
    tables : dict of RawTable
        The five canonical tables before validation (empty ones for unmapped tables).
    outcome : Series
        Per row of the leads' source: ``won``, ``lost``, ``open`` or None (rejected).
    """
    tables = {t: _empty(t) for t in TABLE_ORDER}
    derived: dict[str, dict[str, Derived]] = {}
    for table, spec in mapping.tables().items():
        source = frames[spec.from_].reset_index(drop=True)
        derived[table] = _derive_all(table, spec, source)
        if table != "leads":
            tables[table] = _table(table, spec.from_, derived[table], source.index)
    source = frames[mapping.leads.from_].reset_index(drop=True)
    outcome, label_problem = _classify(mapping.label, source)
    tables["leads"] = _table(
        "leads", mapping.leads.from_, derived["leads"], source.index, label_problem
    )
    tables["outcomes"] = _outcomes(
        mapping, source, derived["leads"]["lead_id"], outcome
    )
    return tables, outcome


def _outcomes(
    mapping: IngestMapping, source: pd.DataFrame, lead_ids: Derived, outcome: pd.Series
) -> RawTable:
    """One outcome per won or lost row of the leads' source."""
    closed = outcome.isin(["won", "lost"]).to_numpy()
    derived = {"lead_id": lead_ids, "outcome": _constant_derived(outcome)}
    for name, rule in mapping.label.rules().items():
        kind = _CAST[TABLES["outcomes"].by_name[name].kind]
        # on every row, not only the closed ones: row-order rules need the whole file
        derived[name] = apply_rule(source, rule, kind, f"label.{name}")
    subset = {
        name: Derived(d.values[closed], d.problems[closed])
        for name, d in derived.items()
    }
    return _table("outcomes", mapping.leads.from_, subset, source.index[closed])


def _constant_derived(values: pd.Series) -> Derived:
    return Derived(values, pd.Series(None, index=values.index, dtype=object))
