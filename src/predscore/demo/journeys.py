"""Outcomes, activity log and qualification answers of the synthetic demo CRM.

Stage: source (demo data only). Given a :class:`~predscore.demo.population.Population`,
draws what a CRM records over time:

* **outcomes**: won with the calibrated closing probability; the close date follows the
  project timeline for wins and a few weeks to months for losses; leads whose close falls
  after the end of the history, and a ``stale_share`` never worked, stay open;
* **activities** between creation and close (or the end of the history), per channel:
  marketing emails sent to everyone, opened and clicked mostly out of *curiosity*;
  webinars, content downloads, blog visits and LinkedIn likes driven by curiosity too;
  replies, demo requests, pricing-page visits, connected calls and meetings driven by
  *buying intent* (need × timing × authority); job seekers visit the careers page;
* **qualifications**: BANT/MEDDICC answers recorded at the discovery call (when one
  happens), noisy observations of the hidden state, sometimes updated weeks later.

Every draw is vectorised: a Poisson count per lead, then event times per event.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predscore.demo.catalogue import ASSETS, LOST_REASONS, WEB_PAGES, WEBINARS
from predscore.demo.population import Population

__all__ = ["Timeline", "draw_activities", "draw_outcomes", "draw_qualifications"]

_DAY = np.timedelta64(86_400_000_000, "us")
_SECOND = np.timedelta64(1_000_000, "us")
_NAT = np.datetime64("NaT", "us")


class Timeline:
    """Per-lead life span: outcome, close date, end of activity, discovery call."""

    def __init__(
        self,
        won: np.ndarray,
        closed: np.ndarray,
        closed_at: np.ndarray,
        active_end: np.ndarray,
        discovery_at: np.ndarray,
        intent: np.ndarray,
    ) -> None:
        self.won = won
        self.closed = closed
        self.closed_at = closed_at
        self.active_end = active_end
        self.discovery_at = discovery_at
        self.intent = intent


def _days(values: np.ndarray) -> np.ndarray:
    return (np.asarray(values, dtype=float) * _DAY).astype("timedelta64[us]")


def close_delays(
    rng: np.random.Generator, pop: Population
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days to close if won, days to close if lost, and the never-closed flag."""
    n = len(pop.created)
    months = np.nan_to_num(pop.timeline_months, nan=6.0)
    won_days = np.clip(
        30 * months * rng.uniform(0.5, 1.1, n) + rng.gamma(2, 12, n), 21, 720
    )
    lost_days = np.clip(rng.lognormal(np.log(70), 0.8, n), 7, 720)
    return won_days, lost_days, rng.random(n)


def draw_outcomes(
    rng: np.random.Generator,
    pop: Population,
    p_won: np.ndarray,
    end: np.datetime64,
    stale_share: float,
) -> tuple[Timeline, pd.DataFrame]:
    """Draw outcomes and the life span of each lead; return the outcomes table too."""
    n = len(pop.created)
    won = rng.random(n) < p_won
    won_days, lost_days, stale_u = close_delays(rng, pop)
    closed_at = pop.created + _days(np.where(won, won_days, lost_days))
    closed = (closed_at <= end) & (stale_u >= stale_share)
    active_end = np.where(closed, closed_at, end)

    timing = np.select(
        [pop.timeline_months <= 3, pop.timeline_months <= 12], [1.0, 0.6], default=0.25
    )
    intent = pop.need * timing * (0.5 + 0.5 * pop.authority)
    p_disc = 1 / (
        1 + np.exp(-(-0.6 + 2.5 * intent + 0.6 * pop.authority + 0.6 * pop.curiosity))
    )
    p_disc = np.where(won, np.maximum(p_disc, 0.95), p_disc)
    span = (active_end - pop.created) / _DAY
    disc_delay = np.minimum(rng.exponential(8 + 20 * (1 - intent)), 0.6 * span)
    has_disc = (rng.random(n) < p_disc) & (span > 1)
    discovery_at = np.where(has_disc, pop.created + _days(disc_delay), _NAT)

    lost_reason = rng.choice(
        np.array(list(LOST_REASONS)), n, p=np.array(list(LOST_REASONS.values()))
    )
    amount = np.round(
        pop.accounts["employees"]
        .astype("float64")
        .fillna(50)
        .to_numpy()[pop.account_of_lead]
        ** 0.6
        * 400
        * rng.lognormal(0, 0.3, n),
        -1,
    )
    idx = np.flatnonzero(closed)
    outcomes = pd.DataFrame(
        {
            "lead_id": pop.leads["lead_id"].to_numpy()[idx],
            "closed_at": pd.to_datetime(closed_at[idx]).tz_localize("UTC"),
            "outcome": np.where(won[idx], "won", "lost").astype(object),
            "amount": np.where(won[idx], amount[idx], np.nan),
            "reason": np.where(won[idx], None, lost_reason[idx]).astype(object),
        }
    )
    return Timeline(won, closed, closed_at, active_end, discovery_at, intent), outcomes


class _Log:
    """Accumulates activity events as arrays (lead index, time, channel, action...)."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(
        self,
        lead: np.ndarray,
        at: np.ndarray,
        channel: str,
        action: str,
        detail: np.ndarray | None = None,
        quantity: np.ndarray | None = None,
    ) -> None:
        n = len(lead)
        if n == 0:
            return
        self.parts.append(
            {
                "lead": lead,
                "at": at,
                "channel": np.full(n, channel, dtype=object),
                "action": np.full(n, action, dtype=object),
                "detail": detail
                if detail is not None
                else np.full(n, None, dtype=object),
                "quantity": quantity if quantity is not None else np.full(n, np.nan),
            }
        )

    def frame(self, pop: Population, end: np.ndarray) -> pd.DataFrame:
        cols = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        # an event only exists if it happened within the lead's active life
        keep = (cols["at"] >= pop.created[cols["lead"]]) & (
            cols["at"] < end[cols["lead"]]
        )
        cols = {k: v[keep] for k, v in cols.items()}
        order = np.lexsort((cols["at"], cols["lead"]))
        cols = {k: v[order] for k, v in cols.items()}
        cols["at"] = cols["at"].astype("datetime64[s]").astype("datetime64[us]")
        return pd.DataFrame(
            {
                "lead_id": pop.leads["lead_id"].to_numpy()[cols["lead"]],
                "occurred_at": pd.to_datetime(cols["at"]).tz_localize("UTC"),
                "channel": cols["channel"],
                "action": cols["action"],
                "detail": cols["detail"],
                "quantity": cols["quantity"],
            }
        )


def _poisson_events(
    rng: np.random.Generator,
    rate_per_30d: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Events at a constant rate between start and stop; returns (lead index, time)."""
    span = np.maximum((stop - start) / _DAY, 0.0)
    counts = rng.poisson(np.maximum(rate_per_30d, 0) * span / 30)
    lead = np.repeat(np.arange(len(start)), counts)
    at = start[lead] + _days(rng.random(len(lead)) * span[lead])
    return lead, at


def _pick(rng: np.random.Generator, names: list[str], probs: np.ndarray) -> np.ndarray:
    """One name per row from row-wise probabilities (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random((len(probs), 1)) * cum[:, -1:]
    return np.asarray(names, dtype=object)[
        np.minimum((u > cum).sum(axis=1), len(names) - 1)
    ]


def _emails(rng: np.random.Generator, log: _Log, pop: Population, tl: Timeline) -> None:
    n = len(pop.created)
    c, intent = pop.curiosity, tl.intent
    lead, at = _poisson_events(
        rng, np.full(n, 3.0) * rng.uniform(0.7, 1.3, n), pop.created, tl.active_end
    )
    outbound = np.flatnonzero(pop.source == "outbound")
    seq_lead = np.repeat(outbound, 4)
    seq_at = pop.created[seq_lead] + _days(np.tile([0.1, 3, 8, 15], len(outbound)))
    lead, at = np.concatenate([lead, seq_lead]), np.concatenate([at, seq_at])
    month = pd.DatetimeIndex(at).strftime("newsletter_%Y_%m").to_numpy(dtype=object)
    month[len(lead) - len(seq_lead) :] = "sdr_sequence"
    log.add(lead, at, "email", "sent", month)
    opened = rng.random(len(lead)) < np.clip(
        0.06 + 0.85 * c[lead] + 0.15 * intent[lead], 0, 0.97
    )
    open_at = at[opened] + _days(rng.exponential(0.4, opened.sum()))
    log.add(lead[opened], open_at, "email", "open", month[opened])
    ol = lead[opened]
    clicked = rng.random(len(ol)) < np.clip(
        0.03 + 0.4 * c[ol] + 0.3 * intent[ol], 0, 0.9
    )
    log.add(
        ol[clicked],
        open_at[clicked] + _days(rng.exponential(0.01, clicked.sum())),
        "email",
        "click",
        month[opened][clicked],
    )
    replied = rng.random(len(lead)) < 0.002 + 0.05 * intent[lead] * (
        1 + (pop.source[lead] == "outbound")
    )
    log.add(
        lead[replied],
        at[replied] + _days(rng.exponential(1.0, replied.sum())),
        "email",
        "reply",
        month[replied],
    )
    bounced = rng.random(len(lead)) < 0.003
    log.add(lead[bounced], at[bounced], "email", "bounce", month[bounced])
    unsub = rng.random(len(lead)) < 0.004 * (1 - c[lead])
    log.add(lead[unsub], at[unsub] + _days(0.2), "email", "unsubscribe", month[unsub])


def _curiosity_channels(
    rng: np.random.Generator, log: _Log, pop: Population, tl: Timeline
) -> None:
    c, intent, n = pop.curiosity, tl.intent, len(pop.created)
    lead, at = _poisson_events(
        rng, 0.03 + 1.1 * c**2 + 0.2 * intent, pop.created, tl.active_end
    )
    webinar = np.asarray(WEBINARS, dtype=object)[
        rng.integers(0, len(WEBINARS), len(lead))
    ]
    log.add(lead, at, "webinar", "register", webinar)
    attended = rng.random(len(lead)) < 0.3 + 0.65 * c[lead]
    log.add(
        lead[attended],
        at[attended] + _days(rng.uniform(2, 10, attended.sum())),
        "webinar",
        "attend",
        webinar[attended],
    )

    lead, at = _poisson_events(
        rng, 0.03 + 0.9 * c**2 + 0.3 * intent, pop.created, tl.active_end
    )
    share_intent = (0.6 * intent / (0.6 * intent + c + 0.05))[lead]
    curious_p = np.array([v[0] for v in ASSETS.values()])
    intent_p = np.array([v[1] for v in ASSETS.values()])
    probs = (1 - share_intent)[:, None] * curious_p / curious_p.sum() + share_intent[
        :, None
    ] * intent_p / intent_p.sum()
    log.add(lead, at, "content", "download", _pick(rng, list(ASSETS), probs))

    connect = np.flatnonzero(rng.random(n) < 0.12 + 0.35 * c)
    span = (tl.active_end - pop.created) / _DAY
    log.add(
        connect,
        pop.created[connect] + _days(rng.random(len(connect)) * span[connect]),
        "linkedin",
        "connect",
    )
    lead, at = _poisson_events(rng, 0.6 * c**2, pop.created, tl.active_end)
    log.add(
        lead, at, "linkedin", "like", np.full(len(lead), "company_post", dtype=object)
    )
    lead, at = _poisson_events(
        rng, 0.5 * intent * pop.authority, pop.created, tl.active_end
    )
    log.add(lead, at, "linkedin", "message")

    signup = np.flatnonzero(rng.random(n) < 0.08 + 0.4 * c)
    log.add(
        signup,
        pop.created[signup] + _days(rng.random(len(signup)) * span[signup]),
        "form",
        "submit",
        np.full(len(signup), "newsletter_signup", dtype=object),
    )
    yearly = (0.05 + 0.5 * c) / 12
    lead, at = _poisson_events(rng, yearly, pop.created, tl.active_end)
    log.add(
        lead, at, "event", "register", np.full(len(lead), "trade_show", dtype=object)
    )
    went = rng.random(len(lead)) < 0.6
    log.add(
        lead[went],
        at[went] + _days(14),
        "event",
        "attend",
        np.full(went.sum(), "trade_show", dtype=object),
    )
    booth = np.flatnonzero(pop.source == "event")
    log.add(
        booth,
        pop.created[booth],
        "event",
        "visit",
        np.full(len(booth), "trade_show", dtype=object),
    )


def _web(rng: np.random.Generator, log: _Log, pop: Population, tl: Timeline) -> None:
    c, intent = pop.curiosity, tl.intent
    rate = 0.15 + 2.5 * c**2 + 3.0 * intent + 2.0 * pop.job_seeker
    lead, at = _poisson_events(rng, rate, pop.created, tl.active_end)
    pages = 1 + rng.poisson(0.3 + 2.0 * c[lead] + 1.5 * intent[lead])
    view_lead = np.repeat(lead, pages)
    session = np.repeat(np.arange(len(lead)), pages)
    w = np.array(list(WEB_PAGES.values()))
    seek = pop.job_seeker[view_lead].astype(float)
    i_share = (intent / (intent + c + 0.05))[view_lead] * (1 - seek)
    probs = (
        ((1 - i_share - seek)[:, None] * w[:, 0] / w[:, 0].sum())
        + i_share[:, None] * w[:, 1] / w[:, 1].sum()
        + seek[:, None] * w[:, 2] / w[:, 2].sum()
    )
    page = _pick(rng, list(WEB_PAGES), probs)
    deep = np.isin(page, ["/pricing", "/product", "/integrations", "/case-studies"])
    seconds = np.round(
        rng.lognormal(
            np.log(25 + 70 * intent[view_lead] * deep + 20 * c[view_lead]), 0.8
        )
    )
    # pages of a visit follow each other: offset = time spent on the previous pages
    cum = np.cumsum(seconds)
    first = np.r_[0, np.cumsum(pages)[:-1]]
    before = cum - seconds - np.repeat(cum[first] - seconds[first], pages)
    view_at = at[session] + (before * _SECOND).astype("timedelta64[us]")
    log.add(view_lead, view_at, "web", "view", page, seconds)


def _sales(rng: np.random.Generator, log: _Log, pop: Population, tl: Timeline) -> None:
    n = len(pop.created)
    intent = tl.intent
    span = (tl.active_end - pop.created) / _DAY
    asks = np.flatnonzero(rng.random(n) < 0.02 + 0.55 * intent)
    log.add(
        asks,
        pop.created[asks] + _days(rng.random(len(asks)) * 0.5 * span[asks]),
        "form",
        "demo_request",
        np.full(len(asks), "demo_form", dtype=object),
    )
    calls = rng.poisson(0.8 + 2.5 * (pop.source == "outbound") + 1.5 * intent)
    lead = np.repeat(np.arange(n), calls)
    at = pop.created[lead] + _days(rng.exponential(12, len(lead)))
    log.add(lead, at, "call", "attempt")
    ok = rng.random(len(lead)) < 0.12 + 0.35 * intent[lead] + 0.1 * pop.authority[lead]
    log.add(
        lead[ok],
        at[ok] + _days(0.001),
        "call",
        "connected",
        quantity=np.round(rng.lognormal(np.log(300), 0.6, ok.sum())),
    )

    disc = np.flatnonzero(~np.isnat(tl.discovery_at))
    d_at = tl.discovery_at[disc]
    booked = np.maximum(d_at - _days(rng.uniform(1, 7, len(disc))), pop.created[disc])
    log.add(
        disc,
        booked,
        "meeting",
        "scheduled",
        np.full(len(disc), "discovery_call", dtype=object),
    )
    no_show = rng.random(len(disc)) < 0.1
    log.add(
        disc[no_show],
        d_at[no_show] - _days(3),
        "meeting",
        "no_show",
        np.full(no_show.sum(), "discovery_call", dtype=object),
    )
    log.add(
        disc,
        d_at,
        "meeting",
        "held",
        np.full(len(disc), "discovery_call", dtype=object),
        np.round(rng.uniform(1200, 3600, len(disc))),
    )
    # deals in progress: demos and proposal reviews between discovery and close
    follow = rng.poisson(np.where(tl.won[disc], 2.0, 0.4 + 1.2 * intent[disc]))
    f_lead = np.repeat(disc, follow)
    gap = (tl.active_end[f_lead] - tl.discovery_at[f_lead]) / _DAY
    f_at = tl.discovery_at[f_lead] + _days(rng.random(len(f_lead)) * gap)
    kind = np.where(rng.random(len(f_lead)) < 0.6, "product_demo", "proposal_review")
    log.add(
        f_lead,
        f_at,
        "meeting",
        "held",
        kind.astype(object),
        np.round(rng.uniform(1800, 3600, len(f_lead))),
    )


def draw_activities(
    rng: np.random.Generator, pop: Population, tl: Timeline
) -> pd.DataFrame:
    """Draw the activity log of every lead of ``pop`` (sorted by lead and time)."""
    log = _Log()
    _emails(rng, log, pop, tl)
    _curiosity_channels(rng, log, pop, tl)
    _web(rng, log, pop, tl)
    _sales(rng, log, pop, tl)
    return log.frame(pop, tl.active_end)


def _noisy_flag(
    rng: np.random.Generator, truth: np.ndarray, flip: float, unknown: float
) -> np.ndarray:
    observed = np.where(rng.random(len(truth)) < flip, ~truth, truth)
    values = np.where(observed, "yes", "no").astype(object)
    values[rng.random(len(truth)) < unknown] = "unknown"
    return values


def draw_qualifications(
    rng: np.random.Generator, pop: Population, tl: Timeline
) -> pd.DataFrame:
    """BANT / MEDDICC answers recorded at the discovery call, and later updates."""
    disc = np.flatnonzero(~np.isnat(tl.discovery_at))
    at = tl.discovery_at[disc] + _days(0.05)
    need, auth, budget = pop.need[disc], pop.authority[disc], pop.budget[disc]
    months = pop.timeline_months[disc]
    k = len(disc)
    said_months = np.where(
        need,
        np.maximum(np.round(months + rng.normal(0, 1.0, k)), 0),
        rng.choice([18.0, 24.0, 36.0], k),
    )
    answers = {
        "need": _noisy_flag(rng, need, 0.05, 0.0),
        "authority": _noisy_flag(rng, auth, 0.06, 0.05),
        "budget": _noisy_flag(rng, budget, 0.12, 0.2),
        "timeline_months": np.array([f"{m:g}" for m in said_months], dtype=object),
        "champion": _noisy_flag(
            rng, need & (rng.random(k) < 0.4 + 0.4 * auth), 0.1, 0.3
        ),
        "decision_process": np.where(
            auth,
            "single decision maker",
            np.where(rng.random(k) < 0.5, "committee", "unknown"),
        ).astype(object),
    }
    skipped = {"timeline_months": rng.random(k) < np.where(need, 0.1, 0.35)}
    parts = []
    for field, values in answers.items():
        keep = ~skipped.get(field, np.zeros(k, dtype=bool))
        parts.append(
            pd.DataFrame(
                {
                    "lead": disc[keep],
                    "at": at[keep],
                    "field": field,
                    "value": values[keep],
                }
            )
        )
    # some deals are re-qualified a few weeks later: the remaining time has shrunk
    again = rng.random(k) < 0.35
    later = tl.discovery_at[disc] + _days(rng.uniform(14, 60, k))
    again &= later < tl.active_end[disc]
    elapsed = (later - tl.discovery_at[disc]) / _DAY / 30
    remaining = np.maximum(np.round(said_months - elapsed), 0)
    parts.append(
        pd.DataFrame(
            {
                "lead": disc[again],
                "at": later[again],
                "field": "timeline_months",
                "value": [f"{m:g}" for m in remaining[again]],
            }
        )
    )
    budget_now = _noisy_flag(rng, budget, 0.05, 0.0)
    parts.append(
        pd.DataFrame(
            {
                "lead": disc[again],
                "at": later[again],
                "field": "budget",
                "value": budget_now[again],
            }
        )
    )
    frame = pd.concat(parts, ignore_index=True).sort_values(
        ["lead", "at"], kind="stable"
    )
    return pd.DataFrame(
        {
            "lead_id": pop.leads["lead_id"].to_numpy()[frame["lead"].to_numpy()],
            "recorded_at": pd.to_datetime(frame["at"].to_numpy()).tz_localize("UTC"),
            "field": frame["field"].to_numpy(),
            "value": frame["value"].to_numpy(),
        }
    )
