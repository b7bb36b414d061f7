"""predscore results: every scorer on every data set, on held-out leads.

Run ``make results`` or ``.venv/bin/python benchmarks/results.py [--only NAME] --out
results/``. For the demo CRM (generated from ``configs/demo.yaml``) and each public data
set found under ``../shared/datasets`` (``$PREDSCORE_DATASETS`` overrides the folder; a
missing one is skipped with the reason printed), the script ingests or generates the
canonical tables, builds the training snapshots and splits them **by lead**:

* test = the newest 20 % of the closed leads by creation time; train = the older leads
  whose outcome was already known when the first test lead was created;
* where the data set has no usable time (one placeholder creation date for every lead:
  X Education, IBM), test = a random 20 % of the leads, stratified on the outcome, drawn
  with the configuration's seed; train = the other leads.

Every scorer of :data:`SCORERS` then scores the test snapshots, and the same shared
metrics (:mod:`predscore.evaluation`) are computed on them: ROC AUC, PR AUC, lift and
capture, and Brier where the scores are probabilities. Results go to
``OUT/results.json`` and a markdown table is printed.

Adding a model row: write a factory ``(Context) -> Scorer | None`` whose
``Scorer.score(train, test)`` fits on the train snapshots and returns one score per test
snapshot (``probabilities=True`` when they are closing probabilities), and append it to
:data:`SCORERS`. Returning None skips the scorer on that data set.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
DATASETS = Path(
    os.environ.get("PREDSCORE_DATASETS", ROOT.parent / "shared" / "datasets")
)
#: validation and ingest cut-off: after every record of the demo and the public sets
AS_OF = pd.Timestamp("2026-10-01T00:00:00Z")
TEST_SHARE = 0.2


@dataclass(frozen=True)
class DataSet:
    """A data set of the table: where it comes from and which rules apply to it."""

    name: str
    title: str
    folder: str | None = None  # under DATASETS; None: the demo generator
    mapping: str | None = None  # configs/mappings/<mapping>.yaml
    rules: str | None = None  # configs/rules/<rules>.yaml; None: configs/rules.yaml


DATA_SETS = (
    DataSet("demo", "Demo CRM (configs/demo.yaml)"),
    DataSet(
        "x_education",
        "X Education leads",
        "x_education_leads",
        "x_education",
        "x_education",
    ),
    DataSet(
        "olist", "Olist marketing funnel", "olist_marketing_funnel", "olist", "olist"
    ),
    DataSet(
        "ibm_sales",
        "IBM sales win/loss",
        "ibm_sales_win_loss",
        "ibm_sales",
        "ibm_sales",
    ),
    DataSet(
        "uci_bank",
        "UCI bank marketing",
        "uci_bank_marketing",
        "uci_bank",
        "uci_bank",
    ),
    DataSet(
        "maven_crm",
        "Maven CRM",
        "maven_crm_sales_opportunities",
        "maven_crm",
        "maven_crm",
    ),
)


@dataclass(frozen=True)
class Context:
    """What a scorer factory may use: the data set and the configuration."""

    data_set: DataSet
    config: Any  # predscore.config.PredscoreConfig
    rules: Any  # predscore.config.RulesConfig of this data set


@dataclass(frozen=True)
class Scorer:
    """One row of the table: ``score(train, test)`` gives one score per test row."""

    name: str
    score: Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]
    probabilities: bool = False  # scores are closing probabilities: Brier applies
    # optional extra measurements for results.json (e.g. the rules' routes)
    details: Callable[[pd.DataFrame, pd.DataFrame], dict[str, Any]] | None = None


def rule_baseline(context: Context) -> Scorer:
    """The transparent rule baseline: its points rank the leads (nothing is fitted)."""
    from predscore.rules import evaluate_rules, score_rules

    rules = context.rules

    def score(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        return score_rules(test, rules)["rule_points"].to_numpy(dtype=float)

    def details(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, Any]:
        evaluation = evaluate_rules(test, rules)
        return {
            "meeting": {
                k: evaluation.metrics[k]
                for k in ("selected_share", "precision", "recall")
            },
            "trap_roc_auc": evaluation.metrics["trap_roc_auc"],
            "routes": evaluation.routes.to_dict("records"),
            "criteria": evaluation.criteria.to_dict("records"),
            "segments": evaluation.segments.to_dict("records"),
        }

    return Scorer("rules", score, probabilities=False, details=details)


#: scorer factories, one row each per data set; append model rows here
SCORERS: list[Callable[[Context], Scorer | None]] = [rule_baseline]


@dataclass
class Prepared:
    """Snapshots of one data set, split by lead."""

    snapshots: pd.DataFrame
    train: pd.DataFrame
    test: pd.DataFrame
    split: str
    notes: list[str] = field(default_factory=list)


def _load_tables(data_set: DataSet, config: Any, work: Path) -> dict[str, pd.DataFrame]:
    """Generate (demo) or ingest (public data set) the validated canonical tables."""
    if data_set.folder is None:
        from predscore.demo import generate_demo_data
        from predscore.schema.validate import load_dataset

        generate_demo_data(work, config.demo, config.icp)
        return load_dataset(work, AS_OF, config.validation).tables
    from predscore.ingest import ingest, load_mapping

    path = CONFIGS / "mappings" / f"{data_set.mapping}.yaml"
    source = DATASETS / data_set.folder
    return ingest(load_mapping(path), source, AS_OF, config.validation, path).tables


def _drop_clashing_extras(
    tables: dict[str, pd.DataFrame], config: Any, notes: list[str]
) -> dict[str, pd.DataFrame]:
    """Drop extra lead columns named like a computed feature (the features stage
    refuses them); the note asks for the mapping to be fixed."""
    from predscore.features import feature_specs
    from predscore.schema import TABLES

    computed = {spec.name for spec in feature_specs(config.features, config.icp)}
    canonical = set(TABLES["leads"].by_name)
    clash = sorted((set(tables["leads"].columns) - canonical) & computed)
    if not clash:
        return tables
    notes.append(
        f"extra lead column(s) {clash} clash with computed features: dropped for this "
        "run (rename them in the ingest mapping)"
    )
    return {**tables, "leads": tables["leads"].drop(columns=clash)}


def _split(snapshots: pd.DataFrame, seed: int) -> tuple[np.ndarray, str]:
    """Test mask over the snapshots (by lead) and the kind of split used."""
    leads = (
        snapshots.groupby("lead_id", sort=True, observed=True)
        .agg(created=("as_of", "min"), label=("label", "max"))
        .reset_index()
    )
    n_test = max(1, round(TEST_SHARE * len(leads)))
    if leads["created"].nunique() > 1:
        newest = leads.sort_values(["created", "lead_id"], kind="stable").tail(n_test)
        return snapshots["lead_id"].isin(newest["lead_id"]).to_numpy(), "time"
    rng = np.random.default_rng(seed)
    chosen = []
    for _, group in leads.groupby("label", sort=True):
        k = round(TEST_SHARE * len(group))
        chosen.extend(rng.permutation(group["lead_id"].to_numpy())[:k])
    return snapshots["lead_id"].isin(chosen).to_numpy(), "random"


def prepare(data_set: DataSet, config: Any) -> Prepared:
    """Tables → snapshots → train / test split for one data set."""
    from predscore.features import build_snapshots

    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix=f"predscore-{data_set.name}-") as work:
        tables = _load_tables(data_set, config, Path(work))
    tables = _drop_clashing_extras(tables, config, notes)
    snapshots = build_snapshots(tables, config.features, config.icp)
    test_mask, split = _split(snapshots, config.seed)
    test = snapshots.loc[test_mask].reset_index(drop=True)
    train = snapshots.loc[~test_mask]
    if split == "time":
        # the train labels must have been known when the test period began
        start = test.groupby("lead_id", observed=True)["as_of"].min().min()
        train = train.loc[train["closed_at"] <= start]
    return Prepared(snapshots, train.reset_index(drop=True), test, split, notes)


def _rules_for(data_set: DataSet, config: Any) -> Any:
    from predscore.config import load_rules

    if data_set.rules is None:
        return config.rules
    return load_rules(CONFIGS / "rules" / f"{data_set.rules}.yaml")


def _clean(value: Any) -> Any:
    """JSON-safe: NaN → None, numpy scalars → Python."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def run_data_set(data_set: DataSet, config: Any) -> list[dict[str, Any]]:
    """Every scorer on one data set: one result row each."""
    from predscore.evaluation import evaluate_scores
    from predscore.evaluation.calibration import brier

    started = time.perf_counter()
    prepared = prepare(data_set, config)
    prep_seconds = time.perf_counter() - started
    context = Context(data_set, config, _rules_for(data_set, config))
    y = prepared.test["label"].to_numpy()
    rows = []
    for factory in SCORERS:
        scorer = factory(context)
        if scorer is None:
            continue
        began = time.perf_counter()
        scores = scorer.score(prepared.train, prepared.test)
        metrics = evaluate_scores(y, scores)
        row = {
            "data_set": data_set.name,
            "title": data_set.title,
            "scorer": scorer.name,
            "split": prepared.split,
            "leads": int(prepared.snapshots["lead_id"].nunique()),
            "train_leads": int(prepared.train["lead_id"].nunique()),
            "test_leads": int(prepared.test["lead_id"].nunique()),
            "test_rows": len(prepared.test),
            **{k: v for k, v in metrics.items() if k != "rows"},
            "brier": brier(y, scores) if scorer.probabilities else None,
            "notes": prepared.notes,
        }
        if scorer.details is not None:
            row["details"] = scorer.details(prepared.train, prepared.test)
        row["seconds"] = {
            "prepare": round(prep_seconds, 2),
            "score": round(time.perf_counter() - began, 2),
        }
        rows.append(_clean(row))
    return rows


def _say(text: str = "") -> None:
    print(text, flush=True)  # noqa: T201 - a benchmark script reports on stdout


def _skip_reason(data_set: DataSet) -> str | None:
    if data_set.folder is None:
        return None
    folder = DATASETS / data_set.folder
    if not folder.is_dir():
        return f"{folder} not found (set PREDSCORE_DATASETS to the data sets' folder)"
    return None


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results as a markdown table (one line per data set and scorer)."""
    lines = [
        "| data set | scorer | split | closed leads (test / all) | test rows | base rate "
        "| ROC AUC | PR AUC | Brier |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['title']} | {r['scorer']} | {r['split']} "
            f"| {r['test_leads']:,} / {r['leads']:,} | {r['test_rows']:,} "
            f"| {_fmt(r['base_rate'])} | {_fmt(r['roc_auc'])} | {_fmt(r['pr_auc'])} "
            f"| {_fmt(r['brier'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the selected data sets; write results.json; print the table."""
    from predscore.config import load_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", choices=[d.name for d in DATA_SETS], help="run one data set"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args(argv)
    config = load_config(CONFIGS)
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for data_set in DATA_SETS:
        if args.only and data_set.name != args.only:
            continue
        reason = _skip_reason(data_set)
        if reason:
            _say(f"skipped {data_set.name}: {reason}")
            skipped.append({"data_set": data_set.name, "reason": reason})
            continue
        _say(f"{data_set.name}: building snapshots and scoring…")
        new = run_data_set(data_set, config)
        for note in new[0]["notes"] if new else []:
            _say(f"  note: {note}")
        rows.extend(new)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "results.json"
    if args.only and path.is_file():
        # one data set re-run: keep the other data sets' rows of the previous run
        previous = json.loads(path.read_text())
        rows = [r for r in previous["rows"] if r["data_set"] != args.only] + rows
        skipped = [
            s for s in previous["skipped"] if s["data_set"] != args.only
        ] + skipped
        order = [d.name for d in DATA_SETS]
        rows.sort(key=lambda r: order.index(r["data_set"]))
    document = {
        "as_of": AS_OF.isoformat(),
        "test_share": TEST_SHARE,
        "seed": config.seed,
        "datasets_dir": os.path.relpath(DATASETS, ROOT),
        "rows": rows,
        "skipped": skipped,
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    _say()
    _say(markdown(rows))
    _say(f"\nresults → {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
