"""The access token and the session cookie: constant-time checks, expiry, tampering."""

from __future__ import annotations

import threading

import pytest

from predscore.config import ServeConfig
from predscore.errors import ConfigError
from predscore.serve.auth import AttemptLimiter, TokenGuard, read_token

TOKEN = "s3cret-token-for-tests-0001"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_token_comes_from_the_named_variable() -> None:
    config = ServeConfig(token_env="MY_TOKEN")
    assert read_token(config, {"MY_TOKEN": f"  {TOKEN}\n"}) == TOKEN
    with pytest.raises(ConfigError, match="MY_TOKEN.*refuse|MY_TOKEN"):
        read_token(config, {"PREDSCORE_API_TOKEN": TOKEN})
    with pytest.raises(ConfigError, match="fewer than serve.min_token_length"):
        read_token(config, {"MY_TOKEN": "x" * 15})


def test_errors_never_show_the_token() -> None:
    short = "abcdefgh"
    with pytest.raises(ConfigError) as info:
        read_token(ServeConfig(), {"PREDSCORE_API_TOKEN": short})
    assert short not in str(info.value)
    assert TOKEN not in repr(TokenGuard(TOKEN, 1.0))


def test_bearer_header() -> None:
    guard = TokenGuard(TOKEN, 1.0)

    def bearer_ok(header: str | None) -> bool:
        return guard.token_ok(guard.bearer(header))

    assert bearer_ok(f"Bearer {TOKEN}") and bearer_ok(f"bearer {TOKEN}")
    for header in (None, "", TOKEN, f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "):
        assert not bearer_ok(header), header
    assert not guard.token_ok("é" * 20)  # non-ASCII input compares, never raises


def test_session_cookie_expires_and_resists_tampering() -> None:
    clock = Clock(1_000_000.0)
    guard = TokenGuard(TOKEN, session_hours=2.0, clock=clock)
    cookie = guard.new_session()
    assert TOKEN not in cookie and guard.session_ok(cookie)
    value, stamp, signature = cookie.split(".")
    forged = TokenGuard(
        "another-token-entirely-000", 2.0, clock=Clock(clock.now + 3600)
    )
    _, later, _ = forged.new_session().split(".")
    assert not guard.session_ok(f"{value}.{later}.{signature}")  # extended expiry
    # the first character: the last one of unpadded base64 also holds padding bits,
    # which decoding ignores (flipping only those leaves the same signature)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert not guard.session_ok(f"{value}.{stamp}.{flipped}")
    assert not guard.session_ok("") and not guard.session_ok("garbage")
    other = TokenGuard("another-token-entirely-000", 2.0, clock=clock)
    assert not other.session_ok(cookie)  # a new token ends every session
    clock.now += 2 * 3600 + 1
    assert not guard.session_ok(cookie)


def test_wrong_tokens_are_throttled_per_address_in_a_sliding_window() -> None:
    clock = Clock(100.0)
    limiter = AttemptLimiter(max_failures=3, window_seconds=60.0, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("10.0.0.1") == 0
        limiter.attempt("10.0.0.1", lambda: False)
        clock.now += 10
    # three failures at 100, 110, 120: blocked until the first leaves the window
    assert limiter.retry_after("10.0.0.1") == 31  # 100 + 60 - 130, plus a second
    assert limiter.retry_after("10.0.0.2") == 0  # other addresses are not concerned
    clock.now = 160.0  # the failure of 100 is out: one attempt free again
    assert limiter.retry_after("10.0.0.1") == 0
    limiter.attempt("10.0.0.1", lambda: False)
    assert limiter.retry_after("10.0.0.1") > 0
    clock.now = 1_000.0
    assert limiter.retry_after("10.0.0.1") == 0


def test_throttle_memory_is_bounded() -> None:
    clock = Clock(0.0)
    limiter = AttemptLimiter(1, 60.0, clock=clock, max_clients=100)
    for i in range(1_000):
        limiter.attempt(f"10.0.{i // 256}.{i % 256}", lambda: False)
    remembered = [f"10.0.{i // 256}.{i % 256}" for i in range(1_000)]
    blocked = [a for a in remembered if limiter.retry_after(a) > 0]
    assert blocked == remembered[-100:]  # the latest 100 kept, the oldest forgotten


def test_ipv6_hosts_count_per_64_and_ipv4_alone() -> None:
    key = AttemptLimiter.key
    assert (
        key("2001:db8:1:2:aaaa::1")
        == key("2001:db8:1:2:ffff::9")
        == ("2001:db8:1:2::/64")
    )
    assert key("2001:db8:1:3::1") != key("2001:db8:1:2::1")
    assert key("10.0.0.1") != key("10.0.0.2")
    assert key("::ffff:10.0.0.1") == key("10.0.0.1")  # IPv4 seen through IPv6
    assert key("testclient") == "testclient"  # not an address: kept as it is


def test_concurrent_guesses_never_exceed_the_budget() -> None:
    limiter = AttemptLimiter(max_failures=10, window_seconds=300.0)
    results: list[tuple[bool, int]] = []
    barrier = threading.Barrier(16)

    def guess() -> None:
        barrier.wait()
        for _ in range(20):
            results.append(limiter.attempt("10.0.0.9", lambda: False))

    threads = [threading.Thread(target=guess) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checked = [wait for ok, wait in results if wait == 0]
    assert len(results) == 320 and len(checked) == 10  # exactly the budget checked
    assert limiter.retry_after("10.0.0.9") > 0
