"""Model and rules side by side on the same labelled rows.

Stage: experiment (above both the model and the rules, which never import each
other). Input: labelled feature rows, the model's probabilities, the rules' points and
route, the rules' points mapped to a probability on the calibration period (so that
Brier and calibration error mean the same for both) and, optionally, the probabilities
of reference models (:mod:`predscore.experiment.references`). Output: the
``metrics.json`` document of ``predscore evaluate``, and the same as tables
(:func:`metrics_table`, :func:`segments_table`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from predscore.errors import ConfigError
from predscore.evaluation import evaluate_scores, trap_segments
from predscore.evaluation.calibration import brier, expected_calibration_error

__all__ = [
    "METRIC_KEYS",
    "evaluation_figures",
    "intervals_table",
    "metrics_table",
    "scored_rows",
    "scorer_metrics",
    "scorer_names",
    "segment_metrics",
    "segment_models_table",
    "segment_report_table",
    "segments_table",
    "side_by_side",
]

#: the headline metrics of :func:`metrics_table`, in display order
METRIC_KEYS = ("roc_auc", "pr_auc", "brier", "ece", "lift_top10", "capture_top20")


def scorer_metrics(
    labels: np.ndarray,
    probability: np.ndarray,
    ranking: np.ndarray | None = None,
    decision: np.ndarray | None = None,
) -> dict[str, float]:
    """Headline metrics of one scorer.

    ``ranking`` (default: ``probability``) orders the rows for ROC AUC, PR AUC, lift
    and capture: the rules rank by their points, not by the mapped probability, whose
    steps would create ties.
    """
    ranked = probability if ranking is None else ranking
    base = evaluate_scores(labels, ranked, decision=decision)
    out = {
        "rows": base["rows"],
        "base_rate": base["base_rate"],
        "roc_auc": base["roc_auc"],
        "pr_auc": base["pr_auc"],
        "brier": brier(labels, probability),
        "ece": expected_calibration_error(labels, probability, bins=10),
        "mean_probability": float(np.mean(probability)) if len(probability) else np.nan,
        "lift_top10": base["lift_10"],
        "capture_top10": base["capture_10"],
        "lift_top20": base["lift_20"],
        "capture_top20": base["capture_20"],
    }
    for key in ("precision", "recall", "selected_share"):
        if key in base:
            out[f"meeting_{key}"] = base[key]
    return out


def _percentile(values: np.ndarray) -> np.ndarray:
    """Mean rank of each value among all, in [0, 1] (ties share their mean rank)."""
    return pd.Series(values).rank(method="average", pct=True).to_numpy()


def segment_metrics(
    features: pd.DataFrame, labels: np.ndarray, scorers: Mapping[str, dict]
) -> dict[str, dict]:
    """Close rate and each scorer's view of the two trap segments.

    ``scorers`` maps a scorer name to ``{"probability": ..., "ranking": ...,
    "decision": ...}`` (``decision``: routed to a meeting, optional).
    """
    out: dict[str, dict] = {}
    for name, mask in trap_segments(features).items():
        m = np.asarray(mask, dtype=bool)
        entry: dict[str, object] = {
            "rows": int(m.sum()),
            "leads": int(features.loc[m, "lead_id"].nunique()),
            "close_rate": float(labels[m].mean()) if m.any() else float("nan"),
        }
        for scorer, parts in scorers.items():
            pct = _percentile(np.asarray(parts["ranking"], dtype=float))
            view = {
                "mean_probability": float(np.mean(parts["probability"][m]))
                if m.any()
                else float("nan"),
                "mean_rank_percentile": float(pct[m].mean()) if m.any() else np.nan,
            }
            if parts.get("decision") is not None:
                view["meeting_share"] = (
                    float(np.mean(parts["decision"][m])) if m.any() else float("nan")
                )
            entry[scorer] = view
        out[name] = entry
    return out


def side_by_side(
    features: pd.DataFrame,
    probability: np.ndarray,
    rules: pd.DataFrame | None,
    rule_probability: np.ndarray | None,
    references: Mapping[str, np.ndarray] | None = None,
) -> dict[str, object]:
    """The ``{"model", "rules", <references>, "segments"}`` document on the same rows.

    Parameters
    ----------
    features : DataFrame
        Labelled feature rows (``lead_id``, ``label``, the features).
    probability : array
        The model's calibrated probability per row.
    rules : DataFrame or None
        :func:`predscore.rules.score_rules` output for the same rows; None when the
        rules do not apply to this data set.
    rule_probability : array or None
        The rules' points mapped to a probability (fitted before the test period).
    references : mapping of str to array, optional
        Probability per row of each reference model, by name; each gets an entry of
        its own beside ``model`` and ``rules``.

    Raises
    ------
    ConfigError
        When a reference is named like an entry of the document (``model``...).
    """
    y = features["label"].to_numpy().astype(int)
    doc: dict[str, object] = {
        "rows": len(features),
        "leads": int(features["lead_id"].nunique()),
        "model": scorer_metrics(y, probability),
    }
    scorers: dict[str, dict] = {
        "model": {"probability": probability, "ranking": probability}
    }
    if rules is not None and rule_probability is not None:
        meeting = rules["rule_route"].eq("meeting").to_numpy()
        points = rules["rule_points"].to_numpy(dtype=float)
        doc["rules"] = scorer_metrics(y, rule_probability, points, meeting)
        scorers["rules"] = {
            "probability": rule_probability,
            "ranking": points,
            "decision": meeting,
        }
    for name, p in (references or {}).items():
        if name in doc or name == "segments":
            raise ConfigError(
                f"reference model name {name!r} is taken by the document; "
                "name the reference otherwise"
            )
        p = np.asarray(p, dtype=float)
        doc[name] = scorer_metrics(y, p)
        scorers[name] = {"probability": p, "ranking": p}
    try:
        doc["segments"] = segment_metrics(features, y, scorers)
    except KeyError as missing:  # the trap needs the demo's qualification features
        doc["segments"] = {
            "unavailable": f"feature {missing} absent from this data set"
        }
    return doc


def scored_rows(
    test: pd.DataFrame,
    probability: np.ndarray,
    rules: pd.DataFrame | None,
    rule_probability: np.ndarray | None,
    references: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Key, label and every scorer's output per test row (the plots' input).

    Columns: ``lead_id``, ``as_of``, ``label``, ``probability``; when the rules
    apply ``rule_points``, ``rule_route``, ``rule_probability``; then
    ``<name>_probability`` per reference model.
    """
    scored = test.loc[:, ["lead_id", "as_of", "label"]].assign(probability=probability)
    if rules is not None:
        scored = scored.assign(
            rule_points=rules["rule_points"].to_numpy(),
            rule_route=rules["rule_route"].to_numpy(),
            rule_probability=rule_probability,
        )
    extra = {f"{name}_probability": p for name, p in (references or {}).items()}
    return scored.assign(**extra)


def scorer_names(metrics: Mapping[str, Any]) -> list[str]:
    """Names of the scorers of a :func:`side_by_side` document, in its order."""
    return [
        name
        for name, value in metrics.items()
        if isinstance(value, Mapping) and "roc_auc" in value
    ]


def metrics_table(
    metrics: Mapping[str, Any], keys: tuple[str, ...] = METRIC_KEYS
) -> pd.DataFrame:
    """One row per scorer of a :func:`side_by_side` document, one column per metric."""
    rows = [
        {"scorer": name, **{k: metrics[name][k] for k in keys}}
        for name in scorer_names(metrics)
    ]
    return pd.DataFrame(rows, columns=["scorer", *keys])


def intervals_table(intervals: list[Mapping[str, Any]]) -> pd.DataFrame:
    """The paired bootstrap records of ``evaluate`` / ``backtest`` as a table: per
    other scorer and metric, the model's value, the other's, the difference (model −
    other) with its interval, and the verdict."""
    rows = [
        {
            "versus": r["scorer"],
            "metric": r["metric"],
            "model": r["value"],
            "other": r["other"],
            "difference": r["difference"],
            "interval": f"[{r['low']:+.3f}, {r['high']:+.3f}]",
            "verdict": r["verdict"],
        }
        for r in intervals
    ]
    return pd.DataFrame(rows)


def segment_report_table(report: list[Mapping[str, Any]]) -> pd.DataFrame:
    """What ``train`` decided per segment (the bundle's ``metadata["segments"]``):
    leads, wins, the model that scores them, and the out-of-fold comparison with
    the global model when it was made (Brier, segment / global, interval of the
    difference)."""
    rows = []
    for line in report:
        row: dict[str, Any] = {
            "segment": line["segment"],
            "leads": line["leads"],
            "wins": line["wins"],
            "model": line["model"],
        }
        if "cv_interval" in line:
            low, high = line["cv_interval"]
            row["cv brier seg / global"] = (
                f"{line['cv_brier']:.4f} / {line['cv_brier_global']:.4f}"
            )
            row["difference [interval]"] = (
                f"{line['cv_brier'] - line['cv_brier_global']:+.4f} "
                f"[{low:+.4f}, {high:+.4f}]"
            )
        else:
            row["cv brier seg / global"] = ""
            row["difference [interval]"] = line.get("reason", "")
        rows.append(row)
    return pd.DataFrame(rows)


def segment_models_table(entries: list[Mapping[str, Any]]) -> pd.DataFrame:
    """Segment models against the global model
    (:func:`~predscore.experiment.evaluate.segment_comparison`), one row per segment:
    leads, the share of them scored by a model of their own, then per metric the two values (segment models / global) and the
    difference with its interval and verdict."""
    rows = []
    for e in entries:
        row: dict[str, Any] = {
            "segment": "(none)" if e["segment"] is None else e["segment"],
            "leads": e["leads"],
            "own model": f"{e.get('own_model_share', 0.0):.0%}",
        }
        for metric, short in (("roc_auc", "auc"), ("brier", "brier")):
            if f"model_{metric}" not in e:
                continue
            low, high = e[f"{metric}_interval"]
            verdict = e[f"{metric}_verdict"].replace("inside the noise", "noise")
            row[f"{short} seg / global"] = (
                f"{e[f'model_{metric}']:.3f} / {e[f'global_{metric}']:.3f}"
            )
            row[f"{short} diff [interval]"] = (
                f"{e[f'{metric}_difference']:+.3f} [{low:+.3f}, {high:+.3f}] {verdict}"
            )
        rows.append(row)
    return pd.DataFrame(rows)


def segments_table(metrics: Mapping[str, Any]) -> pd.DataFrame | None:
    """The trap segments of a :func:`side_by_side` document, one row per segment.

    Columns: ``segment`` (its first words), ``leads``, ``close_rate``, then per
    scorer ``<scorer>_p`` (mean probability) and ``<scorer>_rank`` (mean rank
    percentile: 1 = ranked first). None when the data set cannot define the segments
    (a feature they read is absent, or both are empty).
    """
    segments = metrics.get("segments", {})
    if not isinstance(segments, Mapping) or "unavailable" in segments:
        return None
    if not any(seg["rows"] for seg in segments.values()):
        return None
    rows = []
    for name, seg in segments.items():
        short = name.split(",")[0]  # "engaged" / "quiet decision-maker"
        row = {"segment": short, "leads": seg["leads"], "close_rate": seg["close_rate"]}
        for scorer in scorer_names(metrics):
            if scorer in seg:
                row[f"{scorer}_p"] = seg[scorer]["mean_probability"]
                row[f"{scorer}_rank"] = seg[scorer]["mean_rank_percentile"]
        rows.append(row)
    return pd.DataFrame(rows)


def evaluation_figures(scored: pd.DataFrame, importance: pd.Series | None) -> dict:
    """The plots of an evaluation, by file name (calibration, ROC/PR, gains, importance).

    ``scored`` holds ``label``, ``probability`` and, when the rules apply,
    ``rule_probability`` and ``rule_points`` (see :func:`scored_rows`); reference
    models (``<name>_probability``) are drawn beside them.
    """
    from predscore.evaluation.plots import (
        calibration_plot,
        gains_plot,
        importance_plot,
        roc_pr_plot,
    )

    y = scored["label"].to_numpy()
    probability = {"model": scored["probability"].to_numpy()}
    ranking = dict(probability)
    if "rule_probability" in scored:
        probability["rules"] = scored["rule_probability"].to_numpy()
        ranking["rules"] = scored["rule_points"].to_numpy(dtype=float)
    for column in scored.columns:
        name = column.removesuffix("_probability")
        if column.endswith("_probability") and name not in ("", "rule"):
            probability[name] = ranking[name] = scored[column].to_numpy()
    figures = {
        "calibration.png": calibration_plot(y, probability),
        "roc_pr.png": roc_pr_plot(y, ranking),
        "gains.png": gains_plot(y, ranking),
    }
    if importance is not None:
        figures["importance.png"] = importance_plot(importance)
    return figures
