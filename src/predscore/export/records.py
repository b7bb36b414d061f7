"""The rows every destination receives: one per scored lead, the configured fields.

Stage: export (pure: a scoring run in, a frame out). Columns are the CRM field
names of ``fields`` (in :data:`~predscore.config.export.EXPORT_COLUMNS` order), then
one per reason field. Numbers keep their full precision (the CRM field's scale
rounds them); texts longer than their field's limit are cut, with "…" at the end;
missing values stay missing (each destination writes them its own way).
``scored_at`` is the run's as-of time and ``run_id`` identifies the run by its
content (the SHA-256 of its ``scores.parquet``, first 16 hex digits), so that
exporting the same run twice writes the same rows.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from predscore.config.export import EXPORT_COLUMNS, ExportConfig
from predscore.pages.scores_folder import SCORES_FILE, ScoresFolder

__all__ = ["TEXT_COLUMNS", "cut", "export_records", "run_id"]

#: Columns exported as text (cut to ``text_max_chars``).
TEXT_COLUMNS = ("lead_id", "tier", "route", "model_version", "model_segment", "run_id")


def cut(value: Any, limit: int) -> Any:
    """``value`` cut to ``limit`` characters, "…" ending a cut text; others as is."""
    if not isinstance(value, str) or len(value) <= limit:
        return value
    return value[: limit - 1] + "…"


def run_id(batch: ScoresFolder) -> str:
    """The run's identity: its scores' SHA-256 (first 16 hex digits)."""
    recorded = (batch.manifest.get("outputs") or {}).get(SCORES_FILE)
    if recorded:
        return str(recorded)[:16]
    digest = hashlib.sha256((batch.folder / SCORES_FILE).read_bytes()).hexdigest()
    return digest[:16]


def _reason_texts(reasons: Any, count: int, limit: int) -> list[str | None]:
    texts: list[str | None] = []
    for reason in list(reasons if reasons is not None else [])[:count]:
        text = reason.get("text") if isinstance(reason, dict) else None
        texts.append(cut(text, limit) if text else None)
    return texts + [None] * (count - len(texts))


def export_records(batch: ScoresFolder, config: ExportConfig) -> pd.DataFrame:
    """One row per scored lead of ``batch``, columns named as the CRM's fields.

    Rows follow the run's ranking (rank 1 first). Leads scored by the rules alone
    (no model) have no probability and no score: those stay missing.
    """
    scores = batch.scores
    as_of = batch.as_of
    values: dict[str, Any] = {
        "lead_id": scores["lead_id"].astype(str).to_numpy(dtype=object),
        "score": pd.to_numeric(scores["score"], errors="coerce").to_numpy(float),
        "probability": pd.to_numeric(scores["probability"], errors="coerce").to_numpy(
            float
        ),
        "tier": scores["tier"].to_numpy(dtype=object),
        "route": scores["route"].to_numpy(dtype=object),
        "rank": scores["rank"].to_numpy(dtype=np.int64),
        "delta": pd.to_numeric(scores["delta"], errors="coerce").to_numpy(float),
        "model_version": scores["model_version"].to_numpy(dtype=object),
        "model_segment": scores["model_segment"].to_numpy(dtype=object),
        "scored_at": [as_of] * len(scores),
        "run_id": [run_id(batch)] * len(scores),
    }
    out = pd.DataFrame(index=range(len(scores)))
    for column in EXPORT_COLUMNS:
        name = config.fields.get(column)
        if name is None:
            continue
        data = values[column]
        if column in TEXT_COLUMNS:
            data = [
                None if pd.isna(v) else cut(str(v), config.text_max_chars) for v in data
            ]
        out[name] = data
    count, limit = len(config.reasons.fields), config.reasons.max_chars
    if count:
        texts = [_reason_texts(r, count, limit) for r in scores["reasons"]]
        for i, name in enumerate(config.reasons.fields):
            out[name] = [row[i] for row in texts]
    return out
