"""Engine section (``configs/engine.yaml``): how hard this machine may work.

These settings belong to the machine that runs a command, never to a model: a
bundle keeps the feature *definitions* (:class:`~predscore.config.FeaturesConfig`),
and the scorer that loads it runs with the engine settings of its own machine.
Changing them never changes a feature value, a score or a job's fingerprint.
"""

from __future__ import annotations

import os

from pydantic import Field

from predscore.config._base import _Section


class EngineConfig(_Section):
    """Resources of the feature engine (DuckDB and the numpy batches) and of the
    model's predictions."""

    batch_rows: int = Field(
        250_000,
        ge=1,
        description="feature rows computed per batch (memory is bounded by the "
        "batch, not by the data set)",
    )
    memory_limit: str = Field(
        "4GB",
        description="DuckDB memory limit, e.g. 4GB (it spills to a temporary "
        "folder beyond it)",
    )
    threads: int | None = Field(
        None,
        ge=1,
        description="DuckDB threads; None: all cores; 1 also computes one feature "
        "batch at a time (otherwise two at once)",
    )
    predict_threads: int | None = Field(
        None,
        ge=1,
        description="LightGBM threads predicting and explaining (TreeSHAP) in a "
        "scoring job; None: all cores. `predscore serve` uses 1 per worker unless "
        "set. They change no score",
    )

    def prediction_threads(self) -> int:
        """``predict_threads``, or the cores of this machine."""
        return self.predict_threads or os.cpu_count() or 1
