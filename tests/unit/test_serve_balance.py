"""The balance of keep-alive connections between worker processes."""

from __future__ import annotations

from pathlib import Path

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


def test_the_crowded_worker_moves_connections_until_the_counts_are_even(
    tmp_path: Path,
) -> None:
    clock = _Clock()
    a, b = _pair(tmp_path, clock)
    # six connections reach a at once: with no other count known, a holds more than
    # its share from the second one, closes it, then waits for the counts to show it
    assert [a.answered(("a", i)) for i in range(6)] == [False, True] + [False] * 4
    assert [b.answered(("b", i)) for i in range(2)] == [False, False]
    clock.now += 0.25
    assert a.answered(("a", 0))  # a holds 5 of 7: one more goes
    assert not any(a.answered(("a", i)) for i in (2, 3, 4, 5))  # calm
    for _ in range(4):  # both answer on; the two moved connections reached b
        clock.now += 0.11
        assert not any(b.answered(c) for c in [("b", 0), ("b", 1), ("a", 1), ("a", 0)])
        assert not any(a.answered(("a", i)) for i in (2, 3, 4, 5))
    assert [a.closed, b.closed] == [2, 0]


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
