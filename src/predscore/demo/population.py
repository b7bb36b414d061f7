"""Accounts, contacts and their hidden buying state for the synthetic demo CRM.

Stage: source (demo data only). The data-generating process is known and documented so
that the model's and the rules' results on it can be interpreted:

* every account has firmographics drawn from the market catalogues; its *true fit* is the
  weighted share of the ICP dimensions (``configs/icp.yaml``) it matches;
* every contact has a job title (role, seniority, department) and hidden state:
  ``need`` (a real project), ``timeline_months`` (when it starts), ``budget``,
  ``authority`` (can decide) and ``curiosity`` (appetite for content, unrelated to
  buying; a ``trap_share`` of contacts are enthusiasts who read and attend everything);
* every account has an ``owner``, a sales rep of its region (``owner`` of the leads);
  it is CRM bookkeeping with no effect on the outcome, and features do not use it;
* the closing probability is a logistic function of need, timing, authority, budget, fit
  and the lead source plus unobserved noise; curiosity has no effect on it;
* the time to close depends on the timeline for wins; losses close after a few weeks to
  months; a ``stale_share`` of leads is never closed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from predscore.config import DemoConfig, IcpConfig
from predscore.demo.catalogue import (
    COUNTRIES,
    LEGACY_TECH,
    REPS,
    SECTORS,
    SOURCES,
    TECH,
    TITLES,
)
from predscore.demo.drift import drift_sectors

__all__ = ["Population", "draw_population", "won_logit"]

_DAY = np.timedelta64(86_400_000_000, "us")
_PREFIXES = np.array(
    [
        "Nex",
        "Vel",
        "Qua",
        "Ori",
        "Lum",
        "Tal",
        "Bri",
        "Cor",
        "Zen",
        "Arc",
        "Sol",
        "Kin",
        "Mer",
        "Pol",
        "Hel",
        "Dyn",
        "Vor",
        "Alt",
        "Syn",
        "Ter",
    ]
)
_STEMS = np.array(
    ["ora", "ix", "ant", "eon", "ara", "ium", "ova", "ex", "ica", "os", "yra", "une"]
)
_SUFFIXES = np.array(
    [
        "Systems",
        "Labs",
        "Group",
        "Technologies",
        "Solutions",
        "Partners",
        "Industries",
        "Analytics",
        "Networks",
        "Holdings",
        "Software",
        "Logistics",
    ]
)


@dataclass
class Population:
    """Accounts and contacts of one chunk, with the hidden state of each contact."""

    accounts: pd.DataFrame
    leads: pd.DataFrame
    account_of_lead: np.ndarray  # index into accounts for each lead
    fit: np.ndarray  # true ICP fit of each lead in [0, 1]
    need: np.ndarray
    timeline_months: np.ndarray  # float, NaN without need
    budget: np.ndarray
    authority: np.ndarray
    curiosity: np.ndarray
    job_seeker: np.ndarray
    source: np.ndarray  # source names
    created: np.ndarray  # datetime64[us]


def _weights(names: list[str], weights: list[float]) -> np.ndarray:
    arr = np.asarray(weights, dtype=float)
    if arr.sum() <= 0:
        raise ValueError(f"weights of {names} must not all be zero")
    return arr / arr.sum()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _accounts(
    rng: np.random.Generator, n_accounts: int, first_account: int, config: DemoConfig
) -> pd.DataFrame:
    sector_w = config.sector_weights or {k: v.weight for k, v in SECTORS.items()}
    country_w = config.country_weights or {k: v.weight for k, v in COUNTRIES.items()}
    sectors = np.array(list(sector_w))
    countries = np.array(list(country_w))
    sector = rng.choice(
        sectors, n_accounts, p=_weights(list(sector_w), list(sector_w.values()))
    )
    country = rng.choice(
        countries, n_accounts, p=_weights(list(country_w), list(country_w.values()))
    )
    region = (
        pd.Series(country)
        .map({c: COUNTRIES[c].region if c in COUNTRIES else "OTHER" for c in countries})
        .to_numpy()
    )
    employees = np.clip(
        np.round(rng.lognormal(np.log(90), 1.5, n_accounts)), 2, 250_000
    )
    rev_per_emp = np.array(
        [SECTORS[s].revenue_per_employee if s in SECTORS else 150_000 for s in sector]
    )
    revenue = np.round(employees * rev_per_emp * rng.lognormal(0, 0.5, n_accounts), -3)
    affinity = np.array(
        [SECTORS[s].tech_affinity if s in SECTORS else 1.0 for s in sector]
    )
    size_boost = np.clip(np.log10(employees) / 3, 0.2, 1.5)
    tools = np.array(list(TECH))
    base = np.array(list(TECH.values()))
    legacy = np.isin(tools, LEGACY_TECH)
    prob = base[None, :] * np.where(
        legacy[None, :], 1.0 / affinity[:, None], affinity[:, None]
    )
    prob = np.clip(prob * size_boost[:, None], 0, 0.95)
    has = rng.random((n_accounts, len(tools))) < prob
    stacks = [list(tools[row]) for row in has]
    unknown_stack = rng.random(n_accounts) < 0.15
    tech_stack = [None if u else s for u, s in zip(unknown_stack, stacks, strict=True)]
    name = np.char.add(
        np.char.add(rng.choice(_PREFIXES, n_accounts), rng.choice(_STEMS, n_accounts)),
        np.char.add(" ", rng.choice(_SUFFIXES, n_accounts)),
    )
    ids = np.char.add(
        "ACC-", np.char.zfill((first_account + np.arange(n_accounts)).astype(str), 7)
    )
    frame = pd.DataFrame(
        {
            "account_id": ids,
            "name": name,
            "sector": sector.astype(object),
            "employees": pd.array(employees.astype("int64"), dtype="Int64"),
            "annual_revenue": revenue,
            "country": country,
            "region": region,
            "tech_stack": tech_stack,
        }
    )
    # real CRMs have holes in enrichment data
    frame.loc[rng.random(n_accounts) < 0.05, "sector"] = None
    frame.loc[rng.random(n_accounts) < 0.03, "employees"] = pd.NA
    frame.loc[rng.random(n_accounts) < 0.12, "annual_revenue"] = np.nan
    return frame


def _owners(accounts: pd.DataFrame, config: DemoConfig) -> np.ndarray:
    """Sales rep of each account: one of its region's reps, by a hash of seed and id.

    A hash rather than a draw keeps the random streams, and so every other column of
    the demo data, what they were before owners existed.
    """
    reps = config.owners or {region: list(names) for region, names in REPS.items()}
    ids = accounts["account_id"].to_numpy(dtype=str)
    regions = accounts["region"].to_numpy(dtype=object)
    out = np.empty(len(ids), dtype=object)
    for i, (account_id, region) in enumerate(zip(ids, regions, strict=True)):
        names = reps.get(region) or reps["OTHER"]
        out[i] = names[zlib.crc32(f"{config.seed}/{account_id}".encode()) % len(names)]
    return out


def _account_fit(accounts: pd.DataFrame, icp: IcpConfig) -> dict[str, np.ndarray]:
    emp = accounts["employees"].astype("float64").to_numpy()
    rev = accounts["annual_revenue"].to_numpy()
    stack_match = np.array(
        [
            bool(s) and len(set(s) & set(icp.tech_stack)) > 0
            for s in accounts["tech_stack"]
        ]
    )
    lo_e, hi_e = icp.employees.min or -np.inf, icp.employees.max or np.inf
    lo_r, hi_r = icp.annual_revenue.min or -np.inf, icp.annual_revenue.max or np.inf
    return {
        "sector": accounts["sector"].isin(icp.sectors).to_numpy(),
        "employees": (emp >= lo_e) & (emp <= hi_e),
        "annual_revenue": (rev >= lo_r) & (rev <= hi_r),
        "geography": (
            accounts["country"].isin(icp.countries)
            | accounts["region"].isin(icp.regions)
        ).to_numpy(),
        "tech_stack": stack_match,
    }


def draw_population(
    rng: np.random.Generator,
    n_leads: int,
    first_lead: int,
    first_account: int,
    config: DemoConfig,
    icp: IcpConfig,
    drift_rng: np.random.Generator | None = None,
) -> Population:
    """Draw ``n_leads`` contacts grouped in accounts, with their hidden state
    (``drift_rng``: the draws of ``config.drift``, when one is injected)."""
    per_account = 1 + rng.poisson(config.contacts_per_account - 1, int(n_leads) + 1)
    cum = np.cumsum(per_account)
    n_accounts = int(np.searchsorted(cum, n_leads) + 1)
    per_account = per_account[:n_accounts].copy()
    per_account[-1] -= int(cum[n_accounts - 1] - n_leads)
    accounts = _accounts(rng, n_accounts, first_account, config)
    account_of = np.repeat(np.arange(n_accounts), per_account)

    titles = np.array([t.title for t in TITLES])
    t_idx = rng.choice(
        len(TITLES), n_leads, p=_weights(list(titles), [t.weight for t in TITLES])
    )
    role = np.array([t.role for t in TITLES])[t_idx].astype(object)
    seniority = np.array([t.seniority for t in TITLES])[t_idx].astype(object)
    department = np.array([t.department for t in TITLES])[t_idx].astype(object)
    job_title = titles[t_idx].astype(object)
    job_seeker = np.isin(job_title, ["Student", "Job Seeker"])
    no_title = rng.random(n_leads) < 0.08
    job_title[no_title] = None
    role[no_title] = "unknown"
    seniority[no_title] = None
    department[no_title] = None
    department[department == "none"] = None

    source_names = np.array(list(SOURCES))
    source = rng.choice(
        source_names, n_leads, p=_weights(list(SOURCES), list(SOURCES.values()))
    )
    start = np.datetime64(config.start.replace(tzinfo=None), "us")
    span_days = (config.end - config.start).total_seconds() / 86_400
    # lead volume grows over time (marketing scales up): density ∝ 1 + t
    u = rng.random(n_leads)
    offset = ((np.sqrt(1 + 3 * u) - 1) * span_days * _DAY).astype("timedelta64[s]")
    created = (start + offset).astype("datetime64[us]")
    first_contact = pd.Series(created).groupby(account_of).min().to_numpy()
    acc_created = first_contact - (rng.uniform(0, 120, n_accounts) * _DAY).astype(
        "timedelta64[us]"
    )
    accounts["created_at"] = pd.to_datetime(acc_created).tz_localize("UTC")
    if drift_rng is not None:
        accounts = drift_sectors(accounts, first_contact, config, drift_rng)

    matches = {k: v[account_of] for k, v in _account_fit(accounts, icp).items()}
    matches["role"] = np.isin(role, icp.roles)
    matches["seniority"] = np.isin(seniority, icp.seniorities)
    matches["department"] = np.isin(department, icp.departments)
    total = sum(icp.weights.values())
    fit = sum(icp.weights.get(k, 0.0) * m for k, m in matches.items()) / total

    src_need = {
        "referral": 0.8,
        "partner": 0.5,
        "inbound": 0.2,
        "event": 0.0,
        "outbound": -0.5,
    }
    need_logit = (
        -1.2
        + 3.0 * (fit - 0.5)
        + 0.4 * (role == "decision_maker")
        + np.vectorize(src_need.get)(source)
    )
    need = (rng.random(n_leads) < _sigmoid(need_logit)) & ~job_seeker
    horizon = rng.choice(3, n_leads, p=[0.4, 0.4, 0.2])
    months = np.where(
        horizon == 0,
        rng.integers(1, 4, n_leads),
        np.where(
            horizon == 1, rng.integers(4, 13, n_leads), rng.integers(13, 25, n_leads)
        ),
    ).astype(float)
    timeline = np.where(need, months, np.nan)
    revenue = accounts["annual_revenue"].to_numpy()[account_of]
    log_rev = np.log10(np.nan_to_num(revenue, nan=2e6) + 1)
    budget = rng.random(n_leads) < _sigmoid(-0.4 + 0.9 * (log_rev - 7) + 0.9 * need)
    p_auth = {"decision_maker": 0.85, "influencer": 0.3, "user": 0.05, "unknown": 0.25}
    authority = (rng.random(n_leads) < np.vectorize(p_auth.get)(role)) & ~job_seeker

    # enthusiasts: more often users and influencers than decision-makers
    trap_weight = np.where(role == "decision_maker", 0.4, 1.4)
    enthusiast = rng.random(n_leads) < np.clip(config.trap_share * trap_weight, 0, 1)
    curiosity = np.where(
        enthusiast | (job_seeker & (rng.random(n_leads) < 0.5)),
        rng.beta(8, 2, n_leads),
        rng.beta(1.3, 5, n_leads),
    )

    lead_ids = np.char.add(
        "L-", np.char.zfill((first_lead + np.arange(n_leads)).astype(str), 7)
    )
    country = accounts["country"].to_numpy()[account_of].astype(object)
    moved = rng.random(n_leads) < 0.05
    country[moved] = rng.choice(np.array(list(COUNTRIES)), int(moved.sum()))
    leads = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "account_id": accounts["account_id"].to_numpy()[account_of],
            "created_at": pd.to_datetime(created).tz_localize("UTC"),
            "source": source.astype(object),
            "job_title": job_title,
            "role": role,
            "seniority": seniority,
            "department": department,
            "country": country,
            "owner": _owners(accounts, config)[account_of],
        }
    )
    return Population(
        accounts=accounts,
        leads=leads,
        account_of_lead=account_of,
        fit=fit,
        need=need,
        timeline_months=timeline,
        budget=budget,
        authority=authority,
        curiosity=curiosity,
        job_seeker=job_seeker,
        source=source,
        created=created,
    )


def won_logit(pop: Population, noise: np.ndarray) -> np.ndarray:
    """Closing log-odds without the intercept (calibrated to the target won rate)."""
    tl = pop.timeline_months
    need = pop.need.astype(float)
    src = {
        "referral": 0.6,
        "partner": 0.4,
        "inbound": 0.0,
        "event": 0.0,
        "outbound": -0.3,
    }
    return (
        3.2 * need
        + 1.5 * pop.authority
        + 1.2 * (pop.need & (tl <= 3))
        + 0.5 * (pop.need & (tl > 3) & (tl <= 12))
        + 1.2 * pop.budget
        + 2.0 * (pop.fit - 0.5)
        + np.vectorize(src.get)(pop.source)
        + noise
    )
