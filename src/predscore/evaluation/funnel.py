"""Descriptive views of a CRM before any model: the funnel, close rate by engagement.

Stage: evaluation (exploration of the validated canonical tables; used by
``notebooks/01_explore_crm``). Input: the five validated tables; output: small frames
to read or plot. Every view is lifetime: it counts every row of the tables given, so
validate them as of the moment of interest first. Close rates are taken over the
closed leads only (won / (won + lost)): an open lead has no outcome yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from predscore.demo.trap import lifetime_engagement
from predscore.errors import PredscoreError

__all__ = ["FUNNEL_STAGES", "engagement_close_rates", "funnel_table"]

Pairs = Iterable[tuple[str, str]]

#: Activity stages of the funnel, in order: name → the (channel, action) pairs that
#: show a lead reached it. "qualified" (a qualification answer recorded), "closed" and
#: "won" (from the outcomes) follow them.
FUNNEL_STAGES: Mapping[str, frozenset[tuple[str, str]]] = {
    # the lead did something itself (sent emails and call attempts do not count)
    "engaged": frozenset(
        {
            ("email", "open"),
            ("email", "click"),
            ("email", "reply"),
            ("webinar", "register"),
            ("webinar", "attend"),
            ("content", "download"),
            ("content", "view"),
            ("linkedin", "connect"),
            ("linkedin", "message"),
            ("linkedin", "comment"),
            ("web", "view"),
            ("form", "submit"),
            ("form", "demo_request"),
            ("event", "register"),
            ("event", "attend"),
            ("event", "visit"),
        }
    ),
    # asked for a demo, replied, took a call or booked a meeting
    "sales conversation": frozenset(
        {
            ("form", "demo_request"),
            ("email", "reply"),
            ("call", "connected"),
            ("meeting", "scheduled"),
        }
    ),
    "meeting held": frozenset({("meeting", "held")}),
}


def _leads_with(activities: pd.DataFrame, pairs: Pairs) -> set[str]:
    """Leads with at least one activity among ``pairs``."""
    keys = pd.MultiIndex.from_arrays(
        [activities["channel"].astype(str), activities["action"].astype(str)]
    )
    return set(activities.loc[keys.isin(list(pairs)), "lead_id"].astype(str))


def _outcomes(tables: Mapping[str, pd.DataFrame]) -> pd.Series:
    """``won`` / ``lost`` per closed lead (index ``lead_id``)."""
    outcomes = tables["outcomes"]
    return pd.Series(
        outcomes["outcome"].astype(str).to_numpy(),
        index=outcomes["lead_id"].astype(str).to_numpy(),
    )


def _check(tables: Mapping[str, pd.DataFrame], needed: Iterable[str]) -> None:
    missing = [t for t in needed if t not in tables]
    if missing:
        raise PredscoreError(
            f"tables {missing} missing: pass the five validated canonical tables "
            "(predscore.schema.validate.load_dataset(...).tables)"
        )


def funnel_table(
    tables: Mapping[str, pd.DataFrame],
    stages: Mapping[str, Pairs] = FUNNEL_STAGES,
) -> pd.DataFrame:
    """Leads that reached each stage of the funnel, and how those leads closed.

    A lead counts in every stage it reached; stages are not forced to nest (a lead
    may close without any recorded meeting), so a later stage can hold a lead that an
    earlier one does not.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Validated canonical tables (``leads``, ``activities``, ``qualifications``,
        ``outcomes``).
    stages : mapping of str to (channel, action) pairs
        Activity stages in order (default :data:`FUNNEL_STAGES`).

    Returns
    -------
    DataFrame
        One row per stage (``created``, the activity stages, ``qualified``,
        ``closed``, ``won``): ``stage``, ``leads``, ``share`` (of all leads),
        ``closed``, ``won``, ``close_rate`` (won / closed among the stage's leads;
        NaN when none closed).
    """
    _check(tables, ("leads", "activities", "qualifications", "outcomes"))
    leads = set(tables["leads"]["lead_id"].astype(str))
    outcome = _outcomes(tables)
    reached = {"created": leads}
    for name, pairs in stages.items():
        reached[name] = _leads_with(tables["activities"], pairs) & leads
    reached["qualified"] = set(tables["qualifications"]["lead_id"].astype(str)) & leads
    reached["closed"] = set(outcome.index) & leads
    reached["won"] = set(outcome.index[outcome.eq("won").to_numpy()]) & leads
    rows = []
    for name, ids in reached.items():
        results = outcome.reindex(sorted(ids)).dropna()
        won = int(results.eq("won").sum())
        rows.append(
            {
                "stage": name,
                "leads": len(ids),
                "share": len(ids) / len(leads) if leads else float("nan"),
                "closed": len(results),
                "won": won,
                "close_rate": won / len(results) if len(results) else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def engagement_close_rates(
    tables: Mapping[str, pd.DataFrame], bins: int = 5, by: str | None = None
) -> pd.DataFrame:
    """Close rate of the closed leads by band of lifetime marketing engagement.

    Engagement is :func:`predscore.demo.trap.lifetime_engagement` (email opens and
    clicks, webinar attendance, content downloads). Bands are quantiles of the closed
    leads (ties split by lead id, so bands hold equal numbers of leads even when most
    leads have no engagement at all); ``by`` splits each band by a lead column such as
    ``role``, which shows whether engagement still predicts closing once the buyer's
    position is known.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Validated canonical tables (``leads``, ``activities``, ``outcomes``).
    bins : int
        Number of engagement bands (at least 1).
    by : str, optional
        Column of ``leads`` to split by (missing values form the group ``<missing>``).

    Returns
    -------
    DataFrame
        Per band (and group): ``band`` (1 = least engaged), ``engagement_min``,
        ``engagement_max``, ``engagement_median``, ``leads``, ``won``,
        ``close_rate``; bands without closed leads are left out.

    Raises
    ------
    PredscoreError
        When ``bins`` is below 1, or ``by`` is not a column of ``leads``.
    """
    _check(tables, ("leads", "activities", "outcomes"))
    if bins < 1:
        raise PredscoreError(f"bins must be at least 1, got {bins}")
    leads = tables["leads"].assign(lead_id=lambda f: f["lead_id"].astype(str))
    if by is not None and by not in leads.columns:
        raise PredscoreError(
            f"leads has no column {by!r}; columns: {', '.join(map(str, leads.columns))}"
        )
    outcome = _outcomes(tables)
    closed = leads[leads["lead_id"].isin(outcome.index)].sort_values(
        "lead_id", kind="stable"
    )
    engagement = lifetime_engagement(tables["activities"])
    engagement.index = engagement.index.astype(str)
    frame = pd.DataFrame(
        {
            "engagement": engagement.reindex(closed["lead_id"]).fillna(0).to_numpy(),
            "won": outcome.reindex(closed["lead_id"]).eq("won").to_numpy(),
        }
    )
    if len(frame):
        # rank first (ties broken by lead id order), then cut: equal-size bands
        order = frame["engagement"].rank(method="first").to_numpy()
        frame["band"] = np.ceil(order * bins / len(frame)).astype(int)
    else:
        frame["band"] = pd.Series(dtype=int)
    keys = ["band"]
    if by is not None:
        frame[by] = closed[by].astype(object).fillna("<missing>").astype(str).to_numpy()
        keys = [by, "band"]
    table = (
        frame.groupby(keys, sort=True)
        .agg(
            engagement_min=("engagement", "min"),
            engagement_max=("engagement", "max"),
            engagement_median=("engagement", "median"),
            leads=("won", "size"),
            won=("won", "sum"),
        )
        .reset_index()
    )
    table["won"] = table["won"].astype(int)
    table["close_rate"] = table["won"] / table["leads"]
    return table
