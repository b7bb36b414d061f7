"""Access control: one shared token, as a bearer header or a signed session cookie.

Stage: serve. Lead data is personal data, so every route but ``/healthz`` needs the
token. The token comes from the environment variable named by ``serve.token_env``
(never from YAML, never logged or echoed); without one the server refuses to start.
The API takes it as ``Authorization: Bearer <token>``; a browser signs in once (login
form, or a ``?token=`` link that is exchanged for a cookie and dropped from the URL)
and then carries a session cookie signed by itsdangerous (:class:`TimestampSigner`,
HMAC-SHA256 keyed by the token, salted for sessions): the cookie is not the token,
expires after ``serve.session_hours``, and every session ends when the token changes.
A session names who signed in (a user of the store, or the token's holder) and
carries a random nonce: the CSRF token of every form of that session is an HMAC of
the nonce (:meth:`TokenGuard.csrf_token`), checked on every POST; the sign-in form,
before any session, carries the HMAC of a nonce held in a short-lived signed cookie
of its own (:meth:`TokenGuard.new_login_nonce`).
Every comparison is constant-time (:func:`hmac.compare_digest`, and itsdangerous's).
Guessing is throttled (:class:`AttemptLimiter`): past ``serve.max_token_failures`` wrong
tokens from one client address within ``serve.token_failure_window_seconds``, that
address's token attempts are refused (429) until its oldest failure leaves the window.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from itsdangerous import BadSignature, TimestampSigner

from predscore.config import ServeConfig
from predscore.errors import ConfigError

__all__ = [
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "AttemptLimiter",
    "SessionInfo",
    "TokenGuard",
    "read_token",
]

SESSION_COOKIE = "predscore_session"
LOGIN_COOKIE = "predscore_login"
_SESSION_SALT = b"predscore-session-v3"
_LOGIN_SALT = b"predscore-login-v1"
_LOGIN_SECONDS = 3600


@dataclass(frozen=True)
class SessionInfo:
    """Who a valid session cookie names (``""``: the token's holder) and its nonce."""

    user: str
    nonce: str


def _pack(user: str, nonce: str) -> bytes:
    # base64url has no '.', the signer's separator
    return base64.urlsafe_b64encode(f"{user}\n{nonce}".encode()).rstrip(b"=")


def _unpack(value: bytes) -> SessionInfo | None:
    try:
        text = base64.urlsafe_b64decode(value + b"=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, nonce = text.partition("\n")
    return SessionInfo(user, nonce) if sep and nonce else None


class _SessionSigner(TimestampSigner):
    """itsdangerous's timestamp signer on the guard's clock (tests pass their own)."""

    def __init__(
        self, key: bytes, clock: Callable[[], float], salt: bytes = _SESSION_SALT
    ) -> None:
        super().__init__(key, salt=salt, digest_method=hashlib.sha256)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock())


def read_token(config: ServeConfig, environ: Mapping[str, str]) -> str:
    """The access token from the environment variable ``config.token_env``.

    Raises
    ------
    ConfigError
        When the variable is unset or empty, or the token is shorter than
        ``config.min_token_length``: the server must not start without a secret.
    """
    token = environ.get(config.token_env, "").strip()
    if not token:
        raise ConfigError(
            f"no access token: set the environment variable {config.token_env} "
            f"(serve.token_env) to a secret of at least {config.min_token_length} "
            "characters, e.g. `openssl rand -hex 24`; lead data is personal data and "
            "predscore serve does not serve it without a token"
        )
    if len(token) < config.min_token_length:
        raise ConfigError(
            f"{config.token_env}: the access token has {len(token)} characters, fewer "
            f"than serve.min_token_length ({config.min_token_length}); use a longer "
            "random secret, e.g. `openssl rand -hex 24`"
        )
    return token


class TokenGuard:
    """Checks the token and issues and checks session cookies.

    Parameters
    ----------
    token : str
        The shared secret (non-empty).
    session_hours : float
        Lifetime of a session cookie.
    clock : callable, optional
        Seconds since the epoch (``time.time``); tests pass their own.
    """

    def __init__(
        self,
        token: str,
        session_hours: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not token:
            raise ConfigError("an access token is required to serve lead data")
        self._token = token.encode("utf-8")
        self.session_seconds = int(session_hours * 3600)
        self._signer = _SessionSigner(self._token, clock)
        self._login_signer = _SessionSigner(self._token, clock, _LOGIN_SALT)

    def __repr__(self) -> str:  # never show the secret, even in a traceback
        return f"TokenGuard(session_seconds={self.session_seconds})"

    def token_ok(self, candidate: str | None) -> bool:
        """Whether ``candidate`` is the token (constant-time)."""
        if not candidate:
            return False
        return hmac.compare_digest(candidate.encode("utf-8"), self._token)

    @staticmethod
    def bearer(authorization: str | None) -> str | None:
        """The token an ``Authorization: Bearer …`` header carries, else None."""
        scheme, _, value = (authorization or "").partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None

    def new_session(self, user: str = "") -> str:
        """A session cookie value valid for ``session_seconds`` from now, naming
        ``user`` (``""``: signed in with the token) with a fresh nonce."""
        return self._signer.sign(_pack(user, secrets.token_urlsafe(18))).decode("ascii")

    def session(self, value: str | None) -> SessionInfo | None:
        """Who a valid, unexpired session cookie names, else None."""
        if not value or len(value) > 400:
            return None
        try:
            signed = self._signer.unsign(value, max_age=self.session_seconds)
        except BadSignature:  # tampered, signed with another token, or expired
            return None
        return _unpack(signed)

    def session_ok(self, value: str | None) -> bool:
        """Whether a cookie value is a valid, unexpired session."""
        return self.session(value) is not None

    def csrf_token(self, nonce: str, purpose: str = "form") -> str:
        """The CSRF token of a session's (or a sign-in form's) nonce."""
        message = f"csrf:{purpose}:{nonce}".encode()
        return hmac.new(self._token, message, hashlib.sha256).hexdigest()

    def csrf_ok(
        self, nonce: str | None, presented: str | None, purpose: str = "form"
    ) -> bool:
        """Whether ``presented`` is the CSRF token of ``nonce`` (constant-time)."""
        if not nonce or not presented or len(presented) > 200:
            return False
        expected = self.csrf_token(nonce, purpose)
        return hmac.compare_digest(
            presented.encode("utf-8", "replace"), expected.encode()
        )

    def new_login_nonce(self) -> tuple[str, str]:
        """``(cookie value, nonce)`` of a sign-in form, valid for an hour."""
        nonce = secrets.token_urlsafe(18)
        return self._login_signer.sign(nonce.encode()).decode("ascii"), nonce

    def login_nonce(self, value: str | None) -> str | None:
        """The nonce of a valid sign-in cookie, else None."""
        if not value or len(value) > 200:
            return None
        try:
            return self._login_signer.unsign(value, max_age=_LOGIN_SECONDS).decode()
        except (BadSignature, UnicodeDecodeError):
            return None


class AttemptLimiter:
    """Wrong-token attempts per client address, in a sliding window (thread-safe).

    Parameters
    ----------
    max_failures : int
        Wrong tokens an address may send within ``window_seconds``.
    window_seconds : float
        How long a wrong token counts against its address.
    clock : callable, optional
        Monotonic seconds (``time.monotonic``); tests pass their own.
    max_clients : int, optional
        Addresses remembered at most (the least recently failing are forgotten
        first), so that many addresses cannot grow the memory without bound.

    IPv6 clients are counted per /64 network (one host usually holds a whole /64).
    """

    def __init__(
        self,
        max_failures: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._clock = clock
        self._max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(client: str) -> str:
        """The counter of an address: itself (IPv4), its /64 network (IPv6)."""
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return client
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None:
                return str(address.ipv4_mapped)
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        return str(address)

    def _recent(self, key: str) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        horizon = self._clock() - self.window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def _wait(self, key: str) -> int:
        times = self._recent(key)
        if times is None or len(times) < self.max_failures:
            return 0
        return max(1, int(times[0] + self.window - self._clock()) + 1)

    def _fail(self, key: str) -> None:
        times = self._recent(key)
        if times is None:
            times = self._failures[key] = deque()
        times.append(self._clock())
        self._failures.move_to_end(key)
        while len(self._failures) > self._max_clients:
            self._failures.popitem(last=False)

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try a token again; 0 when it may now."""
        with self._lock:
            return self._wait(self.key(client))

    def attempt(self, client: str, check: Callable[[], bool]) -> tuple[bool, int]:
        """Check a token for ``client`` as one step: ``(ok, retry_after)``.

        When the address is over its budget, ``check`` is not called and
        ``(False, seconds)`` comes back; otherwise ``check()`` runs and a failure is
        counted, all under one lock, so concurrent guesses cannot exceed the budget.
        """
        key = self.key(client)
        with self._lock:
            wait = self._wait(key)
            if wait:
                return False, wait
            ok = check()
            if not ok:
                self._fail(key)
            return ok, 0
