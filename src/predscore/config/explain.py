"""Explanations section (``configs/explain.yaml``): grouping, points, sentences, routes."""

from __future__ import annotations

import string
from typing import Literal

from pydantic import Field, field_validator, model_validator

from predscore.config._base import _Section
from predscore.config.rules import Condition

Family = Literal["fit", "engagement", "qualification"]
FAMILIES: tuple[str, ...] = ("fit", "engagement", "qualification")


def template_fields(text: str) -> list[str]:
    """Names a template reads (``"{value:.0f} of {employees}"`` → value, employees).

    Raises
    ------
    ValueError
        When the text is not a valid ``str.format`` template or uses positional or
        indexed fields.
    """
    names = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"template {text!r} is not valid: {exc}") from exc
    for _, field, _, _ in parsed:
        if field is None:
            continue
        if not field.isidentifier():
            raise ValueError(
                f"template {text!r}: field {{{field}}} must be a plain name such as "
                "{value}, {points} or a feature column"
            )
        names.append(field)
    return names


def _check_template(text: str) -> str:
    template_fields(text)
    return text


class ReasonCase(_Section):
    """One sentence of a human feature, used when its condition holds."""

    when: Condition | None = Field(
        None, description="condition on feature columns; none: always"
    )
    text: str = Field(min_length=1)

    @field_validator("text")
    @classmethod
    def _template(cls, value: str) -> str:
        return _check_template(value)


class FeatureGroup(_Section):
    """A human feature: the model columns whose contributions add up to one reason.

    ``columns`` are names or shell-style patterns (``n_webinar_*``); a column goes to
    the first group (in file order) with a matching pattern. ``cases`` are tried in
    order, the first whose ``when`` holds gives the sentence; ``unknown`` is used when
    ``value`` is missing, and ``text`` otherwise. Templates may use ``{value}`` (the
    ``value`` column, shown through ``labels``), ``{points}``, any feature column by
    name, and the ICP bands (``{icp_employees_min}``, ``{employees_band}``...).
    """

    name: str = Field(min_length=1, description="what the rep reads, e.g. webinars")
    columns: list[str] = Field(min_length=1)
    family: Family | None = Field(
        None, description="default: the family of its columns in the feature specs"
    )
    value: str | None = Field(
        None, description="feature column shown as {value}; default: the first column"
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="display text of category values"
    )
    cases: list[ReasonCase] = []
    unknown: str | None = None
    text: str | None = None

    @field_validator("unknown", "text")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return None if value is None else _check_template(value)


class RoutingConfig(_Section):
    """Route of a lead from its calibrated probability (bounds inclusive).

    ``meeting`` from ``meeting_min_probability``; ``disqualify`` below
    ``disqualify_below_probability`` or when one of the rules' eliminatory criteria
    listed in ``disqualify_when_eliminated_by`` holds (a veto the model cannot
    overturn: keep it to hard facts such as a student or a competitor; the classic
    "cannot decide / cannot fund" criteria eliminate leads that often close, and the
    model already weighs those answers); ``nurture`` otherwise. The tier (hot,
    warm, cold) is the rules' temperature from the project timeline.
    """

    meeting_min_probability: float = Field(0.40, ge=0, le=1)
    disqualify_below_probability: float = Field(0.03, ge=0, le=1)
    disqualify_when_eliminated_by: list[str] = ["student_or_job_seeker"]

    @model_validator(mode="after")
    def _ordered(self) -> RoutingConfig:
        if self.disqualify_below_probability > self.meeting_min_probability:
            raise ValueError(
                f"disqualify_below_probability ({self.disqualify_below_probability}) "
                f"must be <= meeting_min_probability ({self.meeting_min_probability})"
            )
        return self


class GridConfig(_Section):
    """Fit × engagement grid: lower bounds (inclusive, descending) of A/B/C and 1/2/3.

    A lead whose fit points reach ``fit[0]`` is A, ``fit[1]`` B, ``fit[2]`` C, else D;
    engagement points likewise give 1 (most engaged) to 4.
    """

    fit: list[float] = Field([5.0, 0.0, -5.0], min_length=3, max_length=3)
    engagement: list[float] = Field([5.0, 0.0, -5.0], min_length=3, max_length=3)

    @field_validator("fit", "engagement")
    @classmethod
    def _descending(cls, value: list[float]) -> list[float]:
        if sorted(value, reverse=True) != value:
            raise ValueError(f"bounds must be in descending order, got {value}")
        return value


class ExplainConfig(_Section):
    """Per-lead explanations: points scale, grouping, sentences, grid and routes."""

    scale: float = Field(
        100.0, gt=0, description="score = scale × calibrated probability"
    )
    decimals: int = Field(0, ge=0, le=3, description="decimals of displayed points")
    top_reasons: int = Field(
        4, ge=0, description="positive and negative reasons kept per lead (each)"
    )
    min_points: float = Field(
        1.0, ge=0, description="smaller reasons are folded into their family's rest"
    )
    unknown: str = Field(
        "unknown", min_length=1, description="shown for a missing value"
    )
    minus: str = Field("−", min_length=1, description="sign of negative points")
    points_text: str = "{text}: {points} {unit}"
    unit: str = "pts"
    unit_one: str = "pt"
    rest_text: str = Field(
        "{count} other {family} factors",
        description="sentence of a family's folded reasons; may use {count}, {family}",
    )
    family_names: dict[str, str] = Field(
        default_factory=lambda: {f: f for f in FAMILIES},
        description="display name of each family in sentences",
    )
    default_text: str = Field(
        "{doc}: {value}",
        description="sentence of a column no group names; may use {doc} and {value}",
    )
    groups: list[FeatureGroup] = []
    grid: GridConfig = GridConfig()
    routing: RoutingConfig = RoutingConfig()
    chunk_rows: int = Field(
        50_000, ge=1, description="rows explained at a time (bounds memory)"
    )
    global_rows: int = Field(
        3000, ge=10, description="test snapshots behind the global view of a training"
    )

    @field_validator("points_text", "rest_text", "default_text")
    @classmethod
    def _template(cls, value: str) -> str:
        return _check_template(value)

    @field_validator("family_names")
    @classmethod
    def _families(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(FAMILIES))
        if unknown:
            raise ValueError(f"unknown families {unknown}; known: {list(FAMILIES)}")
        return {**{f: f for f in FAMILIES}, **value}

    @model_validator(mode="after")
    def _unique_groups(self) -> ExplainConfig:
        names = [g.name for g in self.groups]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"group names must be unique, repeated: {dupes}")
        return self
