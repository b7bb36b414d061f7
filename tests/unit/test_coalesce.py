"""The coalescer of POST /score: requests waiting during a pass share the next one.

The scoring function here answers each request with what it was given (its leads, the
as-of time, the pass it was scored in), so that the tests see exactly which requests
were scored together and that each got its own answer.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pyarrow as pa
import pytest

from predscore.serve.coalesce import Coalescer

AS_OF = pd.Timestamp("2026-10-01", tz="UTC")


def _tables(leads: list[str], account: str = "A-1", sector: str = "saas") -> dict:
    return {
        "leads": pa.table({"lead_id": leads, "account_id": [account] * len(leads)}),
        "accounts": pa.table({"account_id": [account], "sector": [sector]}),
    }


class Recorder:
    """Scores by listing each request's leads; the first pass waits to be released."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.passes: list[list[tuple[str, ...]]] = []
        self.first_started = threading.Event()
        self.release = threading.Event()
        self.fail_on = fail_on

    def __call__(self, requests, as_of):
        leads = [tuple(t["leads"]["lead_id"].to_pylist()) for t in requests]
        self.passes.append(leads)
        if len(self.passes) == 1:
            self.first_started.set()
            assert self.release.wait(10)
        if self.fail_on is not None and any(self.fail_on in ls for ls in leads):
            raise ValueError(f"cannot score {self.fail_on}")
        return [(ls, as_of, len(self.passes)) for ls in leads]


def _submit_while_busy(coalescer, recorder, requests, hold=0.0):
    """Submit a first request, then ``requests`` while its pass is running (for
    ``hold`` seconds at least)."""
    with ThreadPoolExecutor(len(requests) + 1) as pool:
        first = pool.submit(coalescer.score, _tables(["L-first"]), AS_OF)
        assert recorder.first_started.wait(10)
        waiting = [pool.submit(coalescer.score, t, a) for t, a in requests]
        while len(coalescer._queue) < len(requests):  # all queued behind the pass
            time.sleep(0.01)
        time.sleep(hold)
        recorder.release.set()
        return first, waiting


def test_a_lone_request_is_scored_at_once() -> None:
    recorder = Recorder()
    recorder.release.set()
    coalescer = Coalescer(recorder, max_leads=64)
    assert coalescer.score(_tables(["L-1"]), AS_OF) == (("L-1",), AS_OF, 1)
    assert coalescer.passes == 1 and coalescer.largest_pass == 1


def test_requests_waiting_during_a_pass_share_the_next_one() -> None:
    recorder = Recorder()
    coalescer = Coalescer(recorder, max_leads=64)
    requests = [(_tables([f"L-{k}a", f"L-{k}b"]), AS_OF) for k in range(6)]
    first, waiting = _submit_while_busy(coalescer, recorder, requests)
    assert first.result()[0] == ("L-first",)
    for k, future in enumerate(waiting):
        leads, as_of, scored_in = future.result()
        assert leads == (f"L-{k}a", f"L-{k}b") and as_of == AS_OF
        assert scored_in == 2  # all six in the second pass
    assert recorder.passes[1] == [
        tuple(t["leads"]["lead_id"].to_pylist()) for t, _ in requests
    ]
    assert coalescer.passes == 2 and coalescer.largest_pass == 6


def test_requests_that_could_differ_together_are_scored_apart() -> None:
    recorder = Recorder()
    coalescer = Coalescer(recorder, max_leads=64)
    requests = [
        (_tables(["L-1"]), AS_OF),
        (_tables(["L-1"]), AS_OF),  # the same lead again
        (_tables(["L-2"]), AS_OF + pd.Timedelta(hours=1)),  # another as-of time
        (_tables(["L-3"], sector="retail"), AS_OF),  # account A-1 with another row
        (_tables(["L-4"]), AS_OF),  # joins the first
    ]
    _, waiting = _submit_while_busy(coalescer, recorder, requests)
    answers = [f.result() for f in waiting]
    assert [a[0] for a in answers] == [("L-1",), ("L-1",), ("L-2",), ("L-3",), ("L-4",)]
    assert answers[2][1] == AS_OF + pd.Timedelta(hours=1)
    assert recorder.passes[1] == [("L-1",), ("L-4",)]
    assert sorted(len(p) for p in recorder.passes[2:]) == [1, 1, 1]


def test_a_pass_holds_at_most_max_leads() -> None:
    recorder = Recorder()
    coalescer = Coalescer(recorder, max_leads=5)
    requests = [(_tables([f"L-{k}a", f"L-{k}b"]), AS_OF) for k in range(4)]
    _, waiting = _submit_while_busy(coalescer, recorder, requests)
    assert [len(f.result()[0]) for f in waiting] == [2, 2, 2, 2]
    assert [len(p) for p in recorder.passes[1:]] == [2, 2]


def test_an_error_reaches_only_the_request_that_caused_it() -> None:
    recorder = Recorder(fail_on="L-bad")
    coalescer = Coalescer(recorder, max_leads=64)
    requests = [(_tables([name]), AS_OF) for name in ("L-1", "L-bad", "L-2")]
    _, waiting = _submit_while_busy(coalescer, recorder, requests)
    assert waiting[0].result()[0] == ("L-1",)
    with pytest.raises(ValueError, match="cannot score L-bad"):
        waiting[1].result()
    assert waiting[2].result()[0] == ("L-2",)
    # the failed shared pass, then each request alone
    assert recorder.passes[1] == [("L-1",), ("L-bad",), ("L-2",)]
    assert recorder.passes[2:] == [[("L-1",)], [("L-bad",)], [("L-2",)]]


def _shared_pass_of_three(
    wait: float, memory: float, busy: float = 0.0, hold: float = 0.0
) -> tuple[Coalescer, Recorder]:
    """A coalescer whose second pass held three requests (its first pass lasting
    ``hold`` seconds at least)."""
    recorder = Recorder()
    coalescer = Coalescer(recorder, max_leads=64, wait=wait, memory=memory, busy=busy)
    requests = [(_tables([f"L-{k}"]), AS_OF) for k in range(3)]
    _, waiting = _submit_while_busy(coalescer, recorder, requests, hold)
    assert [f.result()[2] for f in waiting] == [2, 2, 2]
    return coalescer, recorder


def test_under_load_a_pass_waits_for_its_cohort() -> None:
    """After a shared pass of three, the next pass waits (``wait`` at most) until
    three requests are queued."""
    coalescer, recorder = _shared_pass_of_three(wait=30.0, memory=60.0)
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(coalescer.score, _tables(["L-a"]), AS_OF)
        time.sleep(0.3)
        assert not first.done()  # waiting for the rest of its cohort
        later = [
            pool.submit(coalescer.score, _tables([name]), AS_OF)
            for name in ("L-b", "L-c")
        ]
        answers = [first.result(10), *(f.result(10) for f in later)]
    assert [a[2] for a in answers] == [3, 3, 3]  # one pass of the three
    assert recorder.passes[2] == [("L-a",), ("L-b",), ("L-c",)]


def test_a_split_cohort_joins_up_again() -> None:
    """A request that came too late for its cohort's pass is not left to a cohort of
    its own: the next pass waits for as many as the largest recent pass held."""
    coalescer, recorder = _shared_pass_of_three(wait=1.0, memory=60.0)
    with ThreadPoolExecutor(3) as pool:
        early = [pool.submit(coalescer.score, _tables([n]), AS_OF) for n in "ab"]
        assert [f.result(10)[2] for f in early] == [3, 3]  # after the 1 s bound
        late = pool.submit(coalescer.score, _tables(["c"]), AS_OF)
        time.sleep(0.1)
        again = [pool.submit(coalescer.score, _tables([n]), AS_OF) for n in "ab"]
        assert [f.result(10)[2] for f in [late, *again]] == [4, 4, 4]
    assert recorder.passes[2:] == [[("a",), ("b",)], [("c",), ("a",), ("b",)]]


def test_a_wait_has_a_bound_and_a_lone_client_stops_waiting() -> None:
    """A lone request after a shared pass is scored after ``wait``; once no shared
    pass is within ``memory``, a request is scored at once."""
    coalescer, _ = _shared_pass_of_three(wait=0.2, memory=0.6)
    started = time.perf_counter()
    assert coalescer.score(_tables(["L-x"]), AS_OF)[2] == 3
    assert 0.2 <= time.perf_counter() - started < 5
    time.sleep(0.6)
    started = time.perf_counter()
    assert coalescer.score(_tables(["L-y"]), AS_OF)[2] == 4
    assert time.perf_counter() - started < 0.2


def test_a_pass_waits_only_when_the_scorer_was_busy() -> None:
    """Passes that took 0.4 s of the last 0.9 s: a lone request after a shared
    pass waits for its cohort when that is ``busy`` enough (0.2 of the time), not
    when the scorer had time to spare (0.9 asked): a wait would only delay it."""
    for busy, waits in ((0.2, True), (0.9, False)):
        coalescer, _ = _shared_pass_of_three(wait=0.3, memory=1.0, busy=busy, hold=0.4)
        time.sleep(0.5)
        started = time.perf_counter()
        assert coalescer.score(_tables(["L-x"]), AS_OF)[2] == 3
        assert (time.perf_counter() - started >= 0.3) == waits


def test_a_server_just_started_is_busy_for_the_time_it_has_served() -> None:
    """Busy is the passes' share of the time since the first of them started when
    that is shorter than ``memory``: a server under load from its start waits for
    cohorts at once, not after ``memory`` seconds."""
    coalescer, _ = _shared_pass_of_three(wait=0.3, memory=10.0, busy=0.5, hold=0.4)
    started = time.perf_counter()
    assert coalescer.score(_tables(["L-x"]), AS_OF)[2] == 3
    assert time.perf_counter() - started >= 0.3


def test_waits_that_do_not_fill_their_pass_stop() -> None:
    """Requests that arrive apart (independent users, not clients waiting for their
    answers) never make a cohort: after ten waits that ended at their bound without
    it, a pass no longer waits (but for one probe in ten)."""
    coalescer, _ = _shared_pass_of_three(wait=0.2, memory=60.0)
    took = []
    for k in range(12):
        started = time.perf_counter()
        coalescer.score(_tables([f"L-apart-{k}"]), AS_OF)
        took.append(time.perf_counter() - started)
    assert all(t >= 0.2 for t in took[:10])
    assert all(t < 0.2 for t in took[10:])


def test_after_a_pause_a_burst_does_not_make_the_next_request_wait() -> None:
    """Busy is the passes' share of the last ``memory`` seconds, idle ones
    included: a burst after a pause is no sign of a busy scorer."""

    def score_many(requests, as_of):
        time.sleep(0.1)
        return [None] * len(requests)

    coalescer = Coalescer(score_many, max_leads=64, wait=0.3, memory=1.0, busy=0.5)
    coalescer.score(_tables(["L-0"]), AS_OF)  # the server's first pass
    time.sleep(1.5)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda k: coalescer.score(_tables([f"L-{k}"]), AS_OF), "abcd"))
    assert coalescer.largest_pass >= 2  # the burst shared a pass
    started = time.perf_counter()
    coalescer.score(_tables(["L-x"]), AS_OF)
    assert time.perf_counter() - started < 0.3  # its pass, no wait


def test_a_request_passed_over_by_a_shared_pass_is_not_kept_waiting() -> None:
    """A request that could not join a shared pass (another as-of time) was queued
    all along: the next pass takes it at once, without waiting for a cohort."""
    recorder = Recorder()
    coalescer = Coalescer(recorder, max_leads=64, wait=30.0)
    later = AS_OF + pd.Timedelta(hours=1)
    requests = [
        (_tables(["L-1"]), AS_OF),
        (_tables(["L-2"]), AS_OF),
        (_tables(["L-3"]), later),  # cannot join the other two
    ]
    started = time.perf_counter()
    _, waiting = _submit_while_busy(coalescer, recorder, requests)
    answers = [f.result(20) for f in waiting]
    assert time.perf_counter() - started < 10  # far below the 30 s bound
    assert [a[2] for a in answers] == [2, 2, 3]
    assert answers[2][1] == later
