"""Scoring runs on disk, as ``predscore monitor`` finds and reads them.

Stage: monitor (I/O edge). Input: the folder given as ``--scores``: one scoring run
(``manifest.json`` beside ``scores.parquet`` or ``scores.csv``, as ``predscore score
--out`` publishes it) or a folder of such runs (one per date, e.g. ``scores/2026-09``);
output: the current run (the newest cutoff), the earlier runs (oldest first) and the
run just before the current one.

When ``--scores`` names a single run, its earlier runs are the other runs beside it
(the sibling folders holding a manifest), or those of ``history`` when given; a run
whose manifest names a ``--previous`` folder that still exists takes it as its
previous run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from predscore.errors import PredscoreError

__all__ = ["MonitorError", "RunSet", "ScoringRun", "find_runs", "read_run"]

MANIFEST = "manifest.json"


class MonitorError(PredscoreError):
    """Scoring runs or a model that ``monitor`` cannot read (the reason says which)."""


@dataclass(frozen=True)
class ScoringRun:
    """One published scoring run: its folder, cutoff and manifest."""

    path: Path
    as_of: pd.Timestamp
    manifest: dict[str, Any] = field(repr=False)

    @property
    def mode(self) -> str:
        """``model`` or ``rules`` (scored by the rules alone: no probability)."""
        return str(self.manifest.get("mode", "model"))

    @property
    def model_version(self) -> str | None:
        """The manifest's model, e.g. ``models:/predscore@champion (v3)``."""
        return (self.manifest.get("model") or {}).get("version")

    def scores(
        self, columns: list[str] | None = None, optional: tuple[str, ...] = ()
    ) -> pd.DataFrame:
        """The run's ``scores.parquet`` (or ``scores.csv``), these columns only,
        and those of ``optional`` the run has (older runs lack newer columns)."""
        parquet, csv = self.path / "scores.parquet", self.path / "scores.csv"
        if parquet.is_file():
            if columns is not None and optional:
                names = pq.read_schema(parquet).names
                columns = [*columns, *(c for c in optional if c in names)]
            return pq.read_table(parquet, columns=columns).to_pandas()
        if csv.is_file():
            frame = pacsv.read_csv(csv).to_pandas()
            if columns is None:
                return frame
            return frame.loc[:, [*columns, *(c for c in optional if c in frame)]]
        raise MonitorError(f"{self.path}: no scores.parquet or scores.csv")


@dataclass(frozen=True)
class RunSet:
    """The runs of a check: the current one, the earlier ones, the previous one."""

    current: ScoringRun
    earlier: list[ScoringRun]
    previous: ScoringRun | None


def read_run(path: Path) -> ScoringRun:
    """Read the manifest of the scoring run in ``path``.

    Raises
    ------
    MonitorError
        When ``path`` holds no ``manifest.json`` or it has no readable ``as_of``.
    """
    path = Path(path)
    file = path / MANIFEST
    if not file.is_file():
        raise MonitorError(
            f"{path}: not a scoring run (no {MANIFEST}); pass the --out folder of "
            "`predscore score` or a folder of such folders"
        )
    try:
        manifest = json.loads(file.read_text())
        as_of = pd.Timestamp(manifest["as_of"])
    except (ValueError, KeyError, TypeError) as exc:
        raise MonitorError(f"{file}: unreadable manifest ({exc})") from exc
    as_of = (
        as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")
    )
    return ScoringRun(path=path, as_of=as_of, manifest=manifest)


def _runs_in(folder: Path) -> list[ScoringRun]:
    if not folder.is_dir():
        raise MonitorError(f"{folder}: folder not found")
    found = [read_run(p) for p in sorted(folder.iterdir()) if (p / MANIFEST).is_file()]
    return sorted(found, key=lambda r: (r.as_of, str(r.path)))


def find_runs(scores: Path, history: Path | None = None) -> RunSet:
    """The current run of ``scores``, the runs before it and the previous one.

    Parameters
    ----------
    scores : Path
        A scoring run, or a folder of scoring runs (the newest cutoff is current).
    history : Path, optional
        A folder of earlier runs (default: the runs beside ``scores`` when it is a
        single run).

    Raises
    ------
    MonitorError
        When no scoring run is found.
    """
    scores = Path(scores)
    if (scores / MANIFEST).is_file():
        current = read_run(scores)
        pool = _runs_in(history if history is not None else scores.parent)
    else:
        pool = _runs_in(scores)
        if not pool:
            raise MonitorError(
                f"{scores}: no scoring run found (a folder with {MANIFEST}, or "
                "folders of them); run `predscore score --out` first"
            )
        current = pool[-1]
        if history is not None:
            pool = pool + _runs_in(history)
    current_path = current.path.resolve()
    earlier = sorted(
        (
            r
            for r in pool
            if r.as_of < current.as_of and r.path.resolve() != current_path
        ),
        key=lambda r: (r.as_of, str(r.path)),
    )
    named = current.manifest.get("previous")
    if named and (Path(named) / MANIFEST).is_file():
        previous: ScoringRun | None = read_run(Path(named))
    else:
        previous = earlier[-1] if earlier else None
    return RunSet(current=current, earlier=earlier, previous=previous)
