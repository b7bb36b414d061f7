"""Model section (``configs/model.yaml``): splits, LightGBM, calibration, tracking."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from predscore.config._base import _Section

__all__ = [
    "CalibrationConfig",
    "FeatureGridConfig",
    "HistoryConfig",
    "ModelConfig",
    "SearchConfig",
    "SplitConfig",
    "TrackingConfig",
]


class SplitConfig(_Section):
    """How closed leads are split, by lead and by time.

    Leads are ordered by creation (the first snapshot of each lead); the oldest
    ``train`` share fits the trees, the next ``valid`` share stops the boosting early and
    picks the engagement windows, the next ``calibration`` share fits the probability
    calibration, the newest ``test`` share is held out. Every snapshot of a lead goes
    where its lead goes. With ``mature_quantile``, the leads too recent for their
    outcome to be known (see the field) are left out before the time split. With ``strategy: random`` (or ``auto`` on a data set whose
    leads share a handful of creation dates) leads are shuffled with the seed and the
    shares are stratified by outcome.
    """

    strategy: Literal["auto", "time", "random"] = "auto"
    train: float = Field(0.55, gt=0, lt=1)
    valid: float = Field(0.15, gt=0, lt=1)
    calibration: float = Field(0.15, gt=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)
    min_distinct_days: int = Field(
        30,
        ge=2,
        description="auto: below this many distinct creation days, split at random",
    )
    mature_quantile: float | None = Field(
        0.9,
        gt=0,
        le=1,
        description="time split: leads created less than this quantile of the sales "
        "cycle (creation to close, over the closed leads) before the newest close "
        "are left out of every part: of those, only the fast closers have closed yet "
        "(mostly losses), a sample that would bias calibration and test; null: keep "
        "them. Not applied with features.horizon_days: every row is then labelled "
        "only once its label is known (the leads still open included)",
    )

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> SplitConfig:
        total = self.train + self.valid + self.calibration + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"train + valid + calibration + test must be 1, got {total:g}"
            )
        return self


class HistoryConfig(_Section):
    """Below these counts of closed leads and wins, train refuses; rules score alone.

    With ``features.horizon_days``, the leads still open with a labelled row (their
    window passed) count with the closed ones against ``min_closed_leads``; a win is
    a lead with a row labelled 1 (won within the horizon).
    """

    min_closed_leads: int = Field(200, ge=1)
    min_wins: int = Field(40, ge=1)


class CalibrationConfig(_Section):
    """Probability calibration fitted on the calibration period.

    Each candidate is scored by cross-validated Brier score inside the calibration
    period (folds by lead); the best one is refitted on the whole period. Isotonic is
    the more flexible map but overfits small samples: it is only a candidate when the
    period holds ``isotonic_min_leads`` leads or more (a lead's snapshots share its
    outcome: they are not independent observations, so rows would overstate the
    sample).
    """

    methods: list[Literal["isotonic", "sigmoid"]] = Field(
        ["isotonic", "sigmoid"], min_length=1
    )
    folds: int = Field(5, ge=2)
    isotonic_min_leads: int = Field(1000, ge=10)
    row_weight: Literal["per_snapshot", "per_lead"] = Field(
        "per_snapshot",
        description="per_snapshot: every snapshot weighs 1, as every open lead does "
        "in a scoring run (a lead with a long cycle is open, and scored, more often); "
        "per_lead: every lead weighs 1 in total",
    )


class FeatureGridConfig(_Section):
    """Engagement windows and half-life chosen on the validation period.

    Every combination is built, trees are grown on the training period and scored on
    the validation period (log loss); the best wins and is reported. One value each
    turns the search off. The candidates are compared on trees grown at
    ``learning_rate`` (fewer, larger steps: a fraction of the time), the chosen one is
    then fitted at the model's own rate.
    """

    half_life_days: list[float] = Field([7.0, 30.0, 90.0], min_length=1)
    windows_days: list[list[int]] = Field([[7, 30, 90]], min_length=1)
    learning_rate: float | None = Field(
        0.1,
        gt=0,
        le=1,
        description="learning rate of the trees that compare the candidates; null: "
        "the model's own (then the chosen candidate's trees are kept, not regrown)",
    )

    @model_validator(mode="after")
    def _positive(self) -> FeatureGridConfig:
        if any(h <= 0 for h in self.half_life_days):
            raise ValueError("half_life_days must all be > 0")
        if any(not w or min(w) < 1 for w in self.windows_days):
            raise ValueError("every windows_days entry needs windows of >= 1 day")
        return self


class SearchConfig(_Section):
    """Optional Optuna search of LightGBM parameters on the validation period."""

    trials: int = Field(0, ge=0, description="0: no search, use `lightgbm` as given")
    timeout_seconds: float | None = Field(None, gt=0)


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


class ModelConfig(_Section):
    """LightGBM closing-probability model (``predscore train``)."""

    history: HistoryConfig = HistoryConfig()
    split: SplitConfig = SplitConfig()
    lightgbm: dict[str, Any] = Field(
        {
            "objective": "binary",
            "learning_rate": 0.03,
            "num_leaves": 15,
            "min_child_samples": 50,
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 1.0,
            "cat_smooth": 20,
            "min_data_per_group": 50,
        },
        description="LightGBM parameters (seed, threads and determinism are set by "
        "predscore from `seed` and `threads`)",
    )
    num_boost_round: int = Field(2000, ge=1)
    early_stopping_rounds: int = Field(100, ge=1)
    warn_below_trees: int = Field(
        10,
        ge=0,
        description="`train` warns when early stopping keeps fewer trees: the "
        "validation period then barely rewards what the trees learnt (drift?)",
    )
    class_weight: Literal["balanced", "none"] = Field(
        "none",
        description="balanced: wins weighted up to the weight of losses while the "
        "trees are grown; calibration maps the scores back to real close rates",
    )
    lead_weight: Literal["per_snapshot", "per_lead"] = Field(
        "per_lead",
        description="per_lead: each lead weighs 1 in total whatever its number of "
        "snapshots, so long sales cycles do not dominate",
    )
    recency_half_life_days: float | None = Field(
        180.0,
        gt=0,
        description="older training rows weigh less: half as much every this many "
        "days before the newest one (for markets that drift); null: no decay",
    )
    refit: bool = Field(
        True,
        description="after early stopping on the validation period, grow the trees "
        "again on the training and validation periods together (same number of "
        "trees); the calibration period stays held out",
    )
    exclude_features: list[str] = Field(
        [], description="feature columns never given to the model"
    )
    calibration: CalibrationConfig = CalibrationConfig()
    feature_grid: FeatureGridConfig = FeatureGridConfig()
    search: SearchConfig = SearchConfig()
    tracking: TrackingConfig = TrackingConfig()
    threads: int = Field(
        1,
        ge=1,
        description="LightGBM threads (fixed: same results); more than the free cores "
        "slows training many times over",
    )

    @model_validator(mode="after")
    def _reserved_params(self) -> ModelConfig:
        reserved = {"seed", "num_threads", "deterministic", "verbose", "metric"}
        clash = sorted(reserved & set(self.lightgbm))
        if clash:
            raise ValueError(
                f"lightgbm: {clash} are set by predscore (use `seed` and `threads`)"
            )
        return self
