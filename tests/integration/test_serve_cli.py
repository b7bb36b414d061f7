"""predscore report and predscore serve through the command line."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from predscore.cli import app
from served_data import XSS_NAME, Served, lead_body

ROOT = Path(__file__).resolve().parents[2]


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


def test_serve_with_two_workers_scores_in_each(env: Path, served: Served) -> None:
    """``--workers 2``: two server processes, each loading the model, both answering."""
    import json
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    from concurrent.futures import ThreadPoolExecutor

    import httpx2 as httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    token = "t" * 32
    cli = Path(sys.executable).with_name("predscore")
    server = subprocess.Popen(
        [str(cli), "serve", "--port", str(port), "--model", str(served.bundle)]
        + ["--scores", str(served.scores), "--workers", "2"],
        env={**os.environ, "PREDSCORE_API_TOKEN": token},
        cwd=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    scored = pd.read_parquet(served.batch / "scores.parquet")
    body = lead_body(served.valid, [scored["lead_id"].iloc[0]])
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
        children = (
            Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        )
        headers = {"Authorization": f"Bearer {token}"}

        def post(_: int) -> httpx.Response:
            return httpx.post(base + "/score", json=body, headers=headers, timeout=60)

        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(post, range(8)))
        # one keep-alive connection: closed by the server after 20 answers (the
        # default keepalive_requests), the client reconnects and goes on
        with httpx.Client(base_url=base) as client:
            rotated = [client.get("/healthz") for _ in range(25)]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    # the supervisor's children: two workers (and multiprocessing's helper)
    assert len(children) >= 2
    assert [r.status_code for r in responses] == [200] * 8
    scores = {json.dumps(r.json()["scores"], sort_keys=True) for r in responses}
    assert len(scores) == 1  # every worker gives the same score
    assert [r.status_code for r in rotated] == [200] * 25
    closing = [i for i, r in enumerate(rotated, 1) if r.headers.get("connection")]
    assert closing == [20] and rotated[19].headers["connection"] == "close"


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
