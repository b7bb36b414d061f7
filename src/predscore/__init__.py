"""predscore: predictive B2B lead scoring.

Learns from historical won/lost leads which open leads will close: point-in-time fit,
engagement and qualification features, a transparent rule baseline, a calibrated LightGBM
model and per-lead explanations in plain language.
"""

from predscore.config import PredscoreConfig, load_config
from predscore.errors import (
    ConfigError,
    DataValidationError,
    LeakageError,
    PredscoreError,
    SchemaError,
)

__all__ = [
    "ConfigError",
    "DataValidationError",
    "LeakageError",
    "PredscoreConfig",
    "PredscoreError",
    "SchemaError",
    "load_config",
]
__version__ = "0.1.0"
