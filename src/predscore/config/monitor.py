"""Model health section (``configs/monitor.yaml``): ``predscore monitor`` (drift,
score shift, realised performance) and ``predscore compare`` / the promotion gate."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from predscore.config._base import _Section

__all__ = [
    "CompareConfig",
    "DriftConfig",
    "MonitorConfig",
    "RealisedConfig",
    "ScoreShiftConfig",
]


class DriftConfig(_Section):
    """Per-feature drift between the model's training rows and today's open leads.

    The model keeps, at training time, a profile of each feature on its training
    rows: numbers binned on the training quantiles (a bin of their own for missing
    values), categories by level (the rare ones and the unseen ones pooled in
    ``other/missing``). Today's rows are binned the same way and compared with the
    Population Stability Index and the Jensen-Shannon distance (base 2, in [0, 1]).
    """

    bins: int = Field(
        10, ge=2, le=100, description="quantile bins of a numeric feature (at most)"
    )
    max_levels: int = Field(
        20, ge=1, description="levels of a category kept apart; the rest is 'other'"
    )
    min_level_share: float = Field(
        0.005,
        ge=0,
        lt=1,
        description="a level rarer than this share of the training rows is 'other'",
    )
    epsilon: float = Field(
        1e-4,
        gt=0,
        lt=0.01,
        description="share given to an empty bin so that PSI stays finite",
    )
    psi_alert: float | None = Field(
        0.3,
        gt=0,
        description="a feature whose PSI reaches this has drifted (null: not checked); "
        "the usual reading: < 0.1 stable, 0.1-0.25 moderate, > 0.25 major",
    )
    js_alert: float | None = Field(
        0.2,
        gt=0,
        le=1,
        description="a feature whose Jensen-Shannon distance reaches this has drifted "
        "(null: not checked)",
    )
    min_rows: int = Field(
        100,
        ge=1,
        description="below this many open leads the drift is reported, never alerted "
        "(a few rows always look drifted)",
    )
    shown: int = Field(25, ge=1, description="most drifted features on the page")
    reference_rows: int = Field(
        200_000,
        ge=1000,
        description="training rows profiled at training time (beyond, a sample drawn "
        "with the seed)",
    )


class ScoreShiftConfig(_Section):
    """Shift of the score and route distributions (today against training and
    against the previous scoring run)."""

    bins: int = Field(10, ge=2, le=100, description="quantile bins of the probability")
    psi_alert: float | None = Field(
        0.25, gt=0, description="PSI of the probability against training that alerts"
    )
    route_psi_alert: float | None = Field(
        0.25, gt=0, description="PSI of the route shares against training that alerts"
    )


class RealisedConfig(_Section):
    """Realised performance of earlier scoring runs whose leads have since closed."""

    min_leads: int = Field(
        30,
        ge=1,
        description="a month of scoring needs this many closed leads (both outcomes "
        "present) for its ROC AUC",
    )
    calibration_bins: int = Field(10, ge=2, le=50)
    min_roc_auc: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="alert when the newest judged month's ROC AUC falls below this "
        "(null: not checked)",
    )
    max_rate_gap: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="alert when the newest judged month's predicted and actual close "
        "rates differ by more than this (null: not checked)",
    )


class CompareConfig(_Section):
    """Champion against challenger on the same newest labelled leads.

    "Newest" is by creation time among the labelled leads (closed, or with a passed
    horizon window): the last ``newest_days`` days when set, else the newest
    ``newest_share`` of them.
    """

    newest_days: float | None = Field(
        None, gt=0, description="leads created in the last N days of the labelled ones"
    )
    newest_share: float = Field(
        0.25, gt=0, le=1, description="else: the newest share of the labelled leads"
    )
    metrics: list[Literal["roc_auc", "brier", "average_precision"]] = Field(
        ["roc_auc", "brier", "average_precision"], min_length=1
    )
    gate_metric: Literal["roc_auc", "brier", "average_precision"] = Field(
        "roc_auc",
        description="promote refuses a challenger whose interval of the difference "
        "on this metric lies wholly on the worse side of 0",
    )
    resamples: int = Field(1000, ge=50, description="paired bootstrap draws by lead")
    level: float = Field(0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _gate_is_computed(self) -> CompareConfig:
        if self.gate_metric not in self.metrics:
            raise ValueError(
                f"gate_metric {self.gate_metric!r} must be one of metrics "
                f"{self.metrics}"
            )
        return self


class MonitorConfig(_Section):
    """Model health: ``predscore monitor`` and ``predscore compare``."""

    drift: DriftConfig = DriftConfig()
    scores: ScoreShiftConfig = ScoreShiftConfig()
    realised: RealisedConfig = RealisedConfig()
    compare: CompareConfig = CompareConfig()
