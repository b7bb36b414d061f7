"""The closing-probability model: trees, a linear model or their blend, calibrated.

Stage: model (pure: frames in, arrays out; disk is :mod:`predscore.model.bundle`'s).
A :class:`LeadModel` holds one or two weighted components on the same feature matrix
(:mod:`predscore.model.trees`, :mod:`predscore.model.linear`): its log-odds are
their weighted sum, its contributions the same weighted sum of theirs (exact for
each family, so base + Σ contributions = log-odds for every blend), and a
:class:`~predscore.model.calibrate.Calibrator` maps the log-odds to a closing
probability. Which components, weights and calibration: chosen by
:mod:`predscore.model.selection`; :meth:`LeadModel.fit` refits a choice on rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from predscore.errors import ModelError
from predscore.model.calibrate import Calibrator
from predscore.model.linear import LinearComponent, fit_linear
from predscore.model.matrix import category_levels, feature_columns, feature_matrix
from predscore.model.trees import TreeComponent, grow_trees, tree_dataset, tree_params

__all__ = ["Component", "LeadModel", "ModelSpec", "lead_codes", "row_weights"]

Component = TreeComponent | LinearComponent


def row_weights(
    frame: pd.DataFrame,
    lead_weight: str,
    recency_half_life_days: float | None = None,
    newest: pd.Timestamp | None = None,
) -> np.ndarray:
    """Row weights: each lead weighs 1 (``per_lead``), older rows decay.

    With ``recency_half_life_days``, a row ``d`` days older than ``newest`` (default:
    the newest ``as_of`` of ``frame``) weighs ``0.5 ** (d / half_life)`` as much,
    rescaled so that the recency factors average 1 (the total weight, hence the
    strength of the regularisation, does not depend on the half-life).
    """
    if lead_weight == "per_lead":
        sizes = frame.groupby("lead_id", sort=False, observed=True)[
            "lead_id"
        ].transform("size")
        w = 1.0 / sizes.to_numpy(dtype=float)
    else:
        w = np.ones(len(frame))
    if recency_half_life_days is not None and len(frame):
        as_of = frame["as_of"]
        ref = as_of.max() if newest is None else newest
        age_days = (ref - as_of).dt.total_seconds().to_numpy() / 86400.0
        decay = np.power(0.5, np.clip(age_days, 0, None) / recency_half_life_days)
        w = w * decay / decay.mean()
    return w


def lead_codes(frame: pd.DataFrame) -> np.ndarray:
    """An integer code per row, the same for every row of a lead."""
    return pd.factorize(frame["lead_id"])[0]


@dataclass(frozen=True)
class ModelSpec:
    """A model choice: what :meth:`LeadModel.fit` builds.

    ``trees``: the tree candidate's parameters (over ``lightgbm``) and
    ``tree_count``, or None; ``linear_C``: the linear model's inverse strength, or
    None; ``blend``: the trees' weight when both are present.
    """

    name: str
    recency_half_life_days: float | None = None
    tree_params: dict[str, Any] | None = None
    tree_count: int = 0
    linear_C: float | None = None
    blend: float = 1.0
    linear: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "recency_half_life_days": self.recency_half_life_days,
            "tree_params": self.tree_params,
            "tree_count": self.tree_count,
            "linear_C": self.linear_C,
            "blend": self.blend,
            "linear": self.linear,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


class LeadModel:
    """Calibrated closing probability from weighted components, scikit-learn style.

    Parameters
    ----------
    spec : ModelSpec
        Components to fit (see :mod:`predscore.model.selection`).
    lead_weight : {"per_lead", "per_snapshot"}
        Weigh every lead 1 in total, or every snapshot 1.
    exclude : list of str
        Feature columns never used.
    threads : int
        LightGBM threads (fixed for reproducible trees).
    seed : int
        Seed of LightGBM's bagging and feature sampling.
    """

    def __init__(
        self,
        *,
        spec: ModelSpec,
        lead_weight: str = "per_lead",
        exclude: list[str] | tuple = (),
        threads: int = 1,
        seed: int = 0,
    ) -> None:
        self.spec = spec
        self.lead_weight = lead_weight
        self.exclude = exclude
        self.threads = threads
        self.seed = seed

    # -- fitting -----------------------------------------------------------------
    def fit(
        self,
        rows: pd.DataFrame,
        calibrator: Calibrator,
        newest: pd.Timestamp | None = None,
        relevel: bool = False,
    ) -> LeadModel:
        """Fit the components of ``spec`` on ``rows`` (labelled snapshots); keep
        ``calibrator`` (fitted on out-of-fold predictions, :mod:`.selection`).

        ``newest``: the time the recency weights count from (default: the newest
        row). ``relevel``: shift the calibration map so that its mean probability
        over ``rows`` (weighted as it was fitted: its row weight and recency
        half-life) equals their close rate (:meth:`.Calibrator.relevel`; the
        configuration's ``calibration.level: refit``).
        """
        if len(rows) == 0 or rows["label"].nunique() < 2:
            raise ModelError(
                f"training needs both won and lost leads; found {len(rows)} rows "
                f"with labels {sorted(rows['label'].unique())}"
            )
        self.features_ = feature_columns(rows, self.exclude)
        self.categories_ = category_levels(rows, self.features_)
        matrix = self.matrix(rows)
        labels = rows["label"].to_numpy()
        weights = row_weights(
            rows, self.lead_weight, self.spec.recency_half_life_days, newest
        )
        components: list[tuple[float, Component]] = []
        spec = self.spec
        trees_weight = spec.blend if spec.linear_C is not None else 1.0
        if spec.tree_params is not None:
            data = tree_dataset(
                matrix,
                labels,
                weights,
                self.features_,
                self.categorical_indices(),
                spec.tree_params,
            )
            booster = grow_trees(
                data,
                tree_params(spec.tree_params, self.seed, self.threads),
                spec.tree_count,
            )
            components.append((trees_weight, TreeComponent(booster, spec.tree_count)))
        if spec.linear_C is not None:
            linear = fit_linear(
                matrix,
                labels,
                weights,
                lead_codes(rows),
                set(self.categorical_indices()),
                spec.linear_C,
                **spec.linear,
            )
            weight = 1.0 - trees_weight if spec.tree_params is not None else 1.0
            components.append((weight, linear))
        self.components_ = components
        if relevel:
            level_weights = row_weights(
                rows,
                calibrator.row_weight,
                calibrator.recency_half_life_days,
                newest,
            )
            calibrator = calibrator.relevel(
                self.raw_of_matrix(matrix), labels, level_weights
            )
        self.calibrator_ = calibrator
        return self

    def categorical_indices(self) -> list[int]:
        """Matrix columns holding category codes."""
        return [i for i, c in enumerate(self.features_) if c in self.categories_]

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's feature matrix of ``frame`` (:func:`.matrix.feature_matrix`)."""
        return feature_matrix(frame, self.features_, self.categories_)

    # -- prediction --------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise ModelError("this LeadModel is not fitted yet: call fit first")

    # ``threads``: the LightGBM threads predicting (default: the training's); the
    # machine's choice, never the model's: they change no value
    def raw_of_matrix(
        self, matrix: np.ndarray, threads: int | None = None
    ) -> np.ndarray:
        """Log-odds of each row of a feature matrix (before calibration)."""
        self._check_fitted()
        out = np.zeros(len(matrix))
        for weight, component in self.components_:
            out += weight * component.raw(matrix, threads)
        return out

    def predict_raw(
        self, frame: pd.DataFrame, threads: int | None = None
    ) -> np.ndarray:
        """Log-odds of each row (before calibration)."""
        self._check_fitted()
        return self.raw_of_matrix(self.matrix(frame), threads)

    def predict_proba(
        self, frame: pd.DataFrame, threads: int | None = None
    ) -> np.ndarray:
        """Calibrated closing probability of each row."""
        raw = self.predict_raw(frame, threads)
        return self.calibrator_.transform(raw)

    def contributions_of_matrix(
        self, matrix: np.ndarray, threads: int | None = None
    ) -> np.ndarray:
        """Exact contributions on log-odds, last column the expected value; each row
        sums to :meth:`raw_of_matrix`."""
        self._check_fitted()
        out = np.zeros((len(matrix), len(self.features_) + 1))
        for weight, component in self.components_:
            out += weight * component.contributions(matrix, threads)
        return out

    def contributions(
        self, frame: pd.DataFrame, threads: int | None = None
    ) -> pd.DataFrame:
        """Per-row contributions on log-odds (TreeSHAP for trees, coefficient ×
        (value − mean) for the linear model, their weighted sum for a blend).

        Columns: the features, then ``base`` (the expected value); each row sums to
        :meth:`predict_raw`.
        """
        self._check_fitted()
        values = self.contributions_of_matrix(self.matrix(frame), threads)
        return pd.DataFrame(
            values, columns=[*self.features_, "base"], index=frame.index
        )

    def feature_importance(self) -> pd.Series:
        """Share of each feature in the model (gain for trees, spread of the
        contribution for the linear model; weighted for a blend), highest first."""
        self._check_fitted()
        total = np.zeros(len(self.features_))
        for weight, component in self.components_:
            total += weight * component.importance()
        return pd.Series(total, index=self.features_).sort_values(ascending=False)

    # -- the parts ---------------------------------------------------------------
    @property
    def family(self) -> str:
        """``lightgbm``, ``linear`` or ``blend``."""
        self._check_fitted()
        if len(self.components_) > 1:
            return "blend"
        return self.components_[0][1].family

    @property
    def booster_(self) -> lgb.Booster | None:
        """The tree component's booster (None for a linear model)."""
        trees = self.tree_component
        return None if trees is None else trees.booster

    @property
    def tree_component(self) -> TreeComponent | None:
        """The tree component, if any."""
        self._check_fitted()
        for _, component in self.components_:
            if isinstance(component, TreeComponent):
                return component
        return None

    @property
    def best_iteration_(self) -> int:
        """Number of trees in use (0 for a linear model)."""
        trees = self.tree_component
        return 0 if trees is None else trees.trees

    @classmethod
    def from_parts(
        cls,
        components: list[tuple[float, Component]],
        features: list[str],
        categories: dict[str, list[str]],
        calibrator: Calibrator,
        **params: Any,
    ) -> LeadModel:
        """Rebuild a fitted model from its saved parts (see :mod:`model.bundle`)."""
        model = cls(**params)
        model.components_ = list(components)
        model.features_ = list(features)
        model.categories_ = {k: list(v) for k, v in categories.items()}
        model.calibrator_ = calibrator
        return model
