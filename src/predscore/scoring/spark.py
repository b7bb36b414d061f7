"""The Spark engine of the batch job: the same chunks, scored on a cluster.

Stage: scoring. Input: a prepared :class:`~.job.ScoreRun`; output: the same folder as
the local engine (``scores.parquet``, ``rejections.parquet``, ``manifest.json`` with
``"engine": "spark"``).

The open leads are a Spark DataFrame, range-partitioned by ``lead_id``; each partition
runs :func:`~.job.score_chunk` through ``mapInArrow``: DuckDB computes the point-in-time
features of its leads from the validated Parquet tables (which every executor must be
able to read: a shared or object-store path on a cluster), the calibrated model scores
and explains them, and each lead comes back as a score or a rejection. Spark writes the
result as Parquet; the driver then ranks, adds the score changes and publishes exactly
as the local engine does (:func:`~.job.finish_run`), so both engines give the same
leads, probabilities and routes.

The session: an active one is reused; otherwise one is created with the master of
``SPARK_MASTER`` / ``spark-submit`` or ``scoring.spark_master`` (default ``local[*]``).
Spark needs Java 17 or later (``make install`` installs it when missing).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from predscore.config import ScoringConfig
from predscore.features.lead_tables import TableSource
from predscore.schema import TABLE_ORDER
from predscore.schema.store import write_table
from predscore.scoring.job import (
    PART_SCHEMA,
    ScoreRun,
    ScoringError,
    score_chunk,
    write_part,
)
from predscore.scoring.publish import finish_run

__all__ = ["RESULT_SCHEMA", "run_spark", "spark_session"]

#: What a Spark task returns per lead: a score, or a rejection (``rejection`` set,
#: score columns null).
RESULT_SCHEMA = pa.schema([*PART_SCHEMA, pa.field("rejection", pa.string())])


def spark_session(settings: ScoringConfig) -> Any:
    """The active Spark session, or a new one (UTC, Arrow, microsecond Parquet)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - pyspark is a dependency
        raise ScoringError("--engine spark needs pyspark: pip install pyspark") from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise ScoringError(
            "--engine spark needs Java 17+ (not found on PATH nor JAVA_HOME); "
            "`make install` installs it, or use --engine local"
        )
    # executors run the driver's interpreter (which has predscore) unless told otherwise
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName("predscore-score")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    master = os.environ.get("SPARK_MASTER") or settings.spark_master
    if master:
        builder = builder.master(master)
    elif "spark.master" not in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
        builder = builder.master("local[*]")
    # pyspark warns about pandas 3 on every import (its pandas-on-Spark API, not used)
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support")
    os.environ.setdefault(
        "PYTHONWARNINGS", "ignore:PySpark does not yet fully support:FutureWarning"
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _folder_source(run: ScoreRun) -> TableSource:
    """The validated tables as a folder the executors can read (frames are written
    into the work folder first)."""
    if run.source.folder is not None:
        return run.source
    assert run.source.frames is not None
    folder = run.work / "validated"
    for table in TABLE_ORDER:
        write_table(run.source.frames[table], folder, table)
    return TableSource(folder)


def _score_partition(
    batches: Iterator[pa.RecordBatch], source: TableSource, run: ScoreRun
) -> Iterator[pa.RecordBatch]:
    """One Spark partition: its leads' scores and rejections as Arrow batches."""
    ids = [i for b in batches for i in b.column(0).to_pylist()]
    if not ids:
        return
    scored, rejected = score_chunk(
        source, sorted(ids), run.as_of, run.scorer, run.reasons, run.owner_column
    )
    scored = scored.cast(PART_SCHEMA).append_column(
        pa.field("rejection", pa.string()), pa.nulls(scored.num_rows, pa.string())
    )
    yield from scored.to_batches()
    if len(rejected):
        n = len(rejected)
        columns = {f.name: pa.nulls(n, f.type) for f in RESULT_SCHEMA}
        columns["lead_id"] = pa.array(rejected["lead_id"].astype(str).tolist())
        columns["as_of"] = pa.array(
            [run.as_of] * n, PART_SCHEMA.field("as_of").type, from_pandas=True
        )
        columns["rejection"] = pa.array(rejected["reason"].astype(str).tolist())
        yield from pa.table(
            [columns[f.name] for f in RESULT_SCHEMA], schema=RESULT_SCHEMA
        ).to_batches()


def run_spark(
    run: ScoreRun,
    settings: ScoringConfig,
    fmt: str = "parquet",
    previous: Path | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Score ``run`` on Spark and publish its outputs; return the manifest.

    A Spark run always scores every chunk (Spark retries failed tasks itself; the
    local engine's ``--resume`` does not apply).
    """
    from pyspark.sql.pandas.types import from_arrow_schema

    start = time.perf_counter()
    spark = spark_session(settings)
    source = _folder_source(run)
    parts = run.work / "parts"
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir(parents=True)
    run.resumed = []
    ids = [i for chunk in run.chunks for i in chunk.tolist()]
    n_parts = settings.spark_partitions or max(
        len(run.chunks), spark.sparkContext.defaultParallelism
    )
    n_parts = max(1, min(n_parts, max(len(ids), 1)))
    if say is not None:
        say(
            f"spark: {len(ids):,} open leads in {n_parts} partition(s) on "
            f"{spark.sparkContext.master}"
        )
    leads = spark.createDataFrame(
        pd.DataFrame({"lead_id": pd.Series(ids, dtype=object)}), "lead_id string"
    )
    if ids:
        leads = leads.repartitionByRange(n_parts, "lead_id")

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return _score_partition(batches, source, run)

    result = leads.mapInArrow(task, from_arrow_schema(RESULT_SCHEMA))
    written = run.work / "spark"
    try:
        result.write.mode("overwrite").parquet(str(written))
    except Exception as exc:  # Py4J / Spark errors: a one-line reason, parts kept
        reason = next((ln for ln in str(exc).splitlines() if "Error" in ln), str(exc))
        raise ScoringError(f"spark job failed: {reason.strip()[:500]}") from exc
    run.timings["spark"] = time.perf_counter() - start
    t = time.perf_counter()
    files = sorted(written.glob("part-*.parquet"))
    for index, path in enumerate(files):
        table = pq.read_table(path)
        table = (
            table.cast(RESULT_SCHEMA) if table.num_rows else RESULT_SCHEMA.empty_table()
        )
        rejected_mask = table["rejection"].is_valid()
        scores = table.filter(pc.invert(rejected_mask))
        rejections = table.filter(rejected_mask).select(["lead_id", "rejection"])
        write_part(
            run,
            index,
            scores.drop_columns(["rejection"]).cast(PART_SCHEMA),
            pd.DataFrame(
                {
                    "lead_id": rejections["lead_id"].to_pylist(),
                    "table": "features",
                    "row": pd.Series([None] * rejections.num_rows, dtype="Int64"),
                    "column": None,
                    "reason": rejections["rejection"].to_pylist(),
                }
            ),
        )
    run.n_parts = len(files)
    run.timings["collect"] = time.perf_counter() - t
    run.timings["chunks"] = time.perf_counter() - start
    return finish_run(run, fmt=fmt, previous=previous, engine="spark")
