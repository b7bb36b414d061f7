"""predscore benchmarks: time and peak memory, reported as ratios against a reference.

Run ``make bench`` (all) or ``make bench BENCH=demo_data``. Each benchmark runs its
workload in a child process (so peak RSS is that of the workload alone), measures wall
time and peak RSS, and reports them next to a reference measured in the same run.
Results are printed and written to ``data/bench/results.json``; each benchmark's latest
result is also recorded in ``benchmarks/measured.json`` (committed: with the commit,
the date, the machine's cores and load) and ``docs/benchmarks.md`` is generated from
it, never typed. ``--record FILE`` records the results of an earlier run's JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
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
# The pandas reference of the tests, run in a child on the same Parquet tables. Like
# ENGINE_SCRIPT, it writes beside its output the seconds it spent after its imports
# (reading, computing, writing): the "compute" time, without interpreter start-up.
ORACLE_SCRIPT = """
import importlib.util, json, sys, time
import pandas as pd
spec = importlib.util.spec_from_file_location("oracles", sys.argv[1])
oracles = importlib.util.module_from_spec(spec)
spec.loader.exec_module(oracles)
data, as_of, out = sys.argv[2], sys.argv[3], sys.argv[4]
started = time.perf_counter()
tables = {t: pd.read_parquet(f"{data}/{t}.parquet") for t in
          ("accounts", "leads", "activities", "qualifications", "outcomes")}
if as_of == "snapshots":
    frame = oracles.oracle_snapshots(tables)
else:
    frame = oracles.oracle_features(tables, as_of)
frame.to_parquet(out, index=False)
with open(out + ".json", "w") as f:
    json.dump({"compute_seconds": time.perf_counter() - started}, f)
"""
# What `predscore features --validated` runs, timed in-process after the imports.
ENGINE_SCRIPT = """
import json, sys, time
from pathlib import Path
from predscore.config import find_config_dir, load_config
from predscore.features import export_features, export_snapshots
data, as_of, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
started = time.perf_counter()
config = load_config(find_config_dir())
if as_of == "snapshots":
    export_snapshots(data, out, config.features, config.icp)
else:
    export_features(data, as_of, out, config.features, config.icp)
with open(f"{out}.json", "w") as f:
    json.dump({"compute_seconds": time.perf_counter() - started}, f)
"""

# The floor of the one-cutoff path: what any engine with this contract must do, and
# nothing else. It loads the configuration, opens the tables, selects the open leads
# with their account, reads their activities and qualifications known at the cutoff
# into Arrow, and writes a table as large as the engine's result (the engine's own
# output, read before the clock starts) the same way; it computes no feature. Timed
# like ENGINE_SCRIPT, its time bounds from below what any faster engine can reach.
FLOOR_SCRIPT = """
import json, sys, time
from pathlib import Path
import pyarrow.parquet as pq
from predscore.config import find_config_dir, load_config
from predscore.features import pit
from predscore.features.sources import open_tables
from predscore.io import write_parquet
data, as_of, result, out = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
table = pq.read_table(result)
started = time.perf_counter()
config = load_config(find_config_dir())
cutoff = str(pit.epoch_us(as_of))
with open_tables(data, config.features) as tables:
    con = tables.con
    con.execute(
        "CREATE TEMP TABLE open_leads AS SELECT l.*, a.sector, a.employees, "
        "a.annual_revenue, a.country AS account_country, a.region, a.tech_stack "
        "FROM leads_v l LEFT JOIN out_v o ON o.lead_id = l.lead_id "
        "LEFT JOIN accounts_v a ON a.account_id = l.account_id "
        f"WHERE {pit.is_open('l.created_us', 'o.closed_us', cutoff)}"
    )
    activities = con.sql(
        "SELECT a.lead_id, epoch_us(a.occurred_at) AS t_us, a.channel, a.action, "
        "a.detail, a.quantity FROM raw_activities a "
        "JOIN open_leads g ON g.lead_id = a.lead_id "
        f"WHERE {pit.known_at('epoch_us(a.occurred_at)', cutoff)}"
    ).to_arrow_table()
    records = con.sql(
        "SELECT q.lead_id, epoch_us(q.recorded_at) AS t_us, q.field, q.value "
        "FROM raw_qualifications q JOIN open_leads g ON g.lead_id = q.lead_id "
        f"WHERE {pit.known_at('epoch_us(q.recorded_at)', cutoff)}"
    ).to_arrow_table()
write_parquet(table, out)
with open(f"{out}.json", "w") as f:
    json.dump({"compute_seconds": time.perf_counter() - started,
               "activities_read": activities.num_rows}, f)
"""


#: Demo settings of the scoring benchmark: a busy pipeline (every lead created in the
#: four months before the cutoff, 30 % never worked to a close), so that most leads
#: are open: 1,160,000 leads give about 1,000,000 open leads as of FEATURES_AS_OF.
OPEN_PIPELINE = {"start": "2026-06-01T00:00:00Z", "stale_share": "0.30"}


def _clean_demo(work: Path, leads: int, pipeline: bool = False) -> Path:
    """Demo tables without dirty rows: already valid, so fed with ``--validated``.

    ``pipeline``: the busy-pipeline variant of :data:`OPEN_PIPELINE`. Generated under
    ``$PREDSCORE_BENCH_DATA`` when set, and then kept for later runs (the 1M-lead
    tables take minutes to generate); in the scratch folder otherwise.
    """
    cache = os.environ.get("PREDSCORE_BENCH_DATA")
    if cache:
        work = Path(cache)
        work.mkdir(parents=True, exist_ok=True)
    variant = "open" if pipeline else "clean"
    configs = work / f"configs_{variant}"
    if not configs.exists():
        configs.mkdir()
        for source in (ROOT / "configs").glob("*.yaml"):
            text = source.read_text()
            if source.name == "demo.yaml":
                text = re.sub(r"(?m)^dirty_rows:.*$", "dirty_rows: 0", text)
                for key, value in OPEN_PIPELINE.items() if pipeline else ():
                    text = re.sub(rf"(?m)^{key}:.*$", f"{key}: {value}", text)
            (configs / source.name).write_text(text)
    out = work / f"demo_{variant}_{leads}"
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


def _in_process(script: list[str], out: Path) -> dict[str, float]:
    """Run a timing script in a child: its compute seconds and rows, with the rest."""
    import pyarrow.parquet as pq

    result = measure([sys.executable, "-c", *script])
    computed = json.loads(Path(f"{out}.json").read_text())["compute_seconds"]
    rows = pq.ParquetFile(out).metadata.num_rows
    return {
        **result,
        "compute_seconds": computed,
        "rows": rows,
        "rows_per_s": rows / result["seconds"],
    }


def _oracle(data: Path, out: Path, snapshots: bool) -> dict[str, float]:
    oracles = ROOT / "tests" / "oracles.py"
    mode = "snapshots" if snapshots else FEATURES_AS_OF
    return _in_process([ORACLE_SCRIPT, str(oracles), str(data), mode, str(out)], out)


def _engine_compute(data: Path, out: Path, snapshots: bool) -> dict[str, float]:
    mode = "snapshots" if snapshots else FEATURES_AS_OF
    return _in_process([ENGINE_SCRIPT, str(data), mode, str(out)], out)


def _floor(data: Path, result: Path, out: Path) -> dict[str, float]:
    """FLOOR_SCRIPT in a child: seconds, compute seconds, activities read."""
    script = [FLOOR_SCRIPT, str(data), FEATURES_AS_OF, str(result), str(out)]
    run = _in_process(script, out)
    run["activities_read"] = json.loads(Path(f"{out}.json").read_text())[
        "activities_read"
    ]
    return run


def _progress(name: str, run: dict[str, float]) -> None:
    print(f"{name}: {json.dumps(run)}", file=sys.stderr, flush=True)  # noqa: T201


def _feature_counts() -> dict[str, int]:
    from collections import Counter

    from predscore.features import feature_specs

    return dict(Counter(spec.family for spec in feature_specs()))


def bench_features(work: Path) -> dict[str, object]:
    """Features and snapshots at 1,000,000 leads; engine vs pandas reference at 100,000.

    At 100,000 leads, each side runs twice as a child process: end to end (the
    ``predscore features`` command; the reference script) and timed in-process after
    the imports (``compute``), so that the ratio can be read with and without the
    fixed cost of starting Python and importing pandas, DuckDB and the CLI. For one
    cutoff, FLOOR_SCRIPT gives the ceiling of the ratio: the same reads and write
    without any feature.
    """
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
        compute = _engine_compute(small, work / f"compute_{what}.parquet", snapshots)
        _progress(f"100000_{what}_engine_in_process", compute)
        oracle = _oracle(small, work / f"oracle_{what}.parquet", snapshots)
        _progress(f"100000_{what}_pandas", oracle)
        if not engine["rows"] == compute["rows"] == oracle["rows"]:
            raise RuntimeError(f"{what}: engine and reference disagree on rows")
        runs[f"100000_{what}_engine"] = engine
        runs[f"100000_{what}_engine_in_process"] = compute
        runs[f"100000_{what}_pandas"] = oracle
        ratios[f"{what}_speedup_vs_pandas"] = oracle["seconds"] / engine["seconds"]
        ratios[f"{what}_compute_speedup_vs_pandas"] = (
            oracle["compute_seconds"] / compute["compute_seconds"]
        )
        if not snapshots:  # the best ratio any engine could reach in this run
            floor = _floor(small, work / "compute_features.parquet", work / "floor.pq")
            _progress("100000_features_floor", floor)
            runs["100000_features_floor"] = floor
            ratios["features_floor_speedup_vs_pandas"] = (
                oracle["seconds"] / floor["seconds"]
            )
            ratios["features_floor_compute_speedup_vs_pandas"] = (
                oracle["compute_seconds"] / floor["compute_seconds"]
            )
    return {
        "name": "features",
        "reference": "tests/oracles.py (pandas) on 100000 leads (same run, same tables)",
        "as_of": FEATURES_AS_OF,
        "feature_counts": _feature_counts(),
        "runs": runs,
        "ratios": ratios,
        "targets": {"speedup_vs_pandas": 20.0, "peak_rss_mib_1m": 6 * 1024},
    }


EXPLAIN_ROWS = 100_000


def _explain_rows(data: Path, bundle: object, rows: int) -> object:
    """``rows`` open-lead feature rows: every lead open on the 1st of each month."""
    import pandas as pd

    from predscore.features import build_features

    parts, total = [], 0
    for as_of in pd.date_range("2025-01-01", "2026-09-01", freq="MS", tz="UTC"):
        part = build_features(data, as_of, bundle.features, bundle.icp)
        parts.append(part)
        total += len(part)
        if total >= rows:
            break
    return pd.concat(parts, ignore_index=True).head(rows)


def _rate(rows: int, started: float) -> dict[str, float]:
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows_per_s": rows / seconds}


def bench_explain(work: Path) -> dict[str, object]:
    """Per-lead explanations on 100,000 rows: raw pred_contrib, shap, predscore.

    The model is the demo's (``configs/``, 5,000-lead demo); the rows are open leads
    of a 100,000-lead demo on the first day of successive months (lead × as-of), built
    with the model's features configuration. All runs are in one process, on the same
    rows and booster, one after the other.
    """
    import warnings

    import numpy as np

    from predscore.config import load_config
    from predscore.experiment import train_model
    from predscore.explain import Explainer, explain_leads, reference_contributions
    from predscore.model import load_bundle, save_bundle

    config = load_config(ROOT / "configs")
    folder = work / "explain_model"
    if not folder.exists():
        started = time.perf_counter()
        result = train_model(_clean_demo(work, config.demo.leads), config, config.rules)
        save_bundle(result.bundle, folder)
        _progress("explain_train", _rate(1, started))
    bundle = load_bundle(folder)
    model, booster = bundle.model, bundle.model.booster_
    started = time.perf_counter()
    rows = _explain_rows(_clean_demo(work, 100_000), bundle, EXPLAIN_ROWS)
    _progress("explain_rows", _rate(len(rows), started))
    n = len(rows)
    matrix = model.matrix(rows)  # the encoded matrix the raw call is given
    runs: dict[str, dict[str, float]] = {}

    started = time.perf_counter()
    raw = booster.predict(
        matrix, pred_contrib=True, num_iteration=model.best_iteration_
    )
    runs["raw_pred_contrib"] = _rate(n, started)
    _progress("raw_pred_contrib", runs["raw_pred_contrib"])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import shap

        started = time.perf_counter()
        shap.TreeExplainer(booster).shap_values(matrix)
        runs["shap_tree_explainer"] = _rate(n, started)
    _progress("shap_tree_explainer", runs["shap_tree_explainer"])

    started = time.perf_counter()
    reference = reference_contributions(model, rows).to_numpy()
    runs["shap_own_treeshap"] = _rate(n, started)
    _progress("shap_own_treeshap", runs["shap_own_treeshap"])

    explainer = Explainer.from_bundle(bundle, config.explain)
    started = time.perf_counter()
    explanation = explainer.explain(rows)
    runs["predscore_explain"] = _rate(n, started)
    _progress("predscore_explain", runs["predscore_explain"])

    started = time.perf_counter()
    table = explain_leads(rows, explainer, config.rules, explanation)
    runs["predscore_batch_table"] = _rate(n, started)  # rules + reason records only
    _progress("predscore_batch_table", runs["predscore_batch_table"])

    reasons = explanation.reasons.groupby("row")["points"].sum().to_numpy()
    size = folder / "booster.txt"
    dump = booster.dump_model()
    raw_s = runs["raw_pred_contrib"]["seconds"]
    per_row = runs["predscore_explain"]["seconds"] / n
    return {
        "name": "explain",
        "reference": "booster.predict(pred_contrib=True) on the same encoded rows",
        "rows": n,
        "leads": int(rows["lead_id"].nunique()),
        "model": {
            "trees": booster.num_trees(),
            "leaves": int(sum(t["num_leaves"] for t in dump["tree_info"])),
            "features": len(model.features_),
            "booster_txt_kib": size.stat().st_size / 1024,
            "groups": len(explainer.grouping.groups),
        },
        "runs": runs,
        "checks": {
            "max_abs_diff_shap_own_vs_pred_contrib": float(
                np.abs(reference - raw).max()
            ),
            "max_abs_additivity_gap_points": float(
                np.abs(explanation.base + reasons - explanation.score).max()
            ),
            "reasons_per_lead": len(explanation.reasons) / n,
            "table_rows": len(table),
        },
        "ratios": {
            "predscore_overhead_vs_raw": runs["predscore_explain"]["seconds"] / raw_s
            - 1,
            "predscore_with_table_overhead_vs_raw": (
                runs["predscore_explain"]["seconds"]
                + runs["predscore_batch_table"]["seconds"]
            )
            / raw_s
            - 1,
            "shap_own_vs_raw_time": runs["shap_own_treeshap"]["seconds"] / raw_s,
        },
        "projection_1m_rows": {
            "explain_minutes_one_process": per_row * 1_000_000 / 60,
        },
        "targets": {"predscore_overhead_vs_raw": 0.20},
    }


SERVE_REQUESTS = 10_000  # POST /score requests per load level (after a warm-up)
SERVE_SECONDS = 120.0  # and at most this long per level
SERVE_WARMUP = 5.0  # seconds of load before each level's measure (reported apart)
SERVE_BATCH = 100  # leads per request of the batch level
SERVE_WORKERS = 2  # predscore serve --workers (one per core)
SERVE_AS_OF = "2026-10-01T00:00:00Z"  # the as-of of every request
SERVE_LEADS = 2000  # demo CRM behind the model and the request bodies


def _lead_bodies(data: Path, count: int) -> list[bytes]:
    """JSON bodies of single open leads as the CRM would send them (with history)."""
    import pandas as pd

    from predscore.schema.store import read_table

    tables = {
        t: read_table(data, t)
        for t in ("leads", "accounts", "activities", "qualifications", "outcomes")
    }
    closed = set(tables["outcomes"]["lead_id"])
    leads = tables["leads"][~tables["leads"]["lead_id"].isin(closed)].head(count)
    accounts = tables["accounts"].set_index("account_id")
    acts = tables["activities"].groupby("lead_id", observed=True)
    quals = tables["qualifications"].groupby("lead_id", observed=True)

    def clean(value: object) -> object:
        if (
            value is None
            or value is pd.NA
            or (isinstance(value, float) and value != value)
        ):
            return None
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
        return value.item() if hasattr(value, "item") else value

    def rows(group: object, lead_id: str, columns: list[str]) -> list[dict]:
        try:
            frame = group.get_group(lead_id)
        except KeyError:
            return []
        return [
            {c: clean(v) for c, v in zip(columns, r, strict=True)}
            for r in frame[columns].itertuples(index=False)
        ]

    bodies = []
    for lead in leads.to_dict("records"):
        account = accounts.loc[lead["account_id"]]
        stack = account["tech_stack"]
        body = {
            "as_of": SERVE_AS_OF,
            "leads": [
                {
                    **{
                        k: clean(lead[k])
                        for k in (
                            "lead_id",
                            "account_id",
                            "created_at",
                            "source",
                            "job_title",
                            "role",
                            "seniority",
                            "department",
                            "country",
                            "owner",
                        )
                    },
                    "account": {
                        "account_id": lead["account_id"],
                        **{
                            k: clean(account[k])
                            for k in (
                                "name",
                                "sector",
                                "employees",
                                "annual_revenue",
                                "country",
                                "region",
                                "created_at",
                            )
                        },
                        "tech_stack": None if stack is None else list(stack),
                    },
                    "activities": rows(
                        acts,
                        lead["lead_id"],
                        ["occurred_at", "channel", "action", "detail", "quantity"],
                    ),
                    "qualifications": rows(
                        quals, lead["lead_id"], ["recorded_at", "field", "value"]
                    ),
                }
            ],
        }
        bodies.append(json.dumps(body).encode())
    return bodies


def bench_serve(work: Path) -> dict[str, object]:
    """Load test of POST /score: 1, 8 and 32 concurrent clients against ``predscore
    serve --workers 2`` on loopback (benchmarks/load.py).

    The server runs a model trained on a 2,000-lead demo; levels: single leads with
    reasons from 1, 8 and 32 clients, and batches of ``SERVE_BATCH`` leads from 8
    clients, each bounded by ``SERVE_REQUESTS`` requests and ``SERVE_SECONDS`` after
    ``SERVE_WARMUP`` seconds of the same load (reported apart, under ``warmup``). The
    reference is the floor: the same model's raw ``booster.predict`` and
    ``pred_contrib`` of one row, timed in this process in the same run.
    """
    import secrets

    import httpx2 as httpx  # the HTTP client of the dev tools (make install)
    import numpy as np
    from load import Level, Server, floor_ms, run_level

    from predscore.config import load_config
    from predscore.experiment import train_model
    from predscore.model import save_bundle

    config = load_config(
        ROOT / "configs",
        {
            "model": {
                "feature_grid": {
                    "half_life_days": [30.0],
                    "windows_days": [[7, 30, 90]],
                },
                "max_trees": 300,
            }
        },
    )
    data = _clean_demo(work, SERVE_LEADS)
    folder = work / "serve_model"
    if not folder.exists():
        started = time.perf_counter()
        save_bundle(train_model(data, config, config.rules).bundle, folder)
        _progress("serve_train", _rate(1, started))
    singles = _lead_bodies(data, 400)
    leads = [json.loads(b)["leads"][0] for b in singles]
    batches = [
        json.dumps(
            {
                "as_of": SERVE_AS_OF,
                "leads": [leads[(k + j) % len(leads)] for j in range(SERVE_BATCH)],
            }
        ).encode()
        for k in range(0, 40 * 7, 7)
    ]
    token = secrets.token_hex(24)
    env = {
        **os.environ,
        "PREDSCORE_API_TOKEN": token,
        "PREDSCORE_CONFIG_DIR": str(ROOT / "configs"),
    }
    levels = [
        (Level("single_1", 1, SERVE_REQUESTS, SERVE_SECONDS, SERVE_WARMUP), singles),
        (Level("single_8", 8, SERVE_REQUESTS, SERVE_SECONDS, SERVE_WARMUP), singles),
        (Level("single_32", 32, SERVE_REQUESTS, SERVE_SECONDS, SERVE_WARMUP), singles),
        (
            Level(
                f"batch{SERVE_BATCH}_8",
                8,
                SERVE_REQUESTS // 10,
                SERVE_SECONDS,
                SERVE_WARMUP,
            ),
            batches,
        ),
    ]
    server = Server(PREDSCORE, folder, SERVE_WORKERS, env, work)
    runs: dict[str, object] = {}
    try:
        with httpx.Client(timeout=30.0) as client:
            server.wait_ready(client)
        runs["server_after_start"] = server.rss_mib()
        for level, bodies in levels:
            runs[level.name] = run_level(server.base, token, bodies, level)
            _progress(level.name, runs[level.name])
        runs["server"] = server.rss_mib()
    finally:
        server.stop()
    floor = floor_ms(folder, data, SERVE_AS_OF)
    single = runs["single_8"]
    return {
        "name": "serve",
        "reference": "the same model's raw booster.predict + pred_contrib of one row "
        f"(this process); server: predscore serve --workers {SERVE_WORKERS}",
        "runs": {
            **runs,
            "floor": floor,
            "activities_per_lead_median": float(
                np.median([len(lead["activities"]) for lead in leads])
            ),
        },
        "ratio_p50_to_floor": single["p50_ms"] / floor["p50_ms"],  # type: ignore[index]
    }


SCORE_LEADS = 1_160_000  # about 1,000,000 open leads (OPEN_PIPELINE)
SPARK_LEADS = 116_000  # about 100,000 open leads


def _bench_model(work: Path) -> Path:
    """The demo's champion (``make demo``), else a model trained on the clean demo."""
    champion = ROOT / "models" / "champion"
    if (champion / "bundle.json").is_file():
        return champion
    from predscore.config import load_config
    from predscore.experiment import train_model
    from predscore.model import save_bundle

    config = load_config(ROOT / "configs")
    folder = work / "explain_model"
    if not folder.exists():
        result = train_model(_clean_demo(work, config.demo.leads), config, config.rules)
        save_bundle(result.bundle, folder)
    return folder


def _score_run(data: Path, model: Path, out: Path, *extra: str) -> dict:
    result = measure(
        [
            PREDSCORE,
            "score",
            "--data",
            str(data),
            "--validated",
            "--as-of",
            FEATURES_AS_OF,
            "--model",
            str(model),
            "--out",
            str(out),
            "--overwrite",
            *extra,
        ]
    )
    manifest = json.loads((out / "manifest.json").read_text())
    leads = manifest["counts"]["open"]
    run = {
        **result,
        "open_leads": leads,
        "scored": manifest["counts"]["scored"],
        "leads_per_s": leads / result["seconds"],
        "timings": manifest["timings"],
    }
    _progress(f"score {out.name}", run)
    return run


def bench_score(work: Path) -> dict[str, object]:
    """The batch job on ~1,000,000 open leads, with and without reasons (local engine);
    its model step against raw LightGBM on the same rows; Spark against local on
    ~100,000 open leads. Every figure of one run, on one machine."""
    import numpy as np

    from predscore.config import load_config
    from predscore.features import build_features
    from predscore.model import load_bundle
    from predscore.scoring import Scorer

    model_dir = _bench_model(work)
    big = _clean_demo(work, SCORE_LEADS, pipeline=True)
    runs = {
        "local_no_reasons": _score_run(
            big, model_dir, work / "s_plain", "--no-reasons"
        ),
        "local_reasons": _score_run(big, model_dir, work / "s_reasons", "--reasons"),
    }
    # the model step on the same 100,000 rows, in one process
    small = _clean_demo(work, SPARK_LEADS, pipeline=True)
    bundle = load_bundle(model_dir)
    model = bundle.model
    rows = build_features(small, FEATURES_AS_OF, bundle.features, bundle.icp)
    rows = rows.head(100_000).reset_index(drop=True)
    n = len(rows)
    step: dict[str, dict[str, float]] = {}
    matrix = model.matrix(rows)
    # the raw calls on as many threads as the scorer's predictions (engine.yaml)
    threads = load_config(ROOT / "configs").engine.prediction_threads()
    started = time.perf_counter()
    model.booster_.predict(
        matrix, num_iteration=model.best_iteration_, num_threads=threads
    )
    step["raw_predict"] = _rate(n, started)
    started = time.perf_counter()
    model.predict_proba(rows)  # features assembled + trees + calibration
    step["predscore_predict_proba"] = _rate(n, started)
    started = time.perf_counter()
    model.booster_.predict(
        matrix,
        pred_contrib=True,
        num_iteration=model.best_iteration_,
        num_threads=threads,
    )
    step["raw_pred_contrib"] = _rate(n, started)
    config = load_config(ROOT / "configs")
    scorer = Scorer.load(config, str(model_dir))
    started = time.perf_counter()
    scored = scorer.score(rows, reasons=True)
    step["predscore_score_with_reasons"] = _rate(n, started)
    started = time.perf_counter()
    scorer.score(rows, reasons=False)
    step["predscore_score_no_reasons"] = _rate(n, started)
    assert scored.num_rows == n and np.isfinite(scored["probability"].to_numpy()).all()
    # Spark (local[2]) against local on the same ~100,000 open leads
    os.environ.setdefault("SPARK_MASTER", "local[2]")
    spark_runs = {
        "local": _score_run(small, model_dir, work / "s_local100k"),
        "spark": _score_run(
            small, model_dir, work / "s_spark100k", "--engine", "spark"
        ),
    }
    plain, explained = runs["local_no_reasons"], runs["local_reasons"]
    return {
        "name": "score",
        "reference": "raw LightGBM predict / pred_contrib on the same model and rows; "
        "local engine for Spark",
        "model": str(model_dir),
        "runs": runs,
        "model_step_100k_rows": step,
        "spark_100k": spark_runs,
        "ratios": {
            "predict_proba_vs_raw_predict_throughput": step["raw_predict"]["seconds"]
            / step["predscore_predict_proba"]["seconds"],
            "score_with_reasons_vs_raw_pred_contrib_throughput": step[
                "raw_pred_contrib"
            ]["seconds"]
            / step["predscore_score_with_reasons"]["seconds"],
            "job_with_reasons_vs_without_time": explained["seconds"] / plain["seconds"],
            "spark_vs_local_time": spark_runs["spark"]["seconds"]
            / spark_runs["local"]["seconds"],
        },
        "targets": {
            "local_no_reasons_seconds": 300,
            "local_no_reasons_peak_rss_mib": 4096,
            "predict_proba_vs_raw_predict_throughput": 0.5,
            "score_with_reasons_vs_raw_pred_contrib_throughput": 0.8,
        },
    }


#: the single-split training this benchmark compares with (one validation period
#: chose the trees, one calibration period the map; the commit before time-series
#: cross-validation)
TRAIN_REFERENCE_COMMIT = "82b1938"
TRAIN_LEADS = (5_000, 100_000)
TRAIN_SCRIPT = """
import json, sys, time
from pathlib import Path
from predscore.config import load_config
from predscore.experiment import train_model
config = load_config(Path(sys.argv[1]))
started = time.perf_counter()
result = train_model(sys.argv[2], config, config.rules)
selected = result.metrics.get("selected", {})
print(json.dumps({"train_seconds": time.perf_counter() - started,
                  "selected": {k: v for k, v in selected.items() if k != "windows_days"}}))
"""


def _reference_tree(work: Path) -> Path:
    """The reference commit's ``src`` and ``configs``, exported from git."""
    folder = work / f"reference_{TRAIN_REFERENCE_COMMIT}"
    if not folder.exists():
        folder.mkdir()
        archive = subprocess.run(
            [
                "git",
                "-C",
                str(ROOT),
                "archive",
                TRAIN_REFERENCE_COMMIT,
                "src",
                "configs",
            ],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def _train_run(src: Path, configs: Path, data: Path) -> dict[str, object]:
    """``train_model`` in a fresh child with ``src`` first on the path: wall time
    and peak RSS of the child (MLflow left out: the same for both)."""
    script = (
        "import resource, subprocess, sys, time, json, os\n"
        "t = time.perf_counter()\n"
        "out = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True,"
        " env={**os.environ, 'PYTHONPATH': sys.argv[-1]})\n"
        "wall = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "inner = json.loads(out.stdout.strip().splitlines()[-1])\n"
        "print(json.dumps({'seconds': wall, 'peak_rss_mib': rss, **inner}))\n"
    )
    cmd = [sys.executable, "-c", TRAIN_SCRIPT, str(configs), str(data), str(src)]
    out = subprocess.run(
        [sys.executable, "-c", script, *cmd], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_train(work: Path) -> dict[str, object]:
    """``train`` (time-series cross-validation of every candidate, cross-fitted
    calibration, refit on every labelled lead) at 5,000 and 100,000 demo leads,
    against the single-split training of :data:`TRAIN_REFERENCE_COMMIT` on the same
    tables in the same run."""
    reference = _reference_tree(work)
    runs: dict[str, dict[str, object]] = {}
    for leads in TRAIN_LEADS:
        data = _clean_demo(work, leads)
        ours = _train_run(ROOT / "src", ROOT / "configs", data)
        theirs = _train_run(reference / "src", reference / "configs", data)
        runs[str(leads)] = {
            "predscore": ours,
            "single_split_reference": theirs,
            "time_ratio": ours["seconds"] / theirs["seconds"],
            "peak_rss_ratio": ours["peak_rss_mib"] / theirs["peak_rss_mib"],
        }
        print(f"train {leads:,} leads: {json.dumps(runs[str(leads)])}", flush=True)  # noqa: T201
    return {
        "name": "train",
        "reference": f"single-split train_model of commit {TRAIN_REFERENCE_COMMIT} "
        "(same tables, same run)",
        "runs": runs,
        "targets": {"time_ratio_at_most": 3.0, "peak_rss_mib_at_100k_below": 6144},
    }


SQL_ROWS = 1_000_000
# the leads of the tiny export's mapping (tests/tiny_export.py), a million of them,
# made by the server; closed 30-229 days after creation, a third still open
_SQL_TABLES = f"""
CREATE TABLE crm AS SELECT i AS pos,
  'L-' || lpad(i::text, 8, '0') AS id,
  (date '2024-01-01' + (i % 700))::date AS created,
  (ARRAY['won', 'lost', 'open'])[1 + i % 3] AS stage,
  (i % 50)::integer AS visits,
  (ARRAY['boss', 'staff'])[1 + i % 2] AS title_role,
  CASE WHEN i % 3 = 2 THEN NULL
       ELSE (date '2024-01-01' + (i % 700) + 30 + (i % 200))::date END AS closed,
  CASE WHEN i % 3 = 2 THEN NULL ELSE (i % 1000)::numeric(10, 2) END AS amount,
  'A' || (i % 5000) AS company
FROM generate_series(0, {SQL_ROWS - 1}) AS i;
CREATE TABLE companies AS SELECT i AS pos, 'A' || i AS account,
  (ARRAY['software', 'retail', 'fintech'])[1 + i % 3] AS sector,
  (10 + i % 900)::integer AS employees
FROM generate_series(0, 4999) AS i;
"""
_SQL_QUERY = (
    "SELECT id, created, stage, visits, title_role, closed, amount, company "
    "FROM crm ORDER BY pos"
)
READ_SQL_SCRIPT = """
import sys, pandas as pd, sqlalchemy as sa
engine = sa.create_engine(sys.argv[1])
frame = pd.read_sql(sa.text(sys.argv[2]), engine)
print(len(frame))
"""
READ_SOURCE_SCRIPT = """
import sys
from predscore.ingest import read_sql_source
from predscore.ingest.mapping import SourceSpec
frame = read_sql_source(SourceSpec(sql=sys.argv[1]), "crm")
print(len(frame))
"""


def bench_sql_ingest(work: Path) -> dict[str, object]:
    """Ingest of a million leads from PostgreSQL (a server the benchmark starts, as
    the tests do) against a plain pandas.read_sql of the same query."""
    sys.path.insert(0, str(ROOT / "tests"))
    import postgres_server
    import yaml
    from sqlalchemy import create_engine, text
    from tiny_export import MAPPING

    reason = postgres_server.unavailable()
    if reason is not None:
        raise RuntimeError(f"sql_ingest needs PostgreSQL: {reason}")
    with postgres_server.server() as url:
        engine = create_engine(url)
        with engine.begin() as con:
            for statement in _SQL_TABLES.split(";"):
                if statement.strip():
                    con.execute(text(statement))
        engine.dispose()
        mapping = yaml.safe_load(MAPPING)
        mapping["sources"] = {
            "crm": {"sql": _SQL_QUERY},
            "companies": {
                "sql": "SELECT account, sector, employees FROM companies ORDER BY pos"
            },
        }
        path = work / "sql_mapping.yaml"
        path.write_text(yaml.safe_dump(mapping, sort_keys=False))
        os.environ["PREDSCORE_SOURCE_URL"] = url
        py = sys.executable
        reference = measure([py, "-c", READ_SQL_SCRIPT, url, _SQL_QUERY])
        read = measure([py, "-c", READ_SOURCE_SCRIPT, _SQL_QUERY])
        out = work / "sql_ingest"
        ingest = measure(
            [PREDSCORE, "ingest", "--mapping", str(path), "--out", str(out)]
            + ["--as-of", "2026-06-01"]
        )
        report = json.loads((out / "ingest_report.json").read_text())
    tables = {t["table"]: t for t in report["tables"]}
    return {
        "name": "sql_ingest",
        "reference": "pandas.read_sql of the same query (SQLAlchemy + psycopg, "
        "same run, its own child process)",
        "runs": {
            "read_sql": {**reference, "rows": SQL_ROWS},
            "read_sql_source": {**read, "rows": SQL_ROWS},
            "ingest": {
                **ingest,
                "rows": SQL_ROWS,
                "leads_kept": tables["leads"]["kept"],
                "leads_rejected": tables["leads"]["rejected"],
                "report_seconds": report["seconds"],
            },
        },
        "ratios": {
            "read_time_ratio": read["seconds"] / reference["seconds"],
            "read_peak_rss_ratio": read["peak_rss_mib"] / reference["peak_rss_mib"],
            "ingest_time_ratio": ingest["seconds"] / reference["seconds"],
            "ingest_peak_rss_ratio": ingest["peak_rss_mib"] / reference["peak_rss_mib"],
        },
    }


BENCHMARKS: dict[str, Callable[[Path], dict[str, object]]] = {
    "train": bench_train,
    "demo_data": bench_demo_data,
    "features": bench_features,
    "explain": bench_explain,
    "score": bench_score,
    "serve": bench_serve,
    "sql_ingest": bench_sql_ingest,
}


MEASURED = ROOT / "benchmarks" / "measured.json"
DOCS = ROOT / "docs" / "benchmarks.md"


def _commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or "unknown"


def record(results: list[dict[str, object]], load: tuple[float, ...] | None) -> None:
    """Keep each benchmark's latest result in ``benchmarks/measured.json`` and
    regenerate ``docs/benchmarks.md`` from it."""
    measured = json.loads(MEASURED.read_text()) if MEASURED.is_file() else {}
    for result in results:
        measured[str(result["name"])] = {
            "command": f"make bench BENCH={result['name']}",
            "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
            "commit": _commit(),
            "machine": {"cores": os.cpu_count(), "load_average_at_start": load},
            "result": result,
        }
    MEASURED.write_text(json.dumps(measured, indent=2, sort_keys=True) + "\n")
    write_docs(measured)


def _flat(prefix: str, value: object, out: list[tuple[str, object]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flat(f"{prefix}.{key}" if prefix else str(key), inner, out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, inner in enumerate(value):
            _flat(f"{prefix}[{i}]", inner, out)
    else:
        out.append((prefix, value))


def _shown(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value).replace("|", "\\|")


def _load(entry: dict[str, object]) -> str:
    load = entry["machine"].get("load_average_at_start")  # type: ignore[union-attr]
    if not load:
        return "load average not recorded"
    return "load average at start " + ", ".join(f"{x:.1f}" for x in load)


def write_docs(measured: dict[str, dict[str, object]]) -> Path:
    """``docs/benchmarks.md``: every recorded benchmark, generated from the JSON."""
    lines = [
        "# Benchmarks",
        "",
        "Generated by `benchmarks/run.py` from `benchmarks/measured.json`; do not edit by",
        "hand. Each benchmark reports time and peak memory against a reference measured",
        "in the same run (the reference is named in its `reference` row); run one with",
        "the command shown. Figures move with the load of the machine: the load average",
        "at the start of the run is recorded beside them. Measurements taken before",
        "this record existed are in the [benchmark log](benchmark-log.md).",
        "",
    ]
    for name in sorted(measured):
        entry = measured[name]
        result = dict(entry["result"])  # type: ignore[arg-type]
        doc = (result.pop("doc", None) or "").strip()
        lines += [
            f"## {name}",
            "",
            f"`{entry['command']}` — measured {entry['measured_at']} at commit "
            f"`{entry['commit']}` on {entry['machine']['cores']} cores ({_load(entry)}).",
            "",
        ]
        if doc:
            lines += [doc, ""]
        rows: list[tuple[str, object]] = []
        _flat("", {k: v for k, v in result.items() if k != "name"}, rows)
        lines += ["| measure | value |", "|---|---|"]
        lines += [f"| `{key}` | {_shown(value)} |" for key, value in rows]
        lines.append("")
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text("\n".join(lines))
    return DOCS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "only", nargs="*", choices=[[], *BENCHMARKS], help="benchmarks to run"
    )
    parser.add_argument("--work", type=Path, default=None, help="scratch folder")
    parser.add_argument(
        "--record",
        type=Path,
        default=None,
        help="record the results of an earlier run (its results.json) and exit",
    )
    args = parser.parse_args()
    if args.record is not None:
        record(json.loads(args.record.read_text()), None)
        return
    load = os.getloadavg()
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
    record(results, load)
    print(f"results written to {target}, {MEASURED} and {DOCS}")  # noqa: T201


if __name__ == "__main__":
    main()
