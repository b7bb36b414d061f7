"""What reps write (``configs/store.yaml``, ``configs/reps.yaml``): the database and the forms.

``store``: where the database lives (an SQLite file by default; PostgreSQL, or any
SQLAlchemy URL, through the environment variable ``url_env``, never YAML: a URL may
hold a password), whether rep entries join the pipeline's ``qualifications``, and the
cost of password hashing. ``reps``: the qualification form (closed vocabularies and
the timeline in months), the reasons a rep may give for feedback, the score bands of
the feedback summary and the thresholds of a lead's trend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from predscore.config._base import _Section


class StoreConfig(_Section):
    """The database of what reps write (entries, feedback, users, score history, audit)."""

    path: Path = Field(
        Path("data/predscore.db"),
        description="SQLite file of the store when `url_env` is unset (created on use)",
    )
    url_env: str = Field(
        "PREDSCORE_DB_URL",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="environment variable holding a SQLAlchemy URL "
        "(postgresql+psycopg://user@host/db); wins over `path`",
    )
    pipeline: bool = Field(
        False,
        description="validate, features, train and score read rep entries as "
        "qualifications rows (recorded_at = entry time) beside the CRM export",
    )
    history: bool = Field(
        True, description="predscore score appends each run to the score history"
    )
    password_cost: int = Field(
        14, ge=10, le=20, description="scrypt cost: N = 2**password_cost"
    )
    min_password_length: int = Field(10, ge=8, description="shorter passwords refused")


class QualificationQuestion(_Section):
    """One field of the qualification form on a lead page."""

    field: str = Field(min_length=1, description="a qualification field (budget...)")
    label: str = Field(min_length=1)
    kind: Literal["choice", "months"] = "choice"
    choices: tuple[str, ...] = ("yes", "no", "unknown")
    max_months: int = Field(36, ge=1, le=120, description="months: the last choice")

    @model_validator(mode="after")
    def _choices_given(self) -> QualificationQuestion:
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"field {self.field!r}: a choice needs `choices`")
        return self

    def accepts(self, value: str) -> bool:
        """Whether ``value`` is one of this question's answers."""
        if self.kind == "months":
            return value.isdigit() and 0 <= int(value) <= self.max_months
        return value in self.choices


class FeedbackReason(_Section):
    """A reason a rep may give for feedback on a score."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)


class TrendConfig(_Section):
    """Trend of a lead's probability over its last scoring runs."""

    runs: int = Field(
        3, ge=2, description="runs compared: the newest against this many runs back"
    )
    improving_above: float = Field(
        0.05, gt=0, le=1, description="probability rise beyond which: improving"
    )
    declining_below: float = Field(
        -0.05, lt=0, ge=-1, description="probability fall beyond which: declining"
    )


class RepsConfig(_Section):
    """The reps' forms: qualification answers and feedback on scores."""

    questions: tuple[QualificationQuestion, ...] = (
        QualificationQuestion(field="budget", label="Budget"),
        QualificationQuestion(field="authority", label="Authority"),
        QualificationQuestion(field="need", label="Need"),
        QualificationQuestion(
            field="timeline_months", label="Timeline (months)", kind="months"
        ),
    )
    feedback_reasons: tuple[FeedbackReason, ...] = (
        FeedbackReason(code="knows_account", label="I know this account"),
        FeedbackReason(code="wrong_contact", label="Wrong contact or role"),
        FeedbackReason(code="stale_engagement", label="Engagement is old"),
        FeedbackReason(code="other", label="Other"),
    )
    score_bands: tuple[float, ...] = Field(
        (0.1, 0.3, 0.5),
        description="probability edges of the feedback summary's bands",
    )
    max_text_chars: int = Field(1000, ge=1, le=10_000)
    trend: TrendConfig = TrendConfig()

    @field_validator("score_bands")
    @classmethod
    def _increasing(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if list(value) != sorted(set(value)) or any(not 0 < v < 1 for v in value):
            raise ValueError("strictly increasing probabilities between 0 and 1")
        return value

    @model_validator(mode="after")
    def _unique(self) -> RepsConfig:
        fields = [q.field for q in self.questions]
        codes = [r.code for r in self.feedback_reasons]
        for name, values in (("questions", fields), ("feedback_reasons", codes)):
            if len(values) != len(set(values)):
                raise ValueError(f"{name}: each entry once")
        return self

    def question(self, field: str) -> QualificationQuestion | None:
        """The question of ``field``, or None."""
        return next((q for q in self.questions if q.field == field), None)

    def band(self, probability: float | None) -> str:
        """The feedback band of a probability (``0.10-0.30``), ``unknown`` when null."""
        if probability is None or probability != probability:
            return "unknown"
        edges = (0.0, *self.score_bands, 1.0)
        for lo, hi in zip(edges, edges[1:], strict=False):
            if probability < hi or hi == 1.0:
                return f"{lo:.2f}-{hi:.2f}"
        return "unknown"  # pragma: no cover
