"""The configuration tree and its loading: the only place YAML is parsed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
)

from predscore.config._base import _Section
from predscore.config.demo import DemoConfig
from predscore.config.engine import EngineConfig
from predscore.config.explain import ExplainConfig
from predscore.config.features import FeaturesConfig
from predscore.config.icp import IcpConfig
from predscore.config.model import ModelConfig
from predscore.config.monitor import MonitorConfig
from predscore.config.rules import RulesConfig
from predscore.config.scoring import ScoringConfig
from predscore.config.serve import ServeConfig
from predscore.config.store import RepsConfig, StoreConfig
from predscore.errors import ConfigError

DEFAULT_CONFIG_DIR = Path("configs")
_SECTION_FILES = (
    "icp",
    "demo",
    "features",
    "rules",
    "model",
    "explain",
    "scoring",
    "serve",
    "engine",
    "monitor",
    "store",
    "reps",
)  # sections that live in a file of their own


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
    model: ModelConfig = ModelConfig()
    explain: ExplainConfig = ExplainConfig()
    scoring: ScoringConfig = ScoringConfig()
    serve: ServeConfig = ServeConfig()
    engine: EngineConfig = EngineConfig()
    monitor: MonitorConfig = MonitorConfig()
    store: StoreConfig = StoreConfig()
    reps: RepsConfig = RepsConfig()


def find_config_dir(explicit: Path | str | None = None) -> Path | None:
    """Locate the configuration folder.

    Order: ``explicit``, then ``$PREDSCORE_CONFIG_DIR``, then ``./configs`` when it exists.
    Returns ``None`` when there is none (every key then takes its default).
    """
    if explicit is not None:
        explicit = Path(explicit)
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


#: The safe loader, in C when PyYAML was built with libyaml: the same documents, read
#: faster (every command reads a dozen config files).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        content = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
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
    config_dir: Path | str | None = None, overrides: Mapping[str, Any] | None = None
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
    config_dir = None if config_dir is None else Path(config_dir)
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
    return load_section(path, "rules")


def load_section(path: Path, section: str) -> Any:
    """Load one section of the tree from a stand-alone file (``train --config``).

    Parameters
    ----------
    path : Path
        YAML file holding the keys of the section.
    section : str
        Name of the section in :class:`PredscoreConfig` (``rules``, ``model``...).

    Raises
    ------
    ConfigError
        When the section is unknown, the file is missing or not valid YAML, or a key
        is unknown or invalid; the message names the file and the dotted key.
    """
    field = PredscoreConfig.model_fields.get(section)
    if field is None or not isinstance(field.default, BaseModel):
        raise ConfigError(f"{path}: unknown configuration section '{section}'")
    raw = read_yaml(path)
    try:
        return type(field.default).model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = (section, *first["loc"])
        key = ".".join(str(part) for part in loc)
        rule = _rule_name({section: raw}, loc)
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
