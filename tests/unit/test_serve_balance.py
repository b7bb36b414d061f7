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


def test_a_worker_without_a_recent_count_holds_none(tmp_path: Path) -> None:
    clock = _Clock()
    a, b = _pair(tmp_path, clock)
    b.answered(("b", 0))
    clock.now += 0.05
    assert [a.answered(("a", 0)), a.answered(("a", 1))] == [False, False]  # 2 of 3
    clock.now += 1.5  # b went quiet (its clients left, or it is gone)
    assert [a.answered(("a", 0)), a.answered(("a", 1))] == [False, True]  # 2 of 2


def test_idle_and_forgotten_connections_count_no_more(tmp_path: Path) -> None:
    clock = _Clock()
    a, b = _pair(tmp_path, clock)
    b.answered(("b", 0))
    clock.now += 0.05
    assert [a.answered(("a", 0)), a.answered(("a", 1))] == [False, False]
    a.forget(("a", 1))  # closing for another reason (keepalive_requests)
    assert not a.answered(("a", 2))  # a holds 2 of 3, not 3 of 4
    clock.now += 1.2  # a's three are idle now
    b.answered(("b", 0))
    # counted afresh: 1 of 2, 2 of 3, then 3 of 4 is more than a's share
    assert [a.answered(("a", i)) for i in (3, 4, 5)] == [False, False, True]


def test_a_single_connection_is_never_moved(tmp_path: Path) -> None:
    clock = _Clock()
    a, _ = _pair(tmp_path, clock)
    for _ in range(50):
        clock.now += 0.05
        assert not a.answered(("a", 0))
