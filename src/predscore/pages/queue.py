"""The ranked queue: filters a rep applies (owner, tier, route, sector, name) and pages.

Stage: outputs. Input: the scores of a batch (sorted by rank) and a :class:`QueueQuery`
parsed from the page's query string; output: the filtered rows of one page and the
choices each filter offers. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "TIERS",
    "ROUTES",
    "QueuePage",
    "QueueQuery",
    "filter_queue",
    "queue_choices",
]

TIERS = ("hot", "warm", "cold")
ROUTES = ("meeting", "nurture", "disqualify")
_SEARCHED = ("lead_id", "account_name", "job_title")
MAX_SEARCH = 200


@dataclass(frozen=True)
class QueueQuery:
    """What the rep asked for; empty strings mean "any"."""

    owner: str = ""
    tier: str = ""
    route: str = ""
    sector: str = ""
    q: str = ""
    page: int = 1

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> QueueQuery:
        """Parse query-string values; unknown tiers or routes and bad pages are ignored.

        A page is a view, not an API: a stale bookmark (a tier renamed, page 9 of 3)
        shows the whole queue or the last page instead of an error.
        """
        tier = params.get("tier", "").strip()
        route = params.get("route", "").strip()
        try:
            page = max(1, int(params.get("page", "1")))
        except ValueError:
            page = 1
        return cls(
            owner=params.get("owner", "").strip(),
            tier=tier if tier in TIERS else "",
            route=route if route in ROUTES else "",
            sector=params.get("sector", "").strip(),
            q=params.get("q", "").strip()[:MAX_SEARCH],
            page=page,
        )

    def params(self, **changes: object) -> dict[str, str]:
        """Non-empty parameters of this query with ``changes`` applied (for links)."""
        values = {
            "owner": self.owner,
            "tier": self.tier,
            "route": self.route,
            "sector": self.sector,
            "q": self.q,
            "page": str(self.page) if self.page > 1 else "",
        }
        values.update({k: str(v) for k, v in changes.items()})
        if values["page"] == "1":
            values["page"] = ""
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class QueuePage:
    """One page of the filtered queue."""

    rows: pd.DataFrame
    matched: int
    page: int
    pages: int
    counts: Mapping[str, Mapping[str, int]]  # tier and route counts of the matches


def _text(series: pd.Series) -> pd.Series:
    return series.astype("string").fillna("")


def filter_queue(scores: pd.DataFrame, query: QueueQuery, page_size: int) -> QueuePage:
    """The leads matching ``query``, by rank, cut to its page.

    The name search is case-insensitive and literal (no pattern syntax) over the lead
    id, the account name and the job title.

    Examples
    --------
    >>> scores = pd.DataFrame({"lead_id": ["L1", "L2", "L3"], "rank": [1, 2, 3],
    ...     "tier": ["hot", "cold", "hot"], "route": ["meeting"] * 3,
    ...     "owner": ["Ana", "Ana", "Bo"], "sector": [None] * 3,
    ...     "account_name": ["Acme", "Beta", "Acme Labs"], "job_title": [None] * 3})
    >>> page = filter_queue(scores, QueueQuery(tier="hot", q="acme"), 50)
    >>> page.rows["lead_id"].tolist(), page.matched, dict(page.counts["tier"])
    (['L1', 'L3'], 2, {'hot': 2, 'warm': 0, 'cold': 0})
    """
    keep = pd.Series(True, index=scores.index)
    for column in ("owner", "tier", "route", "sector"):
        wanted = getattr(query, column)
        if wanted:
            keep &= _text(scores[column]) == wanted
    if query.q:
        needle = query.q.casefold()
        hit = pd.Series(False, index=scores.index)
        for column in _SEARCHED:
            hit |= (
                _text(scores[column]).str.casefold().str.contains(needle, regex=False)
            )
        keep &= hit
    matched = scores.loc[keep]
    pages = max(1, -(-len(matched) // page_size))
    page = min(query.page, pages)
    counts = {
        "tier": {t: int((matched["tier"] == t).sum()) for t in TIERS},
        "route": {r: int((matched["route"] == r).sum()) for r in ROUTES},
    }
    rows = matched.iloc[(page - 1) * page_size : page * page_size]
    return QueuePage(
        rows=rows, matched=len(matched), page=page, pages=pages, counts=counts
    )


def queue_choices(scores: pd.DataFrame) -> dict[str, list[str]]:
    """Values each filter offers: owners and sectors present in the batch, sorted."""
    return {
        "owner": sorted(set(_text(scores["owner"])) - {""}, key=str.casefold),
        "sector": sorted(set(_text(scores["sector"])) - {""}, key=str.casefold),
        "tier": list(TIERS),
        "route": list(ROUTES),
    }
