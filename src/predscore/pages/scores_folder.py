"""A scored batch as the pages read it: scores, manifest, and a lead's recent history.

Stage: outputs (the disk edge of the pages). Input: a folder written by ``predscore
score --out`` (``scores.parquet``, ``manifest.json``), or a folder of such folders, of
which the batch with the latest as-of is the current one; for a lead page, the
validated data folder the batch was scored from (named in its manifest), read for one
lead at a time. Output: :class:`ScoresFolder` and :class:`LeadHistory`, plain frames
for :mod:`predscore.pages.render`. Nothing here writes.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from predscore.errors import DataValidationError, SchemaError
from predscore.io import read_parquet
from predscore.scoring.in_memory import plain_value

__all__ = [
    "DISPLAY_COLUMNS",
    "REQUIRED_COLUMNS",
    "BatchSource",
    "LeadHistory",
    "ScoresFolder",
    "find_batch",
    "plain_records",
    "read_batch",
    "read_lead_history",
]

SCORES_FILE = "scores.parquet"
MANIFEST_FILE = "manifest.json"
#: Columns of scores.parquet the pages cannot do without.
REQUIRED_COLUMNS = (
    "lead_id",
    "as_of",
    "rank",
    "tier",
    "route",
    "rule_points",
    "rule_route",
    "reasons",
    "rule_reasons",
    "model_version",
)
#: Columns shown when present (null when a batch lacks them).
DISPLAY_COLUMNS = (
    "probability",
    "score",
    "delta",
    "grid",
    "base",
    "fit_points",
    "engagement_points",
    "qualification_points",
    "eliminated_by",
    "model_segment",
    "account_name",
    "sector",
    "job_title",
    "country",
    "owner",
)
_ACTIVITY_COLUMNS = [
    "lead_id",
    "occurred_at",
    "channel",
    "action",
    "detail",
    "quantity",
]
_QUALIFICATION_COLUMNS = ["lead_id", "recorded_at", "field", "value"]


@dataclass(frozen=True)
class ScoresFolder:
    """One scoring run as written to disk: its scores (sorted by rank), its manifest."""

    folder: Path
    scores: pd.DataFrame
    manifest: dict[str, Any]

    @property
    def as_of(self) -> pd.Timestamp | None:
        """The batch's as-of time (UTC), from the manifest or the scores."""
        stamp = self.manifest.get("as_of")
        if stamp is None and len(self.scores):
            stamp = self.scores["as_of"].iloc[0]
        return None if stamp is None else pd.Timestamp(stamp).tz_convert("UTC")

    @property
    def data_dir(self) -> Path | None:
        """The validated data folder the batch was scored from, if the manifest says.

        A relative path is taken from the current folder (where ``predscore score``
        usually ran) when it exists there, else from the batch folder's parent.
        """
        data = self.manifest.get("inputs", {}).get("data")
        if not data:
            return None
        path = Path(data)
        if path.is_absolute() or path.is_dir():
            return path
        beside = self.folder.parent / path
        return beside if beside.is_dir() else path

    def lead(self, lead_id: str) -> dict[str, Any] | None:
        """The score row of one lead as plain Python values, or ``None``."""
        hit = self.scores.index[self.scores["lead_id"] == lead_id]
        if not len(hit):
            return None
        return _plain_row(self.scores.loc[hit[0]])


def _plain_row(row: pd.Series) -> dict[str, Any]:
    return {name: plain_value(value) for name, value in row.items()}


def plain_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a scores frame as plain Python (lists of dicts, ``None`` for nulls)."""
    if frame.empty:  # (an answer without rejections: the common case, kept cheap)
        return []
    return [
        {name: plain_value(value) for name, value in row.items()}
        for row in frame.to_dict("records")
    ]


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST_FILE
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataValidationError(
            f"{path}: not a readable JSON manifest ({exc})"
        ) from exc
    if not isinstance(manifest, dict):
        raise DataValidationError(f"{path}: expected a JSON object")
    return manifest


def read_batch(folder: Path) -> ScoresFolder:
    """Read the batch written by ``predscore score --out folder``.

    Raises
    ------
    DataValidationError
        When ``scores.parquet`` is missing or unreadable, or the manifest is not JSON.
    SchemaError
        When a required column is missing (the message names it).
    """
    path = folder / SCORES_FILE
    scores = read_parquet(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in scores.columns]
    if missing:
        raise SchemaError(
            str(path),
            missing[0],
            "the columns of predscore score's output",
            f"columns {list(scores.columns)}",
        )
    for name in DISPLAY_COLUMNS:
        if name not in scores.columns:
            scores[name] = None
    scores = scores.sort_values(["rank", "lead_id"], kind="stable").reset_index(
        drop=True
    )
    scores["lead_id"] = scores["lead_id"].astype(str)
    return ScoresFolder(folder=folder, scores=scores, manifest=_read_manifest(folder))


def find_batch(root: Path) -> Path | None:
    """The batch folder to show: ``root`` itself, else its latest scored sub-folder.

    Sub-folders holding a ``scores.parquet`` are ordered by the as-of time of their
    manifest, then by the file's modification time; ``None`` when there is none.
    """
    if (root / SCORES_FILE).is_file():
        return root
    if not root.is_dir():
        return None
    runs = [p for p in root.iterdir() if (p / SCORES_FILE).is_file()]
    if not runs:
        return None

    def key(folder: Path) -> tuple[pd.Timestamp, int]:
        try:
            stamp = _read_manifest(folder).get("as_of")
            as_of = pd.Timestamp(stamp) if stamp else pd.Timestamp(0, tz="UTC")
        except (DataValidationError, ValueError):
            as_of = pd.Timestamp(0, tz="UTC")
        if as_of.tzinfo is None:
            as_of = as_of.tz_localize("UTC")
        return as_of, (folder / SCORES_FILE).stat().st_mtime_ns

    return max(runs, key=key)


class BatchSource:
    """The current batch under a folder, re-read when a newer batch appears.

    Each :meth:`current` call checks the folder (a directory listing and a ``stat``)
    and reads the batch again only when another run became the latest or its scores
    file changed, so a scoring job can write next to a running server.
    """

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._stamp: tuple[Path, int, int] | None = None
        self._batch: ScoresFolder | None = None

    def current(self) -> ScoresFolder | None:
        """The latest batch, or ``None`` when there is none (yet)."""
        if self.root is None:
            return None
        folder = find_batch(self.root)
        if folder is None:
            return None
        stat = (folder / SCORES_FILE).stat()
        stamp = (folder, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._batch = read_batch(folder)
                self._stamp = stamp
            return self._batch


@dataclass(frozen=True)
class LeadHistory:
    """What a rep reads under a lead's score: its recent touches and its answers.

    ``activities``: the most recent activities known at the as-of time, newest first;
    ``qualifications``: the latest value of each field known then; ``total`` the
    number of activities known then. ``note`` says why they are empty when they could
    not be read (no data folder), else ``None``.
    """

    activities: pd.DataFrame
    qualifications: pd.DataFrame
    total: int
    note: str | None = None


def _known(frame: pd.DataFrame, column: str, as_of: pd.Timestamp) -> pd.DataFrame:
    # the same rule as the features (predscore.features.pit): an event at exactly
    # as_of is known, one a microsecond later is not; the page never shows the future
    times = pd.to_datetime(frame[column], utc=True)
    return frame.loc[times <= as_of].assign(**{column: times[times <= as_of]})


def read_lead_history(
    data_dir: Path | None, lead_id: str, as_of: pd.Timestamp, limit: int
) -> LeadHistory:
    """Recent activities and latest qualification answers of one lead at ``as_of``.

    Parameters
    ----------
    data_dir : Path or None
        Validated data folder (``activities.parquet``, ``qualifications.parquet``).
    lead_id : str
        The lead.
    as_of : Timestamp
        The batch's as-of time: nothing after it is shown.
    limit : int
        Most recent activities kept.

    Returns
    -------
    LeadHistory
        Empty, with a ``note``, when the folder or its files are missing: a page
        still shows the score.
    """
    empty_acts = pd.DataFrame(columns=_ACTIVITY_COLUMNS[1:])
    empty_quals = pd.DataFrame(columns=_QUALIFICATION_COLUMNS[1:])
    if data_dir is None:
        return LeadHistory(empty_acts, empty_quals, 0, "no data folder for this batch")
    paths = (data_dir / "activities.parquet", data_dir / "qualifications.parquet")
    if not all(p.is_file() for p in paths):
        return LeadHistory(
            empty_acts, empty_quals, 0, f"data folder {data_dir} not found"
        )
    where = [("lead_id", "==", lead_id)]
    acts = _known(
        read_parquet(paths[0], _ACTIVITY_COLUMNS, where), "occurred_at", as_of
    ).sort_values("occurred_at", ascending=False, kind="stable")
    quals = (
        _known(
            read_parquet(paths[1], _QUALIFICATION_COLUMNS, where), "recorded_at", as_of
        )
        .sort_values("recorded_at", kind="stable")
        .drop_duplicates("field", keep="last")
        .sort_values("field", key=lambda s: s.astype(str), kind="stable")
    )
    return LeadHistory(
        activities=acts.head(limit).drop(columns="lead_id").reset_index(drop=True),
        qualifications=quals.drop(columns="lead_id").reset_index(drop=True),
        total=len(acts),
    )
