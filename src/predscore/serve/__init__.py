"""The web app for reps and the scoring API (``predscore serve``; FastAPI + uvicorn).

Stage: serve, the network edge. Pages: the ranked queue and lead pages of the latest
scored batch; API: ``POST /score`` scores leads sent as JSON with the scorer loaded at
start. Lead data is personal data: every route but ``/healthz`` needs the access token
(environment variable ``PREDSCORE_API_TOKEN`` by default); without one the server does
not start.

Public API
----------
``create_app(config, token, scorer=None, clock=...) -> FastAPI``
    The app; ``POST /score`` only with a scorer.
``read_token(serve_config, environ) -> str``
    The token from the environment, or a ``ConfigError`` saying how to set one.
``TokenGuard``
    Token and session-cookie checks (constant-time).
``run_server(config, config_dir, overrides)``
    ``predscore serve``: uvicorn in one process or ``serve.workers`` processes.
"""

from predscore.serve.app import create_app
from predscore.serve.auth import SESSION_COOKIE, TokenGuard, read_token
from predscore.serve.launch import build_app, run_server

__all__ = [
    "SESSION_COOKIE",
    "TokenGuard",
    "build_app",
    "create_app",
    "read_token",
    "run_server",
]
