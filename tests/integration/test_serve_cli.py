"""predscore report and predscore serve through the command line."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import httpx2 as httpx
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from predscore.cli import app
from served_data import XSS_NAME, Served, lead_body

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "t" * 32


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("PREDSCORE_CONFIG_DIR", str(ROOT / "configs"))
    monkeypatch.delenv("PREDSCORE_API_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_report_of_the_latest_batch(env: Path, served: Served) -> None:
    out = env / "report.html"
    result = CliRunner().invoke(
        app,
        ["report", "--scores", str(served.scores), "--out", str(out), "--top", "25"],
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    parsed = _Refs()
    parsed.feed(html)
    scores = pd.read_parquet(served.batch / "scores.parquet")
    assert html.count('class="card lead-card"') == 25
    assert html.count('<svg class="waterfall"') == 50  # model and rules per card
    assert all(ref.startswith("#") for ref in parsed.refs)  # opens with no network
    assert "script" not in parsed.tags
    queue = html.split("<h2>Ranked queue</h2>", 1)[1].split("<h2>Leads</h2>", 1)[0]
    assert queue.count("<tr>") - 1 == len(scores)  # every lead, header aside
    assert XSS_NAME in "".join(parsed.text)


def test_report_without_a_batch_fails_with_the_reason(env: Path) -> None:
    result = CliRunner().invoke(
        app, ["report", "--scores", str(env), "--out", "r.html"]
    )
    assert result.exit_code == 1
    assert "no scores.parquet" in result.output and not (env / "r.html").exists()


def test_serve_refuses_to_start_without_a_token(env: Path, served: Served) -> None:
    result = CliRunner().invoke(
        app, ["serve", "--scores", str(served.scores), "--no-score-api"]
    )
    assert result.exit_code == 1
    assert "PREDSCORE_API_TOKEN" in result.output


@contextlib.contextmanager
def _two_workers(
    env: Path, served: Served, configs: Path = ROOT / "configs"
) -> Iterator[tuple[str, int]]:
    """``predscore serve --workers 2`` on a free port until the block ends: its URL
    and its process id."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    cli = Path(sys.executable).with_name("predscore")
    server = subprocess.Popen(
        [str(cli), "serve", "--port", str(port), "--model", str(served.bundle)]
        + ["--scores", str(served.scores), "--workers", "2"],
        env={
            **os.environ,
            "PREDSCORE_API_TOKEN": TOKEN,
            "PREDSCORE_CONFIG_DIR": str(configs),
        },
        cwd=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
        yield base, server.pid
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _workers_of(base: str, server: int) -> list[int]:
    """Process ids of the workers of ``server`` serving ``base`` (the processes
    holding its listening socket, the supervisor aside)."""
    port = int(base.rsplit(":", 1)[1])
    listening = _sockets(port, established=False)
    owners = _socket_inodes().items()
    return sorted(pid for pid, inodes in owners if inodes & listening and pid != server)


def _connections_per_worker(base: str, server: int) -> list[int]:
    """Established connections to ``base`` held by each worker of ``server``."""
    port = int(base.rsplit(":", 1)[1])
    established = _sockets(port, established=True)
    owners = _socket_inodes()
    workers = _workers_of(base, server)
    return sorted(len(owners.get(pid, set()) & established) for pid in workers)


def _sockets(port: int, established: bool) -> set[str]:
    """Inodes of this host's TCP sockets on local ``port``: its connections, or its
    listening socket."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if int(local.split(":")[1], 16) == port and (state == "01") == established:
            inodes.add(inode)
    return inodes


def _socket_inodes() -> dict[int, set[str]]:
    """Socket inodes held by each process of this user."""
    held: dict[int, set[str]] = {}
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            links = [os.readlink(fd) for fd in fd_dir.iterdir()]
        except OSError:  # gone, or not ours
            continue
        inodes = {link[8:-1] for link in links if link.startswith("socket:[")}
        if inodes:
            held[int(fd_dir.parent.name)] = inodes
    return held


def test_serve_with_two_workers_scores_in_each(env: Path, served: Served) -> None:
    """``--workers 2``: two server processes, each loading the model, both answering."""
    scored = pd.read_parquet(served.batch / "scores.parquet")
    body = lead_body(served.valid, [scored["lead_id"].iloc[0]])
    headers = {"Authorization": f"Bearer {TOKEN}"}
    configs = env / "configs"
    shutil.copytree(ROOT / "configs", configs)
    serve_yaml = configs / "serve.yaml"
    settings = yaml.safe_load(serve_yaml.read_text())
    serve_yaml.write_text(yaml.safe_dump({**settings, "keepalive_requests": 20}))
    with _two_workers(env, served, configs) as (base, server):
        workers = _workers_of(base, server)

        def post(_: int) -> httpx.Response:
            return httpx.post(base + "/score", json=body, headers=headers, timeout=60)

        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(post, range(8)))
        # one keep-alive connection: closed by the server after 20 answers
        # (keepalive_requests), the client reconnects and goes on
        with httpx.Client(base_url=base) as client:
            rotated = [client.get("/healthz") for _ in range(25)]
    assert len(workers) == 2
    assert [r.status_code for r in responses] == [200] * 8
    scores = {json.dumps(r.json()["scores"], sort_keys=True) for r in responses}
    assert len(scores) == 1  # every worker gives the same score
    assert [r.status_code for r in rotated] == [200] * 25
    closing = [i for i, r in enumerate(rotated, 1) if r.headers.get("connection")]
    assert closing == [20] and rotated[19].headers["connection"] == "close"


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_two_workers_share_the_keep_alive_connections(
    env: Path, served: Served
) -> None:
    """Eight keep-alive clients end up four on each worker, whichever worker
    accepted them (``serve.balance_connections``), and stay there."""
    with _two_workers(env, served) as (base, server):
        clients = [httpx.Client(base_url=base) for _ in range(8)]
        splits, closed = [], 0
        # the loop ends once the split holds; the margin is for a loaded machine,
        # where a round of requests can outlast a connection's idle second
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and splits[-6:] != [[4, 4]] * 6:
            for client in clients:  # every connection active, one request at a time
                response = client.get("/healthz")
                assert response.status_code == 200
                closed += response.headers.get("connection") == "close"
            if len(splits) < 1000:
                time.sleep(0.02)
            splits.append(_connections_per_worker(base, server))
        for client in clients:
            client.close()
    assert splits[-6:] == [[4, 4]] * 6, splits[-20:]
    # the workers started apart (the first split is the kernel's): moves were made
    assert closed >= 1 or splits[0] == [4, 4]


def test_a_worker_freezes_what_it_loaded(env: Path, served: Served) -> None:
    """A worker's model and configuration are out of the collector's sight before it
    serves (a full collection walking them stalls every request); what requests
    create is still collected."""
    import json
    import os
    import subprocess
    import sys

    script = (
        "import gc, json\n"
        "from predscore.serve.launch import worker_app\n"
        "before = gc.get_freeze_count()\n"
        "app = worker_app()\n"
        "frozen = gc.get_freeze_count()\n"
        "garbage = [[] for _ in range(1000)]\n"
        "for item in garbage: item.append(item)\n"
        "del garbage, item\n"
        "print(json.dumps([before, frozen, gc.collect()]))\n"
    )
    overrides = {"serve": {"model": str(served.bundle), "scores": str(served.scores)}}
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={
            **os.environ,
            "PREDSCORE_API_TOKEN": "t" * 32,
            "PREDSCORE_SERVE_CONFIG_DIR": str(ROOT / "configs"),
            "PREDSCORE_SERVE_OVERRIDES": json.dumps(overrides),
        },
        cwd=env,
        capture_output=True,
        text=True,
        check=True,
    )
    before, frozen, collected = json.loads(out.stdout.strip().splitlines()[-1])
    assert before == 0 and frozen > 10_000  # the model, configuration, libraries
    # freezing never stops collection: the cycles made after it are still freed
    assert collected >= 1000
