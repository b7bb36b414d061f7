"""predscore results: the product, the rules and three references, out of sample.

Run ``make results`` or ``.venv/bin/python benchmarks/results.py [--only NAME]
[--flaml-budget SECONDS] --out results/``. For the demo CRM (generated from
``configs/demo.yaml``) and each public data set found under ``../shared/datasets``
(``$PREDSCORE_DATASETS`` overrides the folder; a missing one is skipped with the
reason printed), the script ingests or generates the canonical tables, builds the
training snapshots (labelled rows: :func:`predscore.model.labelled_rows`) and scores
every lead out of sample, **by lead**:

* **time-ordered sets** (demo, UCI, Olist, Maven): the periods of ``predscore
  evaluate`` (:func:`predscore.experiment.evaluation_periods`): the newest ``split.test``
  share of the labelled leads old enough to judge (``evaluation.mature_quantile`` of
  ``configs/model.yaml``: of the newest leads only the fast closers, mostly losses,
  have closed), cut by creation into ``evaluation.origins`` periods; every scorer is
  fitted again at the start of each period on the rows whose label was known then
  (:func:`predscore.model.rows_known_at`) and scores that period's leads: rolling
  origin with periodic retraining, as a team retraining that often would;
* **one-table sets** without usable time (X Education, IBM: one placeholder date):
  :data:`CV_FOLDS`-fold cross-validation stratified by lead, every lead scored once
  by scorers fitted on the other folds.

Scorers (:data:`SCORERS`), fitted on the same rows and scored on the same rows:

* ``predscore``: the product's training procedure
  (:func:`predscore.experiment.fit_procedure`: engagement grid, time-series
  cross-validation of tree complexities, the linear model and their blend,
  cross-fitted calibration, refit), with ``configs/model.yaml`` as shipped and
  ``configs/features.yaml`` overlaid with ``configs/features/<name>.yaml`` where one
  exists (Olist: a 90-day label horizon);
* ``rules``: the data set's rule points rank the leads (nothing fitted); for Brier
  and ECE the points are mapped to a probability on the same out-of-fold rows as the
  model's calibration;
* ``lgbm_default``, ``logreg``, ``flaml``: :mod:`predscore.experiment.references`
  (FLAML with a fixed budget per fit, :data:`predscore.experiment.references.
  FLAML_BUDGET` unless ``--flaml-budget``).

Metrics on all pooled test snapshots (:mod:`predscore.evaluation`), and paired
bootstrap intervals by lead of predscore minus every other scorer
(:func:`predscore.evaluation.paired_bootstrap`). Results go to ``OUT/results.json``
with the quality bars of issue 17 checked; the markdown tables are printed and
written to ``docs/results.md`` (generated from ``results.json``, never typed).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")  # two shared cores

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
DATASETS = Path(
    os.environ.get("PREDSCORE_DATASETS", ROOT.parent / "shared" / "datasets")
)
#: validation and ingest cut-off: after every record of the demo and the public sets
AS_OF = pd.Timestamp("2026-10-01T00:00:00Z")
THREADS = 1  # as the model: two OpenMP threads spin on a busy 2-core machine


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


#: folds of the one-table sets (no usable time)
CV_FOLDS = 5
#: the scorers of the table, in display order (``flaml`` when FLAML is installed)
SCORERS = ("predscore", "rules", "lgbm_default", "logreg", "flaml")
REFERENCE_NAMES = ("lgbm_default", "logreg", "flaml")


@dataclass
class Split:
    """One fit: the rows it learns from and the rows it scores (masks over the
    labelled rows), and the origin (time) or fold (random)."""

    number: int
    origin: pd.Timestamp | None
    train: np.ndarray
    test: np.ndarray


def splits(rows: pd.DataFrame, strategy: str, config: Any) -> list[Split]:
    """Rolling origins over the newest leads (time), or folds by lead (random)."""
    from sklearn.model_selection import StratifiedGroupKFold

    from predscore.experiment import evaluation_periods
    from predscore.model import training_rows_at

    if strategy == "time":
        horizon, kept = config.features.horizon_days, config.features.horizon_rows
        out = []
        # the periods of `predscore evaluate`: the newest `split.test` share of the
        # leads old enough to judge, cut into `evaluation.origins` periods
        for period in evaluation_periods(rows, strategy, config):
            test = rows["lead_id"].isin(period.leads).to_numpy()
            # what train would have learnt from then (immature leads left out)
            train = ~test & training_rows_at(
                rows, period.origin, config.model.split, horizon, kept
            )
            out.append(Split(period.number, period.origin, train, test))
        return out
    codes = pd.factorize(rows["lead_id"])[0]
    folds = StratifiedGroupKFold(CV_FOLDS, shuffle=True, random_state=config.seed)
    out = []
    for k, (fit, held) in enumerate(folds.split(rows, rows["label"], codes)):
        train = np.zeros(len(rows), dtype=bool)
        test = np.zeros(len(rows), dtype=bool)
        train[fit], test[held] = True, True
        out.append(Split(k + 1, None, train, test))
    return out


def _flaml_available() -> bool:
    try:
        import flaml  # noqa: F401
    except ImportError:
        return False
    return True


def score_split(
    split: Split,
    candidates: list[tuple[Any, pd.DataFrame]],
    strategy: str,
    config: Any,
    rules: Any,
    references: tuple[str, ...],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Every scorer fitted on ``split.train`` and scoring ``split.test``.

    Returns the probabilities and the rankings per scorer, and details of the fit.
    """
    from predscore.errors import ConfigError
    from predscore.experiment import (
        fit_procedure,
        reference_probability,
        rule_probability_map,
    )
    from predscore.rules import score_rules

    fitted = fit_procedure(
        ((c, rows.loc[split.train].reset_index(drop=True)) for c, rows in candidates),
        len(candidates),
        config,
        strategy,
        newest=split.origin,
    )
    chosen = next(rows for c, rows in candidates if c is fitted.features)
    test = chosen.loc[split.test].reset_index(drop=True)
    p = fitted.model.predict_proba(test)
    probability, ranking = {"predscore": p}, {"predscore": p}
    try:
        points = score_rules(test, rules, reasons=False)["rule_points"].to_numpy(
            dtype=float
        )
        mapping = rule_probability_map(
            fitted.rows, fitted.selection, rules, config.model
        )
        probability["rules"], ranking["rules"] = mapping.transform(points), points
    except ConfigError:
        pass  # the rules read a feature this data set lacks
    # the references learn from the same rows as predscore, with the engagement
    # features it chose (as `predscore evaluate` gives them)
    train, test_base = chosen.loc[split.train], chosen.loc[split.test]
    for name in references:
        q = reference_probability(name, train, test_base, THREADS, config.seed)
        probability[name], ranking[name] = q, q
    details = {
        "split": split.number,
        "origin": None if split.origin is None else split.origin.isoformat(),
        "train_leads": int(fitted.rows["lead_id"].nunique()),
        "test_leads": int(test["lead_id"].nunique()),
        "selected": fitted.selection.spec.name,
        "half_life_days": fitted.features.half_life_days,
        "calibration": fitted.model.calibrator_.method,
        "calibration_recency_days": fitted.model.calibrator_.recency_half_life_days,
    }
    return probability, ranking, details


# -- data ---------------------------------------------------------------------------
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


def candidate_rows(
    data_set: DataSet, config: Any
) -> tuple[list[tuple[Any, pd.DataFrame]], str, int, dict[str, pd.DataFrame]]:
    """Tables → every engagement candidate's labelled rows (same rows, other
    features), the strategy, the leads too recent to judge, and the tables."""
    from predscore.experiment import feature_candidates
    from predscore.features import build_snapshots
    from predscore.model import labelled_rows

    with tempfile.TemporaryDirectory(prefix=f"predscore-{data_set.name}-") as work:
        tables = _load_tables(data_set, config, Path(work))
    out, strategy, immature = [], "time", 0
    built: dict[float, pd.DataFrame] = {}
    for candidate in feature_candidates(config.features, config.model):
        if tables["activities"].empty and built:
            # no engagement log: every candidate's rows are the first one's
            rows = next(iter(built.values()))
        else:
            snapshots = build_snapshots(tables, candidate, config.icp, AS_OF)
            rows, strategy, immature = labelled_rows(
                snapshots, config.model.split, candidate.horizon_days
            )
            built[candidate.half_life_days] = rows
        out.append((candidate, rows))
    if tables["activities"].empty:
        out = out[:1]  # the candidates tie: the grid keeps the first
    return out, strategy, immature, tables


def _rules_for(data_set: DataSet, config: Any) -> Any:
    from predscore.config import load_rules

    if data_set.rules is None:
        return config.rules
    return load_rules(CONFIGS / "rules" / f"{data_set.rules}.yaml")


#: sections a data set may overlay: ``configs/<section>/<name>.yaml`` over
#: ``configs/<section>.yaml``, one file per section as the product's own configs
OVERLAID_SECTIONS = ("model", "features")


def _config_for(data_set: DataSet, config: Any) -> tuple[Any, str | None]:
    """``configs/model.yaml`` and ``configs/features.yaml`` overlaid with
    ``configs/model/<name>.yaml`` and ``configs/features/<name>.yaml`` if any."""
    from predscore.config import load_config, read_yaml

    paths = {
        section: CONFIGS / section / f"{data_set.name}.yaml"
        for section in OVERLAID_SECTIONS
    }
    found = {section: path for section, path in paths.items() if path.is_file()}
    if not found:
        return config, None
    overrides = {section: read_yaml(path) for section, path in found.items()}
    overlaid = load_config(CONFIGS, overrides=overrides)
    return overlaid, ", ".join(os.path.relpath(p, ROOT) for p in found.values())


# -- measuring ------------------------------------------------------------------------
def _clean(value: Any) -> Any:
    """JSON-safe: NaN → None, numpy scalars → Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _segments(test: pd.DataFrame, y: np.ndarray, ranking: np.ndarray) -> list[dict]:
    """Trap segments (demo): close rate and the scorer's mean rank percentile."""
    from predscore.evaluation import trap_segments

    percentile = pd.Series(ranking).rank(method="average", pct=True).to_numpy()
    out = []
    for name, mask in trap_segments(test).items():
        m = np.asarray(mask, dtype=bool)
        if not m.any():
            continue
        out.append(
            {
                "segment": name,
                "rows": int(m.sum()),
                "leads": int(test.loc[m, "lead_id"].nunique()),
                "close_rate": float(y[m].mean()),
                "mean_rank_percentile": float(percentile[m].mean()),
            }
        )
    return out


def run_data_set(
    data_set: DataSet, base_config: Any, flaml: bool
) -> list[dict[str, Any]]:
    """Every scorer on one data set: one result row each."""
    from predscore.evaluation import evaluate_scores, paired_bootstrap
    from predscore.evaluation.calibration import brier, expected_calibration_error

    config, overlay = _config_for(data_set, base_config)
    started = time.perf_counter()
    candidates, strategy, immature, _ = candidate_rows(data_set, config)
    rows = candidates[0][1]
    prepare_s = time.perf_counter() - started
    rules = _rules_for(data_set, config)
    references = tuple(r for r in REFERENCE_NAMES if r != "flaml" or flaml)
    parts = splits(rows, strategy, config)
    probability: dict[str, np.ndarray] = {}
    ranking: dict[str, np.ndarray] = {}
    fits = []
    for split in parts:
        began = time.perf_counter()
        p, r, details = score_split(
            split, candidates, strategy, config, rules, references
        )
        details["seconds"] = round(time.perf_counter() - began, 1)
        fits.append(details)
        _say(
            f"  fit {split.number}/{len(parts)}: {details['selected']}, "
            f"{details['train_leads']:,} leads → {details['test_leads']:,} "
            f"({details['seconds']:.0f} s)"
        )
        for name in p:
            probability.setdefault(name, np.full(len(rows), np.nan))[split.test] = p[
                name
            ]
            ranking.setdefault(name, np.full(len(rows), np.nan))[split.test] = r[name]
    scored = np.zeros(len(rows), dtype=bool)
    for split in parts:
        scored |= split.test
    test = rows.loc[scored].reset_index(drop=True)
    y = test["label"].to_numpy()
    intervals = paired_bootstrap(
        y,
        test["lead_id"].to_numpy(),
        {name: p[scored] for name, p in probability.items()},
        against="predscore",
        resamples=1000,
        seed=config.seed,
        rankings={name: r[scored] for name, r in ranking.items()},
    )
    out = []
    for name in [s for s in SCORERS if s in probability]:
        p, ranked = probability[name][scored], ranking[name][scored]
        metrics = evaluate_scores(y, ranked)
        versus = intervals.loc[intervals["scorer"] == name]
        out.append(
            _clean(
                {
                    "data_set": data_set.name,
                    "title": data_set.title,
                    "scorer": name,
                    "protocol": (
                        "rolling origin, retrained at "
                        f"{config.model.evaluation.origins} origins over the newest "
                        f"{config.model.split.test:.0%} of the leads old enough to judge"
                        if strategy == "time"
                        else f"{CV_FOLDS}-fold cross-validation by lead"
                    ),
                    "features_overlay": overlay,
                    "leads": int(rows["lead_id"].nunique()),
                    "immature_leads": immature,
                    "test_leads": int(test["lead_id"].nunique()),
                    "test_rows": len(test),
                    **{k: v for k, v in metrics.items() if k != "rows"},
                    "brier": brier(y, p),
                    "ece": expected_calibration_error(y, p),
                    "mean_probability": float(np.mean(p)),
                    "segments": _segments(test, y, ranked),
                    "versus_predscore": versus.drop(columns="scorer").to_dict(
                        orient="records"
                    ),
                    "fits": fits if name == "predscore" else [],
                    "seconds": {"prepare": round(prepare_s, 1)},
                }
            )
        )
    return out


# -- quality bars ---------------------------------------------------------------------
def _by_scorer(rows: list[dict[str, Any]], data_set: str) -> dict[str, dict[str, Any]]:
    return {r["scorer"]: r for r in rows if r["data_set"] == data_set}


def _segment_rank(row: dict[str, Any], prefix: str) -> float | None:
    for seg in row["segments"]:
        if seg["segment"].startswith(prefix):
            return seg["mean_rank_percentile"]
    return None


def _bar(name: str, measured: str, met: bool | None) -> dict[str, Any]:
    return {"bar": name, "measured": measured, "met": met}


def quality_bars(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The quality bars of issue 17 checked on the rows (data sets present only).

    Per data set: predscore's ROC AUC and Brier at least as good as every
    reference's, or the paired interval of the difference includes 0 (never
    "worse"). Over the data sets: a significant win (better than every reference on
    a metric, worse than none) on at least three. On the demo: ECE ≤ 0.03, ROC AUC
    ≥ rules + 0.15, the trap segments ranked the right way round.
    """
    bars: dict[str, list[dict[str, Any]]] = {}
    wins = []
    for data_set in dict.fromkeys(r["data_set"] for r in rows):
        s = _by_scorer(rows, data_set)
        model = s.get("predscore")
        if model is None:
            continue
        refs = [r for r in REFERENCE_NAMES if r in s]
        verdicts = {
            (r, m): next(
                v["verdict"] for v in s[r]["versus_predscore"] if v["metric"] == m
            )
            for r in refs
            for m in ("roc_auc", "brier")
        }
        checks = []
        for metric in ("roc_auc", "brier"):
            worse = [r for r in refs if verdicts[(r, metric)] == "worse"]
            shown = ", ".join(f"{r} {verdicts[(r, metric)]}" for r in refs)
            checks.append(
                _bar(
                    f"{metric}: never significantly worse than a reference",
                    shown,
                    not worse,
                )
            )
        won = [
            m
            for m in ("roc_auc", "brier")
            if all(verdicts[(r, m)] == "better" for r in refs)
            and not any(v == "worse" for v in verdicts.values())
        ]
        if won:
            wins.append(f"{data_set} ({', '.join(won)})")
        if data_set == "demo":
            rules = s["rules"]
            gap = model["roc_auc"] - rules["roc_auc"]
            checks.append(
                _bar("ROC AUC ≥ rules + 0.15", f"{gap:+.3f}", bool(gap >= 0.15))
            )
            checks.append(
                _bar("ECE ≤ 0.03", f"{model['ece']:.3f}", bool(model["ece"] <= 0.03))
            )
            ranks = {
                who: (_segment_rank(r, "quiet"), _segment_rank(r, "engaged"))
                for who, r in (("model", model), ("rules", rules))
            }
            if None in ranks["model"] or None in ranks["rules"]:
                checks.append(_bar("trap segments", "segments absent", None))
            else:
                (mq, me), (rq, re_) = ranks["model"], ranks["rules"]
                checks.append(
                    _bar(
                        "model ranks quiet decision-makers above engaged-without-"
                        "authority, the rules do not",
                        f"model {mq:.2f} vs {me:.2f}; rules {rq:.2f} vs {re_:.2f}",
                        bool(mq > me and rq <= re_),
                    )
                )
        bars[data_set] = checks
    bars["all"] = [
        _bar(
            "a significant win over every reference on at least three data sets",
            "; ".join(wins) or "none",
            len(wins) >= 3,
        )
    ]
    return bars


# -- output ---------------------------------------------------------------------------
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


def _interval(row: dict[str, Any], metric: str) -> str:
    """predscore − this scorer on ``metric`` with its 95 % interval."""
    for v in row.get("versus_predscore", []):
        if v["metric"] == metric:
            return f"{v['difference']:+.3f} [{v['low']:+.3f}, {v['high']:+.3f}]"
    return "–"


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results as a markdown table (one line per data set and scorer); the
    differences are predscore minus the scorer, with their paired 95 % interval."""
    lines = [
        "| data set | protocol | test leads / rows | base rate | scorer "
        "| ROC AUC | Brier | ECE | predscore − scorer: ROC AUC | … Brier |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    previous = None
    for r in rows:
        first = r["data_set"] != previous
        previous = r["data_set"]
        head = (
            f"| {r['title']} | {r['protocol']} | {r['test_leads']:,} / "
            f"{r['test_rows']:,} | {_fmt(r['base_rate'])} "
            if first
            else "| | | | "
        )
        lines.append(
            f"{head}| {r['scorer']} | {_fmt(r['roc_auc'])} | {_fmt(r['brier'], 4)} "
            f"| {_fmt(r['ece'])} | {_interval(r, 'roc_auc')} "
            f"| {_interval(r, 'brier')} |"
        )
    return "\n".join(lines)


def docs_page(document: dict[str, Any]) -> str:
    """``docs/results.md``: the tables of ``results.json`` (generated, never typed)."""
    return (
        "# Results on the demo and public data sets\n\n"
        "Generated by `make results` (`benchmarks/results.py`) from "
        "`results/results.json`; do not edit by hand. Protocol: the module "
        "docstring of `benchmarks/results.py`. FLAML budget per fit: "
        f"{document['flaml_budget_seconds']} s.\n\n"
        + markdown(document["rows"])
        + "\n\n## Quality bars\n\n"
        + bars_markdown(document["bars"])
        + "\n"
    )


def bars_markdown(bars: dict[str, list[dict[str, Any]]]) -> str:
    """The quality bars as a markdown table."""
    lines = ["| data set | bar | measured | met |", "|---|---|---|---|"]
    mark = {True: "yes", False: "**no**", None: "–"}
    for data_set, checks in bars.items():
        for c in checks:
            lines.append(
                f"| {data_set} | {c['bar']} | {c['measured']} | {mark[c['met']]} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the selected data sets; write results.json and docs/results.md."""
    from predscore.config import load_config
    from predscore.experiment import references

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", choices=[d.name for d in DATA_SETS], help="run one data set"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    parser.add_argument(
        "--flaml-budget",
        type=float,
        default=references.FLAML_BUDGET,
        help="FLAML's search budget per fit, seconds (0: no FLAML row)",
    )
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "results.md")
    args = parser.parse_args(argv)
    references.FLAML_BUDGET = args.flaml_budget
    flaml = args.flaml_budget > 0 and _flaml_available()
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
        _say(f"{data_set.name}: building snapshots, fitting and scoring…")
        new = run_data_set(data_set, config, flaml)
        for r in new:
            _say(
                f"  {r['scorer']:<13} ROC AUC {_fmt(r['roc_auc'])}  "
                f"Brier {_fmt(r['brier'], 4)}  ECE {_fmt(r['ece'])}  "
                f"vs predscore: {_interval(r, 'roc_auc')} / {_interval(r, 'brier')}"
            )
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
    bars = quality_bars(rows)
    document = {
        "as_of": AS_OF.isoformat(),
        "test_share": config.model.split.test,
        "origins": config.model.evaluation.origins,
        "cv_folds": CV_FOLDS,
        "flaml_budget_seconds": args.flaml_budget if flaml else None,
        "evaluated_on": "all test snapshots",
        "seed": config.seed,
        "datasets_dir": os.path.relpath(DATASETS, ROOT),
        "rows": rows,
        "bars": bars,
        "skipped": skipped,
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    args.docs.parent.mkdir(parents=True, exist_ok=True)
    args.docs.write_text(docs_page(document))
    _say()
    _say(markdown(rows))
    _say()
    _say(bars_markdown(bars))
    _say(f"\nresults → {path}; tables → {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
