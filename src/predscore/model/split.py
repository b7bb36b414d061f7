"""Splits of training snapshots by lead and by time (never random across snapshots).

Stage: model. Input: snapshots (``lead_id``, ``as_of``, ``closed_at``, ``label``, then
features). Output: the rows a model may learn from, the held-out newest leads, or
rolling-origin folds (the cross-validation folds are :mod:`.selection`'s). A lead's creation time is its first snapshot's
``as_of`` (snapshots start at creation).

With a label horizon (``features.horizon_days``), every snapshot's label is known
when the snapshots are built, leads still open included (see
:mod:`predscore.features.spine`): the row-level rule replaces the lead-level
``mature_quantile`` filter, and a row is known at a fold's origin when its lead had
closed by then or its window had passed (:func:`rows_known_at`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from predscore.config import SplitConfig
from predscore.errors import DataValidationError
from predscore.features.pit import label_known, window_passed

__all__ = [
    "Fold",
    "holdout_leads",
    "immature_leads",
    "judged_rows",
    "labelled_rows",
    "lead_table",
    "rolling_folds",
    "rows_known_at",
    "training_rows_at",
]


def lead_table(snapshots: pd.DataFrame) -> pd.DataFrame:
    """One row per lead: ``created_at`` (first as_of), ``closed_at``, ``won``, ``rows``.

    ``won`` is 1 when one of the lead's rows is labelled 1; ``closed_at`` is missing
    for a lead still open (horizon labels). Sorted by ``(created_at, lead_id)``, the order every time split follows.
    """
    missing = {"lead_id", "as_of", "closed_at", "label"} - set(snapshots.columns)
    if missing:
        raise DataValidationError(
            f"snapshots: missing column(s) {sorted(missing)}; build them with "
            "`predscore features --snapshots`"
        )
    leads = (
        snapshots.groupby("lead_id", sort=False, observed=True)
        .agg(
            created_at=("as_of", "min"),
            closed_at=("closed_at", "max"),
            won=("label", "max"),
            rows=("as_of", "size"),
        )
        .reset_index()
    )
    return leads.sort_values(["created_at", "lead_id"], kind="stable").reset_index(
        drop=True
    )


def _strategy(leads: pd.DataFrame, config: SplitConfig) -> str:
    if config.strategy != "auto":
        return config.strategy
    days = leads["created_at"].dt.floor("D").nunique()
    # wide one-table exports often carry one placeholder date: time means nothing there
    return "time" if days >= config.min_distinct_days else "random"


def immature_leads(leads: pd.DataFrame, quantile: float | None) -> np.ndarray:
    """Mask of the leads (rows of :func:`lead_table`) too recent to judge.

    A lead created less than the ``quantile`` of the sales cycle (creation to close,
    over the closed leads) before the newest close had too little time to close: of
    such leads only the fast closers are closed, mostly losses, and their close rate
    reads low. None: no lead is left out.
    """
    if quantile is None or len(leads) == 0:
        return np.zeros(len(leads), dtype=bool)
    cycle = (leads["closed_at"] - leads["created_at"]).quantile(quantile)
    return (leads["created_at"] > leads["closed_at"].max() - cycle).to_numpy()


def judged_rows(
    snapshots: pd.DataFrame, quantile: float | None, horizon_days: float | None = None
) -> np.ndarray:
    """Mask of the rows of the leads an evaluation may judge at the data's cutoff.

    Without a label horizon a lead is labelled once it closed; among the leads
    created less than the ``quantile`` of the sales cycle before the newest close
    (:func:`immature_leads`) only the fast closers have closed, mostly losses, and
    judging a probability of closing on them reads every model as over-confident.
    They are left out of the judged leads (they are the newest: no model replayed
    at an earlier origin learns from them either). With a label horizon every row
    is labelled once its window passed: all are judged. None: all are judged.
    """
    if horizon_days is not None or quantile is None or len(snapshots) == 0:
        return np.ones(len(snapshots), dtype=bool)
    leads = lead_table(snapshots)
    recent = leads["lead_id"].to_numpy()[immature_leads(leads, quantile)]
    return ~snapshots["lead_id"].isin(recent).to_numpy()


def _cut(n: int, shares: list[float]) -> np.ndarray:
    """Part index of each of ``n`` ordered items, by cumulative shares."""
    bounds = np.round(np.cumsum(shares) * n).astype(int)
    return np.searchsorted(bounds, np.arange(n), side="right")


def labelled_rows(
    snapshots: pd.DataFrame, config: SplitConfig, horizon_days: float | None = None
) -> tuple[pd.DataFrame, str, int]:
    """The snapshot rows a model may learn from or be judged on, and the strategy.

    Returns
    -------
    (DataFrame, str, int)
        The rows (with a time split and ``config.mature_quantile``, without those
        of the leads too recent to judge, :func:`immature_leads`; never with a
        label horizon, whose rows are labelled once known), the strategy (``time``
        or ``random``) and the number of leads left out.
    """
    leads = lead_table(snapshots)
    strategy = _strategy(leads, config)
    if strategy != "time" or horizon_days is not None:
        return snapshots.reset_index(drop=True), strategy, 0
    recent = immature_leads(leads, config.mature_quantile)
    if not recent.any():
        return snapshots.reset_index(drop=True), strategy, 0
    keep = ~snapshots["lead_id"].isin(leads["lead_id"].to_numpy()[recent]).to_numpy()
    return snapshots.loc[keep].reset_index(drop=True), strategy, int(recent.sum())


def holdout_leads(
    rows: pd.DataFrame, share: float, strategy: str, seed: int
) -> np.ndarray:
    """The held-out leads: the newest ``share`` by creation (time), or a random
    ``share`` stratified by outcome drawn with ``seed`` (random), in creation order."""
    leads = lead_table(rows)
    if strategy == "time":
        return leads["lead_id"].to_numpy()[_cut(len(leads), [1 - share, share]) == 1]
    rng = np.random.default_rng(seed)
    chosen = np.zeros(len(leads), dtype=bool)
    for won in (0, 1):  # stratified: each class cut by the same share
        idx = np.flatnonzero(leads["won"].to_numpy() == won)
        chosen[rng.permutation(idx)[: round(share * len(idx))]] = True
    return leads["lead_id"].to_numpy()[chosen]


@dataclass(frozen=True)
class Fold:
    """One rolling-origin fold: train on the leads created before ``origin`` with a
    row known then (:func:`rows_known_at`), test on those created after."""

    number: int
    origin: pd.Timestamp
    end: pd.Timestamp
    train_leads: np.ndarray
    test_leads: np.ndarray


def rows_known_at(
    snapshots: pd.DataFrame,
    origin: pd.Timestamp,
    horizon_days: float | None = None,
    horizon_rows: str = "complete",
) -> np.ndarray:
    """Mask of the snapshot rows a model trained at ``origin`` could learn from.

    Without a horizon: the rows taken before ``origin`` of the leads closed by then
    (a label "won at all" is known only once the lead closed). With ``horizon_days``
    H, as the snapshots themselves are kept at the data's cutoff
    (``features.horizon_rows``): ``complete``, the rows whose window had passed,
    ``as_of + H <= origin``; ``known``, also the rows of the leads closed by then
    (:func:`predscore.features.pit.label_known`). The label is the row's own: its
    window was over, or its lead closed, by ``origin``.
    """
    if horizon_days is None:
        closed = snapshots["closed_at"].le(origin).to_numpy(dtype=bool)
        return closed & snapshots["as_of"].lt(origin).to_numpy(dtype=bool)
    if horizon_rows == "complete":
        return window_passed(snapshots["as_of"], origin, horizon_days)
    known = label_known(
        snapshots["closed_at"], snapshots["as_of"], origin, horizon_days
    )
    return known & snapshots["as_of"].lt(origin).to_numpy(dtype=bool)


def training_rows_at(
    snapshots: pd.DataFrame,
    origin: pd.Timestamp,
    config: SplitConfig,
    horizon_days: float | None = None,
    horizon_rows: str = "complete",
) -> np.ndarray:
    """Mask of the rows ``train`` would have learnt from at ``origin``: those known
    then (:func:`rows_known_at`) and, without a label horizon, not of a lead too
    recent to judge at that time (:func:`immature_leads` over the known leads, as
    :func:`labelled_rows` does at the data's cutoff). Replays of the training
    procedure at past origins (``evaluate``, ``backtest``) use it."""
    known = rows_known_at(snapshots, origin, horizon_days, horizon_rows)
    if horizon_days is not None or not known.any():
        return known
    leads = lead_table(snapshots.loc[known])
    recent = immature_leads(leads, config.mature_quantile)
    if not recent.any():
        return known
    young = snapshots["lead_id"].isin(leads["lead_id"].to_numpy()[recent]).to_numpy()
    return known & ~young


def rolling_folds(
    snapshots: pd.DataFrame,
    folds: int,
    horizon_days: float | None = None,
    horizon_rows: str = "complete",
) -> list[Fold]:
    """Rolling-origin folds over lead creation time.

    Leads are cut by creation into ``folds + 1`` blocks of equal size. Fold ``k``
    (1..K) tests on the leads created in block ``k`` and trains on the older leads
    with a row known at the block's start (:func:`rows_known_at`, with the label
    horizon ``horizon_days`` and ``horizon_rows``; without one, the leads closed
    before ``origin``):
    exactly what a model trained on that day could have learned from.

    Raises
    ------
    DataValidationError
        When ``folds`` is below 1 or there are fewer leads than blocks.
    """
    leads = lead_table(snapshots)
    if folds < 1:
        raise DataValidationError(f"--folds must be >= 1, got {folds}")
    if len(leads) < folds + 1:
        raise DataValidationError(
            f"{len(leads)} labelled leads cannot make {folds} folds"
        )
    block = _cut(len(leads), [1 / (folds + 1)] * (folds + 1))
    created = leads["created_at"]
    out = []
    for k in range(1, folds + 1):
        in_block = block == k
        origin = created[in_block].min()
        end = created[block == k + 1].min() if k < folds else created.max()
        if horizon_days is None:
            known = (leads["closed_at"] <= origin).to_numpy()
        else:
            rows = rows_known_at(snapshots, origin, horizon_days, horizon_rows)
            known = leads["lead_id"].isin(snapshots.loc[rows, "lead_id"]).to_numpy()
        out.append(
            Fold(
                number=k,
                origin=origin,
                end=end,
                train_leads=leads["lead_id"].to_numpy()[known & (block < k)],
                test_leads=leads["lead_id"].to_numpy()[in_block],
            )
        )
    return out
