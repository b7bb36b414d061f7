"""One lead explained at a cutoff: what ``predscore explain`` does, as a function.

Stage: explain. Input: the validated tables (a folder or frames), a lead id, a cutoff,
a model bundle, the explanation settings and the rule baseline; output: the lead's
explained score row (:func:`~predscore.explain.table.explain_leads`). Only the lead's
own rows and its account are read: a lead's features depend on nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from predscore.config import EngineConfig, ExplainConfig, RulesConfig
from predscore.errors import PredscoreError
from predscore.explain.explainer import Explainer
from predscore.explain.table import explain_leads
from predscore.features import TableSource, build_features
from predscore.model import ModelBundle

__all__ = ["explain_lead"]


def _check_open(
    tables: Mapping[str, pd.DataFrame], lead: str, as_of: pd.Timestamp
) -> None:
    """Raise a clear error when a lead has no feature row at ``as_of``."""
    leads = tables["leads"]
    if not len(leads):
        raise PredscoreError(f"lead {lead!r} not found in the leads table")
    created = leads["created_at"].iloc[0]
    if created > as_of:
        raise PredscoreError(
            f"lead {lead!r} was created at {created}, after --as-of {as_of}"
        )
    closed = tables["outcomes"]
    closed = closed[closed["closed_at"] <= as_of]
    if len(closed):
        row = closed.sort_values("closed_at").iloc[0]
        raise PredscoreError(
            f"lead {lead!r} was closed ({row['outcome']}) at {row['closed_at']}, "
            f"before --as-of {as_of}; pass an earlier --as-of to explain it then"
        )


def explain_lead(
    tables: Any,
    lead: str,
    as_of: pd.Timestamp,
    bundle: ModelBundle,
    settings: ExplainConfig,
    rules: RulesConfig,
    *,
    every: bool = False,
    engine: EngineConfig | None = None,
) -> pd.Series:
    """The explained score of one open lead at ``as_of``.

    Parameters
    ----------
    tables : Path or mapping of DataFrame
        Validated tables (:func:`predscore.read_dataset`).
    lead : str
        The lead's ``lead_id``.
    as_of : Timestamp
        The cutoff (UTC).
    bundle : ModelBundle
        The model; its own features configuration builds the row. With segment
        models, the lead is explained by its segment's model when it has one, as
        the batch job scores it.
    settings : ExplainConfig
        Points scale, reasons, routing.
    rules : RulesConfig
        The rule baseline shown beside the model's reasons.
    every : bool
        Every human feature as a reason, not only the strongest ones.
    engine : EngineConfig, optional
        This machine's engine settings.

    Raises
    ------
    PredscoreError
        When the lead does not exist, was created after ``as_of`` or was closed
        before it.
    """
    lead_tables = TableSource(tables).lead_tables([lead])
    _check_open(lead_tables, lead, as_of)
    rows = build_features(
        lead_tables, as_of, bundle.features, bundle.icp, engine=engine
    )
    if every:
        settings = settings.model_copy(
            update={"top_reasons": 10_000, "min_points": 0.0}
        )
    if bundle.segments is not None:
        ((segment, _),) = bundle.segments.groups(rows)
        bundle = bundle.for_segment(segment)
    explainer = Explainer.from_bundle(bundle, settings)
    return explain_leads(rows, explainer, rules).iloc[0]
