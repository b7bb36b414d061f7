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
arrive just after the next pass has started without them. A pass that follows a
shared pass (the sign of concurrent clients) therefore waits until as many requests
are queued as that pass held, for a few milliseconds at most (``wait``): fewer,
fuller passes. A pass of one request is never followed by a wait (so a lone client
waits once at most, after the others stopped), nor is a pass that left requests
queued (they had arrived: nothing more is on its way for them).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import pandas as pd
import pyarrow as pa

__all__ = ["Coalescer"]

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
        Seconds at most a pass waits before it starts, when the pass before it held
        several requests, for as many requests as that pass held (0: never).
    """

    def __init__(
        self, score_many: ScoreMany, max_leads: int, wait: float = 0.0
    ) -> None:
        self._score_many = score_many
        self._max_leads = max_leads
        self._wait = wait
        self._queue: list[_Request] = []
        self._queue_lock = threading.Lock()
        self._arrived = threading.Condition(self._queue_lock)
        self._busy = threading.Lock()
        #: passes run so far, the largest number of requests one of them held, and
        #: the number the last one held
        self.passes = 0
        self.largest_pass = 0
        self.last_pass = 0
        self._left_queued = False  # the last pass left requests in the queue

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
                    if self._cohort_on_its_way():
                        self._arrived.wait_for(self._cohort_queued, self._wait)
                    group = self._take()
                self._run(group)
        return request.answer.result()

    def _cohort_on_its_way(self) -> bool:
        """Whether the next pass waits for more requests: the last pass held several
        (concurrent clients) and left none queued (those queued now are new)."""
        return self._wait > 0 and self.last_pass > 1 and not self._left_queued

    def _cohort_queued(self) -> bool:
        """As many requests are queued as the last pass held (queue lock held)."""
        return len(self._queue) >= self.last_pass

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

    def _run(self, group: list[_Request]) -> None:
        self.passes += 1
        self.largest_pass = max(self.largest_pass, len(group))
        self.last_pass = len(group)
        try:
            answers = self._score_many([r.tables for r in group], group[0].as_of)
        except Exception as exc:
            if len(group) == 1:
                group[0].answer.set_exception(exc)
                return
            for request in group:  # the error reaches only the request causing it
                self._run([request])
            return
        for request, answer in zip(group, answers, strict=True):
            request.answer.set_result(answer)
