"""predscore results: the model, the rules and two references on held-out leads.

Run ``make results`` or ``.venv/bin/python benchmarks/results.py [--only NAME] --out
results/``. For the demo CRM (generated from ``configs/demo.yaml``) and each public data
set found under ``../shared/datasets`` (``$PREDSCORE_DATASETS`` overrides the folder; a
missing one is skipped with the reason printed), the script ingests or generates the
canonical tables, builds the training snapshots and splits them **by lead**:

* test = the newest 20 % of the closed leads by creation time, once the leads too
  recent to judge are left out as the product leaves them out
  (``split.mature_quantile``: of the leads created within a sales cycle of the newest
  close, only the fast closers have closed); train = the older leads whose outcome was
  already known when the first test lead was created;
* with a label horizon (``features.horizon_days``, set per data set by
  ``configs/features/<name>.yaml``), as the product does: the snapshots are labelled
  "won within H days" and hold every row whose label is known at the cut-off
  (:data:`AS_OF`), the leads still open included, no lead is left out as too recent,
  and train = the rows of the older leads whose label was known when the first test
  lead was created (``as_of + H`` at or before it; with ``horizon_rows: known``,
  also the rows of the leads closed by then);
* where the data set has no usable time (one placeholder creation date for every lead:
  X Education, IBM), test = a random 20 % of the leads, stratified on the outcome, drawn
  with the configuration's seed; train = the other leads.

Rows of the table (:data:`SCORERS`), all scored on the same test snapshots:

* ``predscore``: the product's own training (``predscore train``) on the train part
  only: the train leads are split again by time (or at random, as the product
  decides) into the model's train / valid / calibration periods, the engagement grid
  is chosen on valid, the trees are stopped early on valid, the calibration is fitted
  on calibration. Model settings: ``configs/model.yaml``, overlaid with
  ``configs/model/<name>.yaml`` when that file exists (keys of the ``model`` section;
  the file says why the data set needs it); features likewise, ``configs/features.yaml``
  overlaid with ``configs/features/<name>.yaml``;
* ``rules``: the data set's rule points rank the leads (nothing is fitted); for Brier
  and ECE the points are mapped to a probability on the same calibration period as the
  model's, as ``predscore evaluate`` does;
* ``lgbm_default``: ``LGBMClassifier()`` with its defaults on the whole train part
  (categorical columns as pandas categories);
* ``logreg``: logistic regression (numeric columns median-imputed and standardised,
  categorical columns one-hot) on the whole train part.

The two references are :mod:`predscore.experiment.references` (also behind
``predscore.experiment.evaluate_model(..., references=...)`` and the notebooks).

The three fitted rows see the same feature columns (the snapshot features; the
mapping's leak columns are never imported). Every metric is computed on **all test
snapshots** (one row per lead every ``snapshot_every_days`` until its close; one row
per lead on the wide one-table sets), with the shared metrics of
:mod:`predscore.evaluation`: ROC AUC, PR AUC, lift and capture, Brier and ECE where
there are probabilities. Results go to ``OUT/results.json`` with the quality bars of
issue 7 checked, and a markdown table is printed.
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
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field, replace  # noqa: E402
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
TEST_SHARE = 0.2
THREADS = 1  # as the model: two OpenMP threads spin on a busy 2-core machine


@dataclass(frozen=True)
class DataSet:
    """A data set of the table: where it comes from and which rules apply to it."""

    name: str
    title: str
    folder: str | None = None  # under DATASETS; None: the demo generator
    mapping: str | None = None  # configs/mappings/<mapping>.yaml
    rules: str | None = None  # configs/rules/<rules>.yaml; None: configs/rules.yaml
    # also score the test period retrained every calendar month ("M"), as a team that
    # retrains its model monthly would (rows "<scorer> monthly"); None: trained once
    retrain: str | None = None


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
        retrain="M",
    ),
    DataSet(
        "maven_crm",
        "Maven CRM",
        "maven_crm_sales_opportunities",
        "maven_crm",
        "maven_crm",
    ),
)


@dataclass
class Prepared:
    """Snapshots of one data set, split by lead; the train part split again."""

    tables: dict[str, pd.DataFrame]
    snapshots: pd.DataFrame
    train: pd.DataFrame
    test: pd.DataFrame
    split: str
    # part (train / valid / calibration) of each train lead, as the product splits
    inner: pd.Series
    inner_strategy: str
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """What a scorer factory may use: the data set, its configuration and data."""

    data_set: DataSet
    config: Any  # predscore.config.PredscoreConfig (model overlay applied)
    rules: Any  # predscore.config.RulesConfig of this data set
    prepared: Prepared


@dataclass(frozen=True)
class Scored:
    """A scorer's output on the test rows."""

    ranking: np.ndarray  # higher = more likely to close
    probability: np.ndarray | None = None  # closing probability: Brier and ECE apply
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scorer:
    """One row of the table: ``score(train, test)`` scores every test row."""

    name: str
    score: Callable[[pd.DataFrame, pd.DataFrame], Scored]


# -- the rule baseline -----------------------------------------------------------
def rule_baseline(context: Context) -> Scorer:
    """The transparent rule baseline: its points rank the leads (nothing is fitted)."""
    from predscore.model import fit_calibrator, row_weights
    from predscore.rules import evaluate_rules, score_rules

    rules, model = context.rules, context.config.model

    def score(train: pd.DataFrame, test: pd.DataFrame) -> Scored:
        points = score_rules(test, rules)["rule_points"].to_numpy(dtype=float)
        cal = _inner_part(train, context.prepared.inner, "calibration")
        mapping = fit_calibrator(
            score_rules(cal, rules)["rule_points"].to_numpy(dtype=float),
            cal["label"].to_numpy(),
            row_weights(cal, model.calibration.row_weight),
            cal["lead_id"].to_numpy(),
            model.calibration,
        )
        evaluation = evaluate_rules(test, rules)
        details = {
            "probability_map": mapping.method,
            "meeting": {
                k: evaluation.metrics[k]
                for k in ("selected_share", "precision", "recall")
            },
            "trap_roc_auc": evaluation.metrics["trap_roc_auc"],
            "routes": evaluation.routes.to_dict("records"),
            "criteria": evaluation.criteria.to_dict("records"),
        }
        return Scored(points, mapping.transform(points), details)

    return Scorer("rules", score)


# -- predscore's model -------------------------------------------------------------
def _inner_part(frame: pd.DataFrame, inner: pd.Series, name: str) -> pd.DataFrame:
    keep = frame["lead_id"].map(inner).eq(name).to_numpy()
    return frame.loc[keep].reset_index(drop=True)


def _candidates(context: Context) -> list[tuple[Any, pd.DataFrame]]:
    """Each engagement candidate of the grid with the snapshots built with it."""
    from predscore.experiment import feature_candidates
    from predscore.features import build_snapshots

    config, prepared = context.config, context.prepared
    candidates = feature_candidates(config.features, config.model)
    windows = {tuple(c.windows_days) for c in candidates}
    if prepared.tables["activities"].empty and windows == {
        tuple(sorted(config.features.windows_days))
    }:
        # no engagement log: every candidate's snapshots equal the ones built already,
        # the grid would tie and keep its first candidate (the product's tie rule)
        return [(candidates[0], prepared.snapshots)]
    return [
        (candidate, build_snapshots(prepared.tables, candidate, config.icp, AS_OF))
        for candidate in candidates
    ]


def _rows_like(snapshots: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``snapshots`` with the keys of ``frame``, in ``frame``'s order."""
    keys = frame.loc[:, ["lead_id", "as_of"]]
    rows = keys.merge(snapshots, on=["lead_id", "as_of"], how="left", validate="1:1")
    if len(rows) != len(frame) or rows["label"].isna().any():
        raise RuntimeError("candidate snapshots do not hold the rows of the split")
    return rows


def predscore_model(context: Context) -> Scorer:
    """The product's training procedure (``predscore train``) on the train part."""
    from predscore.experiment import (
        check_history,
        choose_candidate,
        training_warnings,
    )
    from predscore.model import LeadModel

    config, prepared = context.config, context.prepared

    def score(train: pd.DataFrame, test: pd.DataFrame) -> Scored:
        # as `predscore train` does
        check_history(train, config.model.history, prepared.inner)
        candidates = _candidates(context)

        def parts_of_each() -> Any:
            for candidate, snapshots in candidates:
                rows = _rows_like(snapshots, train)
                yield (
                    candidate,
                    {
                        name: _inner_part(rows, prepared.inner, name)
                        for name in ("train", "valid", "calibration")
                    },
                )

        choice = choose_candidate(
            parts_of_each(), config.model, config.seed, len(candidates)
        )
        parts = choice.parts
        if choice.model is not None:  # the grid grew the model's own trees
            model = choice.model.complete_fit(
                parts["train"], parts["valid"], parts["calibration"]
            )
        else:
            model = LeadModel.from_config(config.model, config.seed).fit(
                parts["train"], parts["valid"], parts["calibration"]
            )
        snapshots = next(s for c, s in candidates if c is choice.features)
        probability = model.predict_proba(_rows_like(snapshots, test))
        details = {
            "inner_split": prepared.inner_strategy,
            "inner_leads": {
                name: int(frame["lead_id"].nunique()) for name, frame in parts.items()
            }
            | {"immature": int((prepared.inner == "immature").sum())},
            "grid": choice.grid.to_dict("records"),
            "half_life_days": choice.features.half_life_days,
            "best_iteration": model.best_iteration_,
            "calibration": model.calibrator_.method,
            "calibration_cv_brier": model.calibrator_.cv_brier,
            "top_features": model.feature_importance().head(10).round(1).to_dict(),
            "warnings": training_warnings(
                {"selected": {"best_iteration": model.best_iteration_}}, config.model
            ),
        }
        return Scored(probability, probability, details)

    return Scorer("predscore", score)


# -- the two references ------------------------------------------------------------
def _reference(name: str) -> Callable[[Context], Scorer]:
    """A reference model of :mod:`predscore.experiment.references` as a scorer."""

    def factory(context: Context) -> Scorer:
        from predscore.experiment import reference_probability

        def score(train: pd.DataFrame, test: pd.DataFrame) -> Scored:
            p = reference_probability(name, train, test, THREADS, context.config.seed)
            return Scored(p, p)

        return Scorer(name, score)

    factory.__name__ = name
    return factory


#: ``LGBMClassifier()`` with its defaults; logistic regression (median-imputed,
#: standardised numerics, one-hot categoricals): see predscore.experiment.references
lgbm_default = _reference("lgbm_default")
logreg = _reference("logreg")


#: scorer factories, one row each per data set (None: skipped on that data set)
SCORERS: list[Callable[[Context], Scorer | None]] = [
    predscore_model,
    rule_baseline,
    lgbm_default,
    logreg,
]


# -- retrained every period ----------------------------------------------------------
def retrained(
    factory: Callable[[Context], Scorer | None], context: Context, every: str
) -> Scorer | None:
    """The scorer of ``factory`` fitted again at the start of every period of the test (``every``: a
    pandas period alias, "M" = calendar month of creation), as a team retraining its
    model that often would: each period's leads are scored by a fit on every lead whose
    outcome was known when the period began (train part and earlier test periods),
    from snapshots taken before that day only. The product's own inner split (train /
    valid / calibration, leads too recent to judge left out) is drawn again each time.
    """
    from predscore.model import lead_table, rows_known_at, split_leads

    config, prepared = context.config, context.prepared
    horizon, kept = config.features.horizon_days, config.features.horizon_rows
    once = factory(context)
    if once is None:
        return None

    def score(train: pd.DataFrame, test: pd.DataFrame) -> Scored:
        leads = lead_table(test)
        period = leads["created_at"].dt.tz_localize(None).dt.to_period(every)
        everything = pd.concat([train, test], ignore_index=True)
        ranking = np.full(len(test), np.nan)
        probability = np.full(len(test), np.nan)
        fits = []
        for _, block in leads.groupby(period.to_numpy(), sort=True):
            origin = block["created_at"].min()
            known = everything.loc[
                rows_known_at(everything, origin, horizon, kept)
            ].reset_index(drop=True)
            inner, strategy = split_leads(
                known, config.model.split, config.seed, False, horizon
            )
            again = replace(
                context,
                prepared=replace(prepared, inner=inner, inner_strategy=strategy),
            )
            rows = test["lead_id"].isin(block["lead_id"]).to_numpy()
            scorer = factory(again)
            assert scorer is not None  # as for the first fit
            scored = scorer.score(known, test.loc[rows].reset_index(drop=True))
            ranking[rows] = scored.ranking
            if scored.probability is not None:
                probability[rows] = scored.probability
            fits.append(
                {
                    "origin": origin.isoformat(),
                    "train_leads": int(known["lead_id"].nunique()),
                    "test_leads": len(block),
                    **{
                        k: scored.details[k]
                        for k in ("best_iteration", "calibration")
                        if k in scored.details
                    },
                }
            )
        has_p = not np.isnan(probability).any()
        return Scored(ranking, probability if has_p else None, {"fits": fits})

    suffix = "monthly" if every == "M" else f"every {every}"
    return Scorer(f"{once.name} {suffix}", score)


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


def _split(
    snapshots: pd.DataFrame, seed: int, mature_quantile: float | None
) -> tuple[np.ndarray, str, int]:
    """Test mask over the snapshots (by lead), the kind of split used, and the number
    of leads left out as too recent to judge (time split only)."""
    from predscore.model import immature_leads, lead_table

    leads = lead_table(snapshots)
    if leads["created_at"].nunique() > 1:
        # as the product does: of the leads created within a sales cycle of the
        # newest close, only the fast closers have closed; they are left out
        recent = immature_leads(leads, mature_quantile)
        mature = leads.loc[~recent]
        newest = mature.tail(max(1, round(TEST_SHARE * len(mature))))
        mask = snapshots["lead_id"].isin(newest["lead_id"]).to_numpy()
        return mask, "time", int(recent.sum())
    rng = np.random.default_rng(seed)
    chosen = []
    for _, group in leads.groupby("won", sort=True):
        k = round(TEST_SHARE * len(group))
        chosen.extend(rng.permutation(group["lead_id"].to_numpy())[:k])
    return snapshots["lead_id"].isin(chosen).to_numpy(), "random", 0


def prepare(data_set: DataSet, config: Any) -> Prepared:
    """Tables → snapshots → train / test split for one data set."""
    from predscore.features import build_snapshots
    from predscore.model import rows_known_at, split_leads

    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix=f"predscore-{data_set.name}-") as work:
        tables = _load_tables(data_set, config, Path(work))
    horizon = config.features.horizon_days
    # the tables were validated (ingested) as of AS_OF: with a horizon, the labels
    # known then are the snapshots' (no effect without one)
    snapshots = build_snapshots(tables, config.features, config.icp, AS_OF)
    # as the product does: with a horizon every row is labelled only once known,
    # no lead is too recent to judge
    mature_quantile = None if horizon else config.model.split.mature_quantile
    test_mask, split, immature = _split(snapshots, config.seed, mature_quantile)
    if immature:
        notes.append(
            f"{immature} leads too recent to judge left out of the test "
            "(split.mature_quantile)"
        )
    test = snapshots.loc[test_mask].reset_index(drop=True)
    train = snapshots.loc[~test_mask]
    if split == "time":
        # the train labels must have been known when the test period began (without
        # a horizon: the lead had closed; with one: that, or the row's window passed)
        start = test.groupby("lead_id", observed=True)["as_of"].min().min()
        kept = config.features.horizon_rows
        train = train.loc[rows_known_at(train, start, horizon, kept)]
    train = train.reset_index(drop=True)
    inner, inner_strategy = split_leads(
        train, config.model.split, config.seed, False, horizon
    )
    return Prepared(tables, snapshots, train, test, split, inner, inner_strategy, notes)


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


def _refused(
    data_set: DataSet,
    scorer: str,
    prepared: Prepared,
    model_config: str | None,
    error: Exception,
) -> dict[str, Any]:
    """The row of a scorer that could not score this data set, with the reason."""
    return {
        "data_set": data_set.name,
        "title": data_set.title,
        "scorer": scorer,
        "split": prepared.split,
        "evaluated_on": "all test snapshots",
        "model_config": model_config,
        "leads": int(prepared.snapshots["lead_id"].nunique()),
        "train_leads": int(prepared.train["lead_id"].nunique()),
        "test_leads": int(prepared.test["lead_id"].nunique()),
        "test_rows": len(prepared.test),
        "base_rate": float(prepared.test["label"].mean()),
        **dict.fromkeys(("roc_auc", "pr_auc", "brier", "ece", "mean_probability")),
        "segments": [],
        "notes": prepared.notes,
        "refused": f"{type(error).__name__}: {error}",
        "details": {},
    }


def run_data_set(data_set: DataSet, base_config: Any) -> list[dict[str, Any]]:
    """Every scorer on one data set: one result row each."""
    from predscore.errors import PredscoreError
    from predscore.evaluation import evaluate_scores
    from predscore.evaluation.calibration import brier, expected_calibration_error

    config, model_config = _config_for(data_set, base_config)
    started = time.perf_counter()
    prepared = prepare(data_set, config)
    prep_seconds = time.perf_counter() - started
    context = Context(data_set, config, _rules_for(data_set, config), prepared)
    y = prepared.test["label"].to_numpy()
    rows = []
    factories: list[Callable[[Context], Scorer | None]] = list(SCORERS)
    if data_set.retrain:
        every = data_set.retrain
        factories += [
            lambda c, f=f: retrained(f, c, every)  # type: ignore[misc]
            for f in SCORERS
        ]
    for factory in factories:
        scorer = factory(context)
        if scorer is None:
            continue
        began = time.perf_counter()
        try:
            scored = scorer.score(prepared.train, prepared.test)
        except PredscoreError as exc:  # e.g. too little history: the product refuses
            rows.append(_refused(data_set, scorer.name, prepared, model_config, exc))
            continue
        metrics = evaluate_scores(y, scored.ranking)
        p = scored.probability
        row = {
            "data_set": data_set.name,
            "title": data_set.title,
            "scorer": scorer.name,
            "split": prepared.split,
            "evaluated_on": "all test snapshots",
            "model_config": model_config,
            "leads": int(prepared.snapshots["lead_id"].nunique()),
            "train_leads": int(prepared.train["lead_id"].nunique()),
            "test_leads": int(prepared.test["lead_id"].nunique()),
            "test_rows": len(prepared.test),
            **{k: v for k, v in metrics.items() if k != "rows"},
            "brier": brier(y, p) if p is not None else None,
            "ece": expected_calibration_error(y, p) if p is not None else None,
            "mean_probability": float(np.mean(p)) if p is not None else None,
            "segments": _segments(prepared.test, y, scored.ranking),
            "notes": prepared.notes,
            "details": scored.details,
        }
        row["seconds"] = {
            "prepare": round(prep_seconds, 2),
            "score": round(time.perf_counter() - began, 2),
        }
        rows.append(_clean(row))
    return rows


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
    """The quality bars of issue 7 checked on the rows (data sets present only)."""
    bars: dict[str, list[dict[str, Any]]] = {}
    for data_set in dict.fromkeys(r["data_set"] for r in rows):
        s = _by_scorer(rows, data_set)
        model = s.get("predscore")
        if model is None:
            continue
        if model.get("refused"):
            bars[data_set] = [_bar("predscore trains", model["refused"], False)]
            continue
        checks = []
        if data_set == "demo":
            rules = s["rules"]
            gap = model["roc_auc"] - rules["roc_auc"]
            checks.append(
                _bar("ROC AUC ≥ rules + 0.05", f"{gap:+.3f}", bool(gap >= 0.05))
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
        elif data_set == "uci_bank":
            # trained once, and retrained monthly where run (each against the
            # default LightGBM fitted the same way)
            for suffix in ("", " monthly"):
                mine, ref = s.get("predscore" + suffix), s.get("lgbm_default" + suffix)
                if mine is None or ref is None or mine.get("refused"):
                    continue
                auc, how = mine["roc_auc"], suffix.strip() or "once"
                checks.append(
                    _bar(f"ROC AUC ≥ 0.79 ({how})", f"{auc:.3f}", bool(auc >= 0.79))
                )
                checks.append(
                    _bar(
                        f"Brier < lgbm_default's ({how})",
                        f"{mine['brier']:.4f} vs {ref['brier']:.4f}",
                        bool(mine["brier"] < ref["brier"]),
                    )
                )
        else:
            refs = [s[k] for k in ("lgbm_default", "logreg") if k in s]
            best_auc = max(r["roc_auc"] for r in refs)
            best_brier = min(r["brier"] for r in refs)
            checks.append(
                _bar(
                    "ROC AUC ≥ best reference",
                    f"{model['roc_auc']:.3f} vs {best_auc:.3f}",
                    bool(model["roc_auc"] >= best_auc),
                )
            )
            checks.append(
                _bar(
                    "Brier < best reference",
                    f"{model['brier']:.4f} vs {best_brier:.4f}",
                    bool(model["brier"] < best_brier),
                )
            )
        bars[data_set] = checks
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


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results as a markdown table (one line per data set and scorer)."""
    lines = [
        "| data set | split | test leads / rows | base rate | scorer "
        "| ROC AUC | PR AUC | Brier | ECE |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    previous = None
    for r in rows:
        first = r["data_set"] != previous
        previous = r["data_set"]
        head = (
            f"| {r['title']} | {r['split']} | {r['test_leads']:,} / {r['test_rows']:,} "
            f"| {_fmt(r['base_rate'])} "
            if first
            else "| | | | "
        )
        scorer = f"{r['scorer']} (refused)" if r.get("refused") else r["scorer"]
        lines.append(
            f"{head}| {scorer} | {_fmt(r['roc_auc'])} | {_fmt(r['pr_auc'])} "
            f"| {_fmt(r['brier'], 4)} | {_fmt(r['ece'])} |"
        )
    return "\n".join(lines)


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
    """Run the selected data sets; write results.json; print the tables."""
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
        _say(f"{data_set.name}: building snapshots, fitting and scoring…")
        new = run_data_set(data_set, config)
        for note in new[0]["notes"] if new else []:
            _say(f"  note: {note}")
        for r in new:
            _say(
                f"  {r['scorer']:<13} ROC AUC {_fmt(r['roc_auc'])}  "
                f"Brier {_fmt(r['brier'], 4)}  "
                + (r.get("refused") or f"({r['seconds']['score']:.0f} s)")
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
        "test_share": TEST_SHARE,
        "evaluated_on": "all test snapshots",
        "seed": config.seed,
        "datasets_dir": os.path.relpath(DATASETS, ROOT),
        "rows": rows,
        "bars": bars,
        "skipped": skipped,
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    _say()
    _say(markdown(rows))
    _say()
    _say(bars_markdown(bars))
    _say(f"\nresults → {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
