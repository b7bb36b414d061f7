"""predscore: predictive B2B lead scoring.

Learns from historical won/lost leads which open leads will close: point-in-time fit,
engagement and qualification features, a transparent rule baseline, a calibrated LightGBM
model and per-lead explanations in plain language.
"""

import warnings

# pandera imports pyspark's pandas API whenever pyspark is installed (the Spark engine
# needs it), and that API warns about pandas 3 on import; predscore does not use it.
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support", category=FutureWarning
)

from predscore.config import PredscoreConfig, load_config  # noqa: E402
from predscore.errors import (  # noqa: E402
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
