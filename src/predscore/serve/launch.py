"""Start the server: the app of a configuration, in one process or several.

Stage: serve. :func:`build_app` turns a configuration and the environment (the access
token) into the app, loading the scorer once; :func:`run_server` runs it with uvicorn,
in this process (``serve.workers: 1``) or in ``workers`` processes that each build
their own app through :func:`worker_app` (uvicorn starts workers from an import
string; the configuration folder and the command line's overrides reach them through
the environment, the token as in the parent: from ``serve.token_env``). Each worker
holds its own model: two workers on two cores score two requests at once, and the
workers keep their keep-alive connections evenly spread
(:class:`~predscore.serve.balance.ConnectionBalance`, through a temporary folder the
parent removes when it stops).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from predscore.config import PredscoreConfig, load_config
from predscore.serve.app import create_app
from predscore.serve.auth import read_token
from predscore.serve.balance import ConnectionBalance

__all__ = ["build_app", "run_server", "worker_app"]

_CONFIG_DIR = "PREDSCORE_SERVE_CONFIG_DIR"
_OVERRIDES = "PREDSCORE_SERVE_OVERRIDES"
_BALANCE_DIR = "PREDSCORE_SERVE_BALANCE_DIR"


def build_app(
    config: PredscoreConfig,
    environ: Mapping[str, str],
    balance: ConnectionBalance | None = None,
) -> FastAPI:
    """The app of ``config``, with the token of ``environ``, the store of what reps
    write (``store``; its URL from ``environ`` when set there) and, unless
    ``serve.score_api`` is off, the scorer of ``serve.model`` loaded once;
    ``balance``: the worker's side of the balance of connections between workers.

    Raises
    ------
    ConfigError
        When the environment holds no usable token.
    ModelError
        When the model cannot be loaded.
    """
    from predscore.store import open_store

    settings = config.serve
    token = read_token(settings, environ)
    store = open_store(config.store, environ)
    scorer = None
    if settings.score_api:
        from predscore.scoring import Scorer

        if config.engine.predict_threads is None:
            # a request is a lead or a few: one thread each, the workers take the cores
            engine = config.engine.model_copy(update={"predict_threads": 1})
            config = config.model_copy(update={"engine": engine})

        scorer = Scorer.load(
            config, model=settings.model, rules_only=settings.rules_only
        )
    return create_app(config, token, scorer, store=store, balance=balance)


def _quiet_access_log() -> None:
    # the access log is predscore's own (route templates, no query strings: a ?token=
    # link must never reach a log); uvicorn's would print full URLs
    for name in ("predscore.serve", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.INFO)


def _freeze_loaded() -> None:
    """Take what the process has loaded (model, configuration, libraries) out of
    the garbage collector's sight before serving: they live as long as the process,
    and every full collection would otherwise walk them all while each request of
    the process waits (``gc.freeze``). A program that calls :func:`run_server`
    itself has what it loaded frozen too (never collected while it serves)."""
    gc.collect()
    gc.freeze()


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's factory when ``workers`` > 1)."""
    _quiet_access_log()
    folder = os.environ.get(_CONFIG_DIR)
    config = load_config(
        Path(folder) if folder else None, json.loads(os.environ.get(_OVERRIDES, "{}"))
    )
    folder = os.environ.get(_BALANCE_DIR)
    balance = ConnectionBalance(Path(folder), config.serve.workers) if folder else None
    app = build_app(config, os.environ, balance)
    _freeze_loaded()
    return app


def run_server(
    config: PredscoreConfig, config_dir: Path | None, overrides: dict[str, Any]
) -> None:
    """Serve ``config`` until interrupted (blocking).

    ``config_dir`` (None: defaults only) and ``overrides`` are what ``config`` was
    loaded from: the workers
    load the same configuration. The app is built here first, so that a missing token
    or a model that cannot be loaded stops the command before any worker starts.
    """
    import uvicorn

    settings = config.serve
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "access_log": False,
        "log_config": None,
        "server_header": False,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }
    application = build_app(config, os.environ)
    _quiet_access_log()
    if settings.workers == 1:
        _freeze_loaded()
        uvicorn.run(application, **options)
        return
    del application
    gc.collect()
    os.environ[_CONFIG_DIR] = "" if config_dir is None else str(config_dir.resolve())
    os.environ[_OVERRIDES] = json.dumps(overrides)
    with tempfile.TemporaryDirectory(prefix="predscore-workers-") as folder:
        if settings.balance_connections:
            os.environ[_BALANCE_DIR] = folder
        try:
            uvicorn.run(
                f"{__name__}:worker_app",
                factory=True,
                workers=settings.workers,
                **options,
            )
        finally:
            os.environ.pop(_BALANCE_DIR, None)
