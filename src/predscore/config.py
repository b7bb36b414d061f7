"""Typed configuration: the only place YAML is parsed.

Configuration lives in a folder (``configs/`` by default): ``base.yaml`` holds top-level
keys (``seed``, ``validation``); every other section has a file of its own named after it
(``icp.yaml``, ``demo.yaml``...); ``local.yaml`` (git-ignored) is merged last over all of
them. Every section is a frozen pydantic model with ``extra="forbid"`` so that a typo is
an error naming the file and the key, and every key has its default in the model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from predscore.errors import ConfigError

__all__ = [
    "Condition",
    "DEFAULT_CONFIG_DIR",
    "DemoConfig",
    "EliminatoryCriterion",
    "FeaturesConfig",
    "IcpConfig",
    "PointRule",
    "PredscoreConfig",
    "RULE_OPS",
    "Range",
    "RuleThresholds",
    "RulesConfig",
    "TemperatureConfig",
    "ValidationConfig",
    "find_config_dir",
    "load_config",
    "load_rules",
    "read_yaml",
]

DEFAULT_CONFIG_DIR = Path("configs")
_SECTION_FILES = (
    "icp",
    "demo",
    "features",
    "rules",
)  # sections that live in a file of their own


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Section):
    """Inclusive numeric interval; a missing bound is open."""

    min: float | None = None
    max: float | None = None

    def contains(self, value: float) -> bool:
        """Return whether ``value`` lies inside the interval (bounds included)."""
        lo = self.min if self.min is not None else float("-inf")
        hi = self.max if self.max is not None else float("inf")
        return lo <= value <= hi


class IcpConfig(_Section):
    """Ideal Customer Profile: what a perfect-fit account and contact look like.

    Each dimension is matched independently (feature stage); ``weights`` combine the
    matches into the overall ICP fit score in [0, 1].
    """

    sectors: list[str] = ["software_saas", "fintech", "it_services"]
    employees: Range = Range(min=50, max=1000)
    annual_revenue: Range = Range(min=5_000_000, max=250_000_000)
    countries: list[str] = ["FR", "DE", "GB", "NL", "BE", "ES", "IT", "CH", "SE", "DK"]
    regions: list[str] = ["EMEA"]
    tech_stack: list[str] = ["salesforce", "hubspot", "snowflake", "aws", "segment"]
    roles: list[str] = ["decision_maker", "influencer"]
    seniorities: list[str] = ["c_level", "vp", "director"]
    departments: list[str] = ["executive", "sales", "marketing", "revenue_operations"]
    weights: dict[str, float] = {
        "sector": 0.25,
        "employees": 0.15,
        "annual_revenue": 0.10,
        "geography": 0.15,
        "tech_stack": 0.10,
        "role": 0.10,
        "seniority": 0.10,
        "department": 0.05,
    }

    @field_validator("weights")
    @classmethod
    def _weights_known_and_positive(cls, value: dict[str, float]) -> dict[str, float]:
        known = {
            "sector",
            "employees",
            "annual_revenue",
            "geography",
            "tech_stack",
            "role",
            "seniority",
            "department",
        }
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(
                f"unknown ICP dimension(s) {unknown}; known: {sorted(known)}"
            )
        if any(w < 0 for w in value.values()) or sum(value.values()) <= 0:
            raise ValueError("weights must be >= 0 and not all zero")
        return value


class DemoConfig(_Section):
    """Knobs of the synthetic demo CRM (``predscore demo-data``).

    The catalogues (sectors, countries, job titles, tech stack, content) default to the
    ones in :mod:`predscore.demo.catalogue`; override any of them here.
    """

    leads: int = Field(5000, ge=1)
    seed: int = 42
    start: datetime = datetime(2024, 10, 1, tzinfo=timezone.utc)
    end: datetime = datetime(2026, 9, 30, tzinfo=timezone.utc)
    won_rate: float = Field(0.20, gt=0.01, lt=0.9)
    contacts_per_account: float = Field(2.5, ge=1.0)
    stale_share: float = Field(
        0.08,
        ge=0.0,
        lt=1.0,
        description="share of leads never worked to a close (stay open)",
    )
    trap_share: float = Field(
        0.15,
        ge=0.0,
        le=0.5,
        description="share of highly curious leads (engaged, no intent)",
    )
    dirty_rows: float = Field(
        0.001,
        ge=0.0,
        le=0.1,
        description="share of rows corrupted to exercise validation",
    )
    chunk_leads: int = Field(50_000, ge=1000)
    sector_weights: dict[str, float] | None = None
    country_weights: dict[str, float] | None = None

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamps need a timezone, e.g. 2026-09-30T00:00:00Z")
        return value.astimezone(timezone.utc)


class FeaturesConfig(_Section):
    """Point-in-time feature pipeline (``predscore features``, training snapshots).

    Windows end at the as-of time and are half-open: a ``w``-day window holds the events
    of ``(as_of - w days, as_of]``. Fit features take their profile from
    :class:`IcpConfig`; this section only shapes how range matches degrade.
    """

    windows_days: list[int] = Field(
        [7, 30, 90],
        min_length=1,
        description="engagement windows ending at as_of, in days",
    )
    half_life_days: float = Field(
        30.0, gt=0, description="half-life of the exponentially decayed engagement"
    )
    trend_window_days: int = Field(
        30, ge=1, description="trend compares this many last days with as many before"
    )
    visit_gap_minutes: float = Field(
        30.0, gt=0, description="web views closer than this belong to the same visit"
    )
    passive_actions: dict[str, list[str]] = Field(
        {"email": ["sent", "bounce"], "call": ["attempt"], "meeting": ["no_show"]},
        description="actions done to the lead, not by it: counted, but not as engagement",
    )
    icp_range_tolerance_decades: float = Field(
        1.0,
        ge=0,
        description="outside an ICP range the match falls linearly to 0 over this many "
        "powers of ten (0: a plain in/out flag)",
    )
    snapshot_every_days: float = Field(
        7.0, gt=0, description="training snapshots: one per lead every this many days"
    )
    horizon_days: float | None = Field(
        None,
        gt=0,
        description="label = won within this many days of the snapshot; "
        "None: won at all",
    )
    batch_rows: int = Field(
        250_000,
        ge=1,
        description="feature rows computed per DuckDB batch (bounds memory)",
    )
    memory_limit: str = Field("4GB", description="DuckDB memory limit, e.g. 4GB")
    threads: int | None = Field(
        None, ge=1, description="DuckDB threads; None: all cores"
    )

    @field_validator("windows_days")
    @classmethod
    def _windows_positive_unique(cls, value: list[int]) -> list[int]:
        if any(w < 1 for w in value):
            raise ValueError(f"windows must be >= 1 day, got {value}")
        if len(set(value)) != len(value):
            raise ValueError(f"windows must be distinct, got {value}")
        return sorted(value)


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


class ValidationConfig(_Section):
    """Tolerances of the row-level checks of ``predscore validate``."""

    activity_before_creation_tolerance_days: float = Field(
        0.0,
        ge=0,
        description="activities this long before the lead's creation are still accepted",
    )


class PredscoreConfig(_Section):
    """Root of the configuration tree."""

    seed: int = 0
    validation: ValidationConfig = ValidationConfig()
    icp: IcpConfig = IcpConfig()
    demo: DemoConfig = DemoConfig()
    features: FeaturesConfig = FeaturesConfig()
    rules: RulesConfig = RulesConfig()


def find_config_dir(explicit: Path | None = None) -> Path | None:
    """Locate the configuration folder.

    Order: ``explicit``, then ``$PREDSCORE_CONFIG_DIR``, then ``./configs`` when it exists.
    Returns ``None`` when there is none (every key then takes its default).
    """
    if explicit is not None:
        if not explicit.is_dir():
            raise ConfigError(f"{explicit}: configuration folder not found")
        return explicit
    env = os.environ.get("PREDSCORE_CONFIG_DIR")
    if env:
        path = Path(env)
        if not path.is_dir():
            raise ConfigError(f"{path}: PREDSCORE_CONFIG_DIR is not a folder")
        return path
    return DEFAULT_CONFIG_DIR if DEFAULT_CONFIG_DIR.is_dir() else None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(
            f"{path}: expected a mapping of keys, found {type(content).__name__}"
        )
    return content


def read_yaml(path: Path) -> dict[str, Any]:
    """Read one YAML file holding a mapping of keys (e.g. an ingest mapping).

    Other modules validate the result with their own models; this module stays the only
    YAML parser.

    Raises
    ------
    ConfigError
        When the file is missing, is not valid YAML or does not hold a mapping.
    """
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    return _read_yaml(path)


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(
    config_dir: Path | None = None, overrides: Mapping[str, Any] | None = None
) -> PredscoreConfig:
    """Load and validate the configuration tree.

    Parameters
    ----------
    config_dir : Path or None
        Folder holding ``base.yaml``, ``<section>.yaml`` and ``local.yaml``; ``None`` uses
        the defaults of the models only.
    overrides : mapping, optional
        Last layer (e.g. from the command line), merged over the files.

    Raises
    ------
    ConfigError
        When a file is not valid YAML or a key is unknown or has a bad value; the message
        names the file and the dotted key.
    """
    raw: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    if config_dir is not None:
        base = config_dir / "base.yaml"
        if base.is_file():
            raw = _read_yaml(base)
            origin = dict.fromkeys(raw, base)
        for section in _SECTION_FILES:
            path = config_dir / f"{section}.yaml"
            if path.is_file():
                if section in raw:
                    raise ConfigError(
                        f"{path}: section '{section}' is also defined in {base}; keep one"
                    )
                raw[section] = _read_yaml(path)
                origin[section] = path
        local = config_dir / "local.yaml"
        if local.is_file():
            local_raw = _read_yaml(local)
            raw = _merge(raw, local_raw)
            origin.update(dict.fromkeys(local_raw, local))
    if overrides:
        raw = _merge(raw, overrides)
    try:
        return PredscoreConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        top = str(first["loc"][0]) if first["loc"] else ""
        where = origin.get(top, config_dir or Path("<defaults>"))
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        rule = _rule_name(raw, first["loc"])
        raise ConfigError(f"{where}: key '{key}'{rule}: {first['msg']}{more}") from exc


def load_rules(path: Path) -> RulesConfig:
    """Load a stand-alone rules file (e.g. ``configs/rules/x_education.yaml``).

    The file holds the keys of the ``rules`` section, for a data set whose features
    differ from the demo's; errors have the format of :func:`load_config`.

    Raises
    ------
    ConfigError
        When the file is missing, not valid YAML, or a key is unknown or invalid.
    """
    raw = read_yaml(path)
    try:
        return RulesConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ("rules", *first["loc"])
        key = ".".join(str(part) for part in loc)
        rule = _rule_name({"rules": raw}, loc)
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: key '{key}'{rule}: {first['msg']}{more}") from exc


def _rule_name(raw: Mapping[str, Any], loc: tuple[Any, ...]) -> str:
    """`` (rule 'name')`` when an error lies inside a named rule of ``rules``."""
    if len(loc) < 3 or loc[0] != "rules" or not isinstance(loc[2], int):
        return ""
    try:
        name = raw["rules"][loc[1]][loc[2]].get("name")
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""
    return f" (rule '{name}')" if name else ""
