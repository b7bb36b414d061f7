"""Out-of-time evaluation and rolling-origin backtests, beside the rules and the
notebook references.

Stage: experiment. Both replay the whole training procedure
(:func:`predscore.experiment.fit_procedure`: engagement grid, cross-validated
candidates, cross-fitted calibration, refit) at past origins, as a team retraining
that often would have run it: at each origin, only the rows whose label was known
then are used, and the leads created from that origin on are scored. The rules and
the reference models (:mod:`predscore.experiment.references`) are fitted on the same
rows at the same origins and scored on the same leads; paired bootstrap intervals
by lead tell whether a difference is more than noise.

* :func:`evaluate_model`: the newest ``split.test`` share of the labelled leads,
  cut into ``evaluation.origins`` periods, each scored by the procedure replayed at
  its start, with the settings of the model being evaluated;
* :func:`backtest`: ``folds`` rolling origins over the whole history
  (:func:`predscore.model.rolling_folds`), one row per fold and scorer.

With segment models (``model.segments.column``), the global model of the same
procedure is scored beside them as the scorer ``global``, and
:func:`segment_comparison` compares the two on the leads of each segment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from predscore.config import PredscoreConfig, RulesConfig
from predscore.errors import ConfigError, DataValidationError, ModelError
from predscore.evaluation import paired_bootstrap
from predscore.experiment.compare import scored_rows, side_by_side
from predscore.experiment.references import reference_probability
from predscore.experiment.train import (
    check_history,
    feature_candidates,
    fit_procedure,
    labelled_snapshots,
    rule_probability_map,
)
from predscore.features import newest_event
from predscore.model import (
    ModelBundle,
    holdout_leads,
    judged_rows,
    lead_table,
    rolling_folds,
    training_rows_at,
)
from predscore.rules import score_rules

__all__ = [
    "GLOBAL",
    "BacktestResult",
    "EvaluationPeriod",
    "backtest",
    "evaluate_model",
    "evaluation_cutoff",
    "evaluation_periods",
    "procedure_config",
    "segment_comparison",
]

Progress = Callable[[str], None]
_KEYS = ("roc_auc", "pr_auc", "brier", "ece", "lift_top10", "capture_top20")
#: the scorer name of the global model when segment models score beside it
GLOBAL = "global"


@dataclass
class EvaluationPeriod:
    """Leads scored by the procedure replayed at ``origin`` (None: the rest trains)."""

    number: int
    origin: pd.Timestamp | None
    leads: np.ndarray


@dataclass
class _Scored:
    rows: pd.DataFrame  # the scored rows (features of the chosen candidate)
    probability: np.ndarray
    rules: pd.DataFrame | None
    rule_probability: np.ndarray | None
    references: dict[str, np.ndarray]
    info: dict[str, Any]
    # rows scored by a segment model of their own (not the global model)
    own_model: np.ndarray | None = None


def procedure_config(bundle: ModelBundle, config: PredscoreConfig) -> PredscoreConfig:
    """``config`` with the model and features settings that trained ``bundle``.

    Raises
    ------
    ModelError
        When the bundle does not record them (trained by an older predscore).
    """
    procedure = bundle.metadata.get("procedure")
    if not procedure:
        raise ModelError(
            "this model does not record the procedure that trained it: train it "
            "again with this predscore"
        )
    return config.model_validate(
        {
            **config.model_dump(mode="json"),
            "model": {
                **procedure["model"],
                "tracking": config.model.tracking.model_dump(mode="json"),
            },
            "features": procedure["features"],
        }
    )


def _candidate_rows(
    tables: object, config: PredscoreConfig, cutoff: pd.Timestamp | None
) -> tuple[list[tuple[Any, pd.DataFrame]], str]:
    """Every engagement candidate's labelled rows at the cutoff, and the strategy."""
    out, strategy = [], "time"
    for candidate in feature_candidates(config.features, config.model):
        rows, strategy, _ = labelled_snapshots(tables, candidate, config, cutoff)
        out.append((candidate, rows))
    return out, strategy


def _score_block(
    block: EvaluationPeriod,
    candidates: list[tuple[Any, pd.DataFrame]],
    strategy: str,
    config: PredscoreConfig,
    rules: RulesConfig | None,
    references: Sequence[str],
    progress: Progress,
) -> _Scored:
    """Replay the procedure on what was known at the block's origin; score it."""
    horizon = config.features.horizon_days
    kept = config.features.horizon_rows
    first = candidates[0][1]
    in_block = first["lead_id"].isin(block.leads).to_numpy()
    if block.origin is None:
        known = ~in_block
    else:  # what train would have learnt from on that day, immature leads left out
        known = ~in_block & training_rows_at(
            first, block.origin, config.model.split, horizon, kept
        )
    check_history(first.loc[known], config.model.history)
    fitted = fit_procedure(
        ((c, rows.loc[known].reset_index(drop=True)) for c, rows in candidates),
        len(candidates),
        config,
        strategy,
        progress,
        newest=block.origin,
    )
    chosen = next(rows for c, rows in candidates if c is fitted.features)
    test = chosen.loc[in_block].reset_index(drop=True)
    probability = fitted.predict_proba(test)
    rule_out = rule_prob = None
    if rules is not None:
        try:
            mapping = rule_probability_map(
                fitted.rows, fitted.selection, rules, config.model
            )
            rule_out = score_rules(test, rules, reasons=False)
            rule_prob = mapping.transform(rule_out["rule_points"].to_numpy(float))
        except ConfigError:
            rule_out = rule_prob = None
    others = {
        name: reference_probability(
            name, fitted.rows, test, config.model.threads, config.seed
        )
        for name in references
    }
    if config.model.segments.column is not None:
        # the same procedure without segment models: what they are judged against
        others[GLOBAL] = fitted.model.predict_proba(test)
    info = {
        "origin": None if block.origin is None else block.origin.isoformat(),
        "train_leads": int(fitted.rows["lead_id"].nunique()),
        "test_leads": int(test["lead_id"].nunique()),
        "selected": fitted.selection.spec.name,
        "half_life_days": fitted.features.half_life_days,
        "calibration": fitted.model.calibrator_.method,
        "segment_models": []
        if fitted.segments is None
        else sorted(fitted.segments.models),
    }
    own = np.zeros(len(test), dtype=bool)
    if fitted.segments is not None:
        own = np.array([k is not None for k in fitted.segments.keys(test)], dtype=bool)
    return _Scored(test, probability, rule_out, rule_prob, others, info, own)


def _join(parts: list[_Scored]) -> _Scored:
    rows = pd.concat([p.rows for p in parts], ignore_index=True)
    with_rules = all(p.rules is not None for p in parts)
    return _Scored(
        rows,
        np.concatenate([p.probability for p in parts]),
        pd.concat([p.rules for p in parts], ignore_index=True) if with_rules else None,
        np.concatenate([p.rule_probability for p in parts]) if with_rules else None,
        {
            name: np.concatenate([p.references[name] for p in parts])
            for name in parts[0].references
        },
        {},
        np.concatenate(
            [
                np.zeros(len(p.rows), dtype=bool)
                if p.own_model is None
                else p.own_model
                for p in parts
            ]
        ),
    )


def intervals(scored: _Scored, config: PredscoreConfig) -> list[dict[str, Any]]:
    """Paired bootstrap intervals (by lead) of model − every other scorer."""
    scores = {"model": scored.probability, **scored.references}
    rankings = {}
    if scored.rule_probability is not None:
        scores["rules"] = scored.rule_probability
        rankings["rules"] = scored.rules["rule_points"].to_numpy(dtype=float)
    if len(scores) < 2:
        return []
    table = paired_bootstrap(
        scored.rows["label"].to_numpy(),
        scored.rows["lead_id"].to_numpy(),
        scores,
        against="model",
        metrics=("roc_auc", "brier"),
        resamples=config.model.evaluation.resamples,
        level=config.model.evaluation.level,
        seed=config.seed,
        rankings=rankings,
    )
    return table.to_dict(orient="records")


def segment_comparison(
    scored: _Scored, config: PredscoreConfig
) -> list[dict[str, Any]]:
    """Segment models against the global model, on the leads of each segment.

    One entry per value of ``model.segments.column`` among the scored rows (and
    one for the rows with no value): ``segment``, ``leads``, ``close_rate``, the ROC
    AUC and Brier score of the segment models (``model``: the global model where a
    segment had no model of its own at an origin; ``own_model_share``: the share of
    its rows a model of its own scored) and of the ``global`` model, and the paired
    bootstrap interval by lead of each difference. Empty without segments.
    """
    column = config.model.segments.column
    if column is None or GLOBAL not in scored.references:
        return []
    from predscore.model.segments import segment_values

    values = segment_values(scored.rows, column)
    labels = scored.rows["label"].to_numpy()
    leads = scored.rows["lead_id"].to_numpy()
    out = []
    for value in [*sorted({v for v in values if v is not None}), None]:
        at = np.array([v == value for v in values], dtype=bool)
        if not at.any():
            continue
        entry: dict[str, Any] = {
            "segment": value,
            "leads": int(pd.unique(leads[at]).size),
            "close_rate": float(labels[at].mean()),
            "own_model_share": 0.0
            if scored.own_model is None
            else float(scored.own_model[at].mean()),
        }
        if len(np.unique(labels[at])) < 2:
            entry["note"] = "a single outcome among these leads: no ROC AUC"
            out.append(entry)
            continue
        table = paired_bootstrap(
            labels[at],
            leads[at],
            {"model": scored.probability[at], GLOBAL: scored.references[GLOBAL][at]},
            against="model",
            metrics=("roc_auc", "brier"),
            resamples=config.model.evaluation.resamples,
            level=config.model.evaluation.level,
            seed=config.seed,
        )
        for row in table.to_dict(orient="records"):
            metric = row["metric"]
            entry[f"model_{metric}"] = row["value"]
            entry[f"global_{metric}"] = row["other"]
            entry[f"{metric}_difference"] = row["difference"]
            entry[f"{metric}_interval"] = [row["low"], row["high"]]
            entry[f"{metric}_verdict"] = row["verdict"]
        out.append(entry)
    return out


def evaluate_model(
    tables: object,
    bundle: ModelBundle,
    config: PredscoreConfig,
    rules: RulesConfig | None = None,
    references: Sequence[str] | None = None,
    cutoff: pd.Timestamp | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, object], pd.DataFrame]:
    """The training procedure of ``bundle`` judged out of time, beside the rules and
    the references.

    Parameters
    ----------
    tables : path or mapping of DataFrame
        Validated canonical tables.
    bundle : ModelBundle
        The model whose procedure (settings recorded at training) is replayed.
    config : PredscoreConfig
        ``seed``, tracking; the model and features settings come from the bundle.
    rules : RulesConfig, optional
        The rule baseline to compare with.
    references : sequence of str, optional
        Reference models (:data:`predscore.experiment.references.REFERENCES`);
        default ``model.evaluation.references`` of the procedure.
    cutoff : Timestamp, optional
        With a label horizon, the rows are those whose label is known at it.
    progress : callable, optional
        Receives a short line at each step.

    Returns
    -------
    (dict, DataFrame)
        The ``metrics.json`` document (:func:`side_by_side`: ``model``, ``rules``,
        one entry per reference, ``segments``; plus ``origins`` and ``intervals``)
        and the scored test rows (:func:`scored_rows`).

    Raises
    ------
    ModelError
        When the test period holds no snapshot, or too little history precedes it.
    """
    say = progress or (lambda _line: None)
    cutoff = evaluation_cutoff(tables, bundle, cutoff)
    config = procedure_config(bundle, config)
    names = list(
        config.model.evaluation.references if references is None else references
    )
    candidates, strategy = _candidate_rows(tables, config, cutoff)
    first = candidates[0][1]
    judged = _judged(first, strategy, config)
    blocks = evaluation_periods(first, strategy, config)
    parts = []
    for block in blocks:
        say(f"origin {block.number}/{len(blocks)}: replaying the training procedure")
        parts.append(
            _score_block(block, candidates, strategy, config, rules, names, say)
        )
    scored = _join(parts)
    metrics = side_by_side(
        scored.rows,
        scored.probability,
        scored.rules,
        scored.rule_probability,
        scored.references,
    )
    metrics["split"] = strategy
    metrics["unjudged_leads"] = int(
        first["lead_id"].nunique() - judged["lead_id"].nunique()
    )
    metrics["origins"] = [p.info for p in parts]
    metrics["intervals"] = intervals(scored, config)
    segments = segment_comparison(scored, config)
    if segments:
        metrics["segment_models"] = segments
    if scored.rules is None and rules is not None:
        metrics["rules_note"] = "rules not applicable to these features"
    rows = scored_rows(
        scored.rows,
        scored.probability,
        scored.rules,
        scored.rule_probability,
        scored.references,
    )
    return metrics, rows


def evaluation_periods(
    rows: pd.DataFrame, strategy: str, config: PredscoreConfig
) -> list[EvaluationPeriod]:
    """The leads :func:`evaluate_model` scores, by retraining period.

    Time: the newest ``split.test`` share of the leads old enough to judge
    (``evaluation.mature_quantile``), cut by creation into ``evaluation.origins``
    periods, each scored by the procedure replayed at its start. Random: that share
    drawn with the seed, scored by the procedure fitted on every other lead.

    Raises
    ------
    ModelError
        When the share holds no lead.
    """
    judged = _judged(rows, strategy, config)
    held = holdout_leads(judged, config.model.split.test, strategy, config.seed)
    if not len(held):
        raise ModelError("the test period holds no lead: nothing to evaluate")
    return _blocks(judged, held, strategy, config.model.evaluation.origins)


def _judged(rows: pd.DataFrame, strategy: str, config: PredscoreConfig) -> pd.DataFrame:
    """The rows of the leads old enough to judge (:func:`judged_rows`)."""
    if strategy != "time":
        return rows
    mask = judged_rows(
        rows, config.model.evaluation.mature_quantile, config.features.horizon_days
    )
    return rows if mask.all() else rows.loc[mask]


def _blocks(
    rows: pd.DataFrame, held: np.ndarray, strategy: str, origins: int
) -> list[EvaluationPeriod]:
    """The held-out leads cut by creation into ``origins`` periods (time), or one
    block trained on every other lead (random)."""
    if strategy != "time":
        return [EvaluationPeriod(1, None, held)]
    leads = lead_table(rows)
    leads = leads.loc[leads["lead_id"].isin(held)].reset_index(drop=True)
    bounds = np.linspace(0, len(leads), min(origins, len(leads)) + 1).astype(int)
    return [
        EvaluationPeriod(
            k + 1,
            leads["created_at"].iloc[bounds[k]],
            leads["lead_id"].to_numpy()[bounds[k] : bounds[k + 1]],
        )
        for k in range(len(bounds) - 1)
        if bounds[k + 1] > bounds[k]
    ]


def evaluation_cutoff(
    tables: object, bundle: ModelBundle, cutoff: pd.Timestamp | None
) -> pd.Timestamp | None:
    """The label cutoff to evaluate ``bundle`` at (models with a label horizon only).

    Default: the cutoff recorded at training (``metadata["label_cutoff"]``), else the
    newest event. An earlier cutoff than the training one is refused: the model's
    procedure would be replayed on labels it could not see.
    """
    if bundle.features.horizon_days is None:
        return cutoff
    recorded = bundle.metadata.get("label_cutoff")
    trained = None if recorded is None else pd.Timestamp(recorded)
    if cutoff is None:
        return trained if trained is not None else newest_event(tables)
    cutoff = pd.Timestamp(cutoff)
    if cutoff.tzinfo is None:
        cutoff = cutoff.tz_localize("UTC")
    if trained is not None and cutoff < trained:
        raise DataValidationError(
            f"cutoff {cutoff.isoformat()} is before the one this model's labels were "
            f"read at ({trained.isoformat()}): evaluate at that cutoff or later"
        )
    return cutoff


@dataclass(frozen=True)
class BacktestResult:
    """Per-fold metrics (one row per fold and scorer), their mean, the pooled
    paired intervals, the folds skipped and, with segment models, their pooled
    comparison with the global model per segment (:func:`segment_comparison`)."""

    folds: pd.DataFrame
    mean: pd.DataFrame
    skipped: list[str]
    intervals: list[dict[str, Any]]
    segments: list[dict[str, Any]] = field(default_factory=list)


def backtest(
    tables: object,
    config: PredscoreConfig,
    folds: int,
    rules: RulesConfig | None = None,
    progress: Progress | None = None,
    cutoff: pd.Timestamp | None = None,
    references: Sequence[str] | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation over ``folds`` periods (see the module docstring).

    A fold whose known history is below ``model.history`` is skipped and listed
    with its reason. With ``features.horizon_days``, a fold learns from the rows
    whose label was known at its origin and tests on every row of its leads known
    at ``cutoff``.
    """
    say = progress or (lambda _line: None)
    names = list(
        config.model.evaluation.references if references is None else references
    )
    candidates, strategy = _candidate_rows(tables, config, cutoff)
    first = candidates[0][1]
    horizon, kept = config.features.horizon_days, config.features.horizon_rows
    rows, skipped, parts = [], [], []
    for fold in rolling_folds(_judged(first, "time", config), folds, horizon, kept):
        say(f"fold {fold.number}/{folds}: origin {fold.origin:%Y-%m-%d}")
        block = EvaluationPeriod(fold.number, fold.origin, fold.test_leads)
        try:
            scored = _score_block(block, candidates, "time", config, rules, names, say)
        except ModelError as exc:
            skipped.append(f"fold {fold.number}: {exc}")
            continue
        parts.append(scored)
        doc = side_by_side(
            scored.rows,
            scored.probability,
            scored.rules,
            scored.rule_probability,
            scored.references,
        )
        for scorer in ("model", "rules", *names, GLOBAL):
            if scorer in doc:
                rows.append(
                    {
                        "fold": fold.number,
                        "origin": fold.origin,
                        "end": fold.end,
                        "train_leads": scored.info["train_leads"],
                        "test_leads": scored.info["test_leads"],
                        "selected": scored.info["selected"],
                        "scorer": scorer,
                        **{k: doc[scorer][k] for k in _KEYS},
                    }
                )
    table = pd.DataFrame(rows)
    mean = (
        table.groupby("scorer", sort=False)[list(_KEYS)].agg(["mean", "std"])
        if len(table)
        else pd.DataFrame()
    )
    if len(mean):
        mean.columns = [f"{k}_{stat}" for k, stat in mean.columns]
        mean = mean.replace({np.nan: None}).reset_index()
    joined = _join(parts) if parts else None
    pooled = intervals(joined, config) if joined is not None else []
    segments = segment_comparison(joined, config) if joined is not None else []
    del strategy
    return BacktestResult(table, mean, skipped, pooled, segments)
