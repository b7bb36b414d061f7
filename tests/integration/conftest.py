"""Fixtures of the integration tests of the web app, the API and the report."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import uvicorn

from predscore.config import load_config
from predscore.scoring import Scorer
from predscore.serve import create_app
from rep_store import seeded_store, two_owners
from served_data import TOKEN, Served, build_served

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    """The real pipeline's batch with markup in CRM fields (see served_data.py)."""
    return build_served(tmp_path_factory.mktemp("served"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served_scores(served: Served) -> pd.DataFrame:
    return pd.read_parquet(served.batch / "scores.parquet").sort_values("rank")


@pytest.fixture(scope="module")
def rep_server(
    served: Served,
    served_scores: pd.DataFrame,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, object]]:
    """``(base URL, store)`` of a server with the model and a store of users."""
    config = load_config(ROOT / "configs", {"serve": {"scores": str(served.scores)}})
    scorer = Scorer.load(config, model=str(served.bundle))
    db = tmp_path_factory.mktemp("browser-store") / "predscore.db"
    store = seeded_store(f"sqlite:///{db}", two_owners(served_scores))
    port = _free_port()
    uv = uvicorn.Server(
        uvicorn.Config(
            create_app(config, TOKEN, scorer, store=store),
            host="127.0.0.1",
            port=port,
            access_log=False,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", store
    uv.should_exit = True
    thread.join(timeout=10)
    store.dispose()
