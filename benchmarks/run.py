"""predscore benchmarks: time and peak memory, reported as ratios against a reference.

Run ``make bench`` (all) or ``make bench BENCH=demo_data``. Each benchmark runs its
workload in a child process (so peak RSS is that of the workload alone), measures wall
time and peak RSS, and reports them next to a reference measured in the same run.
Results are printed and written to ``data/bench/results.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREDSCORE = str(Path(sys.executable).with_name("predscore"))


def measure(cmd: list[str]) -> dict[str, float]:
    """Run ``cmd`` in a fresh child; return wall seconds and the child's peak RSS (MiB)."""
    script = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "wall = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps({'seconds': wall, 'peak_rss_mib': rss}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, *cmd], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_demo_data(work: Path) -> dict[str, object]:
    """Demo generator at 1,000,000 leads against 100,000 leads (bounded memory)."""
    rows = {}
    for leads in (100_000, 1_000_000):
        out = work / f"demo_{leads}"
        result = measure(
            [PREDSCORE, "demo-data", "--out", str(out), "--leads", str(leads)]
        )
        size = sum(f.stat().st_size for f in out.glob("*.parquet")) / 2**20
        import pyarrow.parquet as pq

        activities = pq.ParquetFile(out / "activities.parquet").metadata.num_rows
        rows[leads] = {
            **result,
            "leads_per_s": leads / result["seconds"],
            "activities": activities,
            "parquet_mib": size,
        }
    big, ref = rows[1_000_000], rows[100_000]
    return {
        "name": "demo_data",
        "reference": "demo-data --leads 100000 (same run)",
        "runs": {str(k): v for k, v in rows.items()},
        "ratios": {
            "leads": 10.0,
            "time_ratio": big["seconds"] / ref["seconds"],
            "peak_rss_ratio": big["peak_rss_mib"] / ref["peak_rss_mib"],
        },
    }


BENCHMARKS: dict[str, Callable[[Path], dict[str, object]]] = {
    "demo_data": bench_demo_data
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "only", nargs="*", choices=[[], *BENCHMARKS], help="benchmarks to run"
    )
    parser.add_argument("--work", type=Path, default=None, help="scratch folder")
    args = parser.parse_args()
    names = args.only or list(BENCHMARKS)
    results = []
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        for name in names:
            started = time.perf_counter()
            result = BENCHMARKS[name](Path(tmp))
            result["bench_seconds"] = time.perf_counter() - started
            results.append(result)
            print(json.dumps(result, indent=2))  # noqa: T201 - a benchmark reports
    target = ROOT / "data" / "bench" / "results.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2))
    print(f"results written to {target}")  # noqa: T201


if __name__ == "__main__":
    main()
