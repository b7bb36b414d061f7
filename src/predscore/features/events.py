"""SQL of the engagement features: the activities each spine row knows, aggregated.

Stage: features. Reads the staged activities ``act`` (see :mod:`sources`) and the spine
batch ``spine_b``. :func:`stage_activities_sql` types, codes and sessionises the
activities once; :func:`events_sql` joins every spine row with the activities known
at its ``as_of`` (:func:`pit.known_at`); the aggregate
queries read that result as the temporary table ``ev`` and return *long* results, one
row per spine row and (channel, action), channel, or spine row. Windows are half-open
and end at ``as_of`` (:func:`pit.age_within`). :mod:`engagement` lays them out as
columns.
"""

from __future__ import annotations

from collections.abc import Mapping

from predscore.config import FeaturesConfig
from predscore.features import pit
from predscore.features.sql import quote_str
from predscore.schema.tables import ACTIONS, CHANNELS

__all__ = [
    "CHANNEL_CODE",
    "PAIR_CODE",
    "active_days_sql",
    "details_sql",
    "events_sql",
    "pairs_sql",
    "stage_activities_sql",
    "web_sql",
]

#: Small integer codes of the channels and of the (channel, action) pairs of the
#: vocabulary: the engine groups and filters on integers, not on strings.
CHANNEL_CODE: Mapping[str, int] = {c: i for i, c in enumerate(CHANNELS)}
PAIR_CODE: Mapping[tuple[str, str], int] = {
    pair: i for i, pair in enumerate((c, a) for c in CHANNELS for a in ACTIONS[c])
}


def _passive_sql(config: FeaturesConfig) -> str:
    pairs = [
        f"(channel = {quote_str(c)} AND action = {quote_str(a)})"
        for c, actions in sorted(config.passive_actions.items())
        for a in sorted(actions)
    ]
    return " OR ".join(pairs) if pairs else "FALSE"


def _codes_sql() -> str:
    channel = " ".join(f"WHEN {quote_str(c)} THEN {i}" for c, i in CHANNEL_CODE.items())
    pair = " ".join(
        f"WHEN channel = {quote_str(c)} AND action = {quote_str(a)} THEN {i}"
        for (c, a), i in PAIR_CODE.items()
    )
    # a pair outside the vocabulary keeps a NULL pair code: it counts for its channel
    return (
        f"CAST(CASE channel {channel} END AS TINYINT) AS ch, "
        f"CAST(CASE {pair} END AS SMALLINT) AS pair"
    )


def stage_activities_sql(config: FeaturesConfig, keep: str = "TRUE") -> str:
    """Typed, coded and sessionised activities of ``raw_activities``, sorted by lead.

    ``keep`` is a condition on ``lead_id`` and ``t_us`` (epoch microseconds) selecting
    the rows to stage.

    A web view opens a visit when the previous view of the lead is at least
    ``visit_gap_minutes`` earlier; ``visit_us`` is the time its visit started. Both
    depend on earlier views only, so the visits known at any ``as_of`` never depend on
    later views, and they can be computed once for the whole table.
    """
    gap = pit.duration_us(config.visit_gap_minutes / (24 * 60))
    web_view = f"pair = {PAIR_CODE['web', 'view']}"
    return f"""
    WITH typed AS (
        SELECT CAST(lead_id AS VARCHAR) AS lead_id, epoch_us(occurred_at) AS t_us,
               CAST(channel AS VARCHAR) AS channel, CAST(action AS VARCHAR) AS action,
               CAST(detail AS VARCHAR) AS detail, CAST(quantity AS DOUBLE) AS quantity
        FROM raw_activities
    ),
    coded AS (
        SELECT lead_id, t_us, detail, quantity, {_codes_sql()},
               NOT ({_passive_sql(config)}) AS engaged
        FROM typed WHERE {keep}
    ),
    gaps AS (
        SELECT *, coalesce({web_view}, FALSE) AS is_view,
               t_us - lag(t_us) OVER (
                   PARTITION BY lead_id, coalesce({web_view}, FALSE) ORDER BY t_us
               ) AS gap_us
        FROM coded
    ),
    opens AS (
        SELECT * EXCLUDE (gap_us),
               is_view AND (gap_us IS NULL OR gap_us >= {gap}) AS opens_visit
        FROM gaps
    )
    SELECT *, CASE WHEN is_view THEN max(CASE WHEN opens_visit THEN t_us END)
           OVER (PARTITION BY lead_id, is_view ORDER BY t_us) END AS visit_us
    FROM opens ORDER BY lead_id, t_us
    """


def events_sql(lead_filter: str) -> str:
    """Staged activities of the batch joined to the spine rows that know them."""
    age = pit.age_us("e.t_us", "s.as_of_us")
    return f"""
    SELECT s.sid, e.ch, e.pair, e.detail, e.quantity, e.engaged, e.is_view,
           e.opens_visit, {age} AS age_us,
           {pit.age_us("e.visit_us", "s.as_of_us")} AS visit_age_us,
           {pit.day_index(age)} AS day
    FROM spine_b s JOIN (SELECT * FROM act WHERE {lead_filter}) e
      ON e.lead_id = s.lead_id
    WHERE {pit.known_at("e.t_us", "s.as_of_us")}
    """


def _windowed(config: FeaturesConfig, condition: str = "") -> str:
    extra = f"{condition} AND " if condition else ""
    return ", ".join(
        f"count(*) FILTER (WHERE {extra}{pit.age_within('age_us', w)}) AS c_{i}"
        for i, w in enumerate(config.windows_days)
    )


def pairs_sql(config: FeaturesConfig) -> str:
    """Per spine row and (channel, action): windowed counts, ages, decay, trend."""
    t = config.trend_window_days
    return (
        f"SELECT sid, ch, pair, engaged, {_windowed(config)}, count(*) AS c_all, "
        "min(age_us) AS age_min, max(age_us) AS age_max, "
        f"fsum({pit.decay_weight('age_us', config.half_life_days)}) AS decay, "
        f"count(*) FILTER (WHERE {pit.age_within('age_us', t)}) AS c_last, "
        f"count(*) FILTER (WHERE {pit.age_between('age_us', t, 2 * t)}) AS c_prev "
        "FROM ev GROUP BY sid, ch, pair, engaged"
    )


def details_sql(config: FeaturesConfig) -> str:
    """Per spine row and channel: distinct details, by their latest use."""
    return (
        f"SELECT sid, ch, {_windowed(config)} FROM ("
        "SELECT sid, ch, detail, min(age_us) AS age_us FROM ev "
        "WHERE engaged AND detail IS NOT NULL GROUP BY sid, ch, detail) GROUP BY sid, ch"
    )


def web_sql(config: FeaturesConfig) -> str:
    """Per spine row: time on site, visits started and their pages, per window."""
    cols = []
    for i, w in enumerate(config.windows_days):
        within = pit.age_within("age_us", w)
        cols += [
            f"fsum(quantity) FILTER (WHERE {within}) AS tos_{i}",
            f"count(*) FILTER (WHERE opens_visit AND {within}) AS vis_{i}",
            f"count(*) FILTER (WHERE {pit.age_within('visit_age_us', w)}) AS pg_{i}",
        ]
    return f"SELECT sid, {', '.join(cols)} FROM ev WHERE is_view GROUP BY sid"


def active_days_sql(config: FeaturesConfig) -> str:
    """Per spine row: 24-hour periods back from ``as_of`` with an engaged touch."""
    cols = ", ".join(
        f"count(*) FILTER (WHERE {pit.day_within('day', w)}) AS c_{i}"
        for i, w in enumerate(config.windows_days)
    )
    return (
        f"SELECT sid, {cols} FROM (SELECT DISTINCT sid, day FROM ev WHERE engaged) "
        "GROUP BY sid"
    )
