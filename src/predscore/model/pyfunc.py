"""The MLflow pyfunc of a predscore model: feature rows in, calibrated probability out.

Stage: model. Imported only when MLflow is used (it imports mlflow at once), so that
scoring with an exported bundle never loads MLflow.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from predscore.model.bundle import load_bundle

__all__ = ["PredscorePyfunc"]

with warnings.catch_warnings():
    # MLflow asks for type hints on predict; hints would make it re-shape the input
    warnings.filterwarnings("ignore", message=".*type hints.*", category=UserWarning)

    class PredscorePyfunc(mlflow.pyfunc.PythonModel):
        """Canonical feature rows in, calibrated closing probability out.

        The bundle folder is the model's artifact ``bundle``; input rows are those of
        ``predscore features`` (category columns may arrive as plain strings).
        """

        def load_context(self, context):  # noqa: ANN001, ANN201
            self.bundle = load_bundle(Path(context.artifacts["bundle"]))

        def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
            frame = pd.DataFrame(model_input)
            return self.bundle.predict_proba(frame).to_numpy()
