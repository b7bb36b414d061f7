"""Batch scoring of every open lead: nothing lost, chunked, resumable, local or Spark.

Stage: the last before the outputs (above explain, model, rules and features). Input:
validated tables, a cutoff, a model (or the rules alone); output: a folder with
``scores.parquet`` (DESIGN.md "Outputs"), ``rejections.parquet`` and ``manifest.json``
whose counts prove that every open lead was scored or rejected with its reason.

Public API
----------
``Scorer.load(config, model=None, rules_only=False)``
    The model (or rules) with its features configuration; ``score(rows)`` scores feature
    rows (Arrow table of :data:`SCORE_SCHEMA`).
``score_tables(tables, as_of, scorer)``
    Validate a few raw tables and score their open leads in memory (the API does this
    per request).
``score_canonical(tables, as_of, scorer, kept)``
    The API's short path: Arrow tables validation would keep whole, features on a
    DuckDB connection kept open between requests.
``score_canonical_many(requests, as_of, scorer, kept)``
    Several such requests in one pass (the server's coalesced requests), each
    answered with its own leads.
``score_leads(data, out, config, as_of, ...) -> manifest``
    What ``predscore score`` does: every open lead scored or rejected, published.
``prepare_run(...)``, ``run_scoring(run)``
    The batch job on one machine; :func:`predscore.scoring.spark.run_spark` on Spark.
"""

from predscore.features.lead_tables import CONTEXT_COLUMNS, LeadCounts, TableSource
from predscore.scoring.in_memory import (
    ScoredBatch,
    score_canonical,
    score_canonical_many,
    score_tables,
)
from predscore.scoring.job import (
    OUTPUT_SCHEMA,
    PART_SCHEMA,
    ScoreRun,
    ScoringError,
    prepare_run,
    score_chunk,
)
from predscore.scoring.publish import count_check, finish_run
from predscore.scoring.run import run_scoring, score_leads
from predscore.scoring.scorer import (
    REASON_TYPE,
    RULE_REASON_TYPE,
    SCORE_SCHEMA,
    Scorer,
)

__all__ = [
    "CONTEXT_COLUMNS",
    "OUTPUT_SCHEMA",
    "PART_SCHEMA",
    "REASON_TYPE",
    "RULE_REASON_TYPE",
    "SCORE_SCHEMA",
    "LeadCounts",
    "ScoreRun",
    "ScoredBatch",
    "Scorer",
    "ScoringError",
    "TableSource",
    "count_check",
    "finish_run",
    "prepare_run",
    "run_scoring",
    "score_chunk",
    "score_leads",
    "score_canonical",
    "score_canonical_many",
    "score_tables",
]
