"""The engagement trap, measured on observable CRM data.

Stage: analysis of canonical tables (used by ``predscore demo-data`` to show what the demo
data holds, and by the data team on any data set). Compares the close rate of closed
leads by segment:

* **engaged, no authority, no project**: top-quartile marketing engagement (email opens
  and clicks, webinar attendance, content downloads) while the contact is not a
  decision-maker and no need was confirmed;
* **quiet decision-maker with a deadline**: at most median engagement, decision-maker
  role, a confirmed need and a latest timeline of 3 months or less;
* everybody else, and all closed leads.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["MARKETING_ACTIONS", "lifetime_engagement", "segment_close_rates"]

#: (channel, action) pairs counted as marketing engagement: the responses a nurturing
#: campaign measures, which curiosity alone can drive
MARKETING_ACTIONS = frozenset(
    {
        ("email", "open"),
        ("email", "click"),
        ("webinar", "attend"),
        ("content", "download"),
    }
)


def _latest_answers(qualifications: pd.DataFrame) -> pd.DataFrame:
    latest = qualifications.sort_values("recorded_at", kind="stable").drop_duplicates(
        ["lead_id", "field"], keep="last"
    )
    return latest.pivot(index="lead_id", columns="field", values="value")


def lifetime_engagement(activities: pd.DataFrame) -> pd.Series:
    """Marketing engagement per lead: rows of :data:`MARKETING_ACTIONS`, all time.

    Parameters
    ----------
    activities : DataFrame
        The canonical ``activities`` table (``lead_id``, ``channel``, ``action``).

    Returns
    -------
    Series
        Count per ``lead_id`` (index); leads without any such row are absent.
    """
    pairs = pd.MultiIndex.from_arrays(
        [activities["channel"].astype(str), activities["action"].astype(str)]
    )
    marketing = activities[pairs.isin(list(MARKETING_ACTIONS))]
    return marketing.groupby("lead_id", observed=True).size()


def segment_close_rates(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Close rate of the trap segments among closed leads (lifetime engagement).

    Parameters
    ----------
    tables : dict of DataFrame
        Validated canonical tables.

    Returns
    -------
    DataFrame
        One row per segment: ``segment``, ``leads``, ``won``, ``close_rate``,
        ``engagement_median``.
    """
    outcomes = tables["outcomes"].set_index("lead_id")["outcome"].astype(str)
    engagement = lifetime_engagement(tables["activities"])
    leads = tables["leads"].set_index("lead_id")
    closed = leads.loc[leads.index.isin(outcomes.index)]
    answers = _latest_answers(tables["qualifications"]).reindex(closed.index)
    frame = pd.DataFrame(
        {
            "won": outcomes.reindex(closed.index).eq("won"),
            "engagement": engagement.reindex(closed.index).fillna(0),
            "decision_maker": closed["role"].astype(str).eq("decision_maker"),
            "need": answers.get("need", pd.Series(index=closed.index)).eq("yes"),
            "authority": answers.get("authority", pd.Series(index=closed.index)).eq(
                "yes"
            ),
            "timeline": pd.to_numeric(
                answers.get("timeline_months", pd.Series(index=closed.index)),
                errors="coerce",
            ),
        }
    )
    high = frame["engagement"] >= frame["engagement"].quantile(0.75)
    low = frame["engagement"] <= frame["engagement"].median()
    segments = {
        "engaged, no authority, no project": high
        & ~(frame["decision_maker"] | frame["authority"])
        & ~frame["need"],
        "quiet decision-maker, need, deadline <= 3 months": low
        & frame["decision_maker"]
        & frame["need"]
        & (frame["timeline"] <= 3),
    }
    segments["all other closed leads"] = ~(
        segments[next(iter(segments))] | list(segments.values())[1]
    )
    segments["all closed leads"] = pd.Series(True, index=frame.index)
    rows = []
    for name, mask in segments.items():
        part = frame[mask]
        rows.append(
            {
                "segment": name,
                "leads": len(part),
                "won": int(part["won"].sum()),
                "close_rate": part["won"].mean() if len(part) else float("nan"),
                "engagement_median": part["engagement"].median()
                if len(part)
                else float("nan"),
            }
        )
    return pd.DataFrame(rows)
