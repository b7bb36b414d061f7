"""predscore benchmarks: time and peak memory, reported as ratios against a reference.

Run ``make bench`` (all) or ``make bench BENCH=demo_data``. Each benchmark runs its
workload in a child process (so peak RSS is that of the workload alone), measures wall
time and peak RSS, and reports them next to a reference measured in the same run.
Results are printed and written to ``data/bench/results.json``.
"""

from __future__ import annotations

import argparse
import json
import re
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


FEATURES_AS_OF = "2026-10-01T00:00:00Z"
# the pandas reference of the tests, run in a child on the same Parquet tables
ORACLE_SCRIPT = """
import importlib.util, sys
import pandas as pd
spec = importlib.util.spec_from_file_location("oracles", sys.argv[1])
oracles = importlib.util.module_from_spec(spec)
spec.loader.exec_module(oracles)
data, as_of, out = sys.argv[2], sys.argv[3], sys.argv[4]
tables = {t: pd.read_parquet(f"{data}/{t}.parquet") for t in
          ("accounts", "leads", "activities", "qualifications", "outcomes")}
if as_of == "snapshots":
    frame = oracles.oracle_snapshots(tables)
else:
    frame = oracles.oracle_features(tables, as_of)
frame.to_parquet(out, index=False)
"""


def _clean_demo(work: Path, leads: int) -> Path:
    """Demo tables without dirty rows: already valid, so fed with ``--validated``."""
    configs = work / "configs_clean"
    if not configs.exists():
        configs.mkdir()
        for source in (ROOT / "configs").glob("*.yaml"):
            text = source.read_text()
            if source.name == "demo.yaml":
                text = re.sub(r"(?m)^dirty_rows:.*$", "dirty_rows: 0", text)
            (configs / source.name).write_text(text)
    out = work / f"demo_clean_{leads}"
    if not out.exists():
        subprocess.run(
            [
                PREDSCORE,
                "--config-dir",
                str(configs),
                "demo-data",
                "--out",
                str(out),
                "--leads",
                str(leads),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return out


def _engine(data: Path, out: Path, snapshots: bool) -> dict[str, float]:
    import pyarrow.parquet as pq

    mode = ["--snapshots"] if snapshots else []
    result = measure(
        [
            PREDSCORE,
            "features",
            "--data",
            str(data),
            "--validated",
            "--as-of",
            FEATURES_AS_OF,
            "--out",
            str(out),
            *mode,
        ]
    )
    rows = pq.ParquetFile(out).metadata.num_rows
    return {**result, "rows": rows, "rows_per_s": rows / result["seconds"]}


def _oracle(data: Path, out: Path, snapshots: bool) -> dict[str, float]:
    import pyarrow.parquet as pq

    oracles = ROOT / "tests" / "oracles.py"
    mode = "snapshots" if snapshots else FEATURES_AS_OF
    result = measure(
        [sys.executable, "-c", ORACLE_SCRIPT, str(oracles), str(data), mode, str(out)]
    )
    rows = pq.ParquetFile(out).metadata.num_rows
    return {**result, "rows": rows, "rows_per_s": rows / result["seconds"]}


def _progress(name: str, run: dict[str, float]) -> None:
    print(f"{name}: {json.dumps(run)}", file=sys.stderr, flush=True)  # noqa: T201


def bench_features(work: Path) -> dict[str, object]:
    """Features and snapshots at 1,000,000 leads; engine vs pandas reference at 100,000."""
    import pyarrow.parquet as pq

    runs: dict[str, dict[str, float]] = {}
    big = _clean_demo(work, 1_000_000)
    activities = pq.ParquetFile(big / "activities.parquet").metadata.num_rows
    for snapshots, what in ((False, "features"), (True, "snapshots")):
        name = f"1000000_{what}_engine"
        runs[name] = _engine(big, work / f"big_{what}.parquet", snapshots)
        runs[name]["activities"] = activities
        _progress(name, runs[name])
    ratios: dict[str, float] = {}
    small = _clean_demo(work, 100_000)
    for snapshots, what in ((False, "features"), (True, "snapshots")):
        engine = _engine(small, work / f"engine_{what}.parquet", snapshots)
        _progress(f"100000_{what}_engine", engine)
        oracle = _oracle(small, work / f"oracle_{what}.parquet", snapshots)
        _progress(f"100000_{what}_pandas", oracle)
        if engine["rows"] != oracle["rows"]:
            raise RuntimeError(f"{what}: engine and reference disagree on rows")
        runs[f"100000_{what}_engine"] = engine
        runs[f"100000_{what}_pandas"] = oracle
        ratios[f"{what}_speedup_vs_pandas"] = oracle["seconds"] / engine["seconds"]
    return {
        "name": "features",
        "reference": "tests/oracles.py (pandas) on 100000 leads (same run, same tables)",
        "as_of": FEATURES_AS_OF,
        "runs": runs,
        "ratios": ratios,
        "targets": {"speedup_vs_pandas": 20.0, "peak_rss_mib_1m": 6 * 1024},
    }


BENCHMARKS: dict[str, Callable[[Path], dict[str, object]]] = {
    "demo_data": bench_demo_data,
    "features": bench_features,
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
