"""Rule baseline section (``configs/rules.yaml``): conditions, criteria, points, thresholds."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from predscore.config._base import _Section

RULE_OPS = ("eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "is_null", "not_null")
_LIST_OPS = ("in", "not_in")
_NULL_OPS = ("is_null", "not_null")


class Condition(_Section):
    """A test on feature columns, declared as data.

    Either a leaf ``{feature, op, value}`` or a combinator ``{all: [...]}`` /
    ``{any: [...]}`` of nested conditions. Every comparison is false on a missing value;
    only ``is_null`` matches one.
    """

    feature: str | None = None
    op: Literal[RULE_OPS] | None = None  # type: ignore[valid-type]
    value: Any = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> Condition:
        leaf = self.feature is not None or self.op is not None
        shapes = [leaf, self.all is not None, self.any is not None]
        if sum(shapes) != 1:
            raise ValueError(
                "a condition is either {feature, op, value} or {all: [...]} or "
                "{any: [...]}"
            )
        if leaf:
            if self.feature is None or self.op is None:
                raise ValueError("a leaf condition needs both 'feature' and 'op'")
            if self.op in _LIST_OPS and not isinstance(self.value, list):
                raise ValueError(
                    f"op '{self.op}' needs a list value, got {self.value!r}"
                )
            if self.op in _NULL_OPS and self.value is not None:
                raise ValueError(f"op '{self.op}' takes no value")
            if self.op not in _NULL_OPS and self.value is None:
                raise ValueError(f"op '{self.op}' needs a value")
        elif not (self.all or self.any):
            raise ValueError("'all' / 'any' need at least one condition")
        return self

    def features(self) -> list[str]:
        """Feature columns the condition reads, in declaration order."""
        if self.feature is not None:
            return [self.feature]
        return [f for sub in (self.all or self.any or []) for f in sub.features()]


def _check_template(text: str) -> str:
    try:
        text.format(value=1, points=1)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"template {text!r} may only use {{value}} and {{points}}: {exc}"
        ) from exc
    return text


class EliminatoryCriterion(_Section):
    """A condition that disqualifies a lead outright, whatever its points."""

    name: str = Field(min_length=1)
    when: Condition
    text: str = Field(description="sentence shown to the rep; may use {value}")

    @field_validator("text")
    @classmethod
    def _template(cls, value: str) -> str:
        return _check_template(value)


class PointRule(_Section):
    """Points awarded when a condition holds, fixed or per unit of engagement.

    Without ``units`` the rule gives ``points`` once when ``when`` holds. With
    ``units`` (a weighted sum of count features) it gives ``points`` per unit, capped
    in magnitude at ``max_points``. Nested windows with weights decay old engagement:
    ``{n_x_30d: 0.5, n_x_90d: 0.5}`` counts the last 30 days fully and days 31-90 half.
    """

    name: str = Field(min_length=1)
    points: float
    when: Condition | None = None
    units: dict[str, float] | None = Field(None, min_length=1)
    max_points: float | None = Field(None, gt=0)
    text: str = Field(description="sentence; may use {value} and {points}")

    @field_validator("text")
    @classmethod
    def _template(cls, value: str) -> str:
        return _check_template(value)

    @model_validator(mode="after")
    def _has_trigger(self) -> PointRule:
        if self.when is None and self.units is None:
            raise ValueError("a point rule needs 'when', 'units' or both")
        return self


class RuleThresholds(_Section):
    """Score levels; every threshold is inclusive (``points >= threshold``)."""

    mql: float = 25.0
    sql: float = 40.0
    meeting: float = 40.0

    @model_validator(mode="after")
    def _ordered(self) -> RuleThresholds:
        if self.mql > self.sql:
            raise ValueError(f"mql ({self.mql}) must be <= sql ({self.sql})")
        return self


class TemperatureConfig(_Section):
    """Hot / warm / cold from the project timeline (bounds inclusive).

    ``feature <= hot_max`` is hot, ``<= warm_max`` warm, anything else (or unknown)
    cold. Disqualified leads are cold. ``feature: null`` (data without a timeline)
    makes every lead cold.
    """

    feature: str | None = "qual_timeline_months"
    hot_max: float = 3.0
    warm_max: float = 12.0

    @model_validator(mode="after")
    def _ordered(self) -> TemperatureConfig:
        if self.hot_max > self.warm_max:
            raise ValueError(f"hot_max ({self.hot_max}) must be <= warm_max")
        return self


class RulesConfig(_Section):
    """Transparent rule baseline (``configs/rules.yaml``), applied in order:
    eliminatory criteria (first match wins), then the points grid, thresholds and
    temperature. The shipped defaults are empty; the grid lives in the YAML file.
    """

    eliminatory: list[EliminatoryCriterion] = []
    points: list[PointRule] = []
    decimals: int = Field(
        0,
        ge=0,
        le=6,
        description="each rule's points are rounded to this many decimals",
    )
    thresholds: RuleThresholds = RuleThresholds()
    temperature: TemperatureConfig = TemperatureConfig()

    @model_validator(mode="after")
    def _unique_names(self) -> RulesConfig:
        names = [r.name for r in [*self.eliminatory, *self.points]]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule names must be unique, repeated: {dupes}")
        return self
