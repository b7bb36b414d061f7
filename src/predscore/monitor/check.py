"""A model health check: what ``predscore monitor`` does, as one function.

Stage: monitor (above model, features and evaluation; it reads the scoring runs'
published files, never the scoring code). Input: the data folder's validated tables,
the scoring runs (:mod:`.runs`), the model that scored them and the ``monitor``
section; output: a :class:`MonitorResult` (the ``monitor.json`` document, the alerts)
written by :func:`write_monitoring` as ``monitor.json`` and ``monitor.html``.

Three views, each against the model's training profile (``bundle.metadata
["reference"]``, written by ``predscore train``):

1. **feature drift**: today's open leads (the current run's scored leads, their
   features rebuilt as of its cutoff with the model's own feature definitions)
   against the leads open at training (the training rows for older models), per
   feature, PSI and Jensen-Shannon distance, the most drifted first;
2. **score shift**: the current run's probabilities and routes against the training
   rows' and against the previous run's;
3. **realised performance**: the earlier runs' probabilities against the outcomes
   known today (:mod:`.realised`), by month of scoring.

A threshold of the ``monitor`` section crossed is an alert: the command exits with
code 3 and names it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predscore.config import MonitorConfig, PredscoreConfig
from predscore.evaluation.drift import (
    bin_labels,
    bin_shares,
    distribution_shift,
    js_distance,
    profile_column,
    psi,
)
from predscore.features import build_features
from predscore.model import ModelBundle
from predscore.monitor.realised import realised_performance
from predscore.monitor.runs import MonitorError, RunSet, ScoringRun
from predscore.schema.store import read_table

__all__ = [
    "MonitorResult",
    "check_model",
    "health_metrics",
    "model_origin",
    "reference_of",
]

Progress = Callable[[str], None]
_ROUTES = ["meeting", "nurture", "disqualify"]


@dataclass
class MonitorResult:
    """A health check: its document (``monitor.json``), drift table and alerts."""

    document: dict[str, Any]
    drift: pd.DataFrame
    alerts: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """3 when a threshold was crossed, else 0."""
        return 3 if self.alerts else 0


def model_origin(run: ScoringRun) -> str:
    """The model URI that scored ``run``, as exact as its manifest allows.

    ``models:/NAME@ALIAS (vN)`` becomes ``models:/NAME/N`` (the alias may have moved
    since); a bundle folder or ``runs:/`` URI is kept.

    Raises
    ------
    MonitorError
        When the run was scored by the rules alone or names no model.
    """
    if run.mode != "model":
        raise MonitorError(
            f"{run.path}: scored by the rules alone (no model to monitor); pass "
            "--model, or score with a trained model"
        )
    text = run.model_version
    if not text:
        raise MonitorError(f"{run.path}: the manifest names no model; pass --model")
    origin, _, version = text.partition(" (v")
    version = version.rstrip(")")
    if origin.startswith("models:/") and version.isdigit():
        name = origin[len("models:/") :].split("@", 1)[0].split("/", 1)[0]
        return f"models:/{name}/{version}"
    return origin


def reference_of(bundle: ModelBundle, origin: str) -> dict[str, Any]:
    """The training profile kept by the model of ``origin``.

    Raises
    ------
    MonitorError
        When the model predates the profile (trained before predscore kept one).
    """
    reference = bundle.metadata.get("reference")
    if not isinstance(reference, dict) or "features" not in reference:
        raise MonitorError(
            f"model {origin} keeps no training profile (bundle.json metadata."
            "reference): it was trained before `predscore monitor` existed; train it "
            "again with `predscore train` to monitor it"
        )
    if reference.get("version") != 1:
        raise MonitorError(
            f"model {origin}: training profile version {reference.get('version')!r}, "
            "this predscore reads version 1; train the model again"
        )
    return reference


def _feature_drift(
    tables: Any,
    run: ScoringRun,
    bundle: ModelBundle,
    reference: dict[str, Any],
    config: PredscoreConfig,
) -> tuple[pd.DataFrame, dict[str, dict]]:
    """PSI and JS distance of every model feature, today's scored leads against
    the leads open at training (:func:`drift_reference`); the bins of the most
    drifted (the page draws them)."""
    scored = run.scores(["lead_id"])["lead_id"].astype(str)
    rows = build_features(
        tables, run.as_of, bundle.features, bundle.icp, engine=config.engine
    )
    rows = rows.loc[rows["lead_id"].astype(str).isin(set(scored))]
    profiles = drift_reference(reference)["features"]
    table = distribution_shift(profiles, rows, config.monitor.drift.epsilon).assign(
        rows=len(rows)
    )
    shown = table["feature"].head(config.monitor.drift.shown)
    bins = {}
    for name in shown:
        profile = profiles[name]
        values = rows[name] if name in rows else pd.Series([None] * len(rows))
        bins[name] = {
            "labels": bin_labels(profile),
            "reference": list(profile["shares"]),
            "current": [round(float(x), 6) for x in bin_shares(values, profile)],
        }
    return table, bins


def drift_reference(reference: dict[str, Any]) -> dict[str, Any]:
    """What today's open leads are compared with: the leads open when the model was
    trained (the same kind of population), or the training rows for a model trained
    before that profile was kept. ``against`` says which, for people."""
    opened = reference.get("open")
    if isinstance(opened, dict) and opened.get("features"):
        return {
            "features": opened["features"],
            "against": f"the {opened['leads']} leads open at training "
            f"({opened['as_of'][:10]})",
        }
    return {
        "features": reference["features"],
        "against": "the training rows (snapshots of closed leads; this model keeps "
        "no profile of the leads open at training: retrain it to compare like "
        "with like)",
    }


def _shift(expected: list[float], actual: np.ndarray, epsilon: float) -> dict:
    return {
        "psi": psi(expected, actual, epsilon),
        "js": js_distance(expected, actual),
    }


def _score_shift(
    runs: RunSet, reference: dict[str, Any], monitor: MonitorConfig
) -> dict[str, Any]:
    """The current run's probability and route distributions against training and
    the previous run."""
    eps = monitor.drift.epsilon
    now = runs.current.scores(["probability", "route"])
    p_now = now["probability"].astype(float)
    routes_now = now["route"].astype(object)
    profile_p, profile_r = reference["probability"], reference["route"]
    out: dict[str, Any] = {
        "current": {
            "as_of": runs.current.as_of.isoformat(),
            "leads": len(now),
            "mean_probability": float(p_now.mean()) if len(now) else None,
            "routes": dict(
                zip(
                    _ROUTES, bin_shares(routes_now, profile_r)[:3].tolist(), strict=True
                )
            ),
        },
        "training": {
            "mean_probability": reference.get("mean_probability"),
            "close_rate": reference.get("close_rate"),
            "routes": dict(zip(_ROUTES, profile_r["shares"][:3], strict=True)),
            "probability_bins": profile_p,
        },
        "vs_training": {
            "probability": _shift(
                profile_p["shares"], bin_shares(p_now, profile_p), eps
            ),
            "route": _shift(
                profile_r["shares"], bin_shares(routes_now, profile_r), eps
            ),
        },
        "current_bins": [round(float(x), 6) for x in bin_shares(p_now, profile_p)],
        "previous": None,
        "vs_previous": None,
    }
    previous = runs.previous
    if previous is not None and previous.mode == "model":
        before = previous.scores(["probability", "route"])
        p_before = before["probability"].astype(float)
        prof_p = profile_column(p_before, bins=monitor.scores.bins)
        prof_r = profile_column(before["route"].astype(object), levels=_ROUTES)
        out["previous"] = {
            "path": str(previous.path),
            "as_of": previous.as_of.isoformat(),
            "model": previous.model_version,
            "leads": len(before),
            "mean_probability": float(p_before.mean()) if len(before) else None,
            "routes": dict(zip(_ROUTES, prof_r["shares"][:3], strict=True)),
        }
        out["vs_previous"] = {
            "probability": _shift(prof_p["shares"], bin_shares(p_now, prof_p), eps),
            "route": _shift(prof_r["shares"], bin_shares(routes_now, prof_r), eps),
        }
    return out


def _realised(
    runs: RunSet,
    tables: Any,
    cutoff: pd.Timestamp,
    bundle: ModelBundle,
    config: MonitorConfig,
) -> dict[str, Any]:
    """Realised performance of the earlier runs scored by a model."""
    frames, skipped = [], []
    for run in runs.earlier:
        if run.mode != "model":
            skipped.append(f"{run.path}: scored by the rules alone")
            continue
        frame = run.scores(
            ["lead_id", "probability"], optional=("model_segment",)
        ).assign(as_of=run.as_of)
        frames.append(frame.assign(run=str(run.path)))
    if not frames:
        return {
            "runs": 0,
            "months": [],
            "overall": None,
            "calibration": [],
            "segments": [],
            "skipped": skipped,
        }
    scored = pd.concat(frames, ignore_index=True)
    scored["lead_id"] = scored["lead_id"].astype(str)
    known = (
        read_table(Path(tables), "outcomes")
        if isinstance(tables, str | Path)
        else tables["outcomes"]
    )
    outcomes = known.assign(lead_id=lambda t: t["lead_id"].astype(str))
    found = realised_performance(
        scored,
        outcomes,
        cutoff,
        bundle.features.horizon_days,
        min_leads=config.realised.min_leads,
        bins=config.realised.calibration_bins,
    )
    return {"runs": len(frames), **found, "skipped": skipped}


def _alerts(
    drift: pd.DataFrame, shift: dict, realised: dict, monitor: MonitorConfig
) -> tuple[list[str], list[str]]:
    """Alert lines and the drifted features (most drifted first)."""
    alerts: list[str] = []
    d = monitor.drift
    drifted: list[str] = []
    if len(drift) and int(drift["rows"].iloc[0]) >= d.min_rows:
        hit = pd.Series(False, index=drift.index)
        if d.psi_alert is not None:
            hit |= drift["psi"] >= d.psi_alert
        if d.js_alert is not None:
            hit |= drift["js"] >= d.js_alert
        flagged = drift.loc[hit]
        drifted = flagged["feature"].tolist()
        if drifted:
            top = flagged.iloc[0]
            more = f" and {len(drifted) - 1} more" if len(drifted) > 1 else ""
            alerts.append(
                f"feature drift: {top['feature']} (PSI {top['psi']:.2f}, JS "
                f"{top['js']:.2f}){more}"
            )
    s = monitor.scores
    vs = shift["vs_training"]
    if s.psi_alert is not None and vs["probability"]["psi"] >= s.psi_alert:
        alerts.append(
            f"score shift: probability PSI {vs['probability']['psi']:.2f} against "
            f"training (threshold {s.psi_alert:g})"
        )
    if s.route_psi_alert is not None and vs["route"]["psi"] >= s.route_psi_alert:
        alerts.append(
            f"route shift: PSI {vs['route']['psi']:.2f} against training "
            f"(threshold {s.route_psi_alert:g})"
        )
    r = monitor.realised
    judged = [m for m in realised.get("months", []) if m["roc_auc"] is not None]
    if judged:
        newest = judged[-1]
        if r.min_roc_auc is not None and newest["roc_auc"] < r.min_roc_auc:
            alerts.append(
                f"realised ROC AUC {newest['roc_auc']:.3f} for the leads scored in "
                f"{newest['month']} (threshold {r.min_roc_auc:g})"
            )
        gap = abs(newest["predicted_rate"] - newest["actual_rate"])
        if r.max_rate_gap is not None and gap > r.max_rate_gap:
            alerts.append(
                f"realised close rate {newest['actual_rate']:.1%} against "
                f"{newest['predicted_rate']:.1%} predicted for {newest['month']}"
            )
    return alerts, drifted


def check_model(
    tables: Any,
    runs: RunSet,
    bundle: ModelBundle,
    origin: str,
    config: PredscoreConfig,
    cutoff: pd.Timestamp,
    progress: Progress | None = None,
) -> MonitorResult:
    """Feature drift, score shift and realised performance of one model.

    Parameters
    ----------
    tables : mapping of DataFrame or Path
        The validated canonical tables, known at ``cutoff``.
    runs : RunSet
        The current scoring run, the earlier ones and the previous one.
    bundle : ModelBundle
        The model that scored the current run (its training profile is the
        reference).
    origin : str
        Where the model came from (reported).
    config : PredscoreConfig
        ``monitor`` (bins, thresholds), ``engine``.
    cutoff : Timestamp
        What is known now (outcomes after it do not count).
    progress : callable, optional
        Called with a short line at each step.

    Raises
    ------
    MonitorError
        When the model keeps no training profile.
    """
    say = progress or (lambda _line: None)
    reference = reference_of(bundle, origin)
    monitor = config.monitor
    say("features of today's open leads")
    drift, bins = _feature_drift(tables, runs.current, bundle, reference, config)
    say("score and route shift")
    shift = _score_shift(runs, reference, monitor)
    say("realised performance of the earlier runs")
    realised = _realised(runs, tables, cutoff, bundle, monitor)
    alerts, drifted = _alerts(drift, shift, realised, monitor)
    document = {
        "model": origin,
        "checked_at": pd.Timestamp(cutoff).isoformat(),
        "scores": str(runs.current.path),
        "as_of": runs.current.as_of.isoformat(),
        "training": {
            "rows": reference["rows"],
            "leads": reference["leads"],
            "close_rate": reference.get("close_rate"),
        },
        "thresholds": monitor.model_dump(mode="json", exclude={"compare"}),
        "drift": {
            "against": drift_reference(reference)["against"],
            "rows": int(drift["rows"].iloc[0]) if len(drift) else 0,
            "drifted": drifted,
            "features": drift.drop(columns="rows").to_dict(orient="records"),
            "bins": bins,
        },
        "scores_shift": shift,
        "realised": realised,
        "alerts": alerts,
        "status": "alert" if alerts else "ok",
    }
    return MonitorResult(document=document, drift=drift, alerts=alerts)


def health_metrics(result: MonitorResult) -> dict[str, float | None]:
    """The figures of a check logged to MLflow (``monitor.*``)."""
    doc = result.document
    drift = result.drift
    shift = doc["scores_shift"]
    overall = doc["realised"].get("overall") or {}
    previous = shift.get("vs_previous") or {}
    return {
        "monitor.drift.max_psi": float(drift["psi"].max()) if len(drift) else None,
        "monitor.drift.max_js": float(drift["js"].max()) if len(drift) else None,
        "monitor.drift.features_drifted": float(len(doc["drift"]["drifted"])),
        "monitor.score.psi_vs_training": shift["vs_training"]["probability"]["psi"],
        "monitor.route.psi_vs_training": shift["vs_training"]["route"]["psi"],
        "monitor.score.psi_vs_previous": (previous.get("probability") or {}).get("psi"),
        "monitor.score.mean_probability": shift["current"]["mean_probability"],
        "monitor.realised.roc_auc": overall.get("roc_auc"),
        "monitor.realised.brier": overall.get("brier"),
        "monitor.realised.ece": overall.get("ece"),
        "monitor.realised.predicted_rate": overall.get("predicted_rate"),
        "monitor.realised.actual_rate": overall.get("actual_rate"),
        "monitor.alerts": float(len(result.alerts)),
    }
