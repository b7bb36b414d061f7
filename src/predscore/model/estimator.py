"""The closing-probability model: LightGBM trees plus a calibration map.

Stage: model (pure: frames in, arrays out; disk is :mod:`predscore.model.bundle`'s).
Fitted on three time-ordered periods of snapshots: ``train`` grows the trees,
``valid`` stops the boosting early, ``calibration`` fits the probability map. Feature
rows are those of :mod:`predscore.features`; categorical columns keep the levels seen
in training (an unseen level reads as missing), so the same row always gets the same
score. Same data and seed ⇒ the same trees, byte for byte (LightGBM's deterministic
mode with a fixed thread count).
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from predscore.config import CalibrationConfig, ModelConfig
from predscore.errors import DataValidationError, ModelError
from predscore.features import KEY_COLUMNS, SNAPSHOT_COLUMNS
from predscore.model.calibrate import Calibrator, fit_calibrator

__all__ = ["LeadModel", "feature_columns", "row_weights"]

_NOT_FEATURES = frozenset(KEY_COLUMNS) | frozenset(SNAPSHOT_COLUMNS)


def feature_columns(frame: pd.DataFrame, exclude: list[str] | tuple = ()) -> list[str]:
    """The model's input columns of a feature or snapshot frame, in frame order."""
    skip = _NOT_FEATURES | set(exclude)
    return [c for c in frame.columns if c not in skip]


def row_weights(
    frame: pd.DataFrame,
    lead_weight: str,
    class_weight: str = "none",
    recency_half_life_days: float | None = None,
) -> np.ndarray:
    """Row weights: each lead weighs 1 (``per_lead``), older rows decay, then wins
    scaled to losses.

    With ``recency_half_life_days``, a row ``d`` days older than the newest row of
    ``frame`` (by ``as_of``) weighs ``0.5 ** (d / half_life)`` as much, rescaled so
    that the recency factors average 1 (the total weight, hence the strength of
    LightGBM's regularisation, does not depend on the half-life).
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
        age_days = (as_of.max() - as_of).dt.total_seconds().to_numpy() / 86400.0
        decay = np.power(0.5, age_days / recency_half_life_days)
        w = w * decay / decay.mean()
    if class_weight == "balanced":
        y = frame["label"].to_numpy()
        pos, neg = w[y == 1].sum(), w[y == 0].sum()
        if pos > 0 and neg > 0:
            w = np.where(y == 1, w * neg / pos, w)
    return w


class LeadModel:
    """Calibrated LightGBM closing probability, scikit-learn style.

    Parameters
    ----------
    params : dict
        LightGBM parameters (``configs/model.yaml`` ``lightgbm``).
    num_boost_round, early_stopping_rounds : int
        Upper bound of trees; rounds without validation improvement before stopping.
    class_weight : {"balanced", "none"}
        Weight wins up to losses while growing trees (calibration undoes the shift).
    lead_weight : {"per_lead", "per_snapshot"}
        Weigh every lead 1 in total, or every snapshot 1.
    recency_half_life_days : float, optional
        Older training rows weigh less: half as much every this many days (see
        :func:`row_weights`); None weighs every period alike.
    refit : bool
        After early stopping, grow the trees again on the training and validation
        periods together, with the number of trees found (the newest closed leads then
        shape the trees, not only the stopping); calibration stays on its own period.
    calibration : CalibrationConfig
        Candidate calibration maps.
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
        params: dict[str, Any],
        num_boost_round: int = 2000,
        early_stopping_rounds: int = 100,
        class_weight: str = "none",
        lead_weight: str = "per_lead",
        recency_half_life_days: float | None = None,
        refit: bool = False,
        calibration: CalibrationConfig | None = None,
        exclude: list[str] | tuple = (),
        threads: int = 2,
        seed: int = 0,
    ) -> None:
        self.params = params
        self.num_boost_round = num_boost_round
        self.early_stopping_rounds = early_stopping_rounds
        self.class_weight = class_weight
        self.lead_weight = lead_weight
        self.recency_half_life_days = recency_half_life_days
        self.refit = refit
        self.calibration = calibration
        self.exclude = exclude
        self.threads = threads
        self.seed = seed

    @classmethod
    def from_config(
        cls, config: ModelConfig, seed: int, params: dict[str, Any] | None = None
    ) -> LeadModel:
        """An unfitted model set up from the ``model`` section of the configuration.

        ``params`` replaces ``config.lightgbm`` (e.g. the result of a search).
        """
        return cls(
            params=dict(config.lightgbm) if params is None else dict(params),
            num_boost_round=config.num_boost_round,
            early_stopping_rounds=config.early_stopping_rounds,
            class_weight=config.class_weight,
            lead_weight=config.lead_weight,
            recency_half_life_days=config.recency_half_life_days,
            refit=config.refit,
            calibration=config.calibration,
            exclude=list(config.exclude_features),
            threads=config.threads,
            seed=seed,
        )

    # -- fitting -----------------------------------------------------------------
    def _lgb_params(self) -> dict[str, Any]:
        return {
            **self.params,
            "objective": self.params.get("objective", "binary"),
            "metric": "binary_logloss",
            "seed": self.seed,
            "num_threads": self.threads,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }

    def _weights(self, frame: pd.DataFrame) -> np.ndarray:
        return row_weights(
            frame, self.lead_weight, self.class_weight, self.recency_half_life_days
        )

    def _dataset(
        self,
        matrix: np.ndarray,
        keys: pd.DataFrame,
        reference: lgb.Dataset | None = None,
    ) -> lgb.Dataset:
        """A LightGBM dataset of a float32 matrix (see :meth:`_array`); ``keys``
        holds the rows' ``lead_id``, ``as_of`` and ``label`` (for the weights)."""
        return lgb.Dataset(
            matrix,
            label=keys["label"].to_numpy(),
            weight=self._weights(keys),
            feature_name=list(self.features_),
            categorical_feature=[
                i for i, c in enumerate(self.features_) if c in self.categories_
            ],
            reference=reference,
            free_raw_data=True,
        )

    def fit_trees(self, train: pd.DataFrame, valid: pd.DataFrame) -> LeadModel:
        """Grow the trees on ``train``, stopping early on ``valid`` (no calibration)."""
        for name, part in (("train", train), ("valid", valid)):
            if len(part) == 0 or part["label"].nunique() < 2:
                raise ModelError(
                    f"the {name} period needs both won and lost leads; found "
                    f"{len(part)} rows with labels {sorted(part['label'].unique())}"
                )
        self.features_ = feature_columns(train, self.exclude)
        self.categories_ = {
            c: [str(v) for v in train[c].cat.categories]
            for c in self.features_
            if isinstance(train[c].dtype, pd.CategoricalDtype)
        }
        dtrain = self._dataset(self._array(train), train)
        dvalid = self._dataset(self._array(valid), valid, reference=dtrain)
        evals: dict[str, dict[str, list[float]]] = {}
        self.booster_ = lgb.train(
            self._lgb_params(),
            dtrain,
            num_boost_round=self.num_boost_round,
            valid_sets=[dvalid],
            valid_names=["valid"],
            callbacks=[
                lgb.early_stopping(self.early_stopping_rounds, verbose=False),
                lgb.record_evaluation(evals),
            ],
        )
        self.best_iteration_ = int(self.booster_.best_iteration or self.num_boost_round)
        self.valid_logloss_ = float(
            evals["valid"]["binary_logloss"][self.best_iteration_ - 1]
        )
        return self

    def _refit_trees(self, train: pd.DataFrame, valid: pd.DataFrame) -> None:
        """Grow ``best_iteration_`` trees again on ``train`` and ``valid`` together."""
        keys = pd.concat(
            [frame.loc[:, ["lead_id", "as_of", "label"]] for frame in (train, valid)],
            ignore_index=True,
        )
        self.booster_ = lgb.train(
            self._lgb_params(),
            self._dataset(self._array(train, valid), keys),
            num_boost_round=self.best_iteration_,
        )

    def fit(
        self, train: pd.DataFrame, valid: pd.DataFrame, calibration: pd.DataFrame
    ) -> LeadModel:
        """Grow the trees (again on train and valid with ``refit``), then fit the
        calibration map on ``calibration``.

        Each frame holds snapshots (``lead_id``, ``label`` and the features) of one
        period; periods are disjoint sets of leads, oldest first.
        """
        return self.fit_trees(train, valid).complete_fit(train, valid, calibration)

    def complete_fit(
        self, train: pd.DataFrame, valid: pd.DataFrame, calibration: pd.DataFrame
    ) -> LeadModel:
        """The rest of :meth:`fit` once :meth:`fit_trees` has run on ``train`` and
        ``valid``: regrow the trees on both (with ``refit``), fit the calibration."""
        self._check_fitted()
        if len(calibration) == 0 or calibration["label"].nunique() < 2:
            raise ModelError(
                "the calibration period needs both won and lost leads; found "
                f"{len(calibration)} rows"
            )
        if self.refit:
            self._refit_trees(train, valid)
        config = self.calibration or CalibrationConfig()
        self.calibrator_ = fit_calibrator(
            self.predict_raw(calibration),
            calibration["label"].to_numpy(),
            # no recency decay inside the period: it is the newest already, and a
            # scoring run weighs its open leads alike
            row_weights(calibration, config.row_weight),
            calibration["lead_id"].to_numpy(),
            config,
        )
        return self

    # -- prediction --------------------------------------------------------------
    def _check_fitted(self, calibrated: bool = False) -> None:
        if not hasattr(self, "booster_") or (
            calibrated and not hasattr(self, "calibrator_")
        ):
            raise ModelError("this LeadModel is not fitted yet: call fit first")

    def _check_columns(self, frame: pd.DataFrame) -> None:
        missing = [c for c in self.features_ if c not in frame.columns]
        if missing:
            raise DataValidationError(
                f"feature rows lack {len(missing)} column(s) the model was trained on: "
                f"{missing[:10]}{' ...' if len(missing) > 10 else ''}; build them with "
                "the features configuration stored in the model"
            )

    def _codes(self, column: pd.Series, levels: list[str]) -> pd.Categorical:
        """Levels seen in training; an unseen level reads as missing."""
        values = column.astype("string").astype(object)
        return pd.Categorical(values.where(values.isin(levels)), categories=levels)

    def _matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's columns as a frame: numbers as float32, categories with the
        training levels (the encoding the trees see, as pandas columns)."""
        self._check_columns(frame)
        columns = {}
        for c in self.features_:
            if c in self.categories_:
                columns[c] = self._codes(frame[c], self.categories_[c])
            else:
                columns[c] = pd.to_numeric(frame[c], errors="raise").astype(np.float32)
        return pd.DataFrame(columns, index=frame.index)

    def _array(self, *frames: pd.DataFrame) -> np.ndarray:
        """The model's columns of ``frames`` (stacked) as one float32 matrix,
        column-major, categories as their codes (missing: NaN): what LightGBM reads,
        without a float64 copy."""
        for frame in frames:
            self._check_columns(frame)
        rows = sum(len(frame) for frame in frames)
        out = np.empty((rows, len(self.features_)), dtype=np.float32, order="F")
        start = 0
        for frame in frames:
            block = slice(start, start + len(frame))
            start += len(frame)
            for i, c in enumerate(self.features_):
                if c in self.categories_:
                    codes = self._codes(frame[c], self.categories_[c]).codes
                    out[block, i] = np.where(codes < 0, np.nan, codes)
                else:
                    values = pd.to_numeric(frame[c], errors="raise")
                    out[block, i] = values.to_numpy(dtype=np.float32, na_value=np.nan)
        return out

    def predict_raw(self, frame: pd.DataFrame) -> np.ndarray:
        """Raw log-odds of the trees (before calibration)."""
        self._check_fitted()
        return self.booster_.predict(
            self._array(frame), raw_score=True, num_iteration=self.best_iteration_
        )

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated closing probability of each row."""
        self._check_fitted(calibrated=True)
        return self.calibrator_.transform(self.predict_raw(frame))

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per-row TreeSHAP contributions on log-odds (LightGBM's ``pred_contrib``).

        Columns: the features, then ``base`` (the expected value); each row sums to
        :meth:`predict_raw`.
        """
        self._check_fitted()
        values = self.booster_.predict(
            self._array(frame), pred_contrib=True, num_iteration=self.best_iteration_
        )
        return pd.DataFrame(
            values, columns=[*self.features_, "base"], index=frame.index
        )

    def feature_importance(self) -> pd.Series:
        """Total gain of each feature, highest first."""
        self._check_fitted()
        gain = self.booster_.feature_importance(
            importance_type="gain", iteration=self.best_iteration_
        )
        return pd.Series(gain, index=self.features_).sort_values(ascending=False)

    @classmethod
    def from_parts(
        cls,
        booster: lgb.Booster,
        features: list[str],
        categories: dict[str, list[str]],
        calibrator: Calibrator,
        best_iteration: int,
        **params: Any,
    ) -> LeadModel:
        """Rebuild a fitted model from its saved parts (see :mod:`model.bundle`)."""
        model = cls(**params)
        model.booster_ = booster
        model.features_ = list(features)
        model.categories_ = {k: list(v) for k, v in categories.items()}
        model.calibrator_ = calibrator
        model.best_iteration_ = int(best_iteration)
        return model
