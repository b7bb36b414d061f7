"""The MLflow pyfunc of a predscore model: feature rows in, calibrated probability out.

Stage: model. Imported only when MLflow is used (it imports mlflow at once), so that
scoring with an exported bundle never loads MLflow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModelContext

from predscore.model.bundle import load_bundle

__all__ = ["PredscorePyfunc"]


class PredscorePyfunc(mlflow.pyfunc.PythonModel):
    """Canonical feature rows in, calibrated closing probability out.

    The bundle folder is the model's artifact ``bundle``; input rows are those of
    ``predscore features`` (category columns may arrive as plain strings). The input
    hint is ``pd.DataFrame``: MLflow then infers no schema from it and leaves the rows
    as they are (the logged signature describes them).
    """

    def load_context(self, context: PythonModelContext) -> None:
        self.bundle = load_bundle(Path(context.artifacts["bundle"]))

    def predict(
        self,
        context: PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> np.ndarray:
        frame = pd.DataFrame(model_input)
        return self.bundle.predict_proba(frame).to_numpy()
