"""The training profile a model keeps for ``predscore monitor``.

Stage: experiment. Input: the model's training rows (labelled snapshots), the fitted
model, the rules and the configuration; output: a compact JSON document stored in the
bundle's metadata (``metadata["reference"]``): per model feature, its bins and their
shares on the training rows (:func:`predscore.evaluation.drift.profile_column`), the
same for the model's calibrated probability and for the route those rows would take
(``explain.routing``), and the close rate; and the profile of the leads that were
open when the model was trained (:func:`open_profile`): the population ``monitor``
compares today's open leads with, since the training rows are snapshots of closed
leads and open leads always hold more young and stale ones. No training row is
kept, only shares of bins.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from predscore.config import FeaturesConfig, IcpConfig, PredscoreConfig, RulesConfig
from predscore.errors import ConfigError
from predscore.evaluation.drift import profile_column, profile_frame
from predscore.explain import route_leads
from predscore.features import build_features
from predscore.model import ModelBundle
from predscore.rules import score_rules

__all__ = ["PROFILE_VERSION", "ROUTES", "open_profile", "training_profile"]

#: version of the document (``monitor`` refuses another one with a clear message)
PROFILE_VERSION = 1
#: the routes a lead can take, in the order of the profile's bins
ROUTES = ["meeting", "nurture", "disqualify"]


def training_profile(
    rows: pd.DataFrame,
    bundle: ModelBundle,
    config: PredscoreConfig,
    rules: RulesConfig | None = None,
) -> dict[str, Any]:
    """Profile of the training rows, their probabilities and routes.

    Parameters
    ----------
    rows : DataFrame
        The rows the model was fitted on (``lead_id``, ``label``, its features).
    bundle : ModelBundle
        The fitted model (its calibrated probability on the rows is profiled, each
        row by its segment's model when it has one).
    config : PredscoreConfig
        ``monitor.drift`` (bins, levels, rows profiled), ``monitor.scores`` (bins of
        the probability), ``explain.routing`` and ``seed``.
    rules : RulesConfig, optional
        Their eliminatory criteria may veto a route, as at scoring; without them (or
        when they do not apply to these features) the probability alone routes.

    Returns
    -------
    dict
        ``version``, ``rows``, ``leads``, ``close_rate``, ``mean_probability``,
        ``features`` (profile by feature name), ``probability`` and ``route``.
    """
    drift = config.monitor.drift
    if len(rows) > drift.reference_rows:
        rng = np.random.default_rng(config.seed)
        picked = np.sort(rng.choice(len(rows), drift.reference_rows, replace=False))
        rows = rows.iloc[picked].reset_index(drop=True)
    probability = bundle.predict_proba(rows).to_numpy()
    eliminated = None
    if rules is not None:
        try:
            eliminated = score_rules(rows, rules, reasons=False)[
                "eliminated_by"
            ].to_numpy(object)
        except ConfigError:  # rules written for other features: the model routes
            eliminated = None
    routes = route_leads(probability, eliminated, config.explain.routing)
    labels = rows["label"].to_numpy(dtype=float) if "label" in rows else None
    return {
        "version": PROFILE_VERSION,
        "rows": len(rows),
        "leads": int(rows["lead_id"].nunique()),
        "close_rate": None if labels is None else float(labels.mean()),
        "mean_probability": float(np.mean(probability)) if len(rows) else None,
        "features": profile_frame(
            rows,
            bundle.model.features_,
            bins=drift.bins,
            max_levels=drift.max_levels,
            min_level_share=drift.min_level_share,
        ),
        "probability": profile_column(
            pd.Series(probability), bins=config.monitor.scores.bins
        ),
        "route": profile_column(pd.Series(routes, dtype=object), levels=ROUTES),
    }


def open_profile(
    tables: object,
    as_of: pd.Timestamp,
    bundle: ModelBundle,
    features: FeaturesConfig,
    icp: IcpConfig,
    config: PredscoreConfig,
) -> dict[str, Any] | None:
    """Profile of the leads open at ``as_of`` (the training cutoff), built with the
    model's own feature definitions; None when there were none.

    Returns
    -------
    dict or None
        ``as_of``, ``leads`` and ``features`` (profile by feature name).
    """
    drift = config.monitor.drift
    rows = build_features(tables, as_of, features, icp, engine=config.engine)
    if rows.empty:
        return None
    if len(rows) > drift.reference_rows:
        rng = np.random.default_rng(config.seed)
        picked = np.sort(rng.choice(len(rows), drift.reference_rows, replace=False))
        rows = rows.iloc[picked].reset_index(drop=True)
    return {
        "as_of": pd.Timestamp(as_of).isoformat(),
        "leads": len(rows),
        "features": profile_frame(
            rows,
            bundle.model.features_,
            bins=drift.bins,
            max_levels=drift.max_levels,
            min_level_share=drift.min_level_share,
        ),
    }
