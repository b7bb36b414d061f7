"""Fit features: how well a lead and its account match the Ideal Customer Profile.

Stage: features. Inputs: the attributes of each lead and of its account, staged once
per lead (:func:`fit_attributes_sql` reads ``leads_v`` and ``accounts_v``, see
:mod:`sources`; a request's tables give the same columns directly), and the
:class:`~predscore.config.IcpConfig`. Output (:func:`fit_arrays`): one value per lead
for

* a match per ICP dimension, in [0, 1], NaN when the attribute is unknown:
  a flag for sets (sector, geography, role, seniority, department), a degree for ranges
  (employees, revenue: 1 inside, falling linearly to 0 over
  ``icp_range_tolerance_decades`` powers of ten outside) and the share of the ICP tech
  stack the account uses;
* ``icp_fit_score``, the weighted mean of the matches where an unknown attribute counts
  as no match, and ``icp_known_share``, the weight share of known dimensions;
* the raw attributes (categorical or numeric) and the extra lead attribute columns,
  passed through typed: numbers and booleans as floats, timestamps as days before
  ``as_of`` (:func:`fit_ages`, per row), anything else as a category.

The features are computed with numpy on Arrow columns, batch by batch, by the batch
engine and the single-lead path alike: one implementation, whatever the caller.

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
from predscore.features.sql import quote_ident

__all__ = [
    "EXTRA_PREFIX",
    "FIT_ATTRIBUTES",
    "FIT_PREFIX",
    "fit_ages",
    "fit_arrays",
    "fit_attributes_sql",
    "fit_columns",
]

#: Prefix of the staged attribute columns (:func:`fit_attributes_sql`), so that no
#: attribute name can clash with a column of the spine; the extra lead columns have
#: their own (an extra column may take the name of an account attribute).
FIT_PREFIX = "fit:"
EXTRA_PREFIX = "extra:"

_CATEGORICAL = (
    ("source", "leads", "lead source (inbound, outbound, event...)"),
    ("role", "leads", "buying role of the contact"),
    ("seniority", "leads", "seniority of the contact"),
    ("department", "leads", "department of the contact"),
    ("country", "leads", "country of the contact"),
    ("sector", "accounts", "sector of the account"),
    ("account_country", "accounts", "country of the account"),
    ("region", "accounts", "region of the account"),
)
_NUMERIC = (
    ("employees", "employees of the account"),
    ("annual_revenue", "annual revenue of the account"),
)
#: The canonical attributes the fit features read: staged name → (column of
#: ``leads_v`` (``l``) or ``accounts_v`` (``a``), Arrow type).
FIT_ATTRIBUTES: Mapping[str, tuple[str, pa.DataType]] = {
    "source": ("l.source", pa.string()),
    "role": ("l.role", pa.string()),
    "seniority": ("l.seniority", pa.string()),
    "department": ("l.department", pa.string()),
    "country": ("l.country", pa.string()),
    "sector": ("a.sector", pa.string()),
    "account_country": ("a.country", pa.string()),
    "region": ("a.region", pa.string()),
    "employees": ("a.employees", pa.float64()),
    "annual_revenue": ("a.annual_revenue", pa.float64()),
    "tech_stack": ("a.tech_stack", pa.list_(pa.string())),
}
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
_MATCH_DOCS = {
    "sector": "sector in the ICP sectors",
    "employees": "employee count inside the ICP band (degree)",
    "annual_revenue": "annual revenue inside the ICP band (degree)",
    "geography": "account (else contact) country or region in the ICP",
    "tech_stack": "share of the ICP tech stack the account uses",
    "role": "buying role in the ICP roles",
    "seniority": "seniority in the ICP",
    "department": "department in the ICP",
}


# -- declarations ------------------------------------------------------------------
def _match_specs() -> list[FeatureSpec]:
    return [
        FeatureSpec(
            f"icp_{dim}_match",
            "fit",
            "float64",
            "leads, accounts",
            _MATCH_DOCS[dim],
            kind="match",
        )
        for dim in ICP_DIMENSIONS
    ]


def _score_specs() -> list[FeatureSpec]:
    return [
        FeatureSpec(
            "icp_fit_score",
            "fit",
            "float64",
            "leads, accounts",
            "weighted ICP match in [0, 1]; unknown counts as no match",
            kind="score",
        ),
        FeatureSpec(
            "icp_known_share",
            "fit",
            "float64",
            "leads, accounts",
            "share of ICP weight whose attribute is known",
            kind="score",
        ),
    ]


def _raw_specs() -> list[FeatureSpec]:
    specs = [
        FeatureSpec(name, "fit", "category", table, doc, kind="attribute")
        for name, table, doc in _CATEGORICAL
    ]
    specs += [
        FeatureSpec(name, "fit", "float64", "accounts", doc, kind="attribute")
        for name, doc in _NUMERIC
    ]
    specs += [
        FeatureSpec(
            "tech_stack_size",
            "fit",
            "float64",
            "accounts",
            "number of technologies the account uses",
            kind="attribute",
        ),
        FeatureSpec(
            "tech_stack_overlap",
            "fit",
            "float64",
            "accounts",
            "number of ICP technologies the account uses",
            kind="attribute",
        ),
    ]
    return specs


def _extra_column(name: str, duck_type: str) -> tuple[FeatureSpec, str]:
    """The spec of an extra lead column and the SQL that stages it, typed."""
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


def _extra_columns(
    lead_extras: Mapping[str, str], reserved: Collection[str]
) -> list[tuple[FeatureSpec, str]]:
    taken = set(reserved) | {"lead_id", "as_of", "label", "closed_at"}
    out = []
    for name, duck_type in lead_extras.items():
        spec, expr = _extra_column(name, duck_type)
        if spec.name in taken:
            raise DataValidationError(
                f"leads: extra column '{name}' would be the feature '{spec.name}', "
                "which predscore already computes; rename it in the ingest mapping"
            )
        taken.add(spec.name)
        out.append((spec, expr))
    return out


def fit_columns(
    icp: IcpConfig,
    config: FeaturesConfig,
    lead_extras: Mapping[str, str],
    reserved: Collection[str] = (),
) -> list[FeatureSpec]:
    """Fit feature specs in output order.

    ``reserved`` holds the names of the other families' features, which extra lead
    columns may not take.

    Raises
    ------
    DataValidationError
        When an extra lead column would take the name of a feature.
    """
    cols = _match_specs() + _score_specs() + _raw_specs()
    taken = {spec.name for spec in cols} | set(reserved)
    return cols + [spec for spec, _ in _extra_columns(lead_extras, taken)]


def fit_attributes_sql(lead_extras: Mapping[str, str]) -> str:
    """The select list staging the attributes of a lead ``l`` and its account ``a``.

    Each attribute comes out as ``FIT_PREFIX + name`` (:data:`FIT_ATTRIBUTES`), each
    extra lead column as ``EXTRA_PREFIX + feature name``, typed as its feature:
    numbers as DOUBLE, timestamps as epoch microseconds, anything else as VARCHAR.
    """
    parts = [
        f"{expr} AS {quote_ident(FIT_PREFIX + name)}"
        for name, (expr, _) in FIT_ATTRIBUTES.items()
    ]
    parts += [
        f"{expr} AS {quote_ident(EXTRA_PREFIX + spec.name)}"
        for spec, expr in _extra_columns(lead_extras, ())
    ]
    return ", ".join(parts)


# -- computation -------------------------------------------------------------------
def _floats(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A numeric column as floats, NaN where missing."""
    return (
        pc.cast(column, pa.float64())
        .to_numpy(zero_copy_only=False)
        .astype(np.float64, copy=False)
    )


def _known(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return pc.is_valid(column).to_numpy(zero_copy_only=False)


def _member(column: pa.Array | pa.ChunkedArray, values: list[str]) -> np.ndarray:
    """Whether each value is one of ``values`` (False where missing)."""
    if not values or not len(column):
        return np.zeros(len(column), dtype=bool)
    inside = pc.is_in(column, value_set=pa.array(values, pa.string()))
    return pc.fill_null(inside, False).to_numpy(zero_copy_only=False)


def _flag(column: pa.Array | pa.ChunkedArray, values: list[str]) -> np.ndarray:
    """1.0 when the attribute is one of ``values``, 0.0 when not, NaN when unknown."""
    return np.where(_known(column), _member(column, values).astype(np.float64), np.nan)


def _degree(x: np.ndarray, bounds: Range, decades: float) -> np.ndarray:
    """1 inside the range; outside, 1 - log10(distance ratio) / decades, floored at 0;
    NaN when unknown."""
    inside = np.ones(len(x), dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        if bounds.min is not None:
            inside &= x >= bounds.min
        if bounds.max is not None:
            inside &= x <= bounds.max
        out = np.where(inside, 1.0, 0.0)
        below = above = np.zeros(len(x), dtype=bool)
        if decades > 0 and bounds.min is not None and bounds.min > 0:
            below = ~inside & (x > 0) & (x < bounds.min)
            fall = 1.0 - np.log10(bounds.min / x) / decades
            out = np.where(below, np.maximum(0.0, fall), out)
        if decades > 0 and bounds.max is not None and bounds.max > 0:
            above = ~inside & ~below & (x > bounds.max)
            fall = 1.0 - np.log10(x / bounds.max) / decades
            out = np.where(above, np.maximum(0.0, fall), out)
    return np.where(np.isnan(x), np.nan, out)


def _stacks(
    stacks: pa.Array | pa.ChunkedArray, icp_stack: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Per account: distinct technologies, and distinct ones in the ICP stack."""
    if isinstance(stacks, pa.ChunkedArray):
        stacks = stacks.combine_chunks()
    n = len(stacks)
    flat = pc.list_flatten(stacks)
    parent = pc.list_parent_indices(stacks).to_numpy().astype(np.int64)
    present = _known(flat)
    flat, parent = flat.filter(pa.array(present)), parent[present]
    encoded = pc.dictionary_encode(flat)
    codes = encoded.indices.to_numpy().astype(np.int64)
    width = max(len(encoded.dictionary), 1)
    distinct = np.unique(parent * width + codes)
    owner, code = distinct // width, distinct % width
    in_icp = _member(encoded.dictionary, icp_stack)[code]
    size = np.bincount(owner, minlength=n).astype(np.float64)
    overlap = np.bincount(owner, weights=in_icp, minlength=n).astype(np.float64)
    return size, overlap


def fit_arrays(
    attributes: pa.Table,
    icp: IcpConfig,
    config: FeaturesConfig,
    specs: tuple[FeatureSpec, ...],
) -> dict[str, pa.Array | pa.ChunkedArray | np.ndarray]:
    """The fit features of each lead (row) of ``attributes``, one array per spec.

    ``attributes`` holds the staged attributes (:func:`fit_attributes_sql`: columns
    ``FIT_PREFIX + name``); ``specs`` are the fit specs wanted (their extra lead
    columns are among the staged attributes). Categories come out as text, timestamp
    attributes as epoch microseconds (:func:`fit_ages` turns them into ages per row).
    """

    def staged(name: str) -> pa.ChunkedArray:
        return attributes[FIT_PREFIX + name]

    employees = _floats(staged("employees"))
    revenue = _floats(staged("annual_revenue"))
    size, overlap = _stacks(staged("tech_stack"), icp.tech_stack)
    stack_known = _known(staged("tech_stack"))
    n_tech = len(set(icp.tech_stack))
    country = pc.coalesce(staged("account_country"), staged("country"))
    geography_known = _known(country) | _known(staged("region"))
    geography = _member(country, icp.countries) | _member(staged("region"), icp.regions)
    decades = config.icp_range_tolerance_decades
    match = {
        "sector": _flag(staged("sector"), icp.sectors),
        "employees": _degree(employees, icp.employees, decades),
        "annual_revenue": _degree(revenue, icp.annual_revenue, decades),
        "geography": np.where(geography_known, geography.astype(np.float64), np.nan),
        "tech_stack": np.where(
            stack_known, overlap / n_tech if n_tech else 0.0, np.nan
        ),
        "role": _flag(staged("role"), icp.roles),
        "seniority": _flag(staged("seniority"), icp.seniorities),
        "department": _flag(staged("department"), icp.departments),
    }
    weights = [(d, icp.weights.get(d, 0.0)) for d in ICP_DIMENSIONS]
    total = sum(w for _, w in weights)
    score = np.zeros(attributes.num_rows)
    known = np.zeros(attributes.num_rows)
    for dim, weight in weights:  # in the dimensions' order, as a sum is not associative
        score = score + weight * np.nan_to_num(match[dim], nan=0.0)
        known = known + weight * (~np.isnan(match[dim])).astype(np.float64)
    out: dict[str, pa.Array | pa.ChunkedArray | np.ndarray] = {
        f"icp_{dim}_match": values for dim, values in match.items()
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        out["icp_fit_score"] = score / total
        out["icp_known_share"] = known / total
    for name, _, _ in _CATEGORICAL:
        out[name] = staged(name)
    out["employees"], out["annual_revenue"] = employees, revenue
    out["tech_stack_size"] = np.where(stack_known, size, np.nan)
    out["tech_stack_overlap"] = np.where(stack_known, overlap, np.nan)
    for spec in specs:
        if spec.kind != "extra":
            continue
        column = attributes[EXTRA_PREFIX + spec.name]
        if spec.dtype == "float64" and spec.time_column is None:
            out[spec.name] = _floats(column)
        else:  # text, or a timestamp as epoch microseconds
            out[spec.name] = column
    return out


def fit_ages(stamps_us: pa.Array | pa.ChunkedArray, as_of_us: np.ndarray) -> np.ndarray:
    """Days from a timestamp attribute (epoch µs, null: NaN) to each ``as_of``."""
    known = pc.is_valid(stamps_us).to_numpy(zero_copy_only=False)
    stamps = pc.fill_null(stamps_us, 0).to_numpy(zero_copy_only=False)
    return np.where(known, pit.age_days(as_of_us, stamps.astype(np.int64)), np.nan)
