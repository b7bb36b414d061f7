"""Reference models the product is measured against: off-the-shelf, no tuning.

Stage: experiment. Input: labelled training rows and the rows to score (snapshots of
:mod:`predscore.features`, the model's feature columns); output: a closing
probability per scored row. Three references, each fitted on the rows given:

* ``lgbm_default``: ``LGBMClassifier()`` with its default parameters, categorical
  columns as pandas categories — what a data scientist gets in five minutes;
* ``logreg``: logistic regression, numeric columns median-imputed and standardised,
  categorical columns one-hot (missing as a level of its own);
* ``flaml``: FLAML's AutoML (LightGBM, XGBoost, random forest, extra trees, L1
  logistic regression) searching for :data:`FLAML_BUDGET` seconds by log loss on
  the same rows, then refitted on all of them — what a data scientist would run
  instead of a product. Its own internal validation split is random (it does not
  know the rows are time-ordered): that is what it would do in a notebook.

Both see exactly the model's feature columns
(:func:`predscore.model.feature_columns`); a level of a categorical column unseen in
training becomes missing. Used by ``benchmarks/results.py`` (``make results``) and by
:func:`predscore.experiment.evaluate_model` (``references=``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from predscore.errors import ConfigError
from predscore.model import feature_columns

__all__ = ["FLAML_BUDGET", "REFERENCES", "reference_frames", "reference_probability"]


def reference_frames(
    train: pd.DataFrame, test: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The model's feature columns of both frames, typed for the references.

    Numeric columns become float; the others become pandas categories with the levels
    seen in ``train`` (an unseen level in ``test`` becomes missing).

    Returns
    -------
    (DataFrame, DataFrame, list of str)
        Train and test matrices, and the names of the categorical columns.
    """
    columns = feature_columns(train)
    categorical = [
        c
        for c in columns
        if not pd.api.types.is_numeric_dtype(train[c])
        or isinstance(train[c].dtype, pd.CategoricalDtype)
    ]
    frames = []
    for frame in (train, test):
        out = {}
        for c in columns:
            if c in categorical:
                out[c] = frame[c].astype("string").astype(object)
            else:
                out[c] = pd.to_numeric(frame[c], errors="raise").astype(float)
        frames.append(pd.DataFrame(out, index=frame.index))
    x_train, x_test = frames
    for c in categorical:
        levels = sorted(x_train[c].dropna().unique())
        x_train[c] = pd.Categorical(x_train[c], categories=levels)
        seen = x_test[c].where(x_test[c].isin(levels))  # unseen level → missing
        x_test[c] = pd.Categorical(seen, categories=levels)
    return x_train, x_test, categorical


def _lgbm_default(
    train: pd.DataFrame, test: pd.DataFrame, threads: int, seed: int
) -> np.ndarray:
    import lightgbm as lgb

    x_train, x_test, _ = reference_frames(train, test)
    # default parameters draw nothing at random (no bagging, all features); the seed
    # only pins that down should the defaults change
    model = lgb.LGBMClassifier(n_jobs=threads, random_state=seed, verbose=-1)
    model.fit(x_train, train["label"].to_numpy())
    return model.predict_proba(x_test)[:, 1]


def _logreg(
    train: pd.DataFrame, test: pd.DataFrame, threads: int, seed: int
) -> np.ndarray:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from threadpoolctl import threadpool_limits

    x_train, x_test, categorical = reference_frames(train, test)
    numeric = [c for c in x_train.columns if c not in categorical]

    def encode(x: pd.DataFrame) -> pd.DataFrame:
        # levels as plain strings, missing as a level of its own
        cats = {
            c: x[c].astype(object).where(x[c].notna(), "<missing>") for c in categorical
        }
        return x.assign(**cats)

    prepare = ColumnTransformer(
        [
            (
                "numeric",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                numeric,
            ),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]
    )
    model = make_pipeline(prepare, LogisticRegression(max_iter=2000))
    # BLAS threads beyond the free cores spin and slow the fit many times over
    with threadpool_limits(limits=threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # all-missing columns, slow convergence
        model.fit(encode(x_train), train["label"].to_numpy())
        return model.predict_proba(encode(x_test))[:, 1]


#: FLAML's search budget per fit, seconds (the reference's "what a data scientist
#: would run instead": a fixed budget on the same rows)
FLAML_BUDGET = 60.0


def _flaml(
    train: pd.DataFrame, test: pd.DataFrame, threads: int, seed: int
) -> np.ndarray:
    import logging

    from flaml import AutoML

    x_train, x_test, _ = reference_frames(train, test)
    automl = AutoML()
    log = logging.getLogger("flaml.automl")
    level = log.level
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its estimators' convergence chatter
            automl.fit(
                x_train,
                train["label"].to_numpy(),
                task="classification",
                metric="log_loss",
                time_budget=FLAML_BUDGET,
                estimator_list=["lgbm", "xgboost", "rf", "extra_tree", "lrl1"],
                # its validation by lead, as every choice of predscore's: a lead's
                # snapshots on both sides would reward memorising leads
                split_type="group",
                groups=pd.factorize(train["lead_id"])[0],
                n_jobs=threads,
                seed=seed,
                retrain_full=True,
                verbose=0,
            )
            return automl.predict_proba(x_test)[:, 1]
    finally:
        log.setLevel(level)  # FLAML sets its logger's level from ``verbose``


_Fit = Callable[[pd.DataFrame, pd.DataFrame, int, int], np.ndarray]
_REFERENCES: dict[str, _Fit] = {
    "lgbm_default": _lgbm_default,
    "logreg": _logreg,
    "flaml": _flaml,
}
#: names of the reference models, in display order
REFERENCES = tuple(_REFERENCES)


def reference_probability(
    name: str,
    train: pd.DataFrame,
    test: pd.DataFrame,
    threads: int = 1,
    seed: int = 0,
) -> np.ndarray:
    """Fit reference ``name`` on ``train`` and return its probability on ``test``.

    Parameters
    ----------
    name : str
        One of :data:`REFERENCES`.
    train : DataFrame
        Labelled feature rows (``label`` and the model's feature columns).
    test : DataFrame
        Feature rows to score (the same columns).
    threads : int
        Threads of the fit (LightGBM's, and the BLAS library's for the logistic
        regression).
    seed : int
        Seed of anything random.

    Returns
    -------
    ndarray
        Closing probability per row of ``test``.

    Raises
    ------
    ConfigError
        When ``name`` is not a known reference.
    """
    fit = _REFERENCES.get(name)
    if fit is None:
        raise ConfigError(
            f"unknown reference model {name!r}; expected one of {', '.join(REFERENCES)}"
        )
    return fit(train, test, threads, seed)
