"""Champion against challenger, and the promotion gate.

Stage: experiment (above the model). ``predscore compare`` is
:func:`compare_registered`: both models score the same newest labelled leads
(``monitor.compare``: the last ``newest_days`` days of creation, else the newest
``newest_share`` of the labelled leads), and a paired bootstrap by lead
(:func:`predscore.evaluation.paired_bootstrap`) gives the interval of each
difference ``challenger - champion`` (ROC AUC, Brier, average precision). The verdict
is recorded on the challenger's registry version. ``predscore promote`` is
:func:`promote_checked`: it refuses a version whose recorded comparison with the
current champion is significantly worse on ``compare.gate_metric`` (the interval of
the difference lies wholly on the worse side of 0) unless forced; promoting an older
version (a revert) passes unless such a comparison was recorded for it.

Caveat: a model trained on the compared leads is judged in-sample on them; compare
on leads labelled since both trainings where the data allow (``newest_days``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predscore.config import CompareConfig, PredscoreConfig
from predscore.errors import ModelError
from predscore.evaluation import paired_bootstrap
from predscore.features import build_snapshots
from predscore.io import write_text
from predscore.model import ModelBundle, labelled_rows, lead_table
from predscore.model.health import record_comparison, recorded_comparison
from predscore.model.tracking import (
    CHALLENGER,
    CHAMPION,
    promote,
    registered_version,
    resolve_model,
)
from predscore.schema.validate import read_dataset

__all__ = [
    "Promotion",
    "PromotionRefused",
    "compare_models",
    "compare_registered",
    "newest_leads",
    "promote_checked",
]

Progress = Callable[[str], None]


class PromotionRefused(ModelError):
    """The challenger is significantly worse than the champion (``--force``
    promotes it anyway)."""


def newest_leads(rows: pd.DataFrame, config: CompareConfig) -> np.ndarray:
    """The leads of ``rows`` compared: created in the last ``newest_days`` days of
    the labelled leads, else the newest ``newest_share`` of them (by creation)."""
    created = (
        rows.groupby("lead_id", sort=True)["as_of"].min().sort_values(kind="stable")
    )
    if config.newest_days is not None:
        since = created.max() - pd.Timedelta(days=config.newest_days)
        return created.index[created >= since].to_numpy()
    count = max(1, math.ceil(config.newest_share * len(created)))
    return created.index[-count:].to_numpy()


def _labelled(tables: Any, bundle: ModelBundle, config: PredscoreConfig, cutoff: Any):
    snapshots = build_snapshots(
        tables, bundle.features, bundle.icp, cutoff, engine=config.engine
    )
    rows, _, _ = labelled_rows(snapshots, bundle.split, bundle.features.horizon_days)
    return rows


def compare_models(
    tables: Any,
    champion: ModelBundle,
    challenger: ModelBundle,
    config: PredscoreConfig,
    cutoff: pd.Timestamp | None = None,
) -> dict[str, Any]:
    """Both models on the same newest labelled leads, with paired intervals.

    Parameters
    ----------
    tables : path or mapping of DataFrame
        Validated canonical tables.
    champion, challenger : ModelBundle
        The models; each builds the rows with its own feature definitions, on the
        same snapshots (lead and time).
    config : PredscoreConfig
        ``monitor.compare`` (leads, metrics, draws), ``seed``, ``engine``.
    cutoff : Timestamp, optional
        The data's cutoff for horizon labels.

    Returns
    -------
    dict
        ``leads``, ``rows``, ``wins``, ``created_from`` / ``created_to`` (the
        compared leads' creation span), ``intervals`` (per metric: ``champion``,
        ``challenger``, ``difference`` = challenger - champion, ``low``,
        ``high``, ``verdict``: the challenger ``better``, ``worse`` or ``inside
        the noise``) and ``gate`` (the gate metric's record and ``worse``).

    Raises
    ------
    ModelError
        When the two models label their rows differently (another horizon) or the
        compared leads hold a single outcome.
    """
    settings = config.monitor.compare
    if champion.features.horizon_days != challenger.features.horizon_days:
        raise ModelError(
            "the champion and the challenger learn different labels (horizon_days "
            f"{champion.features.horizon_days} against "
            f"{challenger.features.horizon_days}): their scores cannot be compared"
        )
    rows_a = _labelled(tables, champion, config, cutoff)
    leads = newest_leads(rows_a, settings)
    rows_a = rows_a.loc[rows_a["lead_id"].isin(leads)]
    if challenger.features == champion.features and challenger.icp == champion.icp:
        rows_b = rows_a
    else:
        rows_b = _labelled(tables, challenger, config, cutoff)
        rows_b = rows_b.loc[rows_b["lead_id"].isin(leads)]
    keys = ["lead_id", "as_of"]
    common = rows_a.loc[:, keys].merge(rows_b.loc[:, keys], on=keys)
    rows_a = common.merge(rows_a, on=keys)
    rows_b = common.merge(rows_b, on=keys)
    y = rows_a["label"].to_numpy(dtype=int)
    if len(np.unique(y)) < 2:
        raise ModelError(
            f"the {len(leads)} newest labelled leads hold a single outcome: widen "
            "monitor.compare (newest_days / newest_share) in configs/monitor.yaml"
        )
    p_challenger = challenger.predict_proba(rows_b).to_numpy()
    p_champion = champion.predict_proba(rows_a).to_numpy()
    lead_ids = rows_a["lead_id"].to_numpy()

    def paired(at: np.ndarray | slice) -> tuple[list[dict[str, Any]], int]:
        table = paired_bootstrap(
            y[at],
            lead_ids[at],
            {"challenger": p_challenger[at], "champion": p_champion[at]},
            against="challenger",
            metrics=settings.metrics,
            resamples=settings.resamples,
            level=settings.level,
            seed=config.seed,
        )
        records = [
            {
                "metric": r["metric"],
                "champion": r["other"],
                "challenger": r["value"],
                "difference": r["difference"],
                "low": r["low"],
                "high": r["high"],
                "verdict": r["verdict"],
            }
            for r in table.to_dict(orient="records")
        ]
        return records, int(table["resamples"].iloc[0])

    intervals, resamples = paired(slice(None))
    gate = next(i for i in intervals if i["metric"] == settings.gate_metric)
    created = rows_a.groupby("lead_id")["as_of"].min()
    return {
        "leads": int(rows_a["lead_id"].nunique()),
        "rows": len(rows_a),
        "wins": int(lead_table(rows_a)["won"].sum()),
        "created_from": created.min().isoformat(),
        "created_to": created.max().isoformat(),
        "level": settings.level,
        "resamples": resamples,
        "intervals": intervals,
        "gate": {**gate, "worse": gate["verdict"] == "worse"},
        "segments": _per_segment(rows_a, y, champion, challenger, paired),
    }


def _per_segment(
    rows: pd.DataFrame,
    y: np.ndarray,
    champion: ModelBundle,
    challenger: ModelBundle,
    paired: Callable[[np.ndarray], tuple[list[dict[str, Any]], int]],
) -> list[dict[str, Any]]:
    """With segment models (either model's), the comparison on the leads of each
    segment of their column: ``segment``, ``leads``, ``wins``, ``intervals`` (or a
    ``note`` when the segment's leads hold a single outcome). Empty without."""
    with_segments = challenger.segments or champion.segments
    if with_segments is None:
        return []
    from predscore.model.segments import segment_values

    values = segment_values(rows, with_segments.column)
    out = []
    for value in [*sorted({v for v in values if v is not None}), None]:
        at = np.array([v == value for v in values], dtype=bool)
        if not at.any():
            continue
        entry: dict[str, Any] = {
            "segment": value,
            "column": with_segments.column,
            "leads": int(rows.loc[at, "lead_id"].nunique()),
            "wins": int(lead_table(rows.loc[at])["won"].sum()),
        }
        if len(np.unique(y[at])) < 2:
            entry["note"] = "a single outcome among these leads"
        else:
            entry["intervals"] = paired(at)[0]
        out.append(entry)
    return out


@dataclass
class Comparison:
    """A comparison and where its models came from."""

    document: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def compare_registered(
    data: Path,
    config: PredscoreConfig,
    as_of: pd.Timestamp,
    *,
    champion: str | None = None,
    challenger: str | None = None,
    validated: bool = False,
    cutoff: pd.Timestamp | None = None,
    out: Path | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """What ``predscore compare`` does: load both models, compare them, record the
    verdict on the challenger's registry version, write ``compare.json``.

    Parameters
    ----------
    data : Path
        Folder of the canonical tables.
    config : PredscoreConfig
        ``monitor.compare``, ``model.tracking``, ``validation``, ``seed``.
    as_of : Timestamp
        The time the data are validated at.
    champion, challenger : str, optional
        Bundle folders or MLflow model URIs (default: the registry's aliases
        ``champion`` and ``challenger``).
    validated : bool
        ``data`` is already validated.
    cutoff : Timestamp, optional
        The data's cutoff for horizon labels.
    out : Path, optional
        Folder to write ``compare.json`` into.
    progress : callable, optional
        Called with a short line at each step.

    Raises
    ------
    ModelError
        When a model cannot be loaded or the models cannot be compared.
    """
    say = progress or (lambda _line: None)
    tracking = config.model.tracking
    name = tracking.registered_model
    say("loading the models")
    champion_bundle, champion_origin = resolve_model(
        champion or f"models:/{name}@{CHAMPION}", tracking
    )
    challenger_bundle, challenger_origin = resolve_model(
        challenger or f"models:/{name}@{CHALLENGER}", tracking
    )
    dataset = read_dataset(Path(data), as_of, config.validation, validated=validated)
    say("scoring the newest labelled leads with both models")
    found = compare_models(
        dataset.tables, champion_bundle, challenger_bundle, config, cutoff
    )
    champion_version = registered_version(champion_origin, tracking)
    challenger_version = registered_version(challenger_origin, tracking)
    document = {
        "champion": champion_origin,
        "champion_version": champion_version,
        "challenger": challenger_origin,
        "challenger_version": challenger_version,
        "compared_at": pd.Timestamp(as_of).isoformat(),
        "data": str(data),
        **found,
    }
    notes = []
    if challenger_version is not None and champion_version is not None:
        gate = found["gate"]
        record_comparison(
            challenger_version,
            {
                "champion_version": champion_version,
                "metric": gate["metric"],
                "difference": gate["difference"],
                "low": gate["low"],
                "high": gate["high"],
                "verdict": gate["verdict"],
                "leads": found["leads"],
                "compared_at": document["compared_at"],
            },
            tracking,
        )
        notes.append(
            f"verdict recorded on version {challenger_version} (read by `promote`)"
        )
    else:
        notes.append(
            "a model is not a registry version: the verdict is not recorded, "
            "`promote` will not see it"
        )
    if out is not None:
        path = Path(out) / "compare.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(json.dumps(document, indent=2, default=str), path)
        notes.append(f"compare → {path}")
    return Comparison(document=document, notes=notes)


@dataclass(frozen=True)
class Promotion:
    """A promotion done: the version, its export folder and what was checked."""

    version: str
    export: Path
    note: str


def _interval(record: dict[str, Any]) -> str:
    return (
        f"{record['metric']} difference {record['difference']:+.3f} "
        f"[{record['low']:+.3f}, {record['high']:+.3f}] on {record['leads']} leads"
    )


def promote_checked(
    config: PredscoreConfig, version: str | None = None, force: bool = False
) -> Promotion:
    """Make ``version`` (default: the challenger) the champion, unless its
    recorded comparison with the current champion says it is significantly worse.

    Parameters
    ----------
    config : PredscoreConfig
        ``model.tracking`` (store, registered name, export folder).
    version : str, optional
        The registry version; an older one is a revert.
    force : bool
        Promote even a significantly worse version.

    Raises
    ------
    PromotionRefused
        The version is significantly worse than the champion and ``force`` is off.
    ModelError
        When the version or the challenger does not exist.
    """
    tracking = config.model.tracking
    name = tracking.registered_model
    target = version or registered_version(f"models:/{name}@{CHALLENGER}", tracking)
    current = registered_version(f"models:/{name}@{CHAMPION}", tracking)
    note = "no champion yet"
    if target is not None and current is not None:
        if str(target) == str(current):
            note = f"version {target} already is the champion"
        else:
            recorded = recorded_comparison(str(target), tracking)
            if recorded is None or str(recorded.get("champion_version")) != current:
                note = (
                    f"no comparison of version {target} with champion version "
                    f"{current} recorded (`predscore compare`)"
                )
            elif recorded.get("verdict") == "worse":
                if not force:
                    raise PromotionRefused(
                        f"version {target} is significantly worse than champion "
                        f"version {current}: {_interval(recorded)} (`predscore "
                        "compare`); pass --force to promote it anyway"
                    )
                note = f"forced: significantly worse ({_interval(recorded)})"
            else:
                note = (
                    f"compared with champion version {current}: {_interval(recorded)}"
                )
    promoted, export = promote(tracking, version)
    return Promotion(version=promoted, export=export, note=note)
