"""Model section (``configs/model.yaml``): history, splits, candidates, time-series
cross-validation, calibration, tracking."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from predscore.config._base import _Section
from predscore.config.explain import Family

#: LightGBM parameters of the binned data, not of a booster: the folds' binned data
#: is shared by every tree candidate, so they are set in ``lightgbm`` only.
#: ``max_bin_by_name`` (feature name → bins) is predscore's: set from
#: ``max_bin_by_family``, it becomes LightGBM's positional ``max_bin_by_feature``
LIGHTGBM_DATASET_PARAMS = frozenset(
    {"max_bin", "min_data_in_bin", "bin_construct_sample_cnt", "max_bin_by_name"}
)

__all__ = [
    "LIGHTGBM_DATASET_PARAMS",
    "CalibrationConfig",
    "CrossValidationConfig",
    "EvaluationConfig",
    "FeatureGridConfig",
    "HistoryConfig",
    "LinearConfig",
    "ModelConfig",
    "SegmentsConfig",
    "SplitConfig",
    "TrackingConfig",
    "TreeCandidate",
]


class SplitConfig(_Section):
    """How labelled leads are ordered and held out, by lead.

    Leads are ordered by creation (the first snapshot of each lead). ``evaluate``
    holds out the newest ``test`` share; ``train`` learns from every labelled lead.
    With ``strategy: random`` (or ``auto`` on a data set whose leads share a handful
    of creation dates) time is unusable: the test share is drawn at random with the
    seed, stratified by outcome, and cross-validation folds are stratified by lead.
    """

    strategy: Literal["auto", "time", "random"] = "auto"
    test: float = Field(
        0.2,
        gt=0,
        lt=1,
        description="share of the newest labelled leads `evaluate` holds out",
    )
    min_distinct_days: int = Field(
        30,
        ge=2,
        description="auto: below this many distinct creation days, split at random",
    )
    mature_quantile: float | None = Field(
        None,
        gt=0,
        le=1,
        description="time split: leads created less than this quantile of the sales "
        "cycle (creation to close, over the closed leads) before the newest close "
        "are left out: of those, only the fast closers have closed yet (mostly "
        "losses), a sample that would bias the folds and the test; null: keep "
        "them. Not applied with features.horizon_days: every row is then labelled "
        "only once its label is known (the leads still open included)",
    )


class HistoryConfig(_Section):
    """Below these counts of closed leads and wins, train refuses; rules score alone.

    With ``features.horizon_days``, the leads still open with a labelled row (their
    window passed) count with the closed ones against ``min_closed_leads``; a win is
    a lead with a row labelled 1 (won within the horizon).
    """

    min_closed_leads: int = Field(200, ge=1)
    min_wins: int = Field(40, ge=1)


class SegmentsConfig(_Section):
    """Segment models: a model of its own for each value of a segment column (a
    region, a team, a product line) whose history is large enough; the leads of the
    other values, and those with no value, are scored by the global model.

    A segment model is chosen by the same cross-validation as the global model, on
    the segment's rows only, with the global model's engagement settings (one
    feature build scores every lead). It is tried only when the segment's labelled
    leads and wins reach ``min_closed_leads`` and ``min_wins`` (below, a segment
    model learns the noise of a few leads), and kept only when its out-of-fold
    predictions beat the global model's on the same leads (Brier score): the
    global model learns from every segment, and often ranks a segment's leads as
    well.
    """

    column: str | None = Field(
        None,
        description="feature column whose values are the segments (e.g. region, "
        "or a lead column of the mapping such as regional_office); null: one model",
    )
    min_closed_leads: int = Field(
        400, ge=1, description="labelled leads a segment needs for a model of its own"
    )
    min_wins: int = Field(
        80, ge=1, description="won leads a segment needs for a model of its own"
    )
    keep: Literal["better", "above_minimums"] = Field(
        "better",
        description="better: a segment model is kept only when it beats the global "
        "model out of fold beyond the noise; above_minimums: whenever the segment "
        "reaches the minimums (one model per region or team, whatever it adds)",
    )


class CrossValidationConfig(_Section):
    """Expanding-window time-series cross-validation by lead (every choice of train).

    The labelled leads are ordered by creation; the oldest ``min_train_share`` only
    ever train. The rest is cut into ``folds`` consecutive blocks: fold k validates
    on block k and trains on the older leads' rows whose label was known when block
    k began. Newer folds weigh more (``fold_weights``): they resemble today. Where
    time is unusable (split strategy random), ``folds`` stratified folds by lead.
    Beyond ``max_train_rows`` training rows, a fold trains on a sample of its leads.
    """

    folds: int = Field(4, ge=2)
    min_train_share: float = Field(0.4, gt=0, lt=1)
    fold_weights: Literal["linear", "equal"] = Field(
        "linear", description="linear: fold k weighs k (the newest the most)"
    )
    min_train_wins: int = Field(
        20,
        ge=1,
        description="a period whose training rows hold fewer won leads cannot tell "
        "the candidates apart (a market whose wins are rare early on): it is left "
        "out (when none is left, fewer and longer periods are tried)",
    )
    max_train_rows: int | None = Field(
        400_000,
        ge=1000,
        description="a fold with more training rows trains on a random sample of its "
        "leads (seed), every row of each, up to this many rows: the choices are made "
        "as well on a large sample, in a fraction of the time (a fold's cost is its "
        "rows); None: on every lead. The refit always learns from every labelled lead",
    )


class TreeCandidate(_Section):
    """One LightGBM complexity: parameters over ``lightgbm``."""

    name: str
    params: dict[str, Any] = {}


class LinearConfig(_Section):
    """The regularised logistic regression candidate.

    Numbers: missing values imputed with the median plus a missing indicator,
    clipped to the ``clip_quantile`` range seen in training, standardised.
    Categories: one-hot over the levels held by at least ``min_level_leads`` leads
    (the rest, and unseen levels, share one "other" column), missing as a level.
    """

    enabled: bool = True
    C: list[float] = Field([0.05, 0.5], min_length=1)
    min_level_leads: int = Field(20, ge=1)
    clip_quantile: float = Field(0.001, ge=0, lt=0.5)
    max_iter: int = Field(2000, ge=10)


class CalibrationConfig(_Section):
    """Calibration cross-fitted on the out-of-fold predictions.

    Every ``methods`` × ``recency_half_life_days`` pair is scored by Brier score,
    fitted on the earlier folds' out-of-fold predictions and tested on the next
    fold (forward in time; other folds where time is unusable); the best is
    refitted on every out-of-fold prediction. A recency half-life weighs the newer
    leads more, so that the level follows a close rate that moved. Isotonic
    overfits small samples: it is a candidate only from ``isotonic_min_leads``
    leads (a lead's snapshots share its outcome: rows would overstate the sample).
    With ``level: refit`` the chosen map is shifted once the model is refitted, so
    that its mean probability over the refit's rows equals their close rate.
    """

    methods: list[Literal["isotonic", "sigmoid"]] = Field(
        ["isotonic", "sigmoid"], min_length=1
    )
    recency_half_life_days: list[float | None] = Field(
        [None, 90.0, 365.0], min_length=1
    )
    isotonic_min_leads: int = Field(1000, ge=10)
    row_weight: Literal["per_snapshot", "per_lead"] = Field(
        "per_snapshot",
        description="per_snapshot: every snapshot weighs 1, as every open lead does "
        "in a scoring run (a lead with a long cycle is open, and scored, more often); "
        "per_lead: every lead weighs 1 in total",
    )
    level: Literal["refit", "folds"] = Field(
        "refit",
        description="refit: the map's shape (slope, steps) comes from the out-of-fold "
        "predictions and its level is set again on the refitted model's own rows, "
        "recency-weighted as chosen (the fold models learnt from fewer, older rows and "
        "score lower or higher than the refit); folds: the out-of-fold map as it is",
    )

    @model_validator(mode="after")
    def _positive(self) -> CalibrationConfig:
        if any(h is not None and h <= 0 for h in self.recency_half_life_days):
            raise ValueError("recency_half_life_days must be > 0 (or null: no decay)")
        return self


class FeatureGridConfig(_Section):
    """Engagement windows and half-life chosen by cross-validation.

    Every combination is built and scored by the same folds with one tree candidate
    (``trees``) grown at ``learning_rate``; the best is kept. One value each turns
    the grid off.
    """

    half_life_days: list[float] = Field([7.0, 30.0, 90.0], min_length=1)
    windows_days: list[list[int]] = Field([[7, 30, 90]], min_length=1)
    trees: str | None = Field(
        None,
        description="name of the `trees` candidate comparing them; None, or a name "
        "the `trees` list lacks (an overlay that narrows it): the first",
    )
    learning_rate: float = Field(
        0.2, gt=0, le=1, description="learning rate of the trees comparing them"
    )
    max_leads: int | None = Field(
        20_000,
        ge=100,
        description="with more labelled leads, the grid is scored on this many drawn "
        "at random (seed), every row of each, on the same kind of folds; None: on "
        "every lead. The model itself is always chosen and fitted on every lead",
    )

    @model_validator(mode="after")
    def _positive(self) -> FeatureGridConfig:
        if any(h <= 0 for h in self.half_life_days):
            raise ValueError("half_life_days must all be > 0")
        if any(not w or min(w) < 1 for w in self.windows_days):
            raise ValueError("every windows_days entry needs windows of >= 1 day")
        return self


class EvaluationConfig(_Section):
    """Out-of-time evaluation (``evaluate``) and its intervals."""

    origins: int = Field(
        4,
        ge=1,
        description="the held-out newest leads are cut into this many periods; each "
        "is scored by a model trained (whole procedure) on what was known when it "
        "began, as a team retraining that often would",
    )
    references: list[Literal["lgbm_default", "logreg", "flaml"]] = Field(
        ["lgbm_default", "logreg"],
        description="notebook references fitted on the same rows at the same origins",
    )
    resamples: int = Field(1000, ge=100, description="paired bootstrap resamples")
    level: float = Field(0.95, gt=0.5, lt=1)
    mature_quantile: float | None = Field(
        0.9,
        gt=0,
        lt=1,
        description="without a label horizon, the leads created within this quantile "
        "of the sales cycle before the newest close are not judged: of them only the "
        "fast closers (mostly losses) have closed, so every model would read "
        "over-confident on them. null: every closed lead is judged",
    )


class TrackingConfig(_Section):
    """MLflow tracking and registry.

    With no ``MLFLOW_TRACKING_URI`` in the environment, runs go to a SQLite store
    and artifacts to a folder, both under the working directory: no server needed.
    """

    tracking_uri: str = "sqlite:///mlflow/mlflow.db"
    artifact_location: str = "mlflow/artifacts"
    experiment: str = "predscore"
    registered_model: str = "predscore"
    export_dir: str = Field(
        "models/champion", description="the champion exported for users without MLflow"
    )


_DEFAULT_TREES = [
    TreeCandidate(
        name="trees_small",
        params={"num_leaves": 4, "min_child_samples": 100, "learning_rate": 0.1},
    ),
    TreeCandidate(
        name="trees_medium", params={"num_leaves": 15, "min_child_samples": 50}
    ),
    TreeCandidate(
        name="trees_large", params={"num_leaves": 48, "min_child_samples": 20}
    ),
]


class ModelConfig(_Section):
    """Closing-probability model (``predscore train``): candidates chosen by
    time-series cross-validation, calibration cross-fitted, refit on every known
    outcome."""

    history: HistoryConfig = HistoryConfig()
    split: SplitConfig = SplitConfig()
    cv: CrossValidationConfig = CrossValidationConfig()
    lightgbm: dict[str, Any] = Field(
        {
            "objective": "binary",
            "learning_rate": 0.05,
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 1.0,
            "cat_smooth": 20,
            "min_data_per_group": 50,
            "max_bin": 511,
        },
        description="LightGBM parameters shared by every tree candidate (seed, "
        "threads and determinism are set by predscore from `seed` and `threads`)",
    )
    max_bin_by_family: dict[Family, int] = Field(
        {"fit": 1023, "qualification": 1023},
        description="bins of the numbers of a feature family, over `lightgbm.max_bin`: "
        "figures recorded in the CRM (deal amount, revenue, headcount, budget) carry "
        "meaning in their exact levels; engagement measures, derived from the activity "
        "log, are smooth in time and finer bins there only slow training",
    )
    trees: list[TreeCandidate] = Field(_DEFAULT_TREES, min_length=1)
    max_trees: int = Field(
        800, ge=1, description="trees grown per fold; the count kept is chosen by CV"
    )
    linear: LinearConfig = LinearConfig()
    blend_weights: list[float] = Field(
        [0.25, 0.5, 0.75],
        description="weights of the best trees in a blend with the best linear model "
        "(log-odds); kept only when cross-validation prefers it; []: no blend",
    )
    recency_half_life_days: list[float | None] = Field(
        [None, 180.0],
        min_length=1,
        description="candidate half-lives of the training rows' weights (older rows "
        "weigh less, for markets that drift); null: every period alike",
    )
    lead_weight: Literal["per_snapshot", "per_lead"] = Field(
        "per_lead",
        description="per_lead: each lead weighs 1 in total whatever its number of "
        "snapshots, so long sales cycles do not dominate",
    )
    exclude_features: list[str] = Field(
        [], description="feature columns never given to the model"
    )
    segments: SegmentsConfig = SegmentsConfig()
    calibration: CalibrationConfig = CalibrationConfig()
    feature_grid: FeatureGridConfig = FeatureGridConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    tracking: TrackingConfig = TrackingConfig()
    threads: int = Field(
        1,
        ge=1,
        description="LightGBM threads (fixed: same results); more than the free cores "
        "slows training many times over",
    )

    @model_validator(mode="after")
    def _checks(self) -> ModelConfig:
        reserved = {"seed", "num_threads", "deterministic", "verbose", "metric"}
        by_feature = {"max_bin_by_feature", "max_bin_by_name"}
        if any(bins < 2 for bins in self.max_bin_by_family.values()):
            raise ValueError("max_bin_by_family: a family needs at least 2 bins")
        for where, params in [("lightgbm", self.lightgbm)] + [
            (f"trees[{t.name}]", t.params) for t in self.trees
        ]:
            clash = sorted(reserved & set(params))
            if clash:
                raise ValueError(
                    f"{where}: {clash} are set by predscore (use `seed` and `threads`)"
                )
            clash = sorted(by_feature & set(params))
            if clash:
                raise ValueError(
                    f"{where}: {clash} are set by predscore (use `max_bin_by_family`)"
                )
        for t in self.trees:
            binning = sorted(LIGHTGBM_DATASET_PARAMS & set(t.params))
            if binning:
                raise ValueError(
                    f"trees[{t.name}]: {binning} bin the data every tree candidate "
                    "shares: set them in `lightgbm`"
                )
        names = [t.name for t in self.trees]
        if len(set(names)) != len(names):
            raise ValueError(f"trees: candidate names must be unique, got {names}")
        if any(not 0 < w < 1 for w in self.blend_weights):
            raise ValueError("blend_weights must lie strictly between 0 and 1")
        if any(h is not None and h <= 0 for h in self.recency_half_life_days):
            raise ValueError("recency_half_life_days must be > 0 (or null: no decay)")
        return self
