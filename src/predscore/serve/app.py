"""The web app: ranked queue and lead pages for reps, ``POST /score`` for the CRM.

Stage: serve (the network edge). :func:`create_app` builds a FastAPI app over a scores
folder (:class:`~predscore.pages.BatchSource`: the latest batch, re-read when a new
one lands) and, when given a scorer, the scoring API. Routes:

* ``GET /healthz`` — liveness, the only route open without the token;
* ``GET /login``, ``POST /login``, ``POST /logout`` — the session cookie of pages
  (a user of the store with a password, or the access token);
* ``GET /queue``, ``GET /leads/{lead_id}``, ``POST /leads/{lead_id}/qualification``,
  ``POST /leads/{lead_id}/feedback``, ``GET /feedback`` — see :mod:`.rep_routes`;
* ``POST /score`` — see :mod:`predscore.serve.api`;
* ``GET /docs``, ``GET /openapi.json`` — the API's documentation.

Every response carries the security headers of :mod:`.edge` (pages: no script at
all, only their own stylesheet by hash); request bodies over ``serve.max_body_bytes``
are refused with 413 before any parsing; the access log never holds a lead id, a query
string or a header. Every form carries the CSRF token of its session (the sign-in
form, that of a short-lived cookie of its own), checked on every POST.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

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
from predscore.pages import BatchSource, PageRenderer
from predscore.serve.access import TOKEN_HOLDER, Principal, csrf_ok, read_form
from predscore.serve.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    AttemptLimiter,
    TokenGuard,
)
from predscore.serve.balance import ConnectionBalance
from predscore.serve.docs import DOCS_ASSETS, DOCS_HTML, DOCS_INIT_JS, asset_path
from predscore.serve.edge import Edge
from predscore.serve.rep_routes import RepPages, add_rep_routes
from predscore.store import Store, UserInfo, authenticate, find_user

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
    """The ways in (a session of a user or of the token, a bearer token), as FastAPI
    dependencies."""

    def __init__(
        self, guard: TokenGuard, limiter: AttemptLimiter, store: Store | None
    ) -> None:
        self.guard = guard
        self.limiter = limiter
        self.store = store
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

    def principal(self, request: Request) -> Principal | None:
        """Who the session cookie names (None: no valid session, or a removed user)."""
        info = self.guard.session(request.cookies.get(SESSION_COOKIE))
        if info is None:
            return None
        csrf = self.guard.csrf_token(info.nonce)
        if info.user == "":
            return Principal(TOKEN_HOLDER, "admin", None, csrf)
        user = None if self.store is None else find_user(self.store, info.user)
        if user is None:
            return None
        return Principal(user.username, user.role, user.owner, csrf)

    def page(self, request: Request) -> Principal:
        """Let a page through with a session cookie or a bearer token; say who."""
        token = request.query_params.get("token")
        if token is not None:
            if self.token_ok(request, token, page=True):
                raise _TokenExchange(_without_token(request))
            raise _LoginRequired(_without_token(request), "That token is not valid.")
        principal = self.principal(request)
        if principal is not None:
            return principal
        bearer = self.guard.bearer(request.headers.get("authorization"))
        if bearer is not None and self.token_ok(request, bearer, page=True):
            # no session, hence no CSRF token: a bearer client posts no form
            return Principal(TOKEN_HOLDER, "admin", None, "")
        raise _LoginRequired(_without_token(request))

    def password_ok(
        self, request: Request, username: str, password: str, next_url: str
    ) -> UserInfo | None:
        """The user when the password is right (throttled like the token)."""
        found: dict[str, UserInfo | None] = {"user": None}

        def check() -> bool:
            assert self.store is not None
            found["user"] = authenticate(self.store, username, password)
            return found["user"] is not None

        ok, wait = self.limiter.attempt(_client(request), check)
        if wait:
            raise _Throttled(wait, True, next_url)
        return found["user"] if ok else None


def _now() -> pd.Timestamp:
    return pd.Timestamp(datetime.now(UTC)).floor("s")


def create_app(
    config: PredscoreConfig,
    token: str,
    scorer: Any | None = None,
    clock: Callable[[], pd.Timestamp] = _now,
    store: Store | None = None,
    balance: ConnectionBalance | None = None,
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
        The current time in UTC (the API's default as-of, the time of rep entries).
    store : Store, optional
        What reps write (:func:`predscore.store.open_store`): with one, users sign
        in with a password, lead pages take qualification answers (re-scored at
        once when a scorer is loaded) and feedback, and show the score history.
    balance : ConnectionBalance, optional
        This worker's side of the balance of connections between the server's
        worker processes (:func:`~predscore.serve.launch.run_server` gives one).

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
        store,
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

    def login_response(
        next_url: str,
        error: str | None,
        status: int,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """The sign-in page with a fresh sign-in nonce (its cookie and CSRF token)."""
        cookie, nonce = guard.new_login_nonce()
        text = renderer.login_page(
            _safe_next(next_url),
            error,
            csrf=guard.csrf_token(nonce, "login"),
            users=store is not None,
        )
        response = HTMLResponse(text, status_code=status, headers=headers)
        response.set_cookie(
            LOGIN_COOKIE,
            cookie,
            max_age=3600,
            path="/login",
            httponly=True,
            secure=serve.cookie_secure,
            samesite="lax",
        )
        return response

    @app.exception_handler(_LoginRequired)
    async def _login_required(request: Request, exc: _LoginRequired) -> Response:
        return login_response(
            exc.next_url,
            exc.error,
            401,
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
            return login_response(
                exc.next_url,
                "Too many wrong tokens or passwords from this address: "
                f"try again in {exc.retry_after} s.",
                429,
                headers=headers,
            )
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

    def _set_session(response: Response, user: str = "") -> None:
        response.set_cookie(
            SESSION_COOKIE,
            guard.new_session(user),
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
        return login_response(request.query_params.get("next") or "/queue", None, 200)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await read_form(request)
        next_url = _safe_next(form.get("next") or "/queue")
        nonce = guard.login_nonce(request.cookies.get(LOGIN_COOKIE))
        if not guard.csrf_ok(nonce, form.get("csrf"), "login"):
            return login_response(
                next_url,
                "This sign-in form has expired or did not come from this site: "
                "please sign in again.",
                401,
            )
        user = ""
        if store is not None and form.get("username"):
            found = gate.password_ok(
                request, form["username"], form.get("password", ""), next_url
            )
            if found is None:
                return login_response(next_url, "Wrong user name or password.", 401)
            user = found.username
        elif not gate.token_ok(
            request, form.get("token", ""), page=True, next_url=next_url
        ):
            return login_response(next_url, "That token is not valid.", 401)
        response = RedirectResponse(next_url, status_code=303)
        _set_session(response, user)
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        principal = gate.principal(request)
        form = await read_form(request)
        if principal is not None and not csrf_ok(principal, form):
            return html(
                renderer.message_page(
                    "Form refused",
                    "This form has expired or did not come from this site.",
                ),
                403,
            )
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/", include_in_schema=False, dependencies=[page])
    def home() -> Response:
        return RedirectResponse("/queue", status_code=303)

    add_rep_routes(
        app,
        RepPages(
            config=config,
            renderer=renderer,
            source=source,
            store=store,
            scorer=scorer,
            clock=clock,
        ),
        page_dependency=gate.page,
    )

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
        Edge,
        max_body=serve.max_body_bytes,
        page_csp=page_csp,
        docs_csp=docs_csp,
        keepalive_requests=serve.keepalive_requests,
        balance=balance,
    )
    return app
