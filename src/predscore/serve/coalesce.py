"""Requests that arrive together are scored together: one pass for many form submits.

Stage: serve. A scoring pass has a fixed cost (the feature engine's queries, the
model's and the explainer's calls) that barely grows with the leads it holds, so a
server that scored each request alone under load would spend most of its time on that
fixed cost. :class:`Coalescer` runs one pass at a time; the requests that arrive
while a pass runs wait for it and are then scored in the next pass together (a lone
request is scored at once). Each request still gets exactly its own answer
(:func:`predscore.scoring.score_canonical_many`).

Requests are scored together only when nothing can differ between scoring them
together and alone: the same as-of time, the same columns, no shared lead, and the
same row for an account several of them send. When a pass fails, each of its requests
is scored alone, so that an error reaches only the request that caused it.

Under steady load the requests fall into cohorts: while one cohort is scored, the
clients of the previous one read their answers and send their next requests, which
arrive just after the next pass has started without them. When the scorer is busy
(passes took ``busy`` of the last second or more), a pass therefore waits until as
many requests are queued as the largest pass of the last second held (the clients
that are sending), for a few milliseconds at most (``wait``): fewer, fuller passes,
and a cohort that split when one of its requests came late joins up again at the
next pass rather than staying two half cohorts that each wait for the other's pass.
A pass never waits when the scorer has time to spare (requests arriving apart would
only be delayed), when no pass of the last second held several requests (a lone
client), nor when the pass before it left requests queued (they had arrived: nothing
more is on its way for them); and it stops waiting when most of the last ten waits
ended at their bound without their cohort (independent users, whose requests arrive
apart, not clients waiting for their answers), but for one probe in ten.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import pandas as pd
import pyarrow as pa

__all__ = ["Coalescer"]

#: Waits remembered to judge whether waiting still fills passes, and one wait in this
#: many is made even when it did not.
_WAITS_KEPT = 10
_PROBE = 10

Answer = TypeVar("Answer")
Tables = Mapping[str, pa.Table]
#: Scores several requests' tables at one as-of time; one answer per request, in order.
ScoreMany = Callable[[Sequence[Tables], pd.Timestamp], Sequence[Answer]]


@dataclass
class _Request(Generic[Answer]):
    tables: Tables
    as_of: pd.Timestamp
    leads: frozenset = field(init=False)
    accounts: dict = field(init=False)
    columns: tuple = field(init=False)
    answer: Future = field(default_factory=Future)

    def __post_init__(self) -> None:
        self.leads = frozenset(self.tables["leads"]["lead_id"].to_pylist())
        self.accounts = {
            r["account_id"]: r for r in self.tables["accounts"].to_pylist()
        }
        self.columns = tuple(
            (name, tuple(self.tables[name].schema.names))
            for name in sorted(self.tables)
        )

    def joins(self, group: list[_Request]) -> bool:
        """Whether this request can be scored in one pass with ``group``."""
        first = group[0]
        if self.as_of != first.as_of or self.columns != first.columns:
            return False
        for other in group:
            if self.leads & other.leads:
                return False
            for key in self.accounts.keys() & other.accounts.keys():
                if self.accounts[key] != other.accounts[key]:
                    return False
        return True


class Coalescer(Generic[Answer]):
    """One scoring pass at a time; requests waiting meanwhile share the next pass.

    Parameters
    ----------
    score_many : callable
        ``score_many(list_of_tables, as_of) -> answers``, one answer per request.
    max_leads : int
        Leads in one pass at most (a larger request is scored alone); 1 scores every
        request alone.
    wait : float
        Seconds at most a pass waits before it starts for as many requests as the
        largest pass of the last ``memory`` seconds held (0: never).
    memory : float
        Seconds a pass is remembered (its size, its time).
    busy : float
        A pass waits only when passes took at least this share of the last
        ``memory`` seconds: below, the scorer has time to spare and a wait would only
        delay the requests.
    """

    def __init__(
        self,
        score_many: ScoreMany,
        max_leads: int,
        wait: float = 0.0,
        memory: float = 1.0,
        busy: float = 0.5,
    ) -> None:
        self._score_many = score_many
        self._max_leads = max_leads
        self._wait = wait
        self._memory = memory
        self._busy_share = busy
        #: (end, size, seconds) of the passes of the last ``memory`` seconds
        self._recent: collections.deque[tuple[float, int, float]] = collections.deque()
        self._first_started: float | None = None
        self._queue: list[_Request] = []
        self._queue_lock = threading.Lock()
        self._arrived = threading.Condition(self._queue_lock)
        self._busy = threading.Lock()
        #: passes run so far, and the largest number of requests one of them held
        self.passes = 0
        self.largest_pass = 0
        self._left_queued = False  # the last pass left requests in the queue
        #: whether each of the last waits saw its cohort arrive, and waits decided
        self._filled: collections.deque[bool] = collections.deque(maxlen=_WAITS_KEPT)
        self._decided = 0

    def score(self, tables: Tables, as_of: pd.Timestamp) -> Answer:
        """The answer of one request, scored with whatever requests wait beside it.

        Raises whatever ``score_many`` raises for this request scored alone.
        """
        request: _Request = _Request(tables, as_of)
        with self._queue_lock:
            self._queue.append(request)
            self._arrived.notify_all()
        while not request.answer.done():
            with self._busy:
                if request.answer.done():  # a pass run by another request took it
                    break
                with self._queue_lock:
                    cohort = self._cohort()
                    if cohort > 1 and self._wait > 0 and not self._left_queued:
                        self._wait_for(cohort)
                    group = self._take()
                self._run(group)
        return request.answer.result()

    def _wait_for(self, cohort: int) -> None:
        """Wait (queue lock held) until ``cohort`` requests are queued, ``wait`` at
        most, unless most recent waits ended without their cohort (requests that
        arrive apart, not clients waiting for their answers: a wait only delays
        them); every ``_PROBE``-th time it waits anyway, to see whether that
        changed."""
        self._decided += 1
        kept = self._filled
        if (
            len(kept) == kept.maxlen
            and sum(kept) * 2 < len(kept)
            and self._decided % _PROBE
        ):
            return
        kept.append(
            self._arrived.wait_for(lambda: len(self._queue) >= cohort, self._wait)
        )

    def _cohort(self) -> int:
        """Requests the largest pass of the last ``memory`` seconds held; 0 when
        the passes took less than ``busy`` of that time (of the time since the
        first pass ever started, when that is shorter: a server just started)."""
        now = time.monotonic()
        while self._recent and self._recent[0][0] < now - self._memory:
            self._recent.popleft()
        if not self._recent or self._first_started is None:
            return 0
        window = min(self._memory, now - self._first_started)
        if sum(took for _, _, took in self._recent) < self._busy_share * window:
            return 0
        return max(size for _, size, _ in self._recent)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the scorer between passes (work that cannot be coalesced)."""
        with self._busy:
            yield

    def _take(self) -> list[_Request]:
        """The oldest waiting request and the later ones that can join it."""
        group = [self._queue[0]]
        leads = len(group[0].leads)
        for request in self._queue[1:]:
            if leads + len(request.leads) > self._max_leads:
                continue
            if request.joins(group):
                group.append(request)
                leads += len(request.leads)
        taken = {id(r) for r in group}
        self._queue = [r for r in self._queue if id(r) not in taken]
        self._left_queued = bool(self._queue)
        return group

    def _remember(self, started: float, size: int) -> None:
        """Keep a pass's end, size and duration (``_cohort`` reads them)."""
        if self._first_started is None:
            self._first_started = started
        ended = time.monotonic()
        self._recent.append((ended, size, ended - started))

    def _run(self, group: list[_Request]) -> None:
        self.passes += 1
        self.largest_pass = max(self.largest_pass, len(group))
        started = time.monotonic()
        try:
            answers = self._score_many([r.tables for r in group], group[0].as_of)
        except Exception as exc:
            answers, error = [], exc
        else:
            error = None
        self._remember(started, len(group))
        if error is not None:
            if len(group) == 1:
                group[0].answer.set_exception(error)
                return
            for request in group:  # the error reaches only the request causing it
                self._run([request])
            return
        for request, answer in zip(group, answers, strict=True):
            request.answer.set_result(answer)
