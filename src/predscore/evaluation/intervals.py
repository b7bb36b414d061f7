"""Paired bootstrap intervals of metric differences, resampling leads.

Stage: evaluation. Input: labels, the lead of each row and several scorers'
probabilities on the same rows; output: per other scorer and metric, the difference
with the reference scorer and its percentile interval. A lead's snapshots are one
observation (they share its outcome), so a resample draws leads with replacement
and takes all their rows (cluster bootstrap); both scorers of a pair see the same
draw, which is what makes the interval of their difference narrow enough to tell.

A draw is a vector of counts per lead (multinomial) used as row weights, so no
resampled copy of the rows is built. The point estimates are scikit-learn's; inside
the draws, ROC AUC is read off each scorer's ties and order computed once
(:class:`_Ranked`: a weighted Mann-Whitney count, equal to scikit-learn's weighted
``roc_auc_score``, tested), since sorting every scorer again in each of a thousand
draws made an evaluation wait minutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from predscore.errors import PredscoreError

__all__ = ["paired_bootstrap"]

#: metrics of :func:`paired_bootstrap`, and whether higher is better
_HIGHER_IS_BETTER = {"roc_auc": True, "brier": False, "average_precision": True}
#: metrics read off a scorer's order (``rankings``) rather than its probability
_RANKED = ("roc_auc", "average_precision")


class _Ranked:
    """One scorer's probabilities, their tie groups ordered once."""

    def __init__(
        self,
        probability: np.ndarray,
        labels: np.ndarray,
        order: np.ndarray | None = None,
    ) -> None:
        self.p = probability
        self.y = labels.astype(float)
        order = probability if order is None else order
        _, self.group = np.unique(order, return_inverse=True)
        self.groups = int(self.group.max()) + 1

    def roc_auc(self, w: np.ndarray) -> float:
        """Weighted ROC AUC: P(a win outranks a loss) + half the ties."""
        pos = np.bincount(self.group, weights=w * self.y, minlength=self.groups)
        neg = np.bincount(self.group, weights=w * (1 - self.y), minlength=self.groups)
        above = pos[::-1].cumsum()[::-1] - pos  # wins in strictly higher groups
        return float(np.sum(neg * (above + 0.5 * pos)) / (pos.sum() * neg.sum()))

    def brier(self, w: np.ndarray) -> float:
        return float(np.sum(w * (self.p - self.y) ** 2) / np.sum(w))

    def average_precision(self, w: np.ndarray) -> float:
        """Weighted average precision: the precision at each distinct score, from
        the highest down, weighted by the recall it adds (scikit-learn's step sum)."""
        pos = np.bincount(self.group, weights=w * self.y, minlength=self.groups)
        neg = np.bincount(self.group, weights=w * (1 - self.y), minlength=self.groups)
        tp, fp = pos[::-1].cumsum(), neg[::-1].cumsum()  # at or above each group
        taken = tp + fp
        precision = np.divide(tp, taken, out=np.zeros_like(tp), where=taken > 0)
        return float(np.sum(pos[::-1] * precision) / tp[-1])


def _metric(name: str, y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> float:
    if name == "roc_auc":
        return float(roc_auc_score(y, p, sample_weight=w))
    if name == "average_precision":
        return float(average_precision_score(y, p, sample_weight=w))
    return float(brier_score_loss(y, p, sample_weight=w))


def paired_bootstrap(
    labels: np.ndarray,
    groups: np.ndarray,
    scores: Mapping[str, np.ndarray],
    against: str,
    metrics: Sequence[str] = ("roc_auc", "brier"),
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    rankings: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Differences of ``against`` with every other scorer, with bootstrap intervals.

    Parameters
    ----------
    labels : array
        0/1 outcome of each row.
    groups : array
        Lead of each row: resampled as a block.
    scores : mapping of str to array
        Each scorer's probability per row (same rows, same order).
    against : str
        The scorer every other one is compared with (``difference`` =
        ``against`` − other).
    metrics : sequence of str
        ``roc_auc`` and ``average_precision`` (higher is better), ``brier`` (lower
        is better).
    resamples : int
        Bootstrap draws; a draw whose rows hold a single class is drawn again.
    level : float
        Coverage of the percentile interval.
    seed : int
        Seed of the draws: same seed, same intervals.
    rankings : mapping of str to array, optional
        The order a scorer ranks the rows by for ROC AUC, when it is not its
        probability (the rules rank by their points: their mapped probability has
        ties the points do not).

    Returns
    -------
    DataFrame
        One row per other scorer and metric: ``scorer``, ``metric``, ``value``
        (``against``'s), ``other``, ``difference``, ``low``, ``high``, ``better``
        (``against`` better on the full rows) and ``verdict``: ``better`` or
        ``worse`` when the interval excludes 0, else ``inside the noise``.

    Raises
    ------
    PredscoreError
        On an unknown metric or scorer, or when the rows hold a single class.
    """
    unknown = set(metrics) - set(_HIGHER_IS_BETTER)
    if unknown:
        raise PredscoreError(
            f"paired_bootstrap: unknown metric(s) {sorted(unknown)}; expected "
            f"{sorted(_HIGHER_IS_BETTER)}"
        )
    if against not in scores:
        raise PredscoreError(
            f"paired_bootstrap: {against!r} is not among the scorers {list(scores)}"
        )
    y = np.asarray(labels, dtype=int)
    if len(np.unique(y)) < 2:
        raise PredscoreError(
            "paired_bootstrap: the rows hold a single outcome; no interval can be drawn"
        )
    codes, _ = pd.factorize(pd.Series(groups))
    n_leads = int(codes.max()) + 1
    rng = np.random.default_rng(seed)
    probs = {name: np.asarray(p, dtype=float) for name, p in scores.items()}
    order = {
        name: np.asarray((rankings or {}).get(name, p), dtype=float)
        for name, p in probs.items()
    }
    ranked = {name: _Ranked(p, y, order[name]) for name, p in probs.items()}
    others = [name for name in probs if name != against]
    draws: dict[tuple[str, str], list[float]] = {
        (o, m): [] for o in others for m in metrics
    }
    kept = 0
    attempts = 0
    while kept < resamples and attempts < resamples * 10:
        attempts += 1
        counts = rng.multinomial(n_leads, np.full(n_leads, 1.0 / n_leads))
        w = counts[codes].astype(float)
        wins = float(np.sum(w * y))
        if wins == 0 or wins == w.sum():
            continue  # one class only: no ROC AUC; drawn again
        kept += 1
        for m in metrics:
            mine = getattr(ranked[against], m)(w)
            for o in others:
                draws[(o, m)].append(mine - getattr(ranked[o], m)(w))
    alpha = (1 - level) / 2
    rows = []
    for o in others:
        for m in metrics:
            mine = order[against] if m in _RANKED else probs[against]
            theirs = order[o] if m in _RANKED else probs[o]
            value, other = _metric(m, y, mine, None), _metric(m, y, theirs, None)
            low, high = np.quantile(draws[(o, m)], [alpha, 1 - alpha])
            higher = _HIGHER_IS_BETTER[m]
            difference = value - other
            if low > 0 or high < 0:
                ahead = (low > 0) == higher
                verdict = "better" if ahead else "worse"
            else:
                verdict = "inside the noise"
            rows.append(
                {
                    "scorer": o,
                    "metric": m,
                    "value": value,
                    "other": other,
                    "difference": difference,
                    "low": float(low),
                    "high": float(high),
                    "better": bool(difference > 0 if higher else difference < 0),
                    "verdict": verdict,
                    "resamples": kept,
                }
            )
    return pd.DataFrame(rows)
