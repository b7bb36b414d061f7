"""Training workflow: snapshots → time split → windows chosen → trees → calibration.

Stage: experiment. Input: validated canonical tables and the configuration; output a
:class:`TrainingResult` (the bundle, the engagement grid it chose, and the model and
rules side by side on the held-out newest leads). Writing files and MLflow is the
caller's (:mod:`predscore.model.tracking`, the CLI).

Why a grid on engagement windows and half-life: every commercial tool hand-sets the
decay of old engagement; here each candidate's snapshots are built, trees are grown on
the training period and the candidate with the lowest validation log loss wins.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from predscore.config import (
    FeaturesConfig,
    HistoryConfig,
    ModelConfig,
    PredscoreConfig,
    RulesConfig,
)
from predscore.errors import ConfigError, InsufficientHistoryError
from predscore.experiment.compare import scored_rows, side_by_side
from predscore.features import build_snapshots, newest_event
from predscore.model import LeadModel, ModelBundle, fit_calibrator, row_weights
from predscore.model.split import IMMATURE, lead_table, split_leads
from predscore.rules import score_rules

__all__ = [
    "GridChoice",
    "TrainingResult",
    "check_history",
    "choose_candidate",
    "feature_candidates",
    "fit_lead_model",
    "score_rule_baseline",
    "split_parts",
    "train_model",
    "training_warnings",
]

Progress = Callable[[str], None]


@dataclass
class TrainingResult:
    """What one training produced (see :func:`train_model`)."""

    bundle: ModelBundle
    metrics: dict[str, Any]
    grid: pd.DataFrame
    parts: dict[str, dict[str, int]]
    strategy: str
    test: pd.DataFrame
    importance: pd.Series
    example: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def check_history(
    snapshots: pd.DataFrame, config: HistoryConfig, assignment: pd.Series | None = None
) -> dict[str, int]:
    """Labelled leads and wins available; raise when below the configured minimum.

    A lead counts when it has a labelled row: closed, or (horizon labels) still open
    with a row whose window has passed; a win is a lead with a row labelled 1. With
    ``assignment`` (the parts of :func:`split_leads`), the leads too recent to judge
    (part ``immature``) do not count: no period uses them.

    Returns
    -------
    dict
        ``closed_leads`` and ``open_leads`` (their sum is held against
        ``min_closed_leads``) and ``wins``.

    Raises
    ------
    InsufficientHistoryError
        With the counts found and needed, and what predscore does instead.
    """
    leads = lead_table(snapshots)
    recent = 0
    if assignment is not None:
        immature = leads["lead_id"].map(assignment).eq(IMMATURE).to_numpy()
        recent, leads = int(immature.sum()), leads.loc[~immature]
    still_open = int(leads["closed_at"].isna().sum())
    labelled, wins = len(leads), int(leads["won"].sum())
    if labelled < config.min_closed_leads or wins < config.min_wins:
        found = (
            f"{labelled} leads with known labels ({still_open} still open, labelled "
            "by `features.horizon_days`)"
            if still_open
            else f"{labelled} closed leads"
        )
        aside = (
            f" ({recent} more closed leads are too recent to judge: "
            "`split.mature_quantile`)"
            if recent
            else ""
        )
        raise InsufficientHistoryError(
            f"not enough history to train: {found} and {wins} wins"
            f"{aside}, need at least {config.min_closed_leads} and "
            f"{config.min_wins} (configs/model.yaml `history`); predscore keeps "
            "scoring with the rules alone until more leads have closed"
        )
    return {
        "closed_leads": labelled - still_open,
        "open_leads": still_open,
        "wins": wins,
    }


def feature_candidates(
    features: FeaturesConfig, model: ModelConfig
) -> list[FeaturesConfig]:
    """The engagement configurations of the grid, in a fixed order."""
    grid = model.feature_grid
    return [
        features.model_copy(update={"half_life_days": h, "windows_days": sorted(w)})
        for w, h in product(grid.windows_days, grid.half_life_days)
    ]


def _lead_model(
    config: ModelConfig, seed: int, params: dict | None = None
) -> LeadModel:
    return LeadModel.from_config(config, seed, params)


def split_parts(
    snapshots: pd.DataFrame, assignment: pd.Series
) -> dict[str, pd.DataFrame]:
    """Snapshots of each part (``train``, ``valid``, ``calibration``, ``test``)."""
    part = snapshots["lead_id"].map(assignment)
    return {
        name: snapshots.loc[part.eq(name).to_numpy()].reset_index(drop=True)
        for name in ("train", "valid", "calibration", "test")
    }


def _search(
    parts: Mapping[str, pd.DataFrame], config: ModelConfig, seed: int
) -> tuple[dict[str, Any], int]:
    """Optuna search of tree parameters on the validation period (log loss)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: optuna.Trial) -> float:
        params = {
            **config.lightgbm,
            "num_leaves": trial.suggest_int("num_leaves", 4, 64, log=True),
            "min_child_samples": trial.suggest_int(
                "min_child_samples", 10, 300, log=True
            ),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.4, 1.0),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 30.0, log=True),
        }
        model = _lead_model(config, seed, params).fit_trees(
            parts["train"], parts["valid"]
        )
        return model.valid_logloss_

    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed)
    )
    study.optimize(
        objective,
        n_trials=config.search.trials,
        timeout=config.search.timeout_seconds,
    )
    return {**config.lightgbm, **study.best_params}, len(study.trials)


def score_rule_baseline(
    parts: Mapping[str, pd.DataFrame], rules: RulesConfig | None, config: ModelConfig
) -> tuple[pd.DataFrame | None, np.ndarray | None, str | None]:
    """Rules on the test period, their points mapped to probability on calibration.

    Returns the rules' output on the test rows, the mapped probability, and a reason
    when the rules do not apply to this data set (a feature they read is absent).
    """
    if rules is None:
        return None, None, "no rules configured"
    try:
        calib = score_rules(parts["calibration"], rules)
        test = score_rules(parts["test"], rules)
    except ConfigError as exc:
        return None, None, f"rules not applicable: {exc}"
    cal = parts["calibration"]
    mapping = fit_calibrator(
        calib["rule_points"].to_numpy(dtype=float),
        cal["label"].to_numpy(),
        row_weights(cal, config.calibration.row_weight),
        cal["lead_id"].to_numpy(),
        config.calibration,
    )
    return test, mapping.transform(test["rule_points"].to_numpy(dtype=float)), None


def fit_lead_model(
    parts: Mapping[str, pd.DataFrame],
    config: ModelConfig,
    seed: int,
    params: dict[str, Any] | None = None,
) -> LeadModel:
    """Trees on train, early stopping on valid, calibration on calibration."""
    return _lead_model(config, seed, params).fit(
        parts["train"], parts["valid"], parts["calibration"]
    )


@dataclass
class GridChoice:
    """The engagement candidate chosen on validation (see :func:`choose_candidate`).

    ``model`` holds the chosen candidate's trees when the grid grew them with the
    model's own parameters (``feature_grid.learning_rate`` null): :meth:`LeadModel.
    complete_fit` then finishes it instead of growing the same trees again.
    """

    features: FeaturesConfig
    parts: dict[str, pd.DataFrame]
    grid: pd.DataFrame
    model: LeadModel | None = None


def _grid_params(config: ModelConfig) -> dict[str, Any] | None:
    """Tree parameters that compare the candidates; None: the model's own."""
    rate = config.feature_grid.learning_rate
    if rate is None or rate == config.lightgbm.get("learning_rate"):
        return None
    return {**config.lightgbm, "learning_rate": rate}


def choose_candidate(
    candidates: Iterable[tuple[FeaturesConfig, dict[str, pd.DataFrame]]],
    config: ModelConfig,
    seed: int,
    count: int,
    progress: Progress | None = None,
) -> GridChoice:
    """Grow trees on each candidate's training period; keep the lowest validation
    log loss (the first one on a tie).

    Parameters
    ----------
    candidates : iterable of (FeaturesConfig, parts)
        Each engagement candidate with its snapshots split into ``train``, ``valid``,
        ``calibration`` (and optionally ``test``); consumed lazily, so that only the
        best candidate's snapshots and the current one's are held at once.
    config : ModelConfig
        Tree parameters; ``feature_grid.learning_rate`` for the comparison.
    seed : int
        LightGBM seed.
    count : int
        Number of candidates; with one, nothing is fitted.
    progress : callable, optional
        Receives a short line per candidate.
    """
    say = progress or (lambda _line: None)
    params = _grid_params(config)
    rows: list[dict[str, Any]] = []
    best: GridChoice | None = None
    best_loss = np.inf
    for i, (candidate, parts) in enumerate(candidates, 1):
        if count == 1:
            return GridChoice(candidate, parts, pd.DataFrame())
        say(
            f"engagement grid {i}/{count}: half-life "
            f"{candidate.half_life_days:g} d, windows {candidate.windows_days}"
        )
        model = _lead_model(config, seed, params).fit_trees(
            parts["train"], parts["valid"]
        )
        rows.append(
            {
                "half_life_days": candidate.half_life_days,
                "windows_days": list(candidate.windows_days),
                "valid_logloss": model.valid_logloss_,
                "best_iteration": model.best_iteration_,
            }
        )
        if best is None or model.valid_logloss_ < best_loss:
            kept = model if params is None else None
            best = GridChoice(candidate, parts, pd.DataFrame(), kept)
            best_loss = model.valid_logloss_
        del parts, model  # a losing candidate's snapshots go before the next is built
    if best is None:
        raise ConfigError("model.feature_grid: no engagement candidate to try")
    best.grid = pd.DataFrame(rows)
    return best


def _grid(
    tables: object,
    config: PredscoreConfig,
    progress: Progress,
    cutoff: pd.Timestamp | None = None,
) -> tuple[GridChoice, str, int]:
    """Build each candidate's snapshots, split them; choose on validation.

    Returns the choice, the split strategy and the number of leads left out as too
    recent to judge (``split.mature_quantile``; none with a label horizon).
    """
    candidates = feature_candidates(config.features, config.model)
    split: dict[str, Any] = {}

    def parts_of_each() -> Iterator[tuple[FeaturesConfig, dict[str, pd.DataFrame]]]:
        for candidate in candidates:
            snapshots = build_snapshots(tables, candidate, config.icp, cutoff)
            if not split:
                split["assignment"], split["strategy"] = split_leads(
                    snapshots,
                    config.model.split,
                    config.seed,
                    horizon_days=candidate.horizon_days,
                )
                check_history(snapshots, config.model.history, split["assignment"])
            parts = split_parts(snapshots, split["assignment"])
            del snapshots  # the parts are copies: free the whole before the next
            yield candidate, parts
            del parts  # only the caller's best candidate keeps its parts

    choice = choose_candidate(
        parts_of_each(), config.model, config.seed, len(candidates), progress
    )
    immature = int((split["assignment"] == IMMATURE).sum())
    return choice, split["strategy"], immature


def train_model(
    tables: object,
    config: PredscoreConfig,
    rules: RulesConfig | None = None,
    progress: Progress | None = None,
    cutoff: pd.Timestamp | None = None,
) -> TrainingResult:
    """Train the calibrated closing-probability model and evaluate it against rules.

    Parameters
    ----------
    tables : path or mapping of DataFrame
        Validated canonical tables (as :func:`predscore.features.build_snapshots`).
    config : PredscoreConfig
        ``model`` (split, trees, calibration, grid, search), ``features``, ``icp``,
        ``seed``.
    rules : RulesConfig, optional
        The rule baseline to compare with on the same test leads.
    progress : callable, optional
        Receives a short line at each step.
    cutoff : Timestamp, optional
        The time the tables describe (their validation ``as_of``): with
        ``features.horizon_days``, the labels known then are the training rows
        (:func:`predscore.features.build_snapshots`; default: the newest event).

    Returns
    -------
    TrainingResult

    Raises
    ------
    InsufficientHistoryError
        Too few closed leads or wins (``model.history``).
    """
    say = progress or (lambda _line: None)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if config.features.horizon_days is not None and cutoff is None:
        cutoff = newest_event(tables)  # resolved once: the bundle records it
    choice, strategy, immature = _grid(tables, config, say, cutoff)
    chosen, parts, grid = choice.features, choice.parts, choice.grid
    timings["snapshots_and_grid_s"] = time.perf_counter() - start
    params, trials = dict(config.model.lightgbm), 0
    if config.model.search.trials:
        say(f"searching tree parameters ({config.model.search.trials} trials)")
        t = time.perf_counter()
        params, trials = _search(parts, config.model, config.seed)
        timings["search_s"] = time.perf_counter() - t
    say("fitting the final model and its calibration")
    t = time.perf_counter()
    if choice.model is not None and not trials:  # the grid grew these very trees
        model = choice.model.complete_fit(
            parts["train"], parts["valid"], parts["calibration"]
        )
    else:
        model = fit_lead_model(parts, config.model, config.seed, params)
    timings["fit_s"] = time.perf_counter() - t
    test = parts["test"]
    probability = model.predict_proba(test)
    rule_out, rule_prob, rules_note = score_rule_baseline(parts, rules, config.model)
    metrics = side_by_side(test, probability, rule_out, rule_prob)
    if rules_note:
        metrics["rules_note"] = rules_note
    metrics["calibration"] = {
        "method": model.calibrator_.method,
        "cv_brier": model.calibrator_.cv_brier,
    }
    metrics["selected"] = {
        "half_life_days": chosen.half_life_days,
        "windows_days": list(chosen.windows_days),
        "best_iteration": model.best_iteration_,
        "search_trials": trials,
    }
    counts = {
        name: {
            "rows": len(frame),
            "leads": int(frame["lead_id"].nunique()),
            "wins": int(lead_table(frame)["won"].sum()) if len(frame) else 0,
        }
        for name, frame in parts.items()
    }
    counts[IMMATURE] = {"leads": immature}
    scored = scored_rows(test, probability, rule_out, rule_prob)
    bundle = ModelBundle(
        model=model,
        features=chosen,
        icp=config.icp,
        split=config.model.split,
        seed=config.seed,
        metadata={
            "parts": counts,
            "strategy": strategy,
            "params": params,
            # with a label horizon, the cutoff its labels were read at: evaluating
            # at an earlier one would move the test period onto trained leads
            "label_cutoff": None
            if chosen.horizon_days is None or cutoff is None
            else pd.Timestamp(cutoff).isoformat(),
        },
    )
    metrics["warnings"] = training_warnings(metrics, config.model)
    timings["total_s"] = time.perf_counter() - start
    return TrainingResult(
        bundle=bundle,
        metrics=metrics,
        grid=grid,
        parts=counts,
        strategy=strategy,
        test=scored,
        importance=model.feature_importance(),
        example=test.loc[:, ["lead_id", *model.features_]].head(5),
        timings=timings,
    )


def training_warnings(metrics: dict[str, Any], config: ModelConfig) -> list[str]:
    """What the data team should look at before promoting this model.

    Today: early stopping kept fewer than ``config.warn_below_trees`` trees, i.e. the
    validation period (newer leads) scarcely agrees with what the trees learnt on the
    older ones; the ranking then comes mostly from a few splits and the calibration.
    """
    out = []
    trees = metrics.get("selected", {}).get("best_iteration")
    if trees is not None and trees < config.warn_below_trees:
        out.append(
            f"early stopping kept {trees} tree{'s' if trees != 1 else ''} (below "
            f"model.warn_below_trees = {config.warn_below_trees}): the validation "
            "period barely rewards what the trees learnt on older leads — the market "
            "or the data may have drifted; check `predscore backtest` before promoting"
        )
    return out
