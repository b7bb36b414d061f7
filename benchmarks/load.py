"""Load test of ``predscore serve``: concurrent clients on loopback, latency and RSS.

Used by ``make bench BENCH=serve`` (benchmarks/run.py). The server runs in its own
processes (``predscore serve --workers N``); the clients are asyncio tasks of this
process, each sending its requests one after the other on a keep-alive connection,
for at most a number of requests and of seconds per level. Loopback only: nothing
leaves the machine. The clients share the machine's cores with the server, so the
figures are what one machine does, client included.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Level", "Server", "floor_ms", "run_level"]


@dataclass(frozen=True)
class Level:
    """One load level: ``clients`` concurrent clients sending ``bodies`` in turn,
    first for ``warmup_seconds`` (reported apart: the server's caches filling and
    its connections spreading over the workers), then measured."""

    name: str
    clients: int
    max_requests: int
    max_seconds: float
    warmup_seconds: float = 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tree_pids(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Server:
    """``predscore serve`` in child processes, stopped on exit."""

    def __init__(
        self, predscore: str, model: Path, workers: int, env: dict, cwd: Path
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                predscore,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--model",
                str(model),
                "--workers",
                str(workers),
            ],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, client: object, seconds: float = 180.0) -> None:
        import httpx2 as httpx

        deadline = time.monotonic() + seconds
        while True:
            try:
                if client.get(self.base + "/healthz").status_code == 200:  # type: ignore[attr-defined]
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("predscore serve did not start")
            time.sleep(0.2)

    def rss_mib(self) -> dict[str, float]:
        """Resident memory of the server's processes now, and their peaks (MiB)."""
        pids = _tree_pids(self.process.pid)
        return {
            "processes": len(pids),
            "rss_mib": sum(_status_kib(p, "VmRSS") for p in pids) / 1024,
            "peak_rss_mib": sum(_status_kib(p, "VmHWM") for p in pids) / 1024,
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


async def _client_loop(
    client: object,
    bodies: Sequence[bytes],
    start: int,
    budget: dict[str, float],
    latencies: list[float],
    statuses: dict[str, int],
) -> None:
    i = start
    while budget["left"] > 0 and time.perf_counter() < budget["deadline"]:
        budget["left"] -= 1
        t = time.perf_counter()
        try:
            response = await client.post("/score", content=bodies[i % len(bodies)])  # type: ignore[attr-defined]
            key = str(response.status_code)
        except Exception as exc:  # a refused or broken connection is an error to count
            key = type(exc).__name__
        latencies.append(time.perf_counter() - t)
        statuses[key] = statuses.get(key, 0) + 1
        i += 1


async def _level(base: str, token: str, bodies: Sequence[bytes], level: Level) -> dict:
    import httpx2 as httpx

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    limits = httpx.Limits(
        max_connections=level.clients, max_keepalive_connections=level.clients
    )
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=60.0, limits=limits
    ) as client:
        warm = [client.post("/score", content=b) for b in bodies[: 2 * level.clients]]
        await asyncio.gather(*warm)
        warmup = await _phase(
            client, bodies, level.clients, 1 << 62, level.warmup_seconds
        )
        measured = await _phase(
            client, bodies, level.clients, level.max_requests, level.max_seconds
        )
    return {"clients": level.clients, **measured, "warmup": warmup}


async def _phase(
    client: object, bodies: Sequence[bytes], clients: int, requests: int, seconds: float
) -> dict:
    """``clients`` loops sending ``bodies`` until ``requests`` were sent or
    ``seconds`` passed; their count, errors, throughput and latencies."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    started = time.perf_counter()
    budget = {"left": requests, "deadline": started + seconds}
    await asyncio.gather(
        *(
            _client_loop(client, bodies, k * 7, budget, latencies, statuses)
            for k in range(clients)
        )
    )
    elapsed = time.perf_counter() - started
    if not latencies:
        return {"requests": 0, "errors": 0, "seconds": elapsed}
    ms = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "errors": sum(v for k, v in statuses.items() if k != "200"),
        "statuses": statuses,
        "seconds": elapsed,
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }


def run_level(base: str, token: str, bodies: Sequence[bytes], level: Level) -> dict:
    """Run one load level; throughput, latency percentiles and statuses."""
    return asyncio.run(_level(base, token, bodies, level))


def floor_ms(
    model: Path, data: Path, as_of: str, repeats: int = 1_000
) -> dict[str, float]:
    """The same model's raw LightGBM time for one row (the floor of any API).

    One open lead's feature row is built once; then, per call: ``booster.predict``
    (raw score) and ``booster.predict(pred_contrib=True)`` of each tree component on
    that one-row matrix, as a serving path without any other work would call them.
    """
    import pandas as pd

    from predscore.features import build_features
    from predscore.model import load_bundle

    bundle = load_bundle(model)
    lead_model = bundle.model
    rows = build_features(data, pd.Timestamp(as_of), bundle.features, bundle.icp)
    rows = rows.head(1)
    matrix = lead_model.matrix(rows)
    boosters = [
        (c.booster, c.trees)
        for _, c in lead_model.components_
        if c.family == "lightgbm"
    ]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for booster, trees in boosters:
            booster.predict(matrix, raw_score=True, num_iteration=trees)
            booster.predict(matrix, pred_contrib=True, num_iteration=trees)
        times.append(time.perf_counter() - t)
    ms = np.array(times) * 1000
    return {
        "tree_components": len(boosters),
        "trees": int(sum(t for _, t in boosters)),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
    }
