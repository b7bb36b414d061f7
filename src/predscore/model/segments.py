"""Segment models: a model of its own for each segment with enough history.

Stage: model (pure: frames in, models and arrays out). A :class:`SegmentModels`
maps values of a segment column (a region, a team, a product line) to the
:class:`~predscore.model.LeadModel` of that segment; :meth:`SegmentModels.keys`
says which model scores each feature row: the segment's when it has one, else
the global model (``None``), which also scores the rows with no value.

:func:`fit_segment_models` makes them: for each value whose labelled leads and wins
reach the minimums of ``model.segments``, the same cross-validated choice as the
global model (candidates, calibration cross-fitted on the out-of-fold predictions,
refit on every row), on that segment's rows and with the global model's engagement
settings, so that one feature build scores every lead. The segment column is
constant within a segment: it is not one of the segment model's features. A
segment model is kept only when its out-of-fold predictions beat the global
model's on the same rows beyond the noise (paired bootstrap by lead of the Brier
score): a segment model that cross-validation cannot tell better than the global
one would only add variance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from predscore.config import ModelConfig
from predscore.errors import ModelError
from predscore.evaluation import paired_bootstrap
from predscore.model.estimator import LeadModel, row_weights
from predscore.model.selection import Selection, cv_folds, select_model
from predscore.model.split import lead_table

__all__ = ["SegmentModels", "fit_segment_models", "segment_values"]

Progress = Callable[[str], None]


def segment_values(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The segment of each row as text (object array), None where it is missing.

    Raises
    ------
    ModelError
        When ``frame`` has no such column.
    """
    if column not in frame.columns:
        raise ModelError(
            f"segment column {column!r} is not a feature column of these rows "
            "(configs/model.yaml `segments.column`: a feature such as region, or a "
            "lead column of the mapping)"
        )
    values = frame[column].astype("string")
    out = values.to_numpy(dtype=object, na_value=None)
    return out


@dataclass(frozen=True)
class SegmentModels:
    """The models of the segments of ``column`` that have one (value → model)."""

    column: str
    models: dict[str, LeadModel]

    def keys(self, frame: pd.DataFrame) -> np.ndarray:
        """The segment whose model scores each row (object array), None for the
        global model: a value with no model of its own, or a missing value."""
        values = segment_values(frame, self.column)
        known = np.isin(values, np.array(list(self.models), dtype=object))
        return np.where(known, values, None)

    def groups(self, frame: pd.DataFrame) -> Iterator[tuple[str | None, np.ndarray]]:
        """``(segment or None, positions)`` of the rows each model scores, the
        global model's first, then the segments in their order; empty groups left
        out."""
        keys = self.keys(frame)
        is_global = np.array([k is None for k in keys], dtype=bool)
        if is_global.any():
            yield None, np.flatnonzero(is_global)
        for value in self.models:
            at = np.flatnonzero(keys == value)
            if len(at):
                yield value, at


def _platt(raw: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Probabilities of a logistic map of ``raw`` fitted on these very rows."""
    fit = LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), labels, weights)
    return fit.predict_proba(raw.reshape(-1, 1))[:, 1]


def _against_global(
    rows: pd.DataFrame,
    where: np.ndarray,
    own: Selection,
    global_selection: Selection,
    config: ModelConfig,
    seed: int,
) -> dict[str, Any]:
    """The segment's out-of-fold predictions against the global model's, on the
    segment rows both predicted out of fold.

    Each score is mapped to a probability by a logistic fit on those same rows (the
    same advantage for both: a calibrator fitted on the segment's rows alone would
    favour the segment model), then a paired bootstrap by lead gives the interval of
    the difference of Brier scores (segment − global). Returns ``cv_rows``,
    ``cv_brier``, ``cv_brier_global``, ``cv_interval`` and ``cv_verdict``
    (``better`` when the interval lies below 0).
    """
    global_raw = pd.Series(
        global_selection.oof["raw"].to_numpy(),
        index=global_selection.oof["row"].to_numpy(),
    )
    # the segment's rows numbered as in ``rows``
    own_rows = where[own.oof["row"].to_numpy()]
    common = np.isin(own_rows, global_raw.index.to_numpy())
    at = own_rows[common]
    picked = rows.iloc[at]
    labels = picked["label"].to_numpy(dtype=int)
    if len(np.unique(labels)) < 2:
        return {"cv_rows": int(len(at)), "cv_verdict": "a single outcome"}
    weights = row_weights(picked, "per_lead")
    scores = {
        "segment": _platt(own.oof["raw"].to_numpy()[common], labels, weights),
        "global": _platt(global_raw.loc[at].to_numpy(), labels, weights),
    }
    table = paired_bootstrap(
        labels,
        picked["lead_id"].to_numpy(),
        scores,
        against="segment",
        metrics=("brier",),
        resamples=config.evaluation.resamples,
        level=config.evaluation.level,
        seed=seed,
    )
    row = table.iloc[0]
    return {
        "cv_rows": int(len(at)),
        "cv_brier": float(row["value"]),
        "cv_brier_global": float(row["other"]),
        "cv_interval": [float(row["low"]), float(row["high"])],
        "cv_verdict": str(row["verdict"]),
    }


def fit_segment_models(
    rows: pd.DataFrame,
    column: str,
    config: ModelConfig,
    strategy: str,
    seed: int,
    global_selection: Selection,
    newest: pd.Timestamp | None = None,
    horizon_days: float | None = None,
    horizon_rows: str = "complete",
    progress: Progress | None = None,
) -> tuple[SegmentModels, list[dict[str, Any]]]:
    """Fit a model for each segment of ``column`` with enough history.

    Parameters
    ----------
    rows : DataFrame
        The labelled rows the global model learnt from (its engagement settings).
    column : str
        The segment column (a feature column).
    config : ModelConfig
        Candidates, folds, calibration, and ``segments`` (the minimums).
    strategy : str
        ``time`` or ``random``, as for the global model.
    seed : int
        LightGBM seed.
    global_selection : Selection
        The global model's cross-validation on ``rows`` (its out-of-fold
        predictions are what a segment model must beat).
    newest : Timestamp, optional
        The time the recency weights count back from.
    horizon_days, horizon_rows
        The label horizon of the features (as :func:`~.selection.cv_folds`).
    progress : callable, optional
        Receives a short line per segment.

    Returns
    -------
    (SegmentModels, list of dict)
        The models, and one line per segment value: ``segment``, ``leads``,
        ``wins``, ``model`` (``own`` or ``global``), ``reason`` and, once
        cross-validated, the ``candidate`` chosen and its comparison with the
        global model out of fold (``cv_rows``, ``cv_brier``, ``cv_brier_global``,
        ``cv_interval``, ``cv_verdict``).
    """
    say = progress or (lambda _line: None)
    minimum = config.segments
    values = segment_values(rows, column)
    present = pd.Series(values).dropna()
    report: list[dict[str, Any]] = []
    models: dict[str, LeadModel] = {}
    for value in sorted(present.unique()):
        mask = values == value
        part = rows.loc[mask].reset_index(drop=True)
        leads = lead_table(part)
        line: dict[str, Any] = {
            "segment": value,
            "leads": len(leads),
            "wins": int(leads["won"].sum()),
        }
        if line["leads"] < minimum.min_closed_leads or line["wins"] < minimum.min_wins:
            line.update(
                model="global",
                reason=f"below the minimums ({minimum.min_closed_leads} leads, "
                f"{minimum.min_wins} wins)",
            )
            report.append(line)
            continue
        say(f"segment {column} = {value}: {line['leads']:,} leads")
        try:
            folds = cv_folds(part, config, strategy, seed, horizon_days, horizon_rows)
            forward = all(f.origin is not None for f in folds)
            selection = select_model(part, folds, config, seed, forward=forward)
        except ModelError as exc:
            line.update(model="global", reason=f"cross-validation impossible: {exc}")
            report.append(line)
            continue
        line["candidate"] = selection.spec.name
        line.update(
            _against_global(
                rows, np.flatnonzero(mask), selection, global_selection, config, seed
            )
        )
        if minimum.keep == "better" and line["cv_verdict"] != "better":
            line.update(
                model="global",
                reason="not better than the global model out of fold on these "
                "leads (paired bootstrap of the Brier score)",
            )
            report.append(line)
            continue
        models[value] = LeadModel(
            spec=selection.spec,
            lead_weight=config.lead_weight,
            exclude=[*config.exclude_features, column],
            threads=config.threads,
            seed=seed,
        ).fit(
            part,
            selection.calibrator,
            newest,
            relevel=config.calibration.level == "refit",
        )
        line.update(
            model="own",
            reason="better than the global model out of fold"
            if line["cv_verdict"] == "better"
            else "above the minimums (segments.keep: above_minimums)",
        )
        report.append(line)
    return SegmentModels(column, models), report
