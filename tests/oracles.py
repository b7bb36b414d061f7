"""Deliberately simple pandas reference of the feature pipeline.

Written from the definitions in the docstrings of ``predscore.features`` and nothing
else: no SQL, no batching, no shared helpers with the engine, one obvious pandas step per
feature. It is slow and that is fine: tests compare the engine with it on small data,
and the benchmark measures how much faster the engine is.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from predscore.config import FeaturesConfig, IcpConfig, Range
from predscore.schema.tables import ACTIONS, CHANNELS, QUALIFICATION_FIELDS, TABLES

__all__ = ["oracle_features", "oracle_snapshots"]

DAY = 86_400_000_000  # microseconds


def _us(series: pd.Series) -> pd.Series:
    """UTC timestamps as integer microseconds since the epoch."""
    return series.dt.tz_convert("UTC").dt.as_unit("us").astype("int64")


def _stamp_us(as_of: object) -> int:
    stamp = pd.Timestamp(as_of)
    stamp = (
        stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    )
    return int(stamp.floor("us").value // 1000)


def _category(values: pd.Series) -> pd.Series:
    values = values.astype(object).where(values.notna(), None)
    cats = pd.Index(sorted({v for v in values if v is not None}), dtype="str")
    return pd.Series(pd.Categorical(values, categories=cats), index=values.index)


# --- spines -----------------------------------------------------------------------


def _open_spine(tables: Mapping[str, pd.DataFrame], as_of_us: int) -> pd.DataFrame:
    leads = tables["leads"].assign(created_us=lambda d: _us(d["created_at"]))
    outcomes = tables["outcomes"].assign(closed_us=lambda d: _us(d["closed_at"]))
    closed = set(outcomes.loc[outcomes["closed_us"] <= as_of_us, "lead_id"])
    keep = (leads["created_us"] <= as_of_us) & ~leads["lead_id"].isin(closed)
    spine = leads.loc[keep, ["lead_id", "created_us"]].assign(as_of_us=as_of_us)
    return spine.sort_values("lead_id").reset_index(drop=True)


def _newest_event_us(tables: Mapping[str, pd.DataFrame]) -> int:
    """The newest creation, activity, qualification or close: the default cutoff."""
    columns = {
        "leads": "created_at",
        "activities": "occurred_at",
        "qualifications": "recorded_at",
        "outcomes": "closed_at",
    }
    times = [_us(tables[t][c]).max() for t, c in columns.items() if len(tables[t])]
    return int(max(times)) if times else 0


def _snapshot_spine(
    tables: Mapping[str, pd.DataFrame], config: FeaturesConfig, cutoff_us: int | None
) -> pd.DataFrame:
    leads = tables["leads"].assign(created_us=lambda d: _us(d["created_at"]))
    outcomes = tables["outcomes"].assign(closed_us=lambda d: _us(d["closed_at"]))
    every = round(config.snapshot_every_days * DAY)
    horizon = None if config.horizon_days is None else round(config.horizon_days * DAY)
    complete = horizon is not None and config.horizon_rows == "complete"
    if cutoff_us is None:
        cutoff_us = _newest_event_us(tables)
    rows = []
    for lead in leads.merge(outcomes, on="lead_id", how="left").itertuples():
        closed = not pd.isna(lead.closed_us)
        if horizon is None and not closed:
            continue  # without a horizon, only a close gives the label
        if horizon is not None and closed and lead.closed_us > cutoff_us:
            closed = False  # closed after the cutoff: still open as far as C knows
        closed_us = int(lead.closed_us) if closed else None
        as_of = lead.created_us
        while True:
            if closed_us is not None and as_of >= closed_us:
                break
            if (closed_us is None or complete) and as_of + horizon > cutoff_us:
                break  # the window of this row (and of later ones) is not over at C
            won = closed_us is not None and lead.outcome == "won"
            in_horizon = horizon is None or (won and closed_us - as_of <= horizon)
            rows.append(
                (
                    lead.lead_id,
                    as_of,
                    lead.created_us,
                    closed_us,
                    int(won and in_horizon),
                )
            )
            as_of += every
    spine = pd.DataFrame(
        rows, columns=["lead_id", "as_of_us", "created_us", "closed_us", "label"]
    )
    return spine.sort_values(["lead_id", "as_of_us"]).reset_index(drop=True)


# --- fit ----------------------------------------------------------------------------


def _flag(values: pd.Series, allowed: list[str]) -> pd.Series:
    return values.isin(allowed).astype(float).where(values.notna())


def _degree(values: pd.Series, bounds: Range, decades: float) -> pd.Series:
    out = []
    for x in values:
        if pd.isna(x):
            out.append(np.nan)
        elif (bounds.min is None or x >= bounds.min) and (
            bounds.max is None or x <= bounds.max
        ):
            out.append(1.0)
        elif decades == 0 or x <= 0:
            out.append(0.0)
        elif bounds.min is not None and x < bounds.min:
            out.append(max(0.0, 1.0 - np.log10(bounds.min / x) / decades))
        elif bounds.max is not None and bounds.max > 0:
            out.append(max(0.0, 1.0 - np.log10(x / bounds.max) / decades))
        else:
            out.append(0.0)
    return pd.Series(out, index=values.index, dtype=float)


def _fit(
    rows: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    icp: IcpConfig,
    config: FeaturesConfig,
) -> dict[str, pd.Series]:
    leads = tables["leads"]
    accounts = tables["accounts"].rename(columns={"country": "account_country"})
    df = rows[["lead_id", "as_of_us"]].merge(leads, on="lead_id", how="left")
    df = df.merge(
        accounts.drop(columns=["created_at", "name"]), on="account_id", how="left"
    )
    country = (
        df["account_country"]
        .astype(object)
        .where(df["account_country"].notna(), df["country"].astype(object))
    )
    geo_known = country.notna() | df["region"].notna()
    geo = (country.isin(icp.countries) | df["region"].isin(icp.regions)).astype(float)
    stacks = df["tech_stack"].map(
        lambda s: (
            None if s is None or (isinstance(s, float) and np.isnan(s)) else set(s)
        )
    )
    icp_stack = set(icp.tech_stack)
    overlap = stacks.map(lambda s: np.nan if s is None else float(len(s & icp_stack)))
    size = stacks.map(lambda s: np.nan if s is None else float(len(s)))
    decades = config.icp_range_tolerance_decades
    match = {
        "sector": _flag(df["sector"], icp.sectors),
        "employees": _degree(df["employees"].astype(float), icp.employees, decades),
        "annual_revenue": _degree(
            df["annual_revenue"].astype(float), icp.annual_revenue, decades
        ),
        "geography": geo.where(geo_known),
        "tech_stack": overlap / len(icp_stack) if icp_stack else overlap * 0.0,
        "role": _flag(df["role"], icp.roles),
        "seniority": _flag(df["seniority"], icp.seniorities),
        "department": _flag(df["department"], icp.departments),
    }
    out = {f"icp_{k}_match": v.astype(float) for k, v in match.items()}
    total = sum(icp.weights.get(k, 0.0) for k in match)
    score = pd.Series(0.0, index=df.index)
    known = pd.Series(0.0, index=df.index)
    for k, v in match.items():
        score = score + icp.weights.get(k, 0.0) * v.fillna(0.0)
        known = known + icp.weights.get(k, 0.0) * v.notna().astype(float)
    out["icp_fit_score"] = score / total
    out["icp_known_share"] = known / total
    for name in (
        "source",
        "role",
        "seniority",
        "department",
        "country",
        "sector",
        "account_country",
        "region",
    ):
        out[name] = _category(df[name])
    out["employees"] = df["employees"].astype(float)
    out["annual_revenue"] = df["annual_revenue"].astype(float)
    out["tech_stack_size"] = size.astype(float)
    out["tech_stack_overlap"] = overlap.astype(float)
    for name in [c for c in leads.columns if c not in TABLES["leads"].by_name]:
        values = df[name]
        if ptypes.is_bool_dtype(values) or ptypes.is_numeric_dtype(values):
            out[name] = values.astype(float)
        elif isinstance(values.dtype, pd.DatetimeTZDtype):
            out[f"{name}_days"] = (df["as_of_us"] - _us(values)) / DAY
        else:
            out[name] = _category(
                values.astype(object)
                .where(values.notna(), None)
                .map(lambda v: None if v is None else str(v))
            )
    return out


# --- engagement ---------------------------------------------------------------------


def _known_events(
    rows: pd.DataFrame, activities: pd.DataFrame, config: FeaturesConfig
) -> pd.DataFrame:
    acts = activities.assign(
        t_us=_us(activities["occurred_at"]),
        channel=activities["channel"].astype(str),
        action=activities["action"].astype(str),
        detail=activities["detail"].astype(object),
    )
    ev = rows[["sid", "lead_id", "as_of_us"]].merge(acts, on="lead_id")
    ev = ev[ev["t_us"] <= ev["as_of_us"]].copy()
    ev["age"] = ev["as_of_us"] - ev["t_us"]
    passive = {(c, a) for c, acts_ in config.passive_actions.items() for a in acts_}
    ev["engaged"] = np.array(
        [
            (c, a) not in passive
            for c, a in zip(ev["channel"], ev["action"], strict=True)
        ],
        dtype=bool,
    )
    # visits, from the known web views of each row only
    ev = ev.sort_values(["sid", "t_us"], kind="stable")
    view = (ev["channel"] == "web") & (ev["action"] == "view")
    views = ev[view].copy()
    gap = views.groupby("sid")["t_us"].diff()
    views["opens"] = gap.isna() | (gap >= round(config.visit_gap_minutes * 60_000_000))
    start = views["t_us"].astype(float).where(views["opens"])
    views["visit_age"] = views["as_of_us"] - start.groupby(views["sid"]).ffill()
    ev["is_view"] = view
    ev["opens"] = False
    ev.loc[views.index, "opens"] = views["opens"]
    ev["visit_age"] = np.nan
    ev.loc[views.index, "visit_age"] = views["visit_age"]
    return ev


def _per_row(rows: pd.DataFrame, values: pd.Series, fill: float | None) -> pd.Series:
    out = values.reindex(rows["sid"].to_numpy())
    if fill is not None:
        out = out.fillna(fill)
    return pd.Series(out.to_numpy(), index=rows.index)


def _engagement(
    rows: pd.DataFrame, tables: Mapping[str, pd.DataFrame], config: FeaturesConfig
) -> dict[str, pd.Series]:
    ev = _known_events(rows, tables["activities"], config)
    out: dict[str, pd.Series] = {}

    def count(mask: pd.Series) -> pd.Series:
        return _per_row(rows, ev[mask].groupby("sid").size(), 0).astype("int32")

    eng = ev["engaged"]
    windows = config.windows_days
    for c in CHANNELS:
        for a in ACTIONS[c]:
            for w in windows:
                out[f"n_{c}_{a}_{w}d"] = count(
                    (ev["channel"] == c) & (ev["action"] == a) & (ev["age"] < w * DAY)
                )
    for c in CHANNELS:
        for w in windows:
            out[f"n_{c}_{w}d"] = count(
                eng & (ev["channel"] == c) & (ev["age"] < w * DAY)
            )
    for w in windows:
        out[f"n_touches_{w}d"] = count(eng & (ev["age"] < w * DAY))
    out["n_touches_all"] = count(eng)
    for c in CHANNELS:
        for w in windows:
            sub = ev[
                eng
                & (ev["channel"] == c)
                & (ev["age"] < w * DAY)
                & ev["detail"].notna()
            ]
            out[f"n_distinct_{c}_detail_{w}d"] = _per_row(
                rows, sub.groupby("sid")["detail"].nunique(), 0
            ).astype("int32")
    for w in windows:
        out[f"n_distinct_channels_{w}d"] = sum(
            (out[f"n_{c}_{w}d"] > 0).astype("int32") for c in CHANNELS
        ).astype("int32")
    day = ev["age"] // DAY
    for w in windows:
        sub = ev[eng & (day < w)]
        out[f"active_days_{w}d"] = _per_row(
            rows, (sub["age"] // DAY).groupby(sub["sid"]).nunique(), 0
        ).astype("int32")
    since_creation = (rows["as_of_us"] - rows["created_us"]) / DAY
    out["touches_per_week"] = (
        7.0 * out["n_touches_all"] / np.maximum(since_creation, 1.0)
    )
    for c in CHANNELS:
        sub = ev[eng & (ev["channel"] == c)]
        out[f"days_since_last_{c}"] = (
            _per_row(rows, sub.groupby("sid")["age"].min(), None) / DAY
        )
    out["days_since_last_touch"] = (
        _per_row(rows, ev[eng].groupby("sid")["age"].min(), None) / DAY
    )
    out["days_since_first_touch"] = (
        _per_row(rows, ev[eng].groupby("sid")["age"].max(), None) / DAY
    )
    out["days_since_creation"] = since_creation.astype(float)
    view = ev["is_view"]
    for w in windows:
        sub = ev[view & (ev["age"] < w * DAY)]
        out[f"time_on_site_seconds_{w}d"] = _per_row(
            rows, sub.groupby("sid")["quantity"].sum(min_count=1), 0.0
        ).astype(float)
    for w in windows:
        out[f"web_visits_{w}d"] = count(ev["opens"] & (ev["age"] < w * DAY))
    for w in windows:
        pages = count(view & (ev["visit_age"] < w * DAY)).astype(float)
        visits = out[f"web_visits_{w}d"].astype(float)
        out[f"pages_per_visit_{w}d"] = (pages / visits).where(visits > 0)
    t = config.trend_window_days
    last = count(eng & (ev["age"] < t * DAY)).astype(float)
    prev = count(eng & (ev["age"] >= t * DAY) & (ev["age"] < 2 * t * DAY))
    out[f"n_touches_prev_{t}d"] = prev
    both = last + prev
    out[f"trend_{t}d"] = ((last - prev) / both.where(both > 0)).fillna(0.0)
    weight = np.power(0.5, ev["age"] / float(round(config.half_life_days * DAY)))
    out["engagement_decayed"] = _per_row(
        rows, weight[eng].groupby(ev["sid"][eng]).sum(), 0.0
    )
    for c in CHANNELS:
        mask = eng & (ev["channel"] == c)
        out[f"decayed_{c}"] = _per_row(
            rows, weight[mask].groupby(ev["sid"][mask]).sum(), 0.0
        )
    return out


# --- qualification ------------------------------------------------------------------


def _qualification(
    rows: pd.DataFrame, tables: Mapping[str, pd.DataFrame]
) -> dict[str, pd.Series]:
    quals = tables["qualifications"]
    q = rows[["sid", "lead_id", "as_of_us"]].merge(
        quals.assign(
            t_us=_us(quals["recorded_at"]),
            field=quals["field"].astype(str),
            value=quals["value"].astype(str),
        ),
        on="lead_id",
    )
    q = q[(q["t_us"] <= q["as_of_us"]) & q["field"].isin(list(QUALIFICATION_FIELDS))]
    latest = (
        q.sort_values(["sid", "field", "t_us", "value"])
        .groupby(["sid", "field"])
        .last()
        .reset_index()
    )
    out: dict[str, pd.Series] = {}
    for field, kind in QUALIFICATION_FIELDS.items():
        of_field = latest[latest["field"] == field]
        values = pd.Series(
            of_field["value"].to_numpy(), index=of_field["sid"].to_numpy()
        )
        v = _per_row(rows, values, None).astype(object)
        if kind == "flag":
            value = v.map({"yes": 1.0, "no": 0.0}).astype(float)
            known = v.isin(["yes", "no"])
        elif kind == "number":
            value = pd.to_numeric(v, errors="coerce").astype(float)
            known = value.notna()
        else:
            value = _category(v)
            known = v.map(lambda x: isinstance(x, str) and x.strip() != "")
        out[f"qual_{field}"] = value
        out[f"qual_{field}_known"] = known.astype("int32")
    return out


# --- assembly -----------------------------------------------------------------------


def _rows(
    tables: Mapping[str, pd.DataFrame],
    spine: pd.DataFrame,
    config: FeaturesConfig,
    icp: IcpConfig,
) -> pd.DataFrame:
    rows = spine.assign(sid=np.arange(len(spine)))
    columns = {
        "lead_id": rows["lead_id"].astype("str"),
        "as_of": pd.to_datetime(rows["as_of_us"].astype("int64"), unit="us", utc=True),
    }
    if "closed_us" in rows:
        columns["closed_at"] = pd.to_datetime(
            rows["closed_us"].astype("Int64"), unit="us", utc=True
        )
        columns["label"] = rows["label"].astype("int8")
    for family in (
        _fit(rows, tables, icp, config),
        _engagement(rows, tables, config),
        _qualification(rows, tables),
    ):
        for name, values in family.items():
            if isinstance(values.dtype, pd.CategoricalDtype):
                columns[name] = values.set_axis(rows.index)
                continue
            array = np.asarray(values)
            if array.dtype == object:  # an empty frame loses its float dtype
                array = array.astype(np.float64)
            columns[name] = pd.Series(array, index=rows.index)
    frame = pd.DataFrame(columns, index=rows.index)
    frame["as_of"] = frame["as_of"].dt.as_unit("us")
    if "closed_at" in frame:
        frame["closed_at"] = frame["closed_at"].dt.as_unit("us")
    return frame


def oracle_features(
    tables: Mapping[str, pd.DataFrame],
    as_of: object,
    config: FeaturesConfig | None = None,
    icp: IcpConfig | None = None,
) -> pd.DataFrame:
    """Reference of ``build_features`` (same rows, same columns, any column order)."""
    config, icp = config or FeaturesConfig(), icp or IcpConfig()
    return _rows(tables, _open_spine(tables, _stamp_us(as_of)), config, icp)


def oracle_snapshots(
    tables: Mapping[str, pd.DataFrame],
    config: FeaturesConfig | None = None,
    icp: IcpConfig | None = None,
    cutoff: object = None,
) -> pd.DataFrame:
    """Reference of ``build_snapshots`` (``cutoff``: only read with a horizon)."""
    config, icp = config or FeaturesConfig(), icp or IcpConfig()
    cutoff_us = None if cutoff is None else _stamp_us(cutoff)
    return _rows(tables, _snapshot_spine(tables, config, cutoff_us), config, icp)
