"""The balance of keep-alive connections between worker processes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from predscore.serve.balance import ConnectionBalance


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _pair(folder: Path, clock: _Clock) -> tuple[ConnectionBalance, ConnectionBalance]:
    return tuple(  # type: ignore[return-value]
        ConnectionBalance(folder, 2, name=name, clock=clock) for name in ("a", "b")
    )


def _simulate(folder: Path, seed: int, seconds: float) -> tuple[list, list]:
    """Eight keep-alive clients, all accepted by the first of two workers, each
    sending a request every 10 ms; a closed connection reconnects to a worker drawn
    at random (the kernel's choice). The split of the clients after each round, and
    the times of the closes."""
    clock = _Clock()
    workers = _pair(folder, clock)
    draw = random.Random(seed)
    on = [0] * 8  # each client's worker
    serial = [0] * 8  # each client's connection (a new one after each close)
    splits, closes = [], []
    for _ in range(round(seconds / 0.01)):
        clock.now += 0.01
        for client in range(8):
            if workers[on[client]].answered((client, serial[client])):
                closes.append(clock.now - 1_000.0)
                serial[client] += 1
                on[client] = draw.randrange(2)
        splits.append(sorted([on.count(0), on.count(1)]))
    return splits, closes


@pytest.mark.parametrize("seed", range(5))
def test_crowded_connections_spread_evenly_and_stay(tmp_path: Path, seed: int) -> None:
    splits, closes = _simulate(tmp_path, seed, seconds=5.0)
    settled = next(i for i, split in enumerate(splits) if split == [4, 4])
    assert settled * 0.01 < 2.0  # within two seconds
    assert all(split == [4, 4] for split in splits[settled:])  # and no move after
    assert len(closes) <= 12


def _tick(worker: ConnectionBalance, connections: list) -> list[bool]:
    """One answer on each connection; which of them close."""
    return [worker.answered(c) for c in connections]


def test_a_worker_without_a_recent_count_holds_none(tmp_path: Path) -> None:
    clock = _Clock()
    a, b = _pair(tmp_path, clock)
    mine = [("a", 0), ("a", 1)]
    for _ in range(6):  # b holds one, a two of three: a's share
        assert not any(_tick(b, [("b", 0)]) + _tick(a, mine))
        clock.now += 0.11
    moved = 0
    for _ in range(20):  # b went quiet (its clients left, or it is gone)
        for connection, closes in zip(list(mine), _tick(a, mine), strict=True):
            if closes:  # the client reconnects elsewhere
                mine.remove(connection)
                moved += 1
        clock.now += 0.11
    assert moved == 1  # once b's count is a second old, a holds two of two


def test_a_connection_counts_from_its_second_answer_until_idle(
    tmp_path: Path,
) -> None:
    clock = _Clock()
    a, b = _pair(tmp_path, clock)
    for _ in range(3):
        assert not any(_tick(b, [("b", 0)]) + _tick(a, [("a", 0), ("a", 1)]))
        clock.now += 0.11
    a.forget(("a", 1))  # closing for another reason (keepalive_requests)
    for k in range(8):  # one-request connections come and go: none counts
        assert not any(_tick(b, [("b", 0)]) + _tick(a, [("a", 0), ("once", k)]))
        clock.now += 0.11
    for _ in range(8):  # a's second keep-alive connection: 2 of 3, a's share
        assert not any(_tick(b, [("b", 0)]) + _tick(a, [("a", 0), ("a", 2)]))
        clock.now += 0.11
    clock.now += 0.5
    for _ in range(3):  # ("a", 2) went quiet; after a second it counts no more
        _tick(b, [("b", 0)])
        clock.now += 0.3
    for _ in range(8):  # so a third one leaves a at its share
        assert not any(_tick(b, [("b", 0)]) + _tick(a, [("a", 0), ("a", 3)]))
        clock.now += 0.11
    assert a.closed == 0


def test_a_balance_whose_folder_is_gone_stops_and_serves_on(tmp_path: Path) -> None:
    clock = _Clock()
    a = ConnectionBalance(tmp_path / "gone", 2, name="a", clock=clock)
    for _ in range(10):
        assert not any(_tick(a, [("a", i) for i in range(8)]))
        clock.now += 0.11
    assert a.closed == 0


def test_balanced_workers_do_not_move_connections_after_a_pause(
    tmp_path: Path,
) -> None:
    """After a pause longer than ``idle``, the first worker to answer again reads a
    stale count of the other: it waits for the next exchange before it judges."""
    clock = _Clock()
    a, b = _pair(tmp_path, clock)
    for _ in range(3):
        for _ in range(10):
            _tick(a, [("a", i) for i in range(4)])
            _tick(b, [("b", i) for i in range(4)])
            clock.now += 0.01
        clock.now += 2.0  # a pause
    assert a.closed == b.closed == 0


def test_a_single_connection_is_never_moved(tmp_path: Path) -> None:
    clock = _Clock()
    a, _ = _pair(tmp_path, clock)
    for _ in range(50):
        clock.now += 0.05
        assert not a.answered(("a", 0))
