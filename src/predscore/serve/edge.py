"""The network edge of the web app: body size limit, security headers, access log,
connection rotation.

Stage: serve. A pure ASGI middleware (:class:`Edge`) wraps the FastAPI app: every
response carries a Content-Security-Policy that allows no source outside this server,
``no-store`` caching (the docs' static assets excepted), no framing, no referrer;
request bodies over the limit are refused with 413 before any parsing, whatever their
``Content-Length`` says; the access log holds the method, the route template, the
status and the time, never a lead id, a query string or a header. After
``keepalive_requests`` answers on one connection, the next answer closes it
(``Connection: close``): each worker process keeps the connections it accepted, and a
keep-alive client that reconnects lands on whichever worker accepts first, the one
waiting rather than the one scoring, so clients spread over the workers again (as
web servers' ``keepalive_requests`` or ``MaxKeepAliveRequests``); with several
workers, a worker holding more than its share of the active connections closes the
connections it answers until it holds its share
(:class:`~predscore.serve.balance.ConnectionBalance`).
Requests through a proxy (``X-Forwarded-For``) are never rotated: their address is
not a connection's.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from predscore.serve.balance import ConnectionBalance

__all__ = ["Edge"]

_log = logging.getLogger("predscore.serve")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


#: Connections counted at most (beyond, the oldest count goes: a count only decides
#: when a connection is rotated).
_MAX_COUNTED = 4_096


class Edge:
    """Pure ASGI middleware: body size limit, security headers, access log,
    connection rotation (``keepalive_requests``; None: never) and balance between
    worker processes (``balance``; None: one process)."""

    def __init__(
        self,
        app: ASGIApp,
        max_body: int,
        page_csp: str,
        docs_csp: str,
        keepalive_requests: int | None = None,
        balance: ConnectionBalance | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.page_csp = page_csp.encode()
        self.docs_csp = docs_csp.encode()
        self.keepalive_requests = keepalive_requests
        self.balance = balance
        self._answered: dict[tuple, int] = {}  # per connection (client address, port)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 0}
        docs = scope["path"] == "/docs" or scope["path"].startswith("/docs/")
        asset = scope["path"].startswith("/docs/assets/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"cache-control"
                ]
                headers += [
                    (
                        b"content-security-policy",
                        self.docs_csp if docs else self.page_csp,
                    ),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (
                        b"cache-control",
                        b"private, max-age=86400" if asset else b"no-store",
                    ),
                ]
                if any(k.lower() == b"connection" for k, _ in headers):
                    self._closing(scope)  # the answer says itself (e.g. 413)
                elif self._last_on_connection(scope):
                    headers.append((b"connection", b"close"))
                    self._closing(scope)
                message["headers"] = headers
            await send(message)

        try:
            body = await self._read_body(scope, receive)
            if body is None:
                await _too_large(send_with_headers, self.max_body)
                return
            await self.app(scope, _replay(body, receive), send_with_headers)
        finally:
            route = scope.get("route")
            _log.info(
                "%s %s %d %.1fms",
                scope["method"],
                getattr(route, "path", "-"),
                status["code"],
                (time.perf_counter() - started) * 1000,
            )

    def _last_on_connection(self, scope: Scope) -> bool:
        """Whether this answer is the last of its connection: its worker holds more
        than its share of the connections (``balance``), or it is the connection's
        ``keepalive_requests``-th answer.

        Behind a proxy (``X-Forwarded-For``) the client address is the user's, not a
        connection's, and the proxy spreads its requests itself: never.
        """
        client = scope.get("client")
        if not client or _forwarded(scope):
            return False
        key = tuple(client)
        if self.balance is not None and self.balance.answered(key):
            return True
        if self.keepalive_requests is None:
            return False
        answered = self._answered.pop(key, 0) + 1
        if answered >= self.keepalive_requests:
            return True
        if len(self._answered) >= _MAX_COUNTED:  # the oldest count goes
            del self._answered[next(iter(self._answered))]
        self._answered[key] = answered
        return False

    def _closing(self, scope: Scope) -> None:
        """The connection of ``scope`` closes with this answer: neither the rotation
        nor the balance counts it any more."""
        client = scope.get("client")
        if client:
            self._answered.pop(tuple(client), None)
            if self.balance is not None:
                self.balance.forget(tuple(client))

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole request body, or ``None`` when it is over the limit."""
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    if int(value) > self.max_body:
                        return None
                except ValueError:
                    return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _forwarded(scope: Scope) -> bool:
    return any(name == b"x-forwarded-for" for name, _ in scope.get("headers", []))


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = {"done": False}

    async def replay() -> Message:
        if not sent["done"]:
            sent["done"] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _too_large(send: Send, limit: int) -> None:
    payload = json.dumps(
        {"detail": f"request body larger than {limit} bytes (serve.max_body_bytes)"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
