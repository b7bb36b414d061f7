"""Typed configuration: the only place YAML is parsed.

Configuration lives in a folder (``configs/`` by default): ``base.yaml`` holds top-level
keys (``seed``, ``validation``); every other section has a file of its own named after it
(``icp.yaml``, ``demo.yaml``...); ``local.yaml`` (git-ignored) is merged last over all of
them. Every section is a frozen pydantic model with ``extra="forbid"`` so that a typo is
an error naming the file and the key, and every key has its default in the model.
"""

from predscore.config._base import Range
from predscore.config.demo import DemoConfig, DemoDriftConfig
from predscore.config.engine import EngineConfig
from predscore.config.explain import (
    FAMILIES,
    ExplainConfig,
    FeatureGroup,
    GridConfig,
    ReasonCase,
    RoutingConfig,
)
from predscore.config.export import ExportConfig, load_export_config
from predscore.config.features import FeaturesConfig
from predscore.config.icp import ICP_DIMENSIONS, IcpConfig
from predscore.config.loader import (
    DEFAULT_CONFIG_DIR,
    PredscoreConfig,
    ValidationConfig,
    find_config_dir,
    load_config,
    load_rules,
    load_section,
    read_yaml,
)
from predscore.config.model import (
    LIGHTGBM_DATASET_PARAMS,
    CalibrationConfig,
    CrossValidationConfig,
    EvaluationConfig,
    FeatureGridConfig,
    HistoryConfig,
    LinearConfig,
    ModelConfig,
    SegmentsConfig,
    SplitConfig,
    TrackingConfig,
    TreeCandidate,
)
from predscore.config.monitor import (
    CompareConfig,
    DriftConfig,
    MonitorConfig,
    RealisedConfig,
    ScoreShiftConfig,
)
from predscore.config.rules import (
    RULE_OPS,
    Condition,
    EliminatoryCriterion,
    PointRule,
    RulesConfig,
    RuleThresholds,
    TemperatureConfig,
)
from predscore.config.scoring import ScoringConfig
from predscore.config.serve import ServeConfig
from predscore.config.store import (
    FeedbackReason,
    QualificationQuestion,
    RepsConfig,
    StoreConfig,
    TrendConfig,
)

__all__ = [
    "LIGHTGBM_DATASET_PARAMS",
    "CompareConfig",
    "DriftConfig",
    "MonitorConfig",
    "RealisedConfig",
    "ScoreShiftConfig",
    "CalibrationConfig",
    "CrossValidationConfig",
    "EvaluationConfig",
    "FeatureGridConfig",
    "HistoryConfig",
    "LinearConfig",
    "ModelConfig",
    "TreeCandidate",
    "ServeConfig",
    "FeedbackReason",
    "QualificationQuestion",
    "RepsConfig",
    "StoreConfig",
    "TrendConfig",
    "SegmentsConfig",
    "SplitConfig",
    "TrackingConfig",
    "Condition",
    "DEFAULT_CONFIG_DIR",
    "DemoConfig",
    "DemoDriftConfig",
    "EngineConfig",
    "ExportConfig",
    "EliminatoryCriterion",
    "FAMILIES",
    "ExplainConfig",
    "FeatureGroup",
    "GridConfig",
    "ReasonCase",
    "RoutingConfig",
    "FeaturesConfig",
    "ICP_DIMENSIONS",
    "IcpConfig",
    "PointRule",
    "PredscoreConfig",
    "RULE_OPS",
    "Range",
    "RuleThresholds",
    "RulesConfig",
    "ScoringConfig",
    "TemperatureConfig",
    "ValidationConfig",
    "find_config_dir",
    "load_config",
    "load_export_config",
    "load_rules",
    "load_section",
    "read_yaml",
]
