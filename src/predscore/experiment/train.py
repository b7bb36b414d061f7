"""Training workflow: snapshots → time-series cross-validation → refit on everything.

Stage: experiment. Input: validated canonical tables and the configuration; output a
:class:`TrainingResult` (the bundle, how each choice was made, and the model and the
rules side by side on the out-of-fold predictions). Writing files and MLflow is the
caller's (:mod:`predscore.model.tracking`, the CLI).

The procedure (:func:`fit_procedure`), also replayed at past origins by
:func:`predscore.experiment.evaluate_model` and :func:`~predscore.experiment.backtest`:

1. snapshots of every engagement candidate (windows × half-life of
   ``model.feature_grid``), labelled as known at the cutoff;
2. expanding-window folds by lead (:func:`predscore.model.cv_folds`); the engagement
   candidate with the best cross-validated score is kept;
3. on it, every model candidate is cross-validated, the best chosen and its
   calibration cross-fitted (:func:`predscore.model.select_model`);
4. the choice is refitted on every labelled row;
5. with ``model.segments.column``, steps 2 to 4 again on the rows of each segment
   with enough history, with the chosen engagement settings
   (:func:`predscore.model.fit_segment_models`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from predscore.config import (
    FeaturesConfig,
    HistoryConfig,
    ModelConfig,
    PredscoreConfig,
    RulesConfig,
)
from predscore.errors import ConfigError, InsufficientHistoryError, ModelError
from predscore.experiment.compare import scored_rows, side_by_side
from predscore.experiment.profile import open_profile, training_profile
from predscore.features import build_snapshots, feature_specs, newest_event
from predscore.model import (
    Calibrator,
    LeadModel,
    ModelBundle,
    SegmentModels,
    Selection,
    choose_calibration,
    compact_rows,
    cv_folds,
    engagement_score,
    feature_columns,
    fit_segment_models,
    labelled_rows,
    lead_table,
    row_weights,
    select_model,
)
from predscore.rules import score_rules

__all__ = [
    "FittedProcedure",
    "TrainingResult",
    "check_history",
    "feature_candidates",
    "family_bins",
    "fit_procedure",
    "labelled_snapshots",
    "rule_probability_map",
    "train_model",
    "training_warnings",
]

Progress = Callable[[str], None]
#: the newest fold's ROC AUC at or below which ``train`` warns (barely above chance)
_CHANCE_AUC = 0.55


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
    candidates: pd.DataFrame = field(default_factory=pd.DataFrame)
    timings: dict[str, float] = field(default_factory=dict)


def check_history(snapshots: pd.DataFrame, config: HistoryConfig) -> dict[str, int]:
    """Labelled leads and wins available; raise when below the configured minimum.

    A lead counts when it has a labelled row: closed, or (horizon labels) still open
    with a row whose window has passed; a win is a lead with a row labelled 1.

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
    still_open = int(leads["closed_at"].isna().sum())
    labelled, wins = len(leads), int(leads["won"].sum())
    if labelled < config.min_closed_leads or wins < config.min_wins:
        found = (
            f"{labelled} leads with known labels ({still_open} still open, labelled "
            "by `features.horizon_days`)"
            if still_open
            else f"{labelled} closed leads"
        )
        raise InsufficientHistoryError(
            f"not enough history to train: {found} and {wins} wins, need at least "
            f"{config.min_closed_leads} and {config.min_wins} (configs/model.yaml "
            "`history`); predscore keeps scoring with the rules alone until more "
            "leads have closed"
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


@dataclass
class FittedProcedure:
    """The outcome of :func:`fit_procedure`."""

    model: LeadModel
    features: FeaturesConfig
    rows: pd.DataFrame
    selection: Selection
    grid: pd.DataFrame
    segments: SegmentModels | None = None
    segment_report: list[dict[str, Any]] = field(default_factory=list)

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        """Closing probability of feature rows, each by its segment's model when it
        has one, else by the global model."""
        if self.segments is None:
            return self.model.predict_proba(rows)
        out = np.zeros(len(rows))
        models = {None: self.model, **self.segments.models}
        for segment, at in self.segments.groups(rows):
            out[at] = models[segment].predict_proba(rows.iloc[at])
        return out


def _same_keys(a: pd.DataFrame, b: pd.DataFrame) -> None:
    if len(a) != len(b) or not (
        np.array_equal(a["lead_id"].to_numpy(), b["lead_id"].to_numpy())
        and a["as_of"].array.equals(b["as_of"].array)  # no Timestamp objects
    ):
        raise ModelError(
            "engagement candidates gave different snapshot rows; they must differ "
            "in their features only"
        )


def fit_procedure(
    candidates: Iterable[tuple[FeaturesConfig, pd.DataFrame]],
    count: int,
    config: PredscoreConfig,
    strategy: str,
    progress: Progress | None = None,
    newest: pd.Timestamp | None = None,
) -> FittedProcedure:
    """Choose by cross-validation, then refit on every row given.

    Parameters
    ----------
    candidates : iterable of (FeaturesConfig, DataFrame)
        Each engagement candidate with its labelled rows (the same rows, other
        features); consumed lazily, so that only the best candidate's rows and the
        current one's are held at once.
    count : int
        Number of candidates; with one, no engagement grid is scored.
    config : PredscoreConfig
        ``model`` (folds, candidates, calibration), ``features``, ``seed``.
    strategy : str
        ``time`` (expanding-window folds) or ``random`` (stratified by lead).
    progress : callable, optional
        Receives a short line at each step.
    newest : Timestamp, optional
        The time the recency weights count back from (default: the newest row).
    """
    # BLAS threads beyond `model.threads` (the linear model's solver, the many small
    # sigmoid fits) spin on a busy 2-core machine and slow training several times
    with threadpool_limits(limits=config.model.threads):
        return _fit_procedure(candidates, count, config, strategy, progress, newest)


def _fit_procedure(
    candidates: Iterable[tuple[FeaturesConfig, pd.DataFrame]],
    count: int,
    config: PredscoreConfig,
    strategy: str,
    progress: Progress | None,
    newest: pd.Timestamp | None,
) -> FittedProcedure:
    say = progress or (lambda _line: None)
    model_config, seed = config.model, config.seed
    horizon = config.features.horizon_days
    kept = config.features.horizon_rows
    iterator = iter(candidates)
    best_features, best_rows = next(iterator)
    model_config = family_bins(best_rows, config)
    folds = cv_folds(best_rows, model_config, strategy, seed, horizon, kept)
    grid_rows = []
    if count > 1:
        # the grid compares engagement settings: a sample of leads tells them apart
        sample = _grid_sample(best_rows, model_config.feature_grid.max_leads, seed)
        grid_folds = (
            folds
            if sample is None
            else cv_folds(
                best_rows.loc[sample].reset_index(drop=True),
                model_config,
                strategy,
                seed,
                horizon,
                kept,
            )
        )
        best_score = np.inf
        pending: Iterator[tuple[FeaturesConfig, pd.DataFrame]] = _chain(
            (best_features, best_rows), iterator
        )
        for i, (candidate, rows) in enumerate(pending, 1):
            _same_keys(rows, best_rows)
            say(
                f"engagement grid {i}/{count}: half-life "
                f"{candidate.half_life_days:g} d, windows {candidate.windows_days}"
            )
            if i > 1 and _same_features(rows, best_rows):
                # the same features (nothing these settings act on, e.g. a history
                # without activities): nothing to tell apart, the first of equals
                # is kept
                score = best_score
            else:
                scored = (
                    rows if sample is None else rows.loc[sample].reset_index(drop=True)
                )
                score = engagement_score(scored, grid_folds, model_config, seed)
                del scored
            grid_rows.append(
                {
                    "half_life_days": candidate.half_life_days,
                    "windows_days": list(candidate.windows_days),
                    "cv_score": score,
                }
            )
            if score < best_score:
                best_score, best_features, best_rows = score, candidate, rows
            del rows  # a losing candidate's snapshots go before the next is built
    # forward in time only when the folds are periods (cv_folds falls back to
    # stratified folds by lead when no period holds both classes)
    forward = all(f.origin is not None for f in folds)
    selection = select_model(
        best_rows, folds, model_config, seed, forward=forward, progress=say
    )
    say(f"refitting {selection.spec.name} on {len(best_rows):,} labelled rows")
    model = LeadModel(
        spec=selection.spec,
        lead_weight=model_config.lead_weight,
        exclude=list(model_config.exclude_features),
        threads=model_config.threads,
        seed=seed,
    ).fit(
        best_rows,
        selection.calibrator,
        newest,
        relevel=model_config.calibration.level == "refit",
    )
    fitted = FittedProcedure(
        model, best_features, best_rows, selection, pd.DataFrame(grid_rows)
    )
    column = model_config.segments.column
    if column is not None:
        segments, fitted.segment_report = fit_segment_models(
            best_rows,
            column,
            model_config,
            strategy,
            seed,
            selection,
            newest,
            horizon,
            kept,
            say,
        )
        fitted.segments = segments if segments.models else None
    return fitted


def family_bins(rows: pd.DataFrame, config: PredscoreConfig) -> ModelConfig:
    """``config.model`` with the numbers of each family of ``max_bin_by_family``
    binned at its count (``lightgbm.max_bin_by_name``). A feature column the
    registry does not declare is an extra lead attribute of the data set: fit."""
    by_family = config.model.max_bin_by_family
    if not by_family:
        return config.model
    declared = {s.name: s.family for s in feature_specs(config.features, config.icp)}
    by_name = {
        column: by_family[family]
        for column in feature_columns(rows, config.model.exclude_features)
        if not isinstance(rows[column].dtype, pd.CategoricalDtype)
        and (family := declared.get(column, "fit")) in by_family
    }
    if not by_name:
        return config.model
    lightgbm = {**config.model.lightgbm, "max_bin_by_name": by_name}
    return config.model.model_copy(update={"lightgbm": lightgbm})


def _same_features(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Equal frames, compared column by column (it stops at the first difference
    and holds one column's comparison at a time, not a block's)."""
    return list(a.columns) == list(b.columns) and all(
        a[c].equals(b[c]) for c in a.columns
    )


def _grid_sample(
    rows: pd.DataFrame, max_leads: int | None, seed: int
) -> np.ndarray | None:
    """Mask of the rows of ``max_leads`` leads drawn with ``seed`` (every row of
    each); None when there are not more leads than that."""
    leads = rows["lead_id"].unique()
    if max_leads is None or len(leads) <= max_leads:
        return None
    drawn = np.random.default_rng(seed).choice(leads, size=max_leads, replace=False)
    return rows["lead_id"].isin(drawn).to_numpy()


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def rule_probability_map(
    rows: pd.DataFrame, selection: Selection, rules: RulesConfig, config: ModelConfig
) -> Calibrator:
    """The rules' points mapped to a probability as the model's log-odds are: the
    same out-of-fold rows, the same forward choice of method and recency.

    Raises
    ------
    ConfigError
        When the rules read a feature these rows lack.
    """
    picked = rows.iloc[selection.oof["row"].to_numpy()]
    points = score_rules(picked, rules, reasons=False)["rule_points"].to_numpy(
        dtype=float
    )
    fold_numbers = selection.folds["fold"].to_numpy()
    return choose_calibration(
        points,
        picked["label"].to_numpy(),
        row_weights(picked, config.calibration.row_weight),
        picked["lead_id"].to_numpy(),
        selection.oof["fold"].to_numpy(),
        picked["as_of"].to_numpy(dtype="datetime64[ns]"),
        config.calibration,
        forward=selection.folds["origin"].notna().all(),
        fold_weights=selection.folds.set_index("fold")
        .loc[fold_numbers, "weight"]
        .to_numpy(),
    )


def labelled_snapshots(
    tables: object,
    candidate: FeaturesConfig,
    config: PredscoreConfig,
    cutoff: pd.Timestamp | None,
) -> tuple[pd.DataFrame, str, int]:
    """The labelled training rows of one engagement candidate at the cutoff, the
    split strategy (``time`` or ``random``) and the leads too recent to judge
    (:func:`predscore.model.labelled_rows`)."""
    snapshots = build_snapshots(
        tables, candidate, config.icp, cutoff, engine=config.engine
    )
    rows, strategy, immature = labelled_rows(
        snapshots, config.model.split, candidate.horizon_days
    )
    del snapshots
    return compact_rows(rows), strategy, immature


def _candidate_rows(
    tables: object,
    candidates: list[FeaturesConfig],
    first: pd.DataFrame,
    config: PredscoreConfig,
    cutoff: pd.Timestamp | None,
) -> Iterator[tuple[FeaturesConfig, pd.DataFrame]]:
    """The first candidate's rows (built already), then each other's, built lazily."""
    yield candidates[0], first
    del first
    for candidate in candidates[1:]:
        yield candidate, labelled_snapshots(tables, candidate, config, cutoff)[0]


def train_model(
    tables: object,
    config: PredscoreConfig,
    rules: RulesConfig | None = None,
    progress: Progress | None = None,
    cutoff: pd.Timestamp | None = None,
) -> TrainingResult:
    """Train the calibrated closing-probability model on every labelled lead.

    Parameters
    ----------
    tables : path or mapping of DataFrame
        Validated canonical tables (as :func:`predscore.features.build_snapshots`).
    config : PredscoreConfig
        ``model`` (folds, candidates, calibration, grid), ``features``, ``icp``,
        ``seed``.
    rules : RulesConfig, optional
        The rule baseline to compare with on the same out-of-fold rows.
    progress : callable, optional
        Receives a short line at each step.
    cutoff : Timestamp, optional
        The time the tables describe (their validation ``as_of``): with
        ``features.horizon_days``, the labels known then are the training rows
        (:func:`predscore.features.build_snapshots`; default: the newest event).

    Returns
    -------
    TrainingResult
        ``metrics`` compares model and rules on the out-of-fold rows of the
        cross-validation (the choices were made on them: for honest figures, see
        :func:`predscore.experiment.evaluate_model`).

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
    candidates = feature_candidates(config.features, config.model)
    first, strategy, immature = labelled_snapshots(
        tables, candidates[0], config, cutoff
    )
    check_history(first, config.model.history)
    rows_of_each = _candidate_rows(tables, candidates, first, config, cutoff)
    del first
    fitted = fit_procedure(rows_of_each, len(candidates), config, strategy, say)
    timings["total_s"] = time.perf_counter() - start
    model, selection, rows = fitted.model, fitted.selection, fitted.rows
    oof_rows = rows.iloc[selection.oof["row"].to_numpy()].reset_index(drop=True)
    # the out-of-fold map (the model's own is re-levelled on the refit's rows)
    probability = selection.calibrator.transform(selection.oof["raw"].to_numpy())
    rule_out = rule_prob = None
    rules_note = "no rules configured" if rules is None else None
    if rules is not None:
        try:
            mapping = rule_probability_map(rows, selection, rules, config.model)
            rule_out = score_rules(oof_rows, rules, reasons=False)
            rule_prob = mapping.transform(rule_out["rule_points"].to_numpy(float))
        except ConfigError as exc:
            rules_note = f"rules not applicable: {exc}"
    metrics = side_by_side(oof_rows, probability, rule_out, rule_prob)
    metrics["view"] = (
        "cross-validation: out-of-fold rows (the choices, the calibration and the "
        "rules' probability map were fitted on them: optimistic; `predscore "
        "evaluate` gives the honest out-of-time figures)"
    )
    if rules_note:
        metrics["rules_note"] = rules_note
    spec = selection.spec
    metrics["calibration"] = {
        "method": model.calibrator_.method,
        "recency_half_life_days": model.calibrator_.recency_half_life_days,
        "cv_brier": model.calibrator_.cv_brier,
        "level": config.model.calibration.level,
        "level_shift": float(model.calibrator_.params.get("shift", 0.0)),
    }
    metrics["selected"] = {
        "candidate": spec.name,
        "family": model.family,
        "half_life_days": fitted.features.half_life_days,
        "windows_days": list(fitted.features.windows_days),
        "trees": spec.tree_count or None,
        "linear_C": spec.linear_C,
        "blend": spec.blend if model.family == "blend" else None,
        "recency_half_life_days": spec.recency_half_life_days,
    }
    metrics["folds"] = selection.folds.to_dict(orient="records")
    if fitted.segment_report:
        metrics["segment_models"] = fitted.segment_report
    leads = lead_table(rows)
    parts = {
        "labelled": {
            "rows": len(rows),
            "leads": len(leads),
            "wins": int(leads["won"].sum()),
        },
        "immature": {"leads": immature},
    }
    bundle = ModelBundle(
        model=model,
        features=fitted.features,
        icp=config.icp,
        split=config.model.split,
        seed=config.seed,
        metadata={
            "parts": parts,
            "strategy": strategy,
            "selected": metrics["selected"],
            # the procedure that made this model, replayed by `evaluate`
            "procedure": {
                "model": config.model.model_dump(mode="json", exclude={"tracking"}),
                "features": config.features.model_dump(mode="json"),
            },
            # with a label horizon, the cutoff its labels were read at: evaluating
            # at an earlier one would move the test period onto trained leads
            "label_cutoff": None
            if fitted.features.horizon_days is None or cutoff is None
            else pd.Timestamp(cutoff).isoformat(),
            # which segments have a model of their own, and why the others do not
            "segments": fitted.segment_report,
        },
        segments=fitted.segments,
    )
    say("profiling the training rows (the reference of `predscore monitor`)")
    # what `predscore monitor` compares today's open leads with
    reference = training_profile(rows, bundle, config, rules)
    reference["open"] = open_profile(
        tables,
        cutoff if cutoff is not None else newest_event(tables),
        bundle,
        fitted.features,
        config.icp,
        config,
    )
    bundle.metadata["reference"] = reference
    metrics["warnings"] = training_warnings(selection)
    return TrainingResult(
        bundle=bundle,
        metrics=metrics,
        grid=fitted.grid,
        parts=parts,
        strategy=strategy,
        test=scored_rows(oof_rows, probability, rule_out, rule_prob),
        importance=model.feature_importance(),
        # the signature's example as feature rows come (float64), not as compacted
        example=_as_built(rows.loc[:, ["lead_id", *model.features_]].head(5)),
        candidates=selection.candidates,
        timings=timings,
    )


def _as_built(frame: pd.DataFrame) -> pd.DataFrame:
    narrow = [c for c in frame.columns if frame[c].dtype == np.dtype("float32")]
    return frame.astype(dict.fromkeys(narrow, "float64")) if narrow else frame


def training_warnings(selection: Selection) -> list[str]:
    """What the data team should look at before promoting this model.

    Today: the chosen model barely ranks better than chance on the newest fold (the
    leads most like today's): the market or the data may have drifted.
    """
    row = selection.candidates.iloc[0]
    folds = sorted(
        (k for k in row.index if k.startswith("roc_auc_fold")),
        key=lambda k: int(k.removeprefix("roc_auc_fold")),
    )
    newest = row[folds[-1]] if folds else None
    if newest is not None and not pd.isna(newest) and newest <= _CHANCE_AUC:
        return [
            f"the chosen model's ROC AUC on the newest cross-validation fold is "
            f"{newest:.3f}, barely above chance: the newest leads may have drifted "
            "from the older ones; check `predscore evaluate` before promoting"
        ]
    return []
