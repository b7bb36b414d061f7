"""Model choice by time-series cross-validation by lead.

Stage: model (pure: snapshots in, a choice out). Every choice ``train`` makes is
made here, on the same folds:

1. **Folds** (:func:`cv_folds`): the labelled leads ordered by creation; the oldest
   ``cv.min_train_share`` only train; the rest is cut into ``cv.folds`` blocks, fold
   k validates on block k and trains on the rows known when it began
   (:func:`predscore.model.split.rows_known_at`). Newer folds weigh more. When no
   period's known rows hold both classes (labels known late, wins rare early on),
   blocked time folds: the same blocks, trained on every row of the older leads
   (their labels as known today: the order of time is kept, the delay of the
   labels is not). Where time is unusable, stratified folds by lead. On a large
   history, a fold trains on a random sample of its leads, up to ``cv.max_train_rows``
   rows.
2. **Candidates**: LightGBM at each complexity of ``trees`` (its number of trees read
   off the same folds), the linear model at each ``linear.C``; the best of each
   family again at each other recency half-life of ``recency_half_life_days`` (the
   trees grown up to their unweighted count); then the best trees blended with the
   best linear model in log-odds at ``blend_weights``.
3. **Score**: per fold, the log loss of the candidate's log-odds once mapped by a
   sigmoid fitted on that fold (the ranking and its shape, not the level: a close
   rate that moved between folds is the calibration's job), weighted over folds.
4. **Calibration** cross-fitted on the chosen candidate's out-of-fold log-odds,
   method and recency half-life chosen forward in time
   (:func:`predscore.model.calibrate.choose_calibration`).

The registered model is then refitted on every labelled row with this choice
(:meth:`predscore.model.LeadModel.fit`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from predscore.config import ModelConfig
from predscore.errors import ModelError
from predscore.model.calibrate import Calibrator, choose_calibration, platt_fit
from predscore.model.estimator import ModelSpec, lead_codes, row_weights
from predscore.model.linear import fit_linear, linear_design
from predscore.model.matrix import category_levels, feature_columns, feature_matrix
from predscore.model.split import lead_table, training_rows_at
from predscore.model.trees import tree_dataset, tree_params

__all__ = ["CvFold", "Selection", "cv_folds", "fold_score", "select_model"]

Progress = Callable[[str], None]

#: numbers of trees at which every tree candidate is scored
_STEPS = (10, 20, 30, 50, 75, 100, 150, 200, 300, 400, 500, 650, 800, 1000, 1500, 2000)
#: checkpoints without improvement before a fold stops growing trees: two while
#: the first checkpoints (noisy, close together) are passed, one from
#: :data:`_STEADY_TREES` trees on (the steps are far apart there: the fold's next
#: checkpoint would be half as many trees again)
_PATIENCE_EARLY = 2
_PATIENCE = 1
_STEADY_TREES = 75


@dataclass(frozen=True)
class CvFold:
    """One fold: row masks over the labelled rows, its origin and weight."""

    number: int
    origin: pd.Timestamp | None
    train: np.ndarray
    valid: np.ndarray
    weight: float


def cv_folds(
    rows: pd.DataFrame,
    config: ModelConfig,
    strategy: str,
    seed: int,
    horizon_days: float | None = None,
    horizon_rows: str = "complete",
) -> list[CvFold]:
    """The cross-validation folds over ``rows`` (labelled snapshots), oldest first.

    With ``strategy`` ``time``: ``cv.folds`` expanding-window folds; when none holds
    both classes on both sides, fewer and longer ones; when no number of periods
    does, stratified K-fold by lead (as for ``random``), whose folds have no origin.
    A fold training on more than ``cv.max_train_rows`` rows trains on leads drawn
    with ``seed``, every row of each, up to that many rows. A fold whose training or
    validation rows lack a class is left out.

    Raises
    ------
    ModelError
        When no fold has both classes on both sides.
    """
    cv = config.cv
    labels = rows["label"].to_numpy()

    capped = _train_sample(rows, cv.max_train_rows, seed)

    def usable(folds: list[CvFold], min_wins: int = 1) -> list[CvFold]:
        return [
            f
            for f in map(capped, folds)
            if len(np.unique(labels[f.train])) == 2
            and len(np.unique(labels[f.valid])) == 2
            and won_leads(f.train) >= min_wins
        ]

    def won_leads(mask: np.ndarray) -> int:
        return int(rows.loc[mask & (labels == 1), "lead_id"].nunique())

    tried = 0
    if strategy == "time":
        # fewer, longer periods when the older ones hold a single class (a market
        # whose wins are rare early on); then the same periods trained on the older
        # leads' labels as known today (the order of time kept, the delay of the
        # labels not), before giving up on time: a shuffled fold on drifting data
        # favours the candidate that learnt the past best, not the one that holds
        for known_only in (True, False):
            for n_folds in range(cv.folds, 1, -1):
                folds = usable(
                    _time_folds(
                        rows, config, n_folds, horizon_days, horizon_rows, known_only
                    ),
                    cv.min_train_wins,
                )
                tried = max(tried, n_folds)
                if folds:
                    return folds
    # stratified K-fold by lead: where time is unusable (no date, or no period
    # before the newest one holds both classes)
    folds = usable(_random_folds(rows, cv.folds, seed))
    if not folds:
        raise ModelError(
            f"no cross-validation fold holds won and lost leads on both sides "
            f"({max(tried, cv.folds)} folds over {rows['lead_id'].nunique()} leads, "
            f"{int(labels.sum())} won): wait for more history"
        )
    return folds


def _train_sample(
    rows: pd.DataFrame, max_rows: int | None, seed: int
) -> Callable[[CvFold], CvFold]:
    """What keeps a fold's training rows to at most ``max_rows``: its training leads
    taken in one random order of every lead (seed), every row of each, while their
    rows fit (at least the first lead); a fold with fewer rows is kept whole."""
    if max_rows is None:
        return lambda fold: fold
    codes = lead_codes(rows)
    # each lead's place in the random order, at each of its rows
    rank = np.random.default_rng(seed).permutation(int(codes.max(initial=-1)) + 1)[
        codes
    ]

    def cap(fold: CvFold) -> CvFold:
        if int(fold.train.sum()) <= max_rows:
            return fold
        # one per training lead, in order, with its number of rows
        ranks, counts = np.unique(rank[fold.train], return_counts=True)
        fits = int(np.searchsorted(np.cumsum(counts), max_rows, side="right"))
        kept = fold.train & (rank <= ranks[max(fits, 1) - 1])
        return CvFold(fold.number, fold.origin, kept, fold.valid, fold.weight)

    return cap


def _time_folds(
    rows: pd.DataFrame,
    config: ModelConfig,
    n_folds: int,
    horizon_days: float | None,
    horizon_rows: str,
    known_only: bool = True,
) -> list[CvFold]:
    """Expanding-window folds: validation periods of consecutive leads in creation
    order, training on the older leads' rows known at each period's start (with
    ``known_only``; otherwise on every row of the older leads)."""
    cv = config.cv
    leads = lead_table(rows)
    m = len(leads)
    bounds = np.linspace(int(cv.min_train_share * m), m, n_folds + 1).astype(int)
    # each row's lead as its position in creation order
    order = pd.Series(np.arange(m), index=leads["lead_id"].to_numpy())
    position = order.reindex(rows["lead_id"].to_numpy()).to_numpy()
    folds = []
    for k in range(n_folds):
        if bounds[k + 1] <= bounds[k]:
            continue
        origin = leads["created_at"].iloc[bounds[k]]
        older = position < bounds[k]
        # what train would have learnt from on that day: the fold's model is
        # trained as the refit is (the leads too recent to judge left out), so the
        # calibration fitted on its out-of-fold scores fits the refit's scores
        train = (
            older
            & training_rows_at(rows, origin, config.split, horizon_days, horizon_rows)
            if known_only
            else older
        )
        valid = (position >= bounds[k]) & (position < bounds[k + 1])
        weight = float(k + 1) if cv.fold_weights == "linear" else 1.0
        folds.append(CvFold(k + 1, origin, train, valid, weight))
    return folds


def _random_folds(rows: pd.DataFrame, n_folds: int, seed: int) -> list[CvFold]:
    """Stratified K-fold by lead (every row of a lead on one side)."""
    y, groups = rows["label"].to_numpy(), lead_codes(rows)
    n_splits = min(n_folds, len(np.unique(groups)), int(y.sum()), int((1 - y).sum()))
    if n_splits < 2:
        return []
    splits = StratifiedGroupKFold(
        n_splits=n_splits, shuffle=True, random_state=seed
    ).split(rows, y, groups)
    folds = []
    for k, (fit, held) in enumerate(splits):
        train = np.zeros(len(rows), dtype=bool)
        valid = np.zeros(len(rows), dtype=bool)
        train[fit], valid[held] = True, True
        folds.append(CvFold(k + 1, None, train, valid, 1.0))
    return folds


def fold_score(raw: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    """Log loss of ``raw`` once mapped by a sigmoid fitted on these rows: the
    quality of the ranking and its shape, whatever the fold's close rate."""
    z = np.clip(np.asarray(raw, dtype=float), -30, 30)
    y = np.asarray(labels, dtype=float)
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    a, b = platt_fit(z, y, w)
    margin = a * z + b
    # log(1 + e^m) - y m, computed stably
    return float(np.sum(w * (np.logaddexp(0.0, margin) - y * margin)))


@dataclass
class _Oof:
    """A candidate's out-of-fold log-odds and its weighted score."""

    spec: ModelSpec
    raw: dict[int, np.ndarray]  # fold number → log-odds of its validation rows
    score: float
    fold_auc: dict[int, float]


@dataclass
class Selection:
    """The choice of :func:`select_model` and how it was made."""

    spec: ModelSpec
    calibrator: Calibrator
    candidates: pd.DataFrame
    folds: pd.DataFrame
    oof: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)


class _Checkpoints:
    """LightGBM callback: scores the validation rows at each step of the tree
    count and stops after ``_PATIENCE_EARLY`` steps without improvement, or
    ``_PATIENCE`` from ``_STEADY_TREES`` trees on."""

    def __init__(
        self,
        valid: np.ndarray,
        labels: np.ndarray,
        weights: np.ndarray,
        steps: list[int],
    ) -> None:
        self.valid, self.labels, self.weights = valid, labels, weights
        self.steps = set(steps)
        self.done, self.total = 0, np.zeros(len(valid))
        self.best, self.since = np.inf, 0
        self.curve: dict[int, float] = {}
        self.raws: dict[int, np.ndarray] = {}

    def __call__(self, env: lgb.callback.CallbackEnv) -> None:
        grown = env.iteration + 1
        if grown not in self.steps:
            return
        self.total = self.total + env.model.predict(
            self.valid,
            raw_score=True,
            start_iteration=self.done,
            num_iteration=grown - self.done,
        )
        self.done = grown
        self.raws[grown] = self.total
        self.curve[grown] = fold_score(self.total, self.labels, self.weights)
        if self.curve[grown] < self.best - 1e-6:
            self.best, self.since = self.curve[grown], 0
            return
        self.since += 1
        if self.since >= (_PATIENCE if grown >= _STEADY_TREES else _PATIENCE_EARLY):
            raise lgb.callback.EarlyStopException(grown, [])


class _Cv:
    """The folds' matrices, labels and weights, shared by every candidate."""

    def __init__(
        self,
        rows: pd.DataFrame,
        folds: list[CvFold],
        config: ModelConfig,
        seed: int,
    ) -> None:
        self.rows, self.folds, self.config, self.seed = rows, folds, config, seed
        self.features = feature_columns(rows, config.exclude_features)
        self.categories = category_levels(rows, self.features)
        self.categorical = [
            i for i, c in enumerate(self.features) if c in self.categories
        ]
        self.matrix = feature_matrix(rows, self.features, self.categories)
        self.labels = rows["label"].to_numpy()
        self.leads = lead_codes(rows)
        # what the weights read: a fold's rows picked without their features
        self.keys = rows[["lead_id", "as_of"]]
        self.valid_weights = {
            f.number: row_weights(self.keys.loc[f.valid], config.lead_weight)
            for f in folds
        }
        # fold number → (recency half-life of its weights, binned training rows)
        self._datasets: dict[int, tuple[float | None, lgb.Dataset]] = {}
        # fold number → the last linear fit's solution (the next one starts there)
        self._linear_starts: dict[int, np.ndarray | None] = {}

    def release(self) -> None:
        """Free the binned training sets (a few hundred MB each at 1M rows)."""
        self._datasets.clear()

    def map(self, work: Callable[[CvFold], Any]) -> list[Any]:
        """``work`` on every fold, one after the other (LightGBM boosters trained
        in parallel threads of one process crashed here: a process per fold would
        copy the matrix; one core is left to the rest of the machine)."""
        return [work(fold) for fold in self.folds]

    def train_weights(self, fold: CvFold, half_life: float | None) -> np.ndarray:
        return row_weights(
            self.keys.loc[fold.train], self.config.lead_weight, half_life
        )

    def dataset(self, fold: CvFold, half_life: float | None) -> lgb.Dataset:
        """The fold's training rows binned once; another recency weighting swaps
        the weights in place (the bins depend on the values only)."""
        held = self._datasets.get(fold.number)
        if held is None:
            data = tree_dataset(
                self.matrix[fold.train],
                self.labels[fold.train],
                self.train_weights(fold, half_life),
                self.features,
                self.categorical,
                self.config.lightgbm,
            ).construct()
        else:
            weighting, data = held
            if weighting != half_life:
                # set as a field: `set_weight` skips weights that are all 1 on a
                # binned dataset, which would keep the previous weighting's
                weights = self.train_weights(fold, half_life).astype(np.float32)
                data.set_field("weight", weights)
        self._datasets[fold.number] = (half_life, data)
        return data

    def weighted(self, per_fold: dict[int, float]) -> float:
        total = sum(f.weight for f in self.folds if f.number in per_fold)
        return sum(f.weight * per_fold[f.number] for f in self.folds) / total

    def auc(self, fold: CvFold, raw: np.ndarray) -> float:
        return float(roc_auc_score(self.labels[fold.valid], raw))

    # -- the families ------------------------------------------------------------
    def trees(
        self,
        name: str,
        params: dict[str, Any],
        half_life: float | None,
        max_trees: int,
    ) -> _Oof:
        """Grow trees on each fold, scored at every step; keep the best count."""
        steps = [s for s in _STEPS if s < max_trees] + [max_trees]
        curves: dict[int, dict[int, float]] = {}
        staged: dict[int, dict[int, np.ndarray]] = {}
        lgb_params = tree_params(params, self.seed, self.config.threads)

        def grow(fold: CvFold) -> _Checkpoints:
            watch = _Checkpoints(
                self.matrix[fold.valid],
                self.labels[fold.valid],
                self.valid_weights[fold.number],
                steps,
            )
            lgb.train(
                lgb_params,
                self.dataset(fold, half_life),
                num_boost_round=max_trees,
                callbacks=[watch],
            )
            return watch

        for fold, watch in zip(self.folds, self.map(grow), strict=True):
            curves[fold.number], staged[fold.number] = watch.curve, watch.raws

        # a fold that stopped early keeps its last score for the longer counts
        def at(number: int, step: int) -> int:
            reached = [s for s in curves[number] if s <= step]
            return max(reached) if reached else min(curves[number])

        scores = {
            step: self.weighted({n: curves[n][at(n, step)] for n in curves})
            for step in steps
        }
        best = min(steps, key=lambda s: (scores[s], s))
        raw = {n: staged[n][at(n, best)] for n in staged}
        spec = ModelSpec(
            name=name,
            recency_half_life_days=half_life,
            tree_params=params,
            tree_count=best,
        )
        return self._oof(spec, raw)

    def linear(self, Cs: Sequence[float], half_life: float | None) -> list[_Oof]:
        """The linear model at each ``C`` on each fold: a fold's rows are encoded
        once, and each fit starts from the fold's previous solution."""
        settings = self.config.linear
        options = {
            "min_level_leads": settings.min_level_leads,
            "clip_quantile": settings.clip_quantile,
            "max_iter": settings.max_iter,
        }

        def fit(fold: CvFold) -> list[np.ndarray]:
            matrix, leads = self.matrix[fold.train], self.leads[fold.train]
            labels, valid = self.labels[fold.train], self.matrix[fold.valid]
            categorical = set(self.categorical)
            design = linear_design(
                matrix,
                leads,
                categorical,
                settings.min_level_leads,
                settings.clip_quantile,
            )
            weights = self.train_weights(fold, half_life)
            raws = []
            for C in Cs:
                component = fit_linear(
                    matrix,
                    labels,
                    weights,
                    leads,
                    categorical,
                    C,
                    max_iter=settings.max_iter,
                    start=self._linear_starts.get(fold.number),
                    explained=False,  # a fold's model only scores its validation rows
                    design=design,  # (its encoding settings are the design's)
                )
                self._linear_starts[fold.number] = component.solution
                raws.append(component.raw(valid))
            return raws

        per_fold = dict(zip((f.number for f in self.folds), self.map(fit), strict=True))
        return [
            self._oof(
                ModelSpec(
                    name=f"linear_C{C:g}",
                    recency_half_life_days=half_life,
                    linear_C=C,
                    linear=options,
                ),
                {number: raws[k] for number, raws in per_fold.items()},
            )
            for k, C in enumerate(Cs)
        ]

    def blend(self, trees: _Oof, linear: _Oof, weight: float) -> _Oof:
        if trees.spec.recency_half_life_days != linear.spec.recency_half_life_days:
            raise ModelError("a blend's parts must share their recency weighting")
        raw = {
            n: weight * trees.raw[n] + (1 - weight) * linear.raw[n] for n in trees.raw
        }
        spec = ModelSpec(
            name=f"blend_{weight:g}",
            recency_half_life_days=trees.spec.recency_half_life_days,  # both parts'
            tree_params=trees.spec.tree_params,
            tree_count=trees.spec.tree_count,
            linear_C=linear.spec.linear_C,
            blend=weight,
            linear=linear.spec.linear,
        )
        return self._oof(spec, raw)

    def _oof(self, spec: ModelSpec, raw: dict[int, np.ndarray]) -> _Oof:
        per_fold = {
            f.number: fold_score(
                raw[f.number], self.labels[f.valid], self.valid_weights[f.number]
            )
            for f in self.folds
        }
        aucs = {f.number: self.auc(f, raw[f.number]) for f in self.folds}
        return _Oof(spec, raw, self.weighted(per_fold), aucs)


def _at(
    results: list[tuple[_Oof, str]], family: str, name: str, half_life: float | None
) -> _Oof | None:
    """The result of candidate ``name`` cross-validated with that weighting."""
    for oof, f in results:
        if (
            f == family
            and oof.spec.name == name
            and oof.spec.recency_half_life_days == half_life
        ):
            return oof
    return None


def _best(results: list[tuple[_Oof, str]], family: str) -> _Oof | None:
    scored = [oof for oof, f in results if f == family]
    return min(scored, key=lambda oof: oof.score) if scored else None


def _row(oof: _Oof, family: str) -> dict[str, Any]:
    spec = oof.spec
    return {
        "candidate": spec.name,
        "family": family,
        "recency_half_life_days": spec.recency_half_life_days,
        "trees": spec.tree_count or None,
        "C": spec.linear_C,
        "blend": spec.blend if family == "blend" else None,
        "cv_score": oof.score,
        "cv_roc_auc": float(np.mean(list(oof.fold_auc.values()))),
        **{f"roc_auc_fold{n}": v for n, v in oof.fold_auc.items()},
    }


def engagement_score(
    rows: pd.DataFrame,
    folds: list[CvFold],
    config: ModelConfig,
    seed: int,
) -> float:
    """Cross-validated score of one engagement candidate's snapshots: the tree
    candidate ``feature_grid.trees`` (default the first) grown at
    ``feature_grid.learning_rate`` (lower is better)."""
    grid = config.feature_grid
    candidate = next((t for t in config.trees if t.name == grid.trees), config.trees[0])
    params = {
        **config.lightgbm,
        **candidate.params,
        "learning_rate": grid.learning_rate,
    }
    cv = _Cv(rows, folds, config, seed)
    return cv.trees(
        candidate.name, params, config.recency_half_life_days[0], config.max_trees
    ).score


def select_model(
    rows: pd.DataFrame,
    folds: list[CvFold],
    config: ModelConfig,
    seed: int,
    forward: bool = True,
    progress: Progress | None = None,
) -> Selection:
    """Score every candidate on ``folds``; choose; cross-fit the calibration.

    Parameters
    ----------
    rows : DataFrame
        Labelled snapshots (``lead_id``, ``as_of``, ``label``, features).
    folds : list of CvFold
        From :func:`cv_folds` over the same rows.
    config : ModelConfig
        Candidates, weights, calibration.
    seed : int
        LightGBM seed.
    forward : bool
        Folds are time-ordered (calibration chosen forward in time).
    progress : callable, optional
        Receives a short line per candidate family.

    Returns
    -------
    Selection
    """
    say = progress or (lambda _line: None)
    cv = _Cv(rows, folds, config, seed)
    results: list[tuple[_Oof, str]] = []
    first, *others = config.recency_half_life_days
    for candidate in config.trees:
        say(f"cross-validating {candidate.name}")
        params = {**config.lightgbm, **candidate.params}
        results.append(
            (cv.trees(candidate.name, params, first, config.max_trees), "lightgbm")
        )
    if config.linear.enabled:
        say(f"cross-validating linear C={', '.join(f'{C:g}' for C in config.linear.C)}")
        results += [(oof, "linear") for oof in cv.linear(config.linear.C, first)]
    best_trees = _best(results, "lightgbm")
    best_linear = _best(results, "linear")
    # the recency weighting, tried on the best of each family only
    for half_life in others:
        say(f"cross-validating recency half-life {half_life:g} d")
        if best_trees is not None:
            spec = best_trees.spec
            # grown up to the unweighted count: rows weighted down by age leave
            # fewer effective rows, which call for no more trees
            cap = spec.tree_count or config.max_trees
            results.append(
                (
                    cv.trees(spec.name, spec.tree_params or {}, half_life, cap),
                    "lightgbm",
                )
            )
        if best_linear is not None:
            (oof,) = cv.linear([best_linear.spec.linear_C or 1.0], half_life)
            results.append((oof, "linear"))
    cv.release()  # the binned folds are not needed again
    # blends of the two at each weighting: the refit weights both parts the same way,
    # so a blend is only made of parts cross-validated with the same weighting
    if best_trees is not None and best_linear is not None:
        for half_life in config.recency_half_life_days:
            trees = _at(results, "lightgbm", best_trees.spec.name, half_life)
            linear = _at(results, "linear", best_linear.spec.name, half_life)
            if trees is None or linear is None:
                continue
            for weight in config.blend_weights:
                results.append((cv.blend(trees, linear, weight), "blend"))
    chosen = min(results, key=lambda r: r[0].score)[0]
    say(f"chosen: {chosen.spec.name}; cross-fitting the calibration")
    valid_rows = np.concatenate([np.flatnonzero(f.valid) for f in folds])
    fold_of = np.concatenate([np.full(f.valid.sum(), f.number) for f in folds])
    raw = np.concatenate([chosen.raw[f.number] for f in folds])
    picked = rows.iloc[valid_rows]
    calibrator = choose_calibration(
        raw,
        picked["label"].to_numpy(),
        row_weights(picked, config.calibration.row_weight),
        picked["lead_id"].to_numpy(),
        fold_of,
        picked["as_of"].to_numpy(dtype="datetime64[ns]"),
        config.calibration,
        forward=forward,
        fold_weights=np.array([f.weight for f in folds]),
    )
    table = pd.DataFrame([_row(oof, family) for oof, family in results])
    table = table.sort_values("cv_score", kind="stable").reset_index(drop=True)
    fold_table = pd.DataFrame(
        [
            {
                "fold": f.number,
                "origin": f.origin,
                "weight": f.weight,
                "train_leads": int(rows.loc[f.train, "lead_id"].nunique()),
                "valid_leads": int(rows.loc[f.valid, "lead_id"].nunique()),
                "valid_close_rate": float(rows.loc[f.valid, "label"].mean()),
            }
            for f in folds
        ]
    )
    oof = pd.DataFrame(
        {
            "row": valid_rows,
            "lead_id": picked["lead_id"].to_numpy(),
            "as_of": picked["as_of"].to_numpy(),
            "label": picked["label"].to_numpy(),
            "fold": fold_of,
            "raw": raw,
        }
    )
    return Selection(chosen.spec, calibrator, table, fold_table, oof)


def candidate_names(config: ModelConfig) -> Sequence[str]:
    """Names of the candidates :func:`select_model` scores (for reports)."""
    names = [t.name for t in config.trees]
    if config.linear.enabled:
        names += [f"linear_C{C:g}" for C in config.linear.C]
    return names
