"""Scoring section (``configs/scoring.yaml``): the batch job of ``predscore score``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from predscore.config._base import _Section


class ScoringConfig(_Section):
    """How the batch job scores every open lead."""

    chunk_leads: int = Field(
        100_000,
        ge=1,
        description="open leads per chunk: the unit of memory, progress and --resume",
    )
    reasons: bool = Field(
        True, description="explain every score (SHAP points and sentences)"
    )
    when_no_model: Literal["rules", "error"] = Field(
        "rules",
        description="no trained model found: score with the rules alone, or fail",
    )
    owner_column: str = Field(
        "owner", description="lead column naming the rep who owns the lead (if any)"
    )
    spark_partitions: int | None = Field(
        None,
        ge=1,
        description="Spark engine: partitions of the open leads (default: one per "
        "chunk_leads, at least the default parallelism)",
    )
    spark_master: str | None = Field(
        None,
        description="Spark engine: master URL when no session exists and "
        "SPARK_MASTER / spark-submit does not set it (default local[*])",
    )
