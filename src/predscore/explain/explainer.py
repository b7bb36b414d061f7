"""Per-lead explanations of the calibrated model: contributions → points → reasons.

Stage: explain (above model and rules). Input: feature rows built with the model's
features configuration, a fitted :class:`~predscore.model.LeadModel`, the feature
declarations and :class:`~predscore.config.ExplainConfig`; output: an
:class:`Explanation` holding, per lead, the score, the per-group log-odds
contributions and points, the family subtotals and the reasons kept for display with
their sentences.

Steps, all vectorised over rows (no Python loop over leads):
1. LightGBM's native TreeSHAP (``pred_contrib``) on the trees' log-odds;
2. per-column contributions summed into human features (:mod:`.groups`);
3. log-odds mapped to points that add up to the score (:mod:`.points`);
4. the strongest positive and negative reasons kept, the others folded into one
   "other <family> factors" reason per family, so that the kept reasons still add up;
5. displayed points rounded so that they add up to the displayed score too (largest
   remainder), and sentences rendered for the kept reasons only (:mod:`.sentences`).
Rows are processed ``chunk_rows`` at a time, which bounds the memory of step 1.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from predscore.config import FAMILIES, ExplainConfig, IcpConfig
from predscore.explain.groups import Grouping, build_grouping
from predscore.explain.points import points_scale
from predscore.explain.routing import grid_cells
from predscore.explain.sentences import SentenceRenderer
from predscore.features import KEY_COLUMNS, FeatureSpec, feature_specs
from predscore.model import LeadModel, ModelBundle

__all__ = ["REASON_COLUMNS", "Explainer", "Explanation", "round_to_total"]

#: Columns of :attr:`Explanation.reasons` (one row per kept reason).
REASON_COLUMNS = ("row", "feature", "family", "value", "points", "shown", "text")


@dataclass(frozen=True)
class Explanation:
    """What :meth:`Explainer.explain` found for a frame of feature rows.

    Arrays are aligned with the rows (``n``) and the groups (``g``).

    Attributes
    ----------
    rows : DataFrame
        The explained feature rows.
    keys : DataFrame
        ``lead_id`` and ``as_of`` of the rows (those present), index of the rows.
    groups, families : list of str
        Human features and the family of each.
    logodds, probability, score : array (n,)
        Raw log-odds (base + contributions), calibrated probability, score.
    base, base_logodds : float
        Score and log-odds of a lead the model knows nothing about.
    contributions, points : array (n, g)
        Per-group TreeSHAP contributions on log-odds, and their points.
    reasons : DataFrame
        Kept reasons (:data:`REASON_COLUMNS`): ``row`` (position), ``feature``,
        ``family``, ``value``, ``points`` (exact), ``shown`` (rounded for display),
        ``text``; per row, ``base`` plus their ``points`` equals ``score``.
    reason_columns : dict of arrays
        The same reasons, column by column (no frame to build).
    """

    rows: pd.DataFrame = field(repr=False)
    groups: list[str]
    families: list[str]
    logodds: np.ndarray
    probability: np.ndarray
    score: np.ndarray
    base: float
    base_logodds: float
    contributions: np.ndarray
    points: np.ndarray
    reason_columns: dict[str, np.ndarray]

    @functools.cached_property
    def keys(self) -> pd.DataFrame:
        return self.rows.loc[:, [c for c in KEY_COLUMNS if c in self.rows.columns]]

    @functools.cached_property
    def reasons(self) -> pd.DataFrame:
        return pd.DataFrame(self.reason_columns, columns=list(REASON_COLUMNS))

    def family_points(self) -> pd.DataFrame:
        """``fit_points``, ``engagement_points``, ``qualification_points`` per row."""
        return pd.DataFrame(self._family_arrays(), index=self.keys.index)

    def _family_arrays(self) -> dict[str, np.ndarray]:
        fam = np.asarray(self.families, dtype=object)
        return {
            f"{f}_points": self.points[:, fam == f].sum(axis=1)
            if len(fam)
            else np.zeros(len(self.score))
            for f in FAMILIES
        }

    def summary(self, config: ExplainConfig) -> pd.DataFrame:
        """Keys, probability, score, base, family points and the grid cell per row."""
        return pd.DataFrame(
            {
                **{name: self.keys[name] for name in self.keys.columns},
                **self.summary_arrays(config),
            },
            index=self.keys.index,
        )

    def summary_arrays(self, config: ExplainConfig) -> dict[str, np.ndarray]:
        """:meth:`summary` without the keys, as numpy arrays (no frame to build)."""
        family = self._family_arrays()
        return {
            "probability": self.probability,
            "score": self.score,
            "base": np.full(len(self.score), self.base),
            **family,
            "grid": grid_cells(
                family["fit_points"], family["engagement_points"], config.grid
            ),
        }


class Explainer:
    """Explain a fitted model's calibrated scores in points and sentences.

    Parameters
    ----------
    model : LeadModel
        Fitted and calibrated.
    config : ExplainConfig
        Scale, grouping, templates, number of reasons.
    specs : sequence of FeatureSpec
        Declarations of the feature columns (family, window, doc), as
        :func:`predscore.features.feature_specs` gives them for the model's features
        configuration.
    icp : IcpConfig
        The ICP the rows were built with (its bands appear in sentences).
    threads : int, optional
        LightGBM threads computing the contributions (default: the training's);
        they change no value.
    """

    def __init__(
        self,
        *,
        model: LeadModel,
        config: ExplainConfig,
        specs: Sequence[FeatureSpec],
        icp: IcpConfig,
        threads: int | None = None,
    ) -> None:
        self.model = model
        self.config = config
        self.threads = threads
        self.grouping: Grouping = build_grouping(model.features_, config, specs)
        self.renderer = SentenceRenderer(self.grouping, config, icp)

    @classmethod
    def from_bundle(
        cls, bundle: ModelBundle, config: ExplainConfig, threads: int | None = None
    ) -> Explainer:
        """The explainer of a model bundle (its features and ICP configuration)."""
        return cls(
            model=bundle.model,
            config=config,
            specs=feature_specs(bundle.features, bundle.icp),
            icp=bundle.icp,
            threads=threads,
        )

    def explain(self, rows: pd.DataFrame) -> Explanation:
        """Explain every row of ``rows`` (feature rows, as the model was trained on).

        Raises
        ------
        DataValidationError
            When the rows lack a column the model was trained on.
        ConfigError
            When a template cannot be filled with the rows' values.
        """
        size = self.config.chunk_rows
        parts = [
            self._chunk(rows if len(rows) <= size else rows.iloc[at : at + size], at)
            for at in range(0, max(len(rows), 1), size)
        ]
        first = parts[0]
        return Explanation(
            rows=rows,
            groups=self.grouping.names,
            families=list(self.grouping.families),
            logodds=np.concatenate([p["logodds"] for p in parts]),
            probability=np.concatenate([p["probability"] for p in parts]),
            score=np.concatenate([p["score"] for p in parts]),
            base=first["base"],
            base_logodds=first["base_logodds"],
            contributions=np.concatenate([p["contributions"] for p in parts]),
            points=np.concatenate([p["points"] for p in parts]),
            reason_columns=(
                first["reasons"]
                if len(parts) == 1
                else {
                    name: np.concatenate([p["reasons"][name] for p in parts])
                    for name in REASON_COLUMNS
                }
            ),
        )

    # -- steps ---------------------------------------------------------------------
    def _chunk(self, rows: pd.DataFrame, offset: int) -> dict:
        """Explain one chunk; reason rows are positions in the whole frame."""
        if len(rows):
            raw = self.model.contributions_of_matrix(
                self.model.matrix(rows), self.threads
            )
        else:  # LightGBM refuses an empty matrix
            raw = np.zeros((0, len(self.model.features_) + 1))
        phi, base = raw[:, :-1], raw[:, -1]
        # the model's expected value: the same on every row (0 rows: ask the trees)
        base_logodds = float(base[0]) if len(base) else self._base_logodds()
        logodds = base_logodds + phi.sum(axis=1)
        scale = points_scale(
            logodds, base_logodds, self.model.calibrator_.transform, self.config.scale
        )
        contributions = self.grouping.sum(phi)
        points = scale.points(contributions)
        reasons = self._reasons(rows, points, scale.score, scale.base)
        reasons["row"] += offset
        return {
            "logodds": logodds,
            "probability": scale.probability,
            "score": scale.score,
            "base": scale.base,
            "base_logodds": base_logodds,
            "contributions": contributions,
            "points": points,
            "reasons": reasons,
        }

    def _base_logodds(self) -> float:
        probe = pd.DataFrame({c: [np.nan] for c in self.model.features_})
        for c, levels in self.model.categories_.items():
            probe[c] = pd.Categorical([None], categories=levels)
        return float(self.model.contributions(probe).to_numpy()[0, -1])

    def _reasons(
        self, rows: pd.DataFrame, points: np.ndarray, score: np.ndarray, base: float
    ) -> dict[str, np.ndarray]:
        """The kept reasons of each row, their displayed points and sentences
        (:data:`REASON_COLUMNS`)."""
        r, g, section, rank = _top(
            points, self.config.top_reasons, self.config.min_points
        )
        kept = np.zeros(points.shape, dtype=bool)
        kept[r, g] = True
        fam = self.grouping.families
        rest_rows, rest_fams, rest_points, rest_counts = [], [], [], []
        for family in FAMILIES:
            folded = (~kept) & (fam == family)[None, :] & (points != 0)
            count = folded.sum(axis=1)
            where = np.flatnonzero(count)
            rest_rows.append(where)
            rest_fams.append(np.full(len(where), family, dtype=object))
            rest_points.append(np.where(folded, points, 0.0).sum(axis=1)[where])
            rest_counts.append(count[where])
        rr = np.concatenate(rest_rows)
        all_rows = np.concatenate([r, rr]).astype(np.intp)
        all_points = np.concatenate([points[r, g], *rest_points])
        shown = round_to_total(
            all_rows, all_points, score, base, self.config.decimals, len(score)
        )
        n_kept = len(r)
        values, texts = self.renderer.render(rows, r, g, shown[:n_kept])
        rest_fam = np.concatenate(rest_fams)
        rest_count = np.concatenate(rest_counts)
        rest_texts = self.renderer.render_rest(rest_fam, rest_count, shown[n_kept:])
        names = np.asarray(self.grouping.names, dtype=object)
        columns = {
            "row": all_rows,
            "feature": np.asarray(
                [*names[g], *(f"other {f}" for f in rest_fam)], dtype=object
            ),
            "family": np.concatenate([fam[g], rest_fam]).astype(object),
            "value": np.concatenate([values, rest_count.astype(object)]),
            "points": all_points,
            "shown": shown,
            "text": np.concatenate([texts, rest_texts]).astype(object),
        }
        section = np.concatenate([section, np.full(len(rr), 2)])
        rank = np.concatenate([rank, [FAMILIES.index(f) for f in rest_fam]])
        order = np.lexsort((rank.astype(int), section, all_rows))
        return {name: columns[name][order] for name in REASON_COLUMNS}


def _top(
    points: np.ndarray, k: int, min_points: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row, group, section (0 positive, 1 negative) and rank of the kept reasons.

    The ``k`` largest positive points of each row that reach ``min_points``, and the
    ``k`` most negative ones that reach ``-min_points``.
    """
    n, g = points.shape
    k = min(k, g)
    if n == 0 or k == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, empty, empty
    order = np.argsort(-points, axis=1, kind="stable")
    ranked = np.take_along_axis(points, order, axis=1)
    pos = ranked[:, :k] >= max(min_points, np.finfo(float).tiny)
    neg_order, neg_ranked = order[:, ::-1][:, :k], ranked[:, ::-1][:, :k]
    neg = neg_ranked <= -max(min_points, np.finfo(float).tiny)
    pr, pk = np.nonzero(pos)
    nr, nk = np.nonzero(neg)
    rows = np.concatenate([pr, nr])
    groups = np.concatenate([order[pr, pk], neg_order[nr, nk]])
    section = np.concatenate([np.zeros(len(pr), int), np.ones(len(nr), int)])
    rank = np.concatenate([pk, nk])
    return rows, groups, section, rank


def round_to_total(
    rows: np.ndarray,
    points: np.ndarray,
    score: np.ndarray,
    base: float,
    decimals: int,
    n_rows: int,
) -> np.ndarray:
    """Round the points of each row's reasons so they add up to the shown score.

    Largest remainder: each row's reasons are floored to ``decimals``, then the units
    missing to reach ``round(score) - round(base)`` go to the largest remainders (or
    are taken from the smallest). Displayed points then add up like the exact ones.

    Parameters
    ----------
    rows : array of int
        Row position of each reason.
    points : array of float
        Exact points of each reason.
    score : array (n_rows,)
        Score of each row; ``base`` is the common base score.
    """
    unit = 10.0**decimals
    scaled = np.asarray(points, dtype=float) * unit
    floor = np.floor(scaled)
    frac = scaled - floor
    target = np.floor(np.asarray(score) * unit + 0.5) - np.floor(base * unit + 0.5)
    have = np.bincount(rows, weights=floor, minlength=n_rows)
    deficit = np.rint(target - have).astype(int)
    # position of each reason among its row's, by decreasing remainder
    order = np.lexsort((-frac, rows))
    sorted_rows = rows[order]
    starts = np.searchsorted(sorted_rows, sorted_rows, side="left")
    position = np.empty(len(rows), dtype=int)
    position[order] = np.arange(len(rows)) - starts
    count = np.bincount(rows, minlength=n_rows)
    d = deficit[rows]
    up = (d > 0) & (position < d)
    down = (d < 0) & (position >= count[rows] + d)
    return (floor + up - down) / unit
