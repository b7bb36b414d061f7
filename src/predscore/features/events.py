"""Activities of the spine's leads: staged once, then read batch by batch.

Stage: features. :func:`stage_activities_sql` types and codes the activities of
``raw_activities`` whose lead is in the table ``grid`` (see :mod:`build`) and that some
feature row can know (at or before the lead's last as-of time); each lead is numbered
``li`` so that a batch of leads selects its own by a range of integers. :class:`Events`
holds a batch of them as numpy arrays sorted by lead and time, with, for each event,
the first row of its lead that knows it (:func:`pit.first_row_at`) and the rows where
it leaves each window (:func:`pit.window_end`). Web visits are identified here from
earlier views only (the gap to the previous view), so the visits known at any
``as_of`` never depend on later views.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from predscore.config import FeaturesConfig
from predscore.features import pit
from predscore.features.grid import Grid
from predscore.features.sql import quote_str
from predscore.schema.tables import ACTIONS, CHANNELS

__all__ = ["CHANNEL_CODE", "PAIR_CODE", "Events", "passive_codes", "stage_activities"]

#: Small integer codes of the channels and of the (channel, action) pairs of the
#: vocabulary: the engine groups and filters on integers, not on strings.
CHANNEL_CODE: Mapping[str, int] = {c: i for i, c in enumerate(CHANNELS)}
PAIR_CODE: Mapping[tuple[str, str], int] = {
    pair: i for i, pair in enumerate((c, a) for c in CHANNELS for a in ACTIONS[c])
}
WEB_VIEW = PAIR_CODE["web", "view"]


def passive_codes(config: FeaturesConfig) -> np.ndarray:
    """Pair codes of the passive actions (``FeaturesConfig.passive_actions``)."""
    return np.array(
        sorted(
            PAIR_CODE[c, a]
            for c, actions in config.passive_actions.items()
            for a in actions
        ),
        dtype=np.int64,
    )


def _values(rows: list[str], columns: str) -> str:
    return f"SELECT * FROM (VALUES {', '.join(rows)}) v({columns})"


def stage_activities(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``act``: the coded activities of the leads of ``grid`` a row can know.

    Columns: ``li`` (the lead's number in ``grid``), ``t_us``, ``ch``, ``pair``,
    ``detail`` (a code, equal for equal texts), ``quantity``. Codes come from small
    lookup tables joined on the texts, which costs DuckDB far less than comparing
    strings in expressions; the texts of details are not kept. Activities on a channel
    outside the vocabulary (which validation rejects) are left out; an action outside
    it keeps a NULL pair code and counts for its channel.
    """
    channels = [f"({quote_str(c)}, {i})" for c, i in CHANNEL_CODE.items()]
    pairs = [
        f"({quote_str(c)}, {quote_str(a)}, {i})" for (c, a), i in PAIR_CODE.items()
    ]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE act_channel AS "
        + _values(channels, "channel, ch")
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE act_pair AS "
        + _values(pairs, "channel, action, pair")
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE act_detail AS SELECT detail, "
        "CAST(row_number() OVER () AS INTEGER) - 1 AS code FROM ("
        "SELECT DISTINCT CAST(detail AS VARCHAR) AS detail FROM raw_activities "
        "WHERE detail IS NOT NULL)"
    )
    known = pit.known_at("a.t_us", "g.last_us")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE act AS
    SELECT g.li, a.t_us, c.ch, p.pair, d.code AS detail, a.quantity
    FROM (
        SELECT CAST(lead_id AS VARCHAR) AS lead_id, epoch_us(occurred_at) AS t_us,
               CAST(channel AS VARCHAR) AS channel, CAST(action AS VARCHAR) AS action,
               CAST(detail AS VARCHAR) AS detail, CAST(quantity AS DOUBLE) AS quantity
        FROM raw_activities
    ) a
    JOIN grid g ON g.lead_id = a.lead_id
    JOIN act_channel c ON c.channel = a.channel
    LEFT JOIN act_pair p ON p.channel = a.channel AND p.action = a.action
    LEFT JOIN act_detail d ON d.detail = a.detail
    WHERE {known}
    """)


def _ints(column: pa.ChunkedArray | pa.Array, null: int = -1) -> np.ndarray:
    if column.null_count:
        column = pc.fill_null(column, null)
    return column.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


class _Column:
    """An event attribute: the full array, or its selection for a subset (once)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, events: Events, owner: type | None = None) -> np.ndarray:
        return events.column(self.name)


class Events:
    """A batch of activities, sorted by lead then time, as numpy arrays.

    ``lead`` is the lead's position in the batch's :class:`Grid`, ``base`` the lead's
    first row in the batch, ``start`` the first row of that lead (counted from
    ``base``) that knows the event, and :meth:`end` the row where it leaves a window;
    ``pair`` and ``detail`` are -1 when missing, ``quantity`` is 0 when missing;
    ``engaged`` is False for passive actions. A subset (:meth:`where`) copies an
    attribute only when it is used.
    """

    lead = _Column()
    t = _Column()
    ch = _Column()
    pair = _Column()
    engaged = _Column()
    detail = _Column()
    quantity = _Column()
    base = _Column()
    start = _Column()

    def __init__(
        self,
        columns: Mapping[str, np.ndarray],
        ends: np.ndarray,
        spans: tuple[float, ...],
        selection: np.ndarray | None = None,
    ) -> None:
        self._columns = columns
        self._ends = ends  # per span of ``spans``, the window end of every event
        self.spans = spans
        self._selection = selection
        self._cache: dict[str | float, np.ndarray] = {}

    @classmethod
    def of(
        cls,
        table: pa.Table,
        grid: Grid,
        first_lead: int,
        spans: tuple[float, ...],
        passive: np.ndarray,
    ) -> Events:
        """Events of ``table`` (staged, sorted by lead and time) for the batch whose
        first lead is number ``first_lead``, with their window ends for windows of
        ``spans`` days; the pairs ``passive`` are not engagement."""
        lead = _ints(table["li"]) - first_lead
        t = _ints(table["t_us"])
        pair = _ints(table["pair"])
        passive_pair = np.zeros(len(PAIR_CODE) + 1, dtype=bool)  # the last: no pair
        passive_pair[passive] = True
        columns = {
            "lead": lead,
            "t": t,
            "ch": _ints(table["ch"]),
            "pair": pair,
            "engaged": ~passive_pair[pair],
            "detail": _ints(table["detail"]),
            "quantity": pc.fill_null(table["quantity"], 0.0)
            .to_numpy(zero_copy_only=False)
            .astype(np.float64, copy=False),
        }
        # time from each event to its lead's first as-of time, once for every window
        lag = grid.first[lead] - t
        count = grid.count[lead]
        ends = np.empty((len(spans), len(t)), np.int64)
        for i, days_ in enumerate(spans):
            ends[i] = pit.window_end_after(lag, days_, grid.step, count)
        columns["start"] = pit.window_end_after(lag, 0, grid.step, count)
        columns["base"] = grid.row0[lead]
        return cls(columns, ends, spans)

    def __len__(self) -> int:
        return len(self.lead)

    def column(self, name: str) -> np.ndarray:
        """The attribute ``name`` of the events."""
        if name not in self._cache:
            full = self._columns[name]
            self._cache[name] = (
                full if self._selection is None else full[self._selection]
            )
        return self._cache[name]

    def where(self, mask: np.ndarray) -> Events:
        """The events selected by ``mask`` (booleans or indices), in that order."""
        if mask.dtype == bool:
            if mask.all():
                return self
            mask = np.flatnonzero(mask)
        selection = mask if self._selection is None else self._selection[mask]
        return Events(self._columns, self._ends, self.spans, selection)

    def windowed(self) -> Events:
        """The events that some row holds in its widest window (the others, too old
        at every row, only count for unwindowed features)."""
        widest = max(self.spans)
        inside = self.end(widest) > self.start
        # a subset costs copies: worth it only when it leaves out enough
        return self.where(inside) if inside.sum() < 0.75 * len(inside) else self

    def end(
        self, days_: float, grid: Grid | None = None, times: np.ndarray | None = None
    ) -> np.ndarray:
        """First row of each event's lead where it is out of the ``days_`` window,
        measured from the event's time, or from ``times`` (then ``grid`` is needed)."""
        if times is None:
            key = float(days_)
            if key not in self._cache:
                ends = self._ends[self.spans.index(days_)]
                self._cache[key] = (
                    ends if self._selection is None else ends[self._selection]
                )
            return self._cache[key]
        assert grid is not None
        first, count = grid.first[self.lead], grid.count[self.lead]
        return pit.window_end(times, days_, first, grid.step, count)

    def previous(self, group: np.ndarray | None = None) -> np.ndarray:
        """Index of the previous event of the same lead (and group), or -1."""
        if not len(self.lead):
            return np.zeros(0, np.int64)
        same = self.lead[1:] == self.lead[:-1]
        if group is not None:
            same &= group[1:] == group[:-1]
        return np.concatenate([[-1], np.where(same, np.arange(len(same)), -1)])

    def visit_starts(self, config: FeaturesConfig) -> tuple[np.ndarray, np.ndarray]:
        """Of web views (``self`` holds only them): opens a visit, visit start time.

        A view opens a visit when the previous view of the lead is at least
        ``visit_gap_minutes`` earlier, or there is none.
        """
        prev = self.previous()
        gap = pit.duration_us(config.visit_gap_minutes / (24 * 60))
        opens = (prev < 0) | (self.t - self.t[np.maximum(prev, 0)] >= gap)
        # every lead's first view opens, so the running maximum never crosses leads
        opener = np.maximum.accumulate(np.where(opens, np.arange(len(opens)), 0))
        return opens, self.t[opener] if len(opener) else self.t
