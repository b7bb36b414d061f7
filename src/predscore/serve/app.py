"""The web app: ranked queue and lead pages for reps, ``POST /score`` for the CRM.

Stage: serve (the network edge). :func:`create_app` builds a FastAPI app over a scores
folder (:class:`~predscore.pages.BatchSource`: the latest batch, re-read when a new
one lands) and, when given a scorer, the scoring API. Routes:

* ``GET /healthz`` — liveness, the only route open without the token;
* ``GET /login``, ``POST /login``, ``POST /logout`` — the session cookie of pages;
* ``GET /queue`` — the ranked queue (filters: owner, tier, route, sector, name);
* ``GET /leads/{lead_id}`` — score, points waterfall, rules beside, recent activity,
  qualification fields;
* ``POST /score`` — see :mod:`predscore.serve.api`;
* ``GET /docs``, ``GET /openapi.json`` — the API's documentation.

Every response carries the security headers of :mod:`.edge` (pages: no script at
all, only their own stylesheet by hash); request bodies over ``serve.max_body_bytes``
are refused with 413 before any parsing; the access log never holds a lead id, a query
string or a header.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import pandas as pd
from fastapi import Depends, FastAPI, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from predscore._version import __version__
from predscore.config import PredscoreConfig
from predscore.pages import (
    BatchSource,
    PageRenderer,
    QueueQuery,
    read_lead_history,
)
from predscore.serve.auth import SESSION_COOKIE, AttemptLimiter, TokenGuard
from predscore.serve.docs import DOCS_ASSETS, DOCS_HTML, DOCS_INIT_JS, asset_path
from predscore.serve.edge import Edge

__all__ = ["create_app"]


class _LoginRequired(Exception):
    """A page asked for without a valid session: answer 401 with the login form."""

    def __init__(self, next_url: str, error: str | None = None) -> None:
        self.next_url = next_url
        self.error = error


class _TokenExchange(Exception):
    """A valid ``?token=``: set the session cookie, redirect to the URL without it."""

    def __init__(self, url: str) -> None:
        self.url = url


class _Unauthorized(Exception):
    """An API call without a valid bearer token."""


class _Throttled(Exception):
    """Too many wrong tokens from this address: 429 until ``retry_after`` seconds."""

    def __init__(self, retry_after: int, page: bool, next_url: str = "/queue") -> None:
        self.retry_after = retry_after
        self.page = page
        self.next_url = next_url


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _safe_next(value: str | None) -> str:
    """A local path to go back to after login (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/queue"
    if "\\" in value or any(ord(c) < 32 for c in value):
        return "/queue"
    return value


def _without_token(request: Request) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


class _Guard:
    """The two ways in, as FastAPI dependencies."""

    def __init__(self, guard: TokenGuard, limiter: AttemptLimiter) -> None:
        self.guard = guard
        self.limiter = limiter
        self.bearer = HTTPBearer(
            auto_error=False,
            description="the access token (environment variable PREDSCORE_API_TOKEN "
            "of the server)",
        )

    def api(self) -> Callable[..., None]:
        bearer = self.bearer

        def require_bearer(
            request: Request,
            credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        ) -> None:
            if credentials is None:
                raise _Unauthorized()
            if not self.token_ok(request, credentials.credentials, page=False):
                raise _Unauthorized()

        return require_bearer

    def token_ok(
        self, request: Request, token: str, page: bool, next_url: str | None = None
    ) -> bool:
        """Check a presented token, throttled per client address (429 when over)."""
        ok, wait = self.limiter.attempt(
            _client(request), lambda: self.guard.token_ok(token)
        )
        if wait:
            raise _Throttled(wait, page, next_url or _without_token(request))
        return ok

    def page(self, request: Request) -> None:
        """Let a page through with a session cookie or a bearer token."""
        token = request.query_params.get("token")
        if token is not None:
            if self.token_ok(request, token, page=True):
                raise _TokenExchange(_without_token(request))
            raise _LoginRequired(_without_token(request), "That token is not valid.")
        if self.guard.session_ok(request.cookies.get(SESSION_COOKIE)):
            return
        bearer = self.guard.bearer(request.headers.get("authorization"))
        if bearer is not None and self.token_ok(request, bearer, page=True):
            return
        raise _LoginRequired(_without_token(request))


def _now() -> pd.Timestamp:
    return pd.Timestamp(datetime.now(UTC)).floor("s")


def create_app(
    config: PredscoreConfig,
    token: str,
    scorer: Any | None = None,
    clock: Callable[[], pd.Timestamp] = _now,
) -> FastAPI:
    """The web app over ``config.serve.scores`` (and ``POST /score`` with a scorer).

    Parameters
    ----------
    config : PredscoreConfig
        ``serve`` (scores folder, limits, session), ``explain`` (how points read);
        ``scoring``-related sections are the scorer's.
    token : str
        The access token (see :func:`~predscore.serve.auth.read_token`); required.
    scorer : Scorer, optional
        Loaded :class:`predscore.scoring.Scorer`; without one, no ``POST /score``.
    clock : callable, optional
        The current time in UTC (the API's default as-of).

    Raises
    ------
    ConfigError
        When the token is empty: lead data is never served openly.
    """
    serve = config.serve
    guard = TokenGuard(token, serve.session_hours)
    gate = _Guard(
        guard,
        AttemptLimiter(serve.max_token_failures, serve.token_failure_window_seconds),
    )
    renderer = PageRenderer(config.explain)
    source = BatchSource(serve.scores)
    app = FastAPI(
        title="predscore",
        version=__version__,
        summary="Predictive B2B lead scoring: score a lead; the reps' queue and pages.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    page = Depends(gate.page)

    def html(text: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(text, status_code=status)

    @app.exception_handler(_LoginRequired)
    async def _login_required(request: Request, exc: _LoginRequired) -> Response:
        return HTMLResponse(
            renderer.login_page(_safe_next(exc.next_url), exc.error),
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="predscore"'},
        )

    @app.exception_handler(_TokenExchange)
    async def _exchange(request: Request, exc: _TokenExchange) -> Response:
        response = RedirectResponse(_safe_next(exc.url), status_code=303)
        _set_session(response)
        return response

    @app.exception_handler(_Throttled)
    async def _throttled(request: Request, exc: _Throttled) -> Response:
        headers = {"Retry-After": str(exc.retry_after)}
        if exc.page:
            text = renderer.login_page(
                _safe_next(exc.next_url),
                "Too many wrong tokens from this address: "
                f"try again in {exc.retry_after} s.",
            )
            return HTMLResponse(text, status_code=429, headers=headers)
        return JSONResponse(
            {"detail": "too many wrong tokens from this address", **headers},
            status_code=429,
            headers=headers,
        )

    @app.exception_handler(_Unauthorized)
    async def _unauthorized(request: Request, exc: _Unauthorized) -> Response:
        return JSONResponse(
            {"detail": "missing or wrong bearer token"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="predscore"'},
        )

    def _set_session(response: Response) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            guard.new_session(),
            max_age=guard.session_seconds,
            path="/",
            httponly=True,
            secure=serve.cookie_secure,
            samesite="lax",
        )

    @app.get("/healthz", tags=["service"], summary="Liveness (no token needed)")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/login", include_in_schema=False)
    def login_form(request: Request) -> HTMLResponse:
        return html(renderer.login_page(_safe_next(request.query_params.get("next"))))

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        next_url = _safe_next((form.get("next") or ["/queue"])[0])
        if not gate.token_ok(
            request, (form.get("token") or [""])[0], page=True, next_url=next_url
        ):
            return html(renderer.login_page(next_url, "That token is not valid."), 401)
        response = RedirectResponse(next_url, status_code=303)
        _set_session(response)
        return response

    @app.post("/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/", include_in_schema=False, dependencies=[page])
    def home() -> Response:
        return RedirectResponse("/queue", status_code=303)

    @app.get("/queue", include_in_schema=False, dependencies=[page])
    def queue(request: Request) -> HTMLResponse:
        query = QueueQuery.from_params(request.query_params)
        return html(renderer.queue_page(source.current(), query, serve.page_size))

    @app.get("/leads/{lead_id:path}", include_in_schema=False, dependencies=[page])
    def lead(lead_id: str) -> HTMLResponse:
        batch = source.current()
        row = None if batch is None else batch.lead(lead_id)
        if batch is None or row is None:
            return html(
                renderer.message_page(
                    "Lead not found", "This lead is not in the latest scored batch."
                ),
                404,
            )
        as_of = batch.as_of if batch.as_of is not None else clock()
        history = read_lead_history(
            serve.data or batch.data_dir, lead_id, as_of, serve.timeline_events
        )
        return html(renderer.lead_page(batch, row, history))

    @app.get("/openapi.json", include_in_schema=False, dependencies=[page])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[page])
    def docs() -> HTMLResponse:
        return html(DOCS_HTML)

    @app.get("/docs/assets/{name}", include_in_schema=False, dependencies=[page])
    def docs_asset(name: str) -> Response:
        if name == "init.js":
            return Response(DOCS_INIT_JS, media_type="text/javascript")
        if name not in DOCS_ASSETS:
            return JSONResponse({"detail": "not found"}, status_code=404)
        return FileResponse(asset_path(name), media_type=DOCS_ASSETS[name])

    if scorer is not None and serve.score_api:
        from predscore.serve.api import score_router

        app.include_router(score_router(config, scorer, gate.api(), clock))

    page_csp = (
        f"default-src 'none'; style-src {renderer.style_source}; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    docs_csp = (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    app.add_middleware(
        Edge, max_body=serve.max_body_bytes, page_csp=page_csp, docs_csp=docs_csp
    )
    return app
