"""Fit features: how well a lead and its account match the Ideal Customer Profile.

Stage: features. Inputs: ``leads_v`` and ``accounts_v`` (see :mod:`sources`), the
:class:`~predscore.config.IcpConfig` and the spine batch ``spine_b``. Output: one row per
spine row with

* a match per ICP dimension, in [0, 1], NaN when the attribute is unknown:
  a flag for sets (sector, geography, role, seniority, department), a degree for ranges
  (employees, revenue: 1 inside, falling linearly to 0 over
  ``icp_range_tolerance_decades`` powers of ten outside) and the share of the ICP tech
  stack the account uses;
* ``icp_fit_score``, the weighted mean of the matches where an unknown attribute counts
  as no match, and ``icp_known_share``, the weight share of known dimensions;
* the raw attributes (categorical or numeric) and the extra lead attribute columns,
  passed through typed: numbers and booleans as floats, timestamps as days before
  ``as_of``, anything else as a category.

Caveat: CRM attributes have no history; they are taken as known at every ``as_of``
after the lead's creation.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from predscore.config import ICP_DIMENSIONS, FeaturesConfig, IcpConfig, Range
from predscore.errors import DataValidationError
from predscore.features import pit
from predscore.features.registry import Dtype, FeatureSpec
from predscore.features.sql import quote_ident, quote_str

__all__ = ["FIT_PREFIX", "fit_ages", "fit_columns", "fit_sql"]

#: Prefix of the fit feature columns in the result of :func:`fit_sql`.
FIT_PREFIX = "fit:"

_CATEGORICAL = (
    ("source", "l.source", "leads", "lead source (inbound, outbound, event...)"),
    ("role", "l.role", "leads", "buying role of the contact"),
    ("seniority", "l.seniority", "leads", "seniority of the contact"),
    ("department", "l.department", "leads", "department of the contact"),
    ("country", "l.country", "leads", "country of the contact"),
    ("sector", "a.sector", "accounts", "sector of the account"),
    ("account_country", "a.country", "accounts", "country of the account"),
    ("region", "a.region", "accounts", "region of the account"),
)
_NUMERIC = (
    ("employees", "a.employees", "employees of the account"),
    ("annual_revenue", "a.annual_revenue", "annual revenue of the account"),
)
_NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "BOOLEAN",
)


def _num(value: float) -> str:
    # A quoted literal is parsed as DOUBLE exactly; a bare one would be a DECIMAL.
    return f"CAST('{float(value)!r}' AS DOUBLE)"


def _in(expr: str, values: list[str]) -> str:
    if not values:
        return "FALSE"
    return f"{expr} IN ({', '.join(quote_str(v) for v in values)})"


def _flag(expr: str, values: list[str]) -> str:
    return f"CASE WHEN {expr} IS NULL THEN NULL WHEN {_in(expr, values)} THEN 1.0 ELSE 0.0 END"


def _degree(expr: str, bounds: Range, decades: float) -> str:
    """1 inside the range; outside, 1 - log10(distance ratio) / decades, floored at 0."""
    inside = (
        " AND ".join(
            [f"{expr} >= {_num(bounds.min or 0.0)}"] * (bounds.min is not None)
            + [f"{expr} <= {_num(bounds.max or 0.0)}"] * (bounds.max is not None)
        )
        or "TRUE"
    )
    branches = [f"WHEN {expr} IS NULL THEN NULL", f"WHEN {inside} THEN 1.0"]
    if decades > 0:
        if bounds.min is not None and bounds.min > 0:
            ratio = f"{_num(bounds.min)} / {expr}"
            branches.append(
                f"WHEN {expr} > 0 AND {expr} < {_num(bounds.min)} THEN "
                f"greatest(0.0, 1.0 - log10({ratio}) / {_num(decades)})"
            )
        if bounds.max is not None and bounds.max > 0:
            ratio = f"{expr} / {_num(bounds.max)}"
            branches.append(
                f"WHEN {expr} > {_num(bounds.max)} THEN "
                f"greatest(0.0, 1.0 - log10({ratio}) / {_num(decades)})"
            )
    return "CAST(CASE " + " ".join(branches) + " ELSE 0.0 END AS DOUBLE)"


def _tech_lists(icp: IcpConfig) -> tuple[str, str]:
    icp_list = "[" + ", ".join(quote_str(t) for t in icp.tech_stack) + "]::VARCHAR[]"
    overlap = f"len(list_intersect(list_distinct(a.tech_stack), {icp_list}))"
    return icp_list, overlap


def _match_columns(
    icp: IcpConfig, config: FeaturesConfig
) -> list[tuple[FeatureSpec, str]]:
    _, overlap = _tech_lists(icp)
    n_tech = len(set(icp.tech_stack))
    country = "coalesce(a.country, l.country)"
    geography = (
        f"CASE WHEN {country} IS NULL AND a.region IS NULL THEN NULL "
        f"WHEN {_in(country, icp.countries)} OR {_in('a.region', icp.regions)} "
        "THEN 1.0 ELSE 0.0 END"
    )
    tech = "CASE WHEN a.tech_stack IS NULL THEN NULL " + (
        f"ELSE CAST({overlap} AS DOUBLE) / {n_tech} END" if n_tech else "ELSE 0.0 END"
    )
    decades = config.icp_range_tolerance_decades
    exprs = {
        "sector": (_flag("a.sector", icp.sectors), "sector in the ICP sectors"),
        "employees": (
            _degree("a.employees", icp.employees, decades),
            "employee count inside the ICP band (degree)",
        ),
        "annual_revenue": (
            _degree("a.annual_revenue", icp.annual_revenue, decades),
            "annual revenue inside the ICP band (degree)",
        ),
        "geography": (geography, "account (else contact) country or region in the ICP"),
        "tech_stack": (tech, "share of the ICP tech stack the account uses"),
        "role": (_flag("l.role", icp.roles), "buying role in the ICP roles"),
        "seniority": (_flag("l.seniority", icp.seniorities), "seniority in the ICP"),
        "department": (_flag("l.department", icp.departments), "department in the ICP"),
    }
    return [
        (
            FeatureSpec(
                f"icp_{dim}_match",
                "fit",
                "float64",
                "leads, accounts",
                doc,
                kind="match",
            ),
            f"CAST({expr} AS DOUBLE)",
        )
        for dim, (expr, doc) in ((d, exprs[d]) for d in ICP_DIMENSIONS)
    ]


def _score_columns(icp: IcpConfig) -> list[tuple[FeatureSpec, str]]:
    weights = [(d, icp.weights.get(d, 0.0)) for d in ICP_DIMENSIONS]
    total = sum(w for _, w in weights)
    match = {d: quote_ident(f"{FIT_PREFIX}icp_{d}_match") for d, _ in weights}
    score = " + ".join(f"{_num(w)} * coalesce({match[d]}, 0.0)" for d, w in weights)
    known = " + ".join(
        f"{_num(w)} * CAST({match[d]} IS NOT NULL AS DOUBLE)" for d, w in weights
    )
    return [
        (
            FeatureSpec(
                "icp_fit_score",
                "fit",
                "float64",
                "leads, accounts",
                "weighted ICP match in [0, 1]; unknown counts as no match",
                kind="score",
            ),
            f"({score}) / {_num(total)}",
        ),
        (
            FeatureSpec(
                "icp_known_share",
                "fit",
                "float64",
                "leads, accounts",
                "share of ICP weight whose attribute is known",
                kind="score",
            ),
            f"({known}) / {_num(total)}",
        ),
    ]


def _raw_columns(icp: IcpConfig) -> list[tuple[FeatureSpec, str]]:
    cols = [
        (FeatureSpec(name, "fit", "category", table, doc, kind="attribute"), expr)
        for name, expr, table, doc in _CATEGORICAL
    ]
    cols += [
        (FeatureSpec(name, "fit", "float64", "accounts", doc, kind="attribute"), expr)
        for name, expr, doc in _NUMERIC
    ]
    _, overlap = _tech_lists(icp)
    cols += [
        (
            FeatureSpec(
                "tech_stack_size",
                "fit",
                "float64",
                "accounts",
                "number of technologies the account uses",
                kind="attribute",
            ),
            "CAST(len(list_distinct(a.tech_stack)) AS DOUBLE)",
        ),
        (
            FeatureSpec(
                "tech_stack_overlap",
                "fit",
                "float64",
                "accounts",
                "number of ICP technologies the account uses",
                kind="attribute",
            ),
            f"CAST({overlap} AS DOUBLE)",
        ),
    ]
    return cols


def _extra_column(name: str, duck_type: str) -> tuple[FeatureSpec, str]:
    column = f"l.{quote_ident(name)}"
    base = duck_type.split("(")[0].upper()
    time_column = None
    if base in _NUMERIC_TYPES:
        dtype: Dtype = "float64"
        expr = f"CAST({column} AS DOUBLE)"
    elif base.startswith("TIMESTAMP") or base == "DATE":
        # epoch microseconds here; days before each row's as_of, see fit_ages
        dtype, name, time_column = "float64", f"{name}_days", name
        expr = f"epoch_us(CAST({column} AS TIMESTAMPTZ))"
    else:
        dtype, expr = "category", f"CAST({column} AS VARCHAR)"
    spec = FeatureSpec(
        name, "fit", dtype, "leads", "extra lead attribute", time_column, kind="extra"
    )
    return spec, expr


def fit_columns(
    icp: IcpConfig,
    config: FeaturesConfig,
    lead_extras: Mapping[str, str],
    reserved: Collection[str] = (),
) -> list[tuple[FeatureSpec, str]]:
    """Fit feature specs with their SQL, in output order.

    The match expressions read ``l`` (lead) and ``a`` (account); the score expressions
    read the match columns. ``reserved`` holds the names of the other families'
    features, which extra lead columns may not take.

    Raises
    ------
    DataValidationError
        When an extra lead column would take the name of a feature.
    """
    cols = _match_columns(icp, config) + _score_columns(icp) + _raw_columns(icp)
    taken = {spec.name for spec, _ in cols} | set(reserved)
    taken |= {"lead_id", "as_of", "label", "closed_at"}
    for name, duck_type in lead_extras.items():
        spec, expr = _extra_column(name, duck_type)
        if spec.name in taken:
            raise DataValidationError(
                f"leads: extra column '{name}' would be the feature '{spec.name}', "
                "which predscore already computes; rename it in the ingest mapping"
            )
        taken.add(spec.name)
        cols.append((spec, expr))
    return cols


def fit_sql(cols: list[tuple[FeatureSpec, str]], source: str) -> str:
    """Query of the fit features of the leads of ``source``, once per lead.

    ``source`` is a relation with a ``lead_id`` column; the result has its columns,
    then one column per spec named ``FIT_PREFIX + spec.name`` (so that no feature name
    can clash with a column of ``source``). Timestamp attributes come out as epoch
    microseconds: :func:`fit_ages` turns them into ages at each row's ``as_of``.
    """
    scores = [(spec, expr) for spec, expr in cols if spec.kind == "score"]
    inner = ", ".join(
        f"{expr} AS {quote_ident(FIT_PREFIX + spec.name)}"
        for spec, expr in cols
        if spec.kind != "score"
    )
    outer = ", ".join(
        f"{expr} AS {quote_ident(FIT_PREFIX + spec.name)}" for spec, expr in scores
    )
    return (
        f"SELECT *, {outer} FROM ("
        f"SELECT s.*, {inner} FROM ({source}) s "
        "JOIN leads_v l ON l.lead_id = s.lead_id "
        "LEFT JOIN accounts_v a ON a.account_id = l.account_id)"
    )


def fit_ages(stamps_us: pa.Array | pa.ChunkedArray, as_of_us: np.ndarray) -> np.ndarray:
    """Days from a timestamp attribute (epoch µs, null: NaN) to each ``as_of``."""
    known = pc.is_valid(stamps_us).to_numpy(zero_copy_only=False)
    stamps = pc.fill_null(stamps_us, 0).to_numpy(zero_copy_only=False)
    return np.where(known, pit.age_days(as_of_us, stamps.astype(np.int64)), np.nan)
