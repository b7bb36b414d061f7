"""The model stage: splits, cross-validation folds, calibration, the tree and
linear families and their blend, model choice, bundles, training."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from model_data import fast_config, small_demo
from predscore.config import CalibrationConfig, HistoryConfig, SplitConfig
from predscore.errors import DataValidationError, InsufficientHistoryError, ModelError
from predscore.evaluation import roc_auc
from predscore.experiment import (
    backtest,
    check_history,
    evaluate_model,
    evaluation_periods,
    fit_procedure,
    train_model,
)
from predscore.features import build_snapshots
from predscore.model import (
    Calibrator,
    LeadModel,
    ModelBundle,
    ModelSpec,
    choose_calibration,
    compact_rows,
    cv_folds,
    feature_matrix,
    holdout_leads,
    immature_leads,
    judged_rows,
    labelled_rows,
    lead_table,
    load_bundle,
    rolling_folds,
    row_weights,
    rows_known_at,
    save_bundle,
    select_model,
    training_rows_at,
)
from predscore.model.calibrate import platt_fit
from predscore.model.linear import fit_linear
from predscore.model.matrix import category_levels
from predscore.model.selection import fold_score

HORIZON = 60.0
IDENTITY = Calibrator("sigmoid", {"a": 1.0, "b": 0.0})


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return small_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def snapshots(demo: dict) -> pd.DataFrame:
    config = fast_config()
    return build_snapshots(demo, config.features, config.icp)


@pytest.fixture(scope="module")
def horizon_snapshots(demo: dict) -> pd.DataFrame:
    """Snapshots labelled "won within 60 days", the leads still open included."""
    config = fast_config()
    features = config.features.model_copy(update={"horizon_days": HORIZON})
    return build_snapshots(demo, features, config.icp)


@pytest.fixture(scope="module")
def parts(snapshots: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The labelled rows (the leads too recent to judge left out), the newest 20 %
    of the leads held out."""
    rows, strategy, _ = labelled_rows(snapshots, SplitConfig(mature_quantile=0.9))
    held = rows["lead_id"].isin(holdout_leads(rows, 0.2, strategy, 0)).to_numpy()
    return {
        "train": rows.loc[~held].reset_index(drop=True),
        "test": rows.loc[held].reset_index(drop=True),
    }


def _spec(family: str) -> ModelSpec:
    trees = {"objective": "binary", "learning_rate": 0.1, "num_leaves": 7}
    return ModelSpec(
        name=family,
        tree_params=None if family == "linear" else trees,
        tree_count=0 if family == "linear" else 60,
        linear_C=None if family == "lightgbm" else 0.1,
        blend=0.6 if family == "blend" else 1.0,
    )


def _fit(rows: pd.DataFrame, family: str, seed: int = 3) -> LeadModel:
    return LeadModel(spec=_spec(family), seed=seed).fit(rows, IDENTITY)


@pytest.fixture(scope="module")
def models(parts: dict[str, pd.DataFrame]) -> dict[str, LeadModel]:
    return {f: _fit(parts["train"], f) for f in ("lightgbm", "linear", "blend")}


# -- rows and splits -----------------------------------------------------------------
def test_leads_too_recent_to_judge_are_left_out(snapshots: pd.DataFrame) -> None:
    leads = lead_table(snapshots)
    created, closed = leads["created_at"], leads["closed_at"]
    recent = immature_leads(leads, 0.9)
    assert recent.any() and not recent.all()
    cycle = (closed - created).quantile(0.9)
    np.testing.assert_array_equal(recent, (created > closed.max() - cycle).to_numpy())
    # of them, only the fast closers have closed yet: their close rate reads low
    assert leads.loc[recent, "won"].mean() < leads.loc[~recent, "won"].mean()
    rows, strategy, left_out = labelled_rows(
        snapshots, SplitConfig(strategy="time", mature_quantile=0.9)
    )
    assert strategy == "time" and left_out == int(recent.sum())
    assert not set(rows["lead_id"]) & set(leads.loc[recent, "lead_id"])
    assert len(rows) + snapshots["lead_id"].isin(
        leads.loc[recent, "lead_id"]
    ).sum() == len(snapshots)
    kept, _, none = labelled_rows(snapshots, SplitConfig())  # the default: kept
    assert none == 0 and len(kept) == len(snapshots)
    # a random split (no usable time) never leaves a lead out
    shuffled, strategy, none = labelled_rows(snapshots, SplitConfig(strategy="random"))
    assert strategy == "random" and none == 0 and len(shuffled) == len(snapshots)


def test_evaluations_judge_only_leads_old_enough(snapshots: pd.DataFrame) -> None:
    leads = lead_table(snapshots)
    recent = leads.loc[immature_leads(leads, 0.9), "lead_id"]
    judged = judged_rows(snapshots, 0.9)
    np.testing.assert_array_equal(judged, ~snapshots["lead_id"].isin(recent))
    assert 0 < judged.sum() < len(snapshots)
    # with a label horizon every row is labelled once known; null judges all
    assert judged_rows(snapshots, 0.9, horizon_days=90.0).all()
    assert judged_rows(snapshots, None).all()


def test_holdout_is_the_newest_leads_or_a_stratified_draw(
    snapshots: pd.DataFrame,
) -> None:
    leads = lead_table(snapshots).set_index("lead_id")
    held = holdout_leads(snapshots, 0.15, "time", 0)
    assert len(held) == pytest.approx(0.15 * len(leads), abs=1)
    rest = leads.index.difference(held)
    assert leads.loc[held, "created_at"].min() >= leads.loc[rest, "created_at"].max()
    first = holdout_leads(snapshots, 0.2, "random", 11)
    np.testing.assert_array_equal(first, holdout_leads(snapshots, 0.2, "random", 11))
    assert set(first) != set(holdout_leads(snapshots, 0.2, "random", 12))
    won = leads["won"]
    assert won.loc[first].mean() == pytest.approx(won.mean(), abs=0.02)


def test_evaluation_periods_cut_the_newest_judged_leads_in_time_order(
    snapshots: pd.DataFrame,
) -> None:
    config = fast_config(
        split={"test": 0.2}, evaluation={"origins": 4, "mature_quantile": 0.9}
    )
    periods = evaluation_periods(snapshots, "time", config)
    judged = snapshots.loc[judged_rows(snapshots, 0.9)]
    held = holdout_leads(judged, 0.2, "time", config.seed)
    assert [p.number for p in periods] == [1, 2, 3, 4]
    scored = np.concatenate([p.leads for p in periods])
    # every held-out lead in exactly one period, none of the too recent ones
    assert sorted(scored) == sorted(held)
    created = lead_table(snapshots).set_index("lead_id")["created_at"]
    for before, after in zip(periods, periods[1:], strict=False):
        assert before.origin < after.origin
        assert created.loc[before.leads].max() <= after.origin
    for period in periods:
        assert created.loc[period.leads].min() == period.origin
    # at random: one share, scored by the procedure fitted on every other lead
    (drawn,) = evaluation_periods(snapshots, "random", config)
    assert drawn.origin is None
    assert len(drawn.leads) == pytest.approx(0.2 * len(created), abs=1)


def test_auto_split_goes_random_when_dates_are_few(snapshots: pd.DataFrame) -> None:
    one_day = snapshots.assign(as_of=snapshots["as_of"].min())
    assert labelled_rows(one_day, SplitConfig())[1] == "random"


def test_history_counts_labelled_leads(snapshots: pd.DataFrame) -> None:
    leads = len(lead_table(snapshots))
    enough = HistoryConfig(min_closed_leads=leads, min_wins=1)
    assert check_history(snapshots, enough)["closed_leads"] == leads
    with pytest.raises(InsufficientHistoryError, match="rules alone"):
        check_history(snapshots, HistoryConfig(min_closed_leads=leads + 1))


def test_rolling_folds_only_train_on_known_outcomes(snapshots: pd.DataFrame) -> None:
    leads = lead_table(snapshots).set_index("lead_id")
    folds = rolling_folds(snapshots, 3)
    assert [f.number for f in folds] == [1, 2, 3]
    for fold in folds:
        assert (leads.loc[fold.train_leads, "closed_at"] <= fold.origin).all()
        assert (leads.loc[fold.test_leads, "created_at"] >= fold.origin).all()
        assert not set(fold.train_leads) & set(fold.test_leads)
    with pytest.raises(DataValidationError, match="folds"):
        rolling_folds(snapshots, 0)


def test_horizon_rows_replace_the_maturity_filter(
    horizon_snapshots: pd.DataFrame,
) -> None:
    leads = lead_table(horizon_snapshots)
    still_open = leads["closed_at"].isna()
    assert still_open.any()  # the leads open at the cutoff give rows
    config = SplitConfig(strategy="time", mature_quantile=0.9)
    rows, _, left_out = labelled_rows(horizon_snapshots, config, HORIZON)
    assert left_out == 0 and len(rows) == len(horizon_snapshots)
    # without the horizon the same config would leave the newest leads out
    assert labelled_rows(horizon_snapshots, config)[2] > 0
    counts = check_history(rows, HistoryConfig(min_closed_leads=1, min_wins=1))
    assert counts["open_leads"] == int(still_open.sum())
    assert counts["closed_leads"] + counts["open_leads"] == len(leads)
    positive = horizon_snapshots.groupby("lead_id", observed=True)["label"].max()
    assert counts["wins"] == int(positive.sum())
    short = HistoryConfig(min_closed_leads=len(leads) + 1, min_wins=1)
    with pytest.raises(InsufficientHistoryError, match="still open"):
        check_history(rows, short)


def test_rows_known_at_a_date_follow_the_label_window() -> None:
    day = pd.Timestamp("2026-01-01T00:00:00Z")
    frame = pd.DataFrame(
        {
            "lead_id": ["A", "A", "B"],
            "as_of": [day, day + pd.Timedelta(days=31), day],
            # A is won on day 59 (its second row's window holds it), B still open
            "closed_at": [day + pd.Timedelta(days=59)] * 2 + [pd.NaT],
            "label": [0, 1, 0],
        }
    )
    before_close = day + pd.Timedelta(days=45)
    # A's first window (days 0-30) is over: known, label 0; its second is not
    for kept in ("complete", "known"):
        known = rows_known_at(frame, before_close, 30, kept)
        assert known.tolist() == [True, False, True]
    # one microsecond short of the first window's end: nothing known yet
    early = day + pd.Timedelta(days=30) - pd.Timedelta(microseconds=1)
    assert rows_known_at(frame, early, 30).tolist() == [False, False, False]
    at_close = day + pd.Timedelta(days=59)
    # A closed: "known" takes its second row (window to day 61), "complete" waits
    assert rows_known_at(frame, at_close, 30, "known").tolist() == [True, True, True]
    assert rows_known_at(frame, at_close, 30).tolist() == [True, False, True]
    # without a horizon a label ("won at all") is known only once the lead closed
    assert rows_known_at(frame, before_close).tolist() == [False, False, False]
    assert rows_known_at(frame, at_close).tolist() == [True, True, False]


@pytest.mark.parametrize("kept", ["complete", "known"])
def test_horizon_folds_train_on_rows_known_at_their_origin(
    horizon_snapshots: pd.DataFrame, kept: str
) -> None:
    leads = lead_table(horizon_snapshots).set_index("lead_id")
    folds = rolling_folds(horizon_snapshots, 3, HORIZON, kept)
    closed_only = rolling_folds(horizon_snapshots, 3)
    for fold, before in zip(folds, closed_only, strict=True):
        known = rows_known_at(horizon_snapshots, fold.origin, HORIZON, kept)
        rows = horizon_snapshots.loc[known]
        assert (rows["as_of"] < fold.origin).all()  # never a row from after it
        passed = rows["as_of"] + pd.Timedelta(days=HORIZON) <= fold.origin
        assert passed.all() == (kept == "complete")
        assert set(fold.train_leads) == set(
            rows.loc[rows["lead_id"].map(leads["created_at"]) < fold.origin, "lead_id"]
        )
        assert (leads.loc[fold.test_leads, "created_at"] >= fold.origin).all()
        if kept == "known":  # the leads closed then, plus the open ones' windows
            assert set(before.train_leads) <= set(fold.train_leads)
    assert len(folds[-1].train_leads) > len(closed_only[-1].train_leads)


# -- cross-validation folds ----------------------------------------------------------
def test_time_folds_expand_and_train_only_on_what_was_known(
    parts: dict[str, pd.DataFrame],
) -> None:
    rows = parts["train"]
    config = fast_config(
        cv={"folds": 4, "min_train_share": 0.4, "min_train_wins": 1}
    ).model
    folds = cv_folds(rows, config, "time", 0)
    assert [f.number for f in folds] == [1, 2, 3, 4]
    assert [f.weight for f in folds] == [1.0, 2.0, 3.0, 4.0]  # the newest weigh most
    leads = lead_table(rows).set_index("lead_id")
    seen_valid: set = set()
    for fold in folds:
        train, valid = rows.loc[fold.train], rows.loc[fold.valid]
        assert not set(train["lead_id"]) & set(valid["lead_id"])
        assert (train["closed_at"] <= fold.origin).all()  # outcome known at origin
        assert (train["as_of"] < fold.origin).all()
        assert (leads.loc[valid["lead_id"].unique(), "created_at"] >= fold.origin).all()
        assert not seen_valid & set(valid["lead_id"])  # each lead validated once
        seen_valid |= set(valid["lead_id"])
    # the oldest 40 % of the leads only ever train
    assert len(seen_valid) == pytest.approx(0.6 * len(leads), abs=4)
    sizes = [f.train.sum() for f in folds]
    assert sizes == sorted(sizes)  # expanding window


def test_random_folds_keep_leads_whole(parts: dict[str, pd.DataFrame]) -> None:
    rows = parts["train"]
    folds = cv_folds(rows, fast_config().model, "random", 5)
    every = np.zeros(len(rows), dtype=int)
    for fold in folds:
        assert not set(rows.loc[fold.train, "lead_id"]) & set(
            rows.loc[fold.valid, "lead_id"]
        )
        every += fold.valid
    np.testing.assert_array_equal(every, 1)  # every row validated exactly once
    few = rows.head(5).assign(label=0)
    with pytest.raises(ModelError, match="won and lost"):
        cv_folds(few, fast_config().model, "random", 5)


def test_time_folds_give_way_when_early_periods_hold_one_class(
    parts: dict[str, pd.DataFrame],
) -> None:
    """Wins only among the newest leads (a market that opens late): when no period
    holds both classes, stratified folds by lead rather than an error."""
    rows = parts["train"].copy()
    leads = lead_table(rows)
    config = fast_config(
        cv={"folds": 4, "min_train_share": 0.4, "min_train_wins": 1}
    ).model
    # wins only in the newest 10 % of the leads: whatever the number of periods,
    # the newest one starts before them, so no period trains on both classes
    late = set(leads["lead_id"].iloc[int(0.9 * len(leads)) :])
    rows["label"] = (rows["lead_id"].isin(late) & (rows["label"] == 1)).astype("int8")
    folds = cv_folds(rows, config, "time", 0)
    assert folds and all(f.origin is None for f in folds)  # stratified by lead
    for fold in folds:
        assert not set(rows.loc[fold.train, "lead_id"]) & set(
            rows.loc[fold.valid, "lead_id"]
        )
        assert rows.loc[fold.train, "label"].nunique() == 2
    # wins from the 30th percentile on: 4 periods (from 40 %) train on both classes
    # only once the 30-40 % leads are in: every fold does, all 4 kept
    mid = set(leads["lead_id"].iloc[int(0.3 * len(leads)) :])
    rows["label"] = (rows["lead_id"].isin(mid) & (parts["train"]["label"] == 1)).astype(
        "int8"
    )
    assert [f.number for f in cv_folds(rows, config, "time", 0)] == [1, 2, 3, 4]


def test_time_folds_trained_on_too_few_wins_are_left_out(
    parts: dict[str, pd.DataFrame],
) -> None:
    rows = parts["train"]
    every = cv_folds(
        rows, fast_config(cv={"folds": 4, "min_train_wins": 1}).model, "time", 0
    )
    won = {
        f.number: rows.loc[
            f.train & rows["label"].eq(1).to_numpy(), "lead_id"
        ].nunique()
        for f in every
    }
    assert [f.number for f in every] == [1, 2, 3, 4]
    # a minimum above the first fold's wins and below the others'
    bar = won[1] + 1
    assert won[2] >= bar
    strict = fast_config(cv={"folds": 4, "min_train_wins": bar}).model
    kept = cv_folds(rows, strict, "time", 0)
    assert [f.number for f in kept] == [2, 3, 4]


def test_time_folds_keep_the_order_when_labels_are_known_late(
    parts: dict[str, pd.DataFrame],
) -> None:
    """Every win recorded after the newest origin: no period's known rows hold one.
    The periods then train on the older leads' labels as known today (blocked time
    folds), never on a shuffle that lets a newer lead train an older one's fold."""
    rows = parts["train"].copy()
    config = fast_config(
        cv={"folds": 4, "min_train_share": 0.4, "min_train_wins": 1}
    ).model
    won = rows.groupby("lead_id")["label"].transform("max").eq(1)
    rows.loc[won, "closed_at"] = rows["as_of"].max() + pd.Timedelta(days=365)
    folds = cv_folds(rows, config, "time", 0)
    assert [f.number for f in folds] == [1, 2, 3, 4]
    leads = lead_table(rows).set_index("lead_id")["created_at"]
    for fold in folds:
        assert fold.origin is not None
        train_created = leads.loc[rows.loc[fold.train, "lead_id"].unique()]
        valid_created = leads.loc[rows.loc[fold.valid, "lead_id"].unique()]
        assert train_created.max() <= valid_created.min()  # time's order kept
        assert rows.loc[fold.train, "label"].nunique() == 2
        # the wins it learns from were not known at its origin
        assert (rows.loc[fold.train, "closed_at"] > fold.origin).any()


def test_fold_score_ignores_the_level_not_the_order() -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-2 * raw))).astype(int)
    w = np.ones(3000)
    score = fold_score(raw, y, w)
    # a shifted or rescaled ranking (a close rate that moved) scores the same
    assert fold_score(raw + 3.0, y, w) == pytest.approx(score, abs=1e-9)
    assert fold_score(0.2 * raw, y, w) == pytest.approx(score, abs=1e-9)
    assert fold_score(rng.permutation(raw), y, w) > score + 0.05


def _stops_at(curve: dict[int, float], monkeypatch: pytest.MonkeyPatch) -> int:
    """The tree count at which a fold whose validation scores follow ``curve`` (at
    those checkpoints) stops growing."""
    from types import SimpleNamespace

    import predscore.model.selection as selection

    booster = SimpleNamespace(predict=lambda rows, **_: np.zeros(len(rows)))
    grown: list[int] = []
    monkeypatch.setattr(selection, "fold_score", lambda *_: curve[grown[-1]])
    watch = selection._Checkpoints(np.zeros((4, 1)), np.ones(4), np.ones(4), [*curve])
    for count in range(1, max(curve) + 1):
        grown.append(count)
        try:
            watch(SimpleNamespace(iteration=count - 1, model=booster))
        except lgb.callback.EarlyStopException as stop:
            return stop.best_iteration
    return max(curve)


def test_a_fold_stops_growing_trees_once_they_stop_helping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps = (10, 20, 30, 50, 75, 100, 150, 200, 300)

    def curve(*scores: float) -> dict[int, float]:
        return dict(zip(steps, scores, strict=False))

    # below 75 trees, one worse checkpoint is noise: growth goes on
    assert _stops_at(curve(5, 6, 4, 3, 2, 1, 0.5, 0.4, 0.3), monkeypatch) == 300
    # two worse checkpoints in a row stop it, early or not
    assert _stops_at(curve(5, 4, 4.5, 4.6, 1, 1, 1, 1, 1), monkeypatch) == 50
    # from 75 trees on, one worse checkpoint is enough
    assert _stops_at(curve(5, 4, 3, 2, 1, 0.9, 1.1, 0.1, 0.1), monkeypatch) == 150
    assert _stops_at(curve(5, 4, 3, 2, 2.5, 0.1, 0.1, 0.1, 0.1), monkeypatch) == 75


# -- calibration -----------------------------------------------------------------
def test_platt_fit_is_scikit_learn_unpenalised_logistic_regression() -> None:
    rng = np.random.default_rng(2)
    raw = rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-(1.5 * raw - 0.7)))).astype(int)
    w = rng.uniform(0.2, 2.0, size=2000)
    a, b = platt_fit(raw, y, w)
    ref = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000)
    ref.fit(raw.reshape(-1, 1), y, sample_weight=w)
    assert a == pytest.approx(ref.coef_[0, 0], abs=1e-5)
    assert b == pytest.approx(ref.intercept_[0], abs=1e-5)


def test_platt_fit_holds_on_a_narrow_range_of_rare_wins() -> None:
    """A fold of rare wins whose log-odds sit in a narrow band far from 0 (slope
    and intercept nearly collinear): undamped Newton steps overshoot there."""
    rng = np.random.default_rng(4)
    raw = rng.uniform(-7.2, -6.0, size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-(3.0 * raw + 15.0)))).astype(int)
    w = rng.uniform(0.5, 2.0, size=3000)
    assert 0 < y.sum() < 100
    a, b = platt_fit(raw, y, w)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000)
    ref.fit(raw.reshape(-1, 1), y, sample_weight=w)

    def loss(slope: float, intercept: float) -> float:
        m = slope * raw + intercept
        return float(np.average(np.logaddexp(0.0, m) - y * m, weights=w))

    rate = np.average(y, weights=w)
    assert loss(a, b) <= loss(ref.coef_[0, 0], ref.intercept_[0]) + 1e-9
    assert loss(a, b) < loss(0.0, np.log(rate / (1 - rate)))  # beats the rate alone
    assert fold_score(raw, y, w) == pytest.approx(loss(a, b), rel=1e-9)


def _calibration_data(n: int = 6000, seed: int = 0) -> dict:
    """Four folds of log-odds; the close rate jumps in the two newest."""
    rng = np.random.default_rng(seed)
    folds = np.repeat(np.arange(4), n // 4)
    raw = rng.normal(size=n)
    shift = np.where(folds >= 2, 1.5, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-(raw - 1.0 + shift)))).astype(int)
    day = pd.Timestamp("2026-01-01")
    as_of = (day + pd.to_timedelta(np.arange(n) * 0.1, unit="D")).to_numpy()
    return {"raw": raw, "y": y, "folds": folds, "as_of": as_of, "groups": np.arange(n)}


def test_calibrators_are_monotone_and_round_trip() -> None:
    d = _calibration_data()
    for method in ("sigmoid", "isotonic"):
        config = CalibrationConfig(methods=[method], isotonic_min_leads=10)
        cal = choose_calibration(
            d["raw"],
            d["y"],
            np.ones(len(d["y"])),
            d["groups"],
            d["folds"],
            d["as_of"],
            config,
        )
        assert cal.method == method
        grid = np.linspace(-4, 4, 50)
        p = cal.transform(grid)
        assert np.all(np.diff(p) >= -1e-12) and p.min() >= 0 and p.max() <= 1
        again = Calibrator.from_dict(cal.to_dict())
        np.testing.assert_array_equal(again.transform(grid), p)


def test_calibration_level_follows_a_shifted_close_rate() -> None:
    d = _calibration_data()
    w = np.ones(len(d["y"]))
    config = CalibrationConfig(methods=["sigmoid"], recency_half_life_days=[None, 30.0])
    cal = choose_calibration(
        d["raw"],
        d["y"],
        w,
        d["groups"],
        d["folds"],
        d["as_of"],
        config,
        fold_weights=np.array([1.0, 2.0, 3.0, 4.0]),
    )
    # forward in time, the recency-weighted map predicts the newer folds better
    assert cal.recency_half_life_days == 30.0
    assert set(cal.cv_brier) == {"sigmoid/none", "sigmoid/30d"}
    newest = d["folds"] == 3
    flat = CalibrationConfig(methods=["sigmoid"], recency_half_life_days=[None])
    plain = choose_calibration(
        d["raw"], d["y"], w, d["groups"], d["folds"], d["as_of"], flat
    )
    rate = d["y"][newest].mean()
    assert abs(cal.transform(d["raw"][newest]).mean() - rate) < abs(
        plain.transform(d["raw"][newest]).mean() - rate
    )


def test_relevel_moves_the_level_and_keeps_the_shape() -> None:
    d = _calibration_data()
    w = np.ones(len(d["y"]))
    for method in ("sigmoid", "isotonic"):
        config = CalibrationConfig(
            methods=[method], recency_half_life_days=[None], isotonic_min_leads=10
        )
        cal = choose_calibration(
            d["raw"], d["y"], w, d["groups"], d["folds"], d["as_of"], config
        )
        # a model scoring 0.7 higher in log-odds, on leads closing at a lower rate
        raw = d["raw"][:3000] + 0.7
        labels = (np.random.default_rng(1).random(3000) < 0.2).astype(int)
        weights = np.random.default_rng(2).uniform(0.5, 2.0, 3000)
        moved = cal.relevel(raw, labels, weights)
        assert np.average(moved.transform(raw), weights=weights) == pytest.approx(
            np.average(labels, weights=weights), abs=1e-6
        )
        assert moved.params["shift"] < 0  # the map reads these log-odds lower
        grid = np.linspace(-4, 4, 50)
        # the shape is kept: the same map, its log-odds shifted
        shift = moved.params["shift"]
        p = np.clip(cal.transform(grid), 1e-6, 1 - 1e-6)
        expected = 1 / (1 + np.exp(-(np.log(p / (1 - p)) + shift)))
        np.testing.assert_allclose(moved.transform(grid), expected, rtol=1e-9)
        again = Calibrator.from_dict(moved.to_dict())
        np.testing.assert_array_equal(again.transform(grid), moved.transform(grid))
        assert again.row_weight == config.row_weight
    # a map saved before shifts and row weights existed reads as it did
    old = {"method": "sigmoid", "params": {"a": 1.0, "b": -1.0}}
    assert Calibrator.from_dict(old).transform(np.array([1.0]))[0] == 0.5


def test_a_sigmoid_map_never_turns_the_ranking_round() -> None:
    """Out of fold the log-odds rank backwards (a drifting, tiny sample): the map
    keeps the model's own scale (slope 1) and fits the level alone."""
    rng = np.random.default_rng(6)
    raw = rng.normal(-4.0, 1.0, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(-raw - 6.0)))).astype(int)
    w = np.ones(4000)
    assert platt_fit(raw, y, w)[0] < 0  # the plain fit would reverse the ranking
    config = CalibrationConfig(methods=["sigmoid"], recency_half_life_days=[None])
    cal = choose_calibration(
        raw, y, w, np.arange(4000), np.repeat(np.arange(4), 1000), _dates(4000), config
    )
    assert cal.params["a"] == 1.0
    p = cal.transform(raw)
    assert np.all(np.diff(cal.transform(np.sort(raw))) >= 0)
    assert p.mean() == pytest.approx(y.mean(), abs=1e-6)


def _dates(n: int) -> np.ndarray:
    return (
        pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(n) * 0.1, unit="D")
    ).to_numpy()


def test_isotonic_is_skipped_on_small_samples() -> None:
    d = _calibration_data()
    few = np.repeat(np.arange(300), 20)  # many snapshots of few leads: a small sample
    config = CalibrationConfig(isotonic_min_leads=1000, recency_half_life_days=[None])
    w = np.ones(len(d["y"]))
    assert (
        choose_calibration(
            d["raw"], d["y"], w, few, d["folds"], d["as_of"], config
        ).method
        == "sigmoid"
    )
    many = choose_calibration(
        d["raw"], d["y"], w, d["groups"], d["folds"], d["as_of"], config
    )
    assert set(many.cv_brier) == {"isotonic/none", "sigmoid/none"}


def test_recency_weights_halve_every_half_life() -> None:
    day = pd.Timedelta(days=1)
    now = pd.Timestamp("2026-01-31", tz="UTC")
    frame = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c", "d"],
            "as_of": [now, now - 30 * day, now - 60 * day, now - 60 * day],
            "label": [1, 0, 0, 1],
        }
    )
    np.testing.assert_array_equal(row_weights(frame, "per_lead"), np.ones(4))
    w = row_weights(frame, "per_lead", recency_half_life_days=30.0)
    np.testing.assert_allclose(w / w[0], [1.0, 0.5, 0.25, 0.25])
    assert w.mean() == pytest.approx(1.0)  # the total weight does not change
    later = row_weights(frame, "per_lead", 30.0, newest=now + 30 * day)
    np.testing.assert_allclose(later / later[0], [1.0, 0.5, 0.25, 0.25])


# -- the families ----------------------------------------------------------------------
def test_linear_contributions_are_exact(
    parts: dict[str, pd.DataFrame], models: dict[str, LeadModel]
) -> None:
    model = models["linear"]
    rows = parts["test"]
    contrib = model.contributions(rows)
    np.testing.assert_allclose(contrib.sum(axis=1), model.predict_raw(rows), atol=1e-9)
    # coefficient × (value − training mean): a number feature, by hand
    linear = model.components_[0][1]
    matrix = model.matrix(rows)
    i, term = next(
        (i, t)
        for i, t in enumerate(linear.terms)
        if t["kind"] == "number" and t["coef"] != 0 and not np.isnan(matrix[:, i]).any()
    )
    value = matrix[:, i].astype(float)  # the matrix is float32
    z = (np.clip(value, term["low"], term["high"]) - term["mean"]) / term["scale"]
    np.testing.assert_allclose(
        contrib.iloc[:, i], term["coef"] * z - term["center"], atol=1e-9
    )
    # the expected value: the mean log-odds over the training rows
    train_raw = model.predict_raw(parts["train"])
    assert contrib["base"].iloc[0] == pytest.approx(train_raw.mean(), abs=1e-9)


def _linear_inputs(
    rows: pd.DataFrame,
) -> tuple[LeadModel, np.ndarray, set[int], np.ndarray, np.ndarray]:
    """A fitted linear model and what ``fit_linear`` reads on the same rows: the
    matrix, the categorical columns, the lead codes and the per-lead weights."""
    model = _fit(rows, "linear")
    return (
        model,
        model.matrix(rows),
        set(model.categorical_indices()),
        pd.factorize(rows["lead_id"])[0],
        row_weights(rows, "per_lead"),
    )


def test_linear_model_is_scikit_learn_on_its_design(
    parts: dict[str, pd.DataFrame],
) -> None:
    from predscore.model.linear import _design

    rows = parts["train"]
    model, matrix, categorical, leads, w = _linear_inputs(rows)
    _, columns, _ = _design(matrix, categorical, leads, 20, 0.001)
    design = np.column_stack(columns).astype(float)
    # scikit-learn's optimum, converged well past its default tolerance
    ref = LogisticRegression(C=0.1, max_iter=2000, solver="newton-cholesky", tol=1e-12)
    ref.fit(design, rows["label"], sample_weight=w)
    np.testing.assert_allclose(
        model.predict_raw(rows), ref.decision_function(design), atol=1e-6
    )
    again = fit_linear(matrix, rows["label"].to_numpy(), w, leads, categorical, 0.1)
    np.testing.assert_allclose(again.raw(matrix), model.predict_raw(rows), atol=1e-12)


def test_newton_solver_matches_scikit_learn_by_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from predscore.model import linear

    rng = np.random.default_rng(5)
    n = 5000
    level = rng.integers(0, 4, n)
    one_hot = (level[:, None] == np.arange(4)).astype(np.float32)  # sums to 1
    design = np.column_stack([one_hot, rng.normal(size=(n, 3))]).astype(np.float32)
    y = (rng.random(n) < 1 / (1 + np.exp(-(design[:, 4] - level * 0.3)))).astype(int)
    w = rng.uniform(0.2, 2.0, n)
    monkeypatch.setattr(linear, "BLOCK_ROWS", 777)  # blocks of uneven size
    coefs, intercept = linear.logistic_newton(design, y, w, 0.3)
    ref = LogisticRegression(C=0.3, solver="newton-cholesky", tol=1e-12, max_iter=500)
    ref.fit(design.astype(float), y, sample_weight=w)
    np.testing.assert_allclose(coefs, ref.coef_[0], atol=1e-6)
    assert intercept == pytest.approx(ref.intercept_[0], abs=1e-6)
    # no column: the intercept is the weighted close rate's log-odds
    _, alone = linear.logistic_newton(np.zeros((n, 0), np.float32), y, w, 0.3)
    rate = np.average(y, weights=w)
    assert alone == pytest.approx(np.log(rate / (1 - rate)), abs=1e-9)


def test_newton_warm_start_reaches_the_same_optimum(
    parts: dict[str, pd.DataFrame],
) -> None:
    from predscore.model import linear

    rows = parts["train"]
    _, matrix, categorical, leads, w = _linear_inputs(rows)
    y = rows["label"].to_numpy()
    near = fit_linear(matrix, y, w, leads, categorical, 1.0)
    cold = fit_linear(matrix, y, w, leads, categorical, 0.1)
    warm = fit_linear(matrix, y, w, leads, categorical, 0.1, start=near.solution)
    assert near.solution is not None and len(near.solution) > 1
    np.testing.assert_allclose(warm.solution, cold.solution, atol=1e-8)
    np.testing.assert_allclose(warm.raw(matrix), cold.raw(matrix), atol=1e-8)
    # a start of another design's size is ignored (a fit on other rows)
    other = fit_linear(matrix, y, w, leads, categorical, 0.1, start=np.zeros(3))
    np.testing.assert_allclose(other.solution, cold.solution, atol=1e-8)
    # a model that only scores skips the training moments, and scores the same
    bare = fit_linear(matrix, y, w, leads, categorical, 0.1, explained=False)
    assert "center" not in bare.terms[0] and "center" in cold.terms[0]
    np.testing.assert_allclose(bare.raw(matrix), cold.raw(matrix), atol=1e-12)
    assert linear.LinearComponent.from_dict(cold.to_dict()).solution is None
    # fits sharing one encoding of the rows: each as if encoded alone, none
    # writing its coefficients into the shared encoding
    shared = linear.linear_design(matrix, leads, categorical)
    first = fit_linear(matrix, y, w, leads, categorical, 1.0, design=shared)
    second = fit_linear(matrix, y, w, leads, categorical, 0.1, design=shared)
    assert first.terms == near.terms and second.terms == cold.terms
    assert all("coef" not in t and "coefs" not in t for t in shared.terms)


def test_a_fold_reweighted_in_place_grows_the_trees_of_a_fresh_one(
    parts: dict[str, pd.DataFrame],
) -> None:
    from predscore.model.selection import _Cv
    from predscore.model.trees import tree_dataset, tree_params

    rows = parts["train"]
    config = fast_config().model
    folds = cv_folds(rows, config, "time", 3)
    cv = _Cv(rows, folds, config, 3)
    fold = folds[-1]
    params = tree_params({**config.lightgbm, "num_leaves": 7}, 3, 1)

    def fresh(weights: np.ndarray) -> lgb.Dataset:
        return tree_dataset(
            cv.matrix[fold.train],
            cv.labels[fold.train],
            weights,
            cv.features,
            cv.categorical,
            config.lightgbm,
        )

    first = cv.dataset(fold, None)
    swapped = cv.dataset(fold, 180.0)
    assert swapped is first  # binned once, the weights swapped in place
    a = lgb.train(params, swapped, num_boost_round=20)
    b = lgb.train(params, fresh(cv.train_weights(fold, 180.0)), num_boost_round=20)
    assert a.model_to_string() == b.model_to_string()
    # back to weights that are all 1 (one weight per snapshot, no recency): they
    # replace the recency weights, which LightGBM's set_weight would have kept
    flat = _Cv(
        rows, folds, config.model_copy(update={"lead_weight": "per_snapshot"}), 3
    )
    flat.dataset(fold, 180.0)
    back = flat.dataset(fold, None)
    np.testing.assert_array_equal(back.get_field("weight"), 1.0)
    c = lgb.train(params, back, num_boost_round=20)
    d = lgb.train(params, fresh(np.ones(int(fold.train.sum()))), num_boost_round=20)
    np.testing.assert_allclose(
        c.predict(cv.matrix[fold.valid]), d.predict(cv.matrix[fold.valid]), atol=1e-12
    )


def test_binning_parameters_reach_the_dataset_only() -> None:
    from predscore.model.trees import tree_dataset, tree_params

    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 1))
    y = (rng.random(4000) < 0.3).astype(int)

    def bins(params: dict) -> int:
        data = tree_dataset(x, y, np.ones(4000), ["x"], [], params).construct()
        return data.feature_num_bin(0)

    assert bins({}) <= 256 < bins({"max_bin": 511}) <= 512
    assert "max_bin" not in tree_params({"max_bin": 511, "num_leaves": 4}, 0, 1)
    with pytest.raises(ValueError, match="set them in `lightgbm`"):
        fast_config(trees=[{"name": "t", "params": {"max_bin": 63}}])


def test_named_features_get_their_own_bin_count() -> None:
    from predscore.model.trees import tree_dataset, tree_params

    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 2))
    y = (rng.random(4000) < 0.3).astype(int)
    params = {"max_bin": 63, "max_bin_by_name": {"amount": 1023, "absent": 7}}
    data = tree_dataset(x, y, np.ones(4000), ["score", "amount"], [], params)
    data.construct()
    assert data.feature_num_bin(0) <= 64 < 512 < data.feature_num_bin(1) <= 1024
    assert "max_bin_by_name" not in tree_params(params, 0, 1)
    for key in ("max_bin_by_name", "max_bin_by_feature"):
        with pytest.raises(ValueError, match="use `max_bin_by_family`"):
            fast_config(lightgbm={"max_bin": 63, key: [7]})
        with pytest.raises(ValueError, match="use `max_bin_by_family`"):
            fast_config(trees=[{"name": "t", "params": {key: [7]}}])


def test_fit_numbers_are_binned_by_their_family(parts: dict[str, pd.DataFrame]) -> None:
    from predscore.experiment.train import family_bins

    config = fast_config(
        max_bin_by_family={"fit": 1023, "qualification": 31},
        linear={"enabled": False},  # the trees are chosen: the refit has some
    )
    rows = parts["train"].assign(deal_amount=1.0)  # an extra lead column: fit
    model = family_bins(rows, config)
    by_name = model.lightgbm["max_bin_by_name"]
    assert by_name["annual_revenue"] == by_name["deal_amount"] == 1023
    assert by_name["qual_budget_amount"] == 31
    assert not {c for c in by_name if c.startswith(("decayed_", "days_since_"))}
    assert "sector" not in by_name  # categories are binned by their levels
    assert model.lightgbm["max_bin"] == config.model.lightgbm["max_bin"]
    assert "max_bin_by_name" not in config.model.lightgbm  # the config is left as is
    none = fast_config(max_bin_by_family={})
    assert family_bins(rows, none) is none.model
    # the refit's trees are binned as the folds' were
    fitted = fit_procedure([(config.features, rows)], 1, config, "time")
    assert fitted.model.spec.tree_params["max_bin_by_name"] == by_name


def test_engagement_candidates_must_share_their_snapshot_rows(
    parts: dict[str, pd.DataFrame],
) -> None:
    config = fast_config()
    rows = parts["train"]
    later = rows.copy()
    later.loc[later.index[-1], "as_of"] += pd.Timedelta(seconds=1)
    other = config.features.model_copy(update={"half_life_days": 90.0})
    with pytest.raises(ModelError, match="different snapshot rows"):
        fit_procedure([(config.features, rows), (other, later)], 2, config, "time")


@pytest.mark.parametrize("family", ["lightgbm", "linear", "blend"])
def test_contributions_add_up_for_every_family(
    parts: dict[str, pd.DataFrame], models: dict[str, LeadModel], family: str
) -> None:
    model = models[family]
    rows = parts["test"].head(300)
    contrib = model.contributions(rows)
    assert list(contrib.columns) == [*model.features_, "base"]
    np.testing.assert_allclose(contrib.sum(axis=1), model.predict_raw(rows), atol=1e-9)
    assert model.family == family
    if family == "blend":  # the weighted sum of its parts' contributions
        matrix = model.matrix(rows)
        parts_sum = sum(w * c.contributions(matrix) for w, c in model.components_)
        np.testing.assert_allclose(contrib.to_numpy(), parts_sum, atol=1e-12)
        assert [w for w, _ in model.components_] == [0.6, pytest.approx(0.4)]


def test_same_seed_same_model(
    parts: dict[str, pd.DataFrame], models: dict[str, LeadModel]
) -> None:
    again = _fit(parts["train"], "blend")
    fitted = models["blend"]
    assert again.booster_.model_to_string() == fitted.booster_.model_to_string()
    np.testing.assert_array_equal(
        again.predict_raw(parts["test"]), fitted.predict_raw(parts["test"])
    )


def test_matrix_stacks_frames_and_reads_unseen_levels_as_missing(
    parts: dict[str, pd.DataFrame], models: dict[str, LeadModel]
) -> None:
    model = models["blend"]
    rows = parts["test"].head(300)
    matrix = model.matrix(rows)
    assert matrix.dtype == np.float32 and matrix.shape == (300, len(model.features_))
    stacked = feature_matrix(
        [rows.head(100), rows.tail(200)], model.features_, model.categories_
    )
    np.testing.assert_array_equal(stacked, matrix)
    # a few rows (converted in one piece) read as they do among many (column by column)
    few = [rows.head(5), rows.iloc[[7]], rows.tail(40)]
    np.testing.assert_array_equal(
        np.vstack([model.matrix(f) for f in few]),
        np.vstack([matrix[:5], matrix[[7]], matrix[-40:]]),
    )
    # categories read the same from a categorical column and from plain text
    for name in model.categories_:
        as_text = rows.assign(**{name: rows[name].astype(object)})
        np.testing.assert_array_equal(model.matrix(as_text), matrix)
    shuffled = rows[list(reversed(rows.columns))]
    np.testing.assert_array_equal(model.predict_raw(shuffled), model.predict_raw(rows))
    category = next(iter(model.categories_))
    odd = rows.assign(**{category: "never-seen-before"})
    missing = rows.assign(**{category: None})
    np.testing.assert_array_equal(model.predict_raw(odd), model.predict_raw(missing))


def test_missing_feature_and_unfitted_model_fail_clearly(
    parts: dict[str, pd.DataFrame], models: dict[str, LeadModel]
) -> None:
    fitted = models["lightgbm"]
    column = fitted.features_[0]
    with pytest.raises(DataValidationError, match=column):
        fitted.predict_proba(parts["test"].drop(columns=[column]))
    with pytest.raises(ModelError, match="not fitted"):
        LeadModel(spec=_spec("lightgbm")).predict_proba(parts["test"])
    with pytest.raises(ModelError, match="both won and lost"):
        LeadModel(spec=_spec("linear")).fit(parts["train"].assign(label=0), IDENTITY)


@pytest.mark.parametrize("family", ["lightgbm", "linear", "blend"])
def test_bundle_round_trip(
    tmp_path, parts: dict[str, pd.DataFrame], models: dict[str, LeadModel], family: str
) -> None:
    config = fast_config()
    fitted = models[family]
    bundle = ModelBundle(fitted, config.features, config.icp, config.model.split, 3)
    folder = save_bundle(bundle, tmp_path / "bundle")
    loaded = load_bundle(folder)
    np.testing.assert_array_equal(
        loaded.model.predict_proba(parts["test"]), fitted.predict_proba(parts["test"])
    )
    np.testing.assert_array_equal(
        loaded.model.contributions(parts["test"]).to_numpy(),
        fitted.contributions(parts["test"]).to_numpy(),
    )
    assert loaded.model.spec == fitted.spec
    assert loaded.features == config.features
    with pytest.raises(ModelError, match="not a predscore model bundle"):
        load_bundle(tmp_path)


# -- choice by cross-validation -----------------------------------------------------
def test_selection_scores_every_candidate_out_of_fold(
    parts: dict[str, pd.DataFrame],
) -> None:
    rows = parts["train"]
    config = fast_config().model
    folds = cv_folds(rows, config, "time", 3)
    selection = select_model(rows, folds, config, 3)
    table = selection.candidates
    names = set(table["candidate"])
    assert {"trees_small", "trees_medium", "linear_C0.1"} <= names
    assert {"blend_0.25", "blend_0.5", "blend_0.75"} <= names
    # the chosen one has the lowest score; the recency weighting was tried too
    assert selection.spec.name == table["candidate"].iloc[0]
    assert table["cv_score"].iloc[0] == table["cv_score"].min()
    assert set(table["recency_half_life_days"].dropna()) == {180.0}
    # out-of-fold: every prediction made by a fit that never saw its lead
    oof = selection.oof
    for fold in folds:
        held = oof.loc[oof["fold"] == fold.number, "lead_id"]
        assert set(held) == set(rows.loc[fold.valid, "lead_id"])
        assert not set(held) & set(rows.loc[fold.train, "lead_id"])
    assert len(oof) == sum(int(f.valid.sum()) for f in folds)
    # a blend is made of parts cross-validated with its own weighting (the refit
    # weights both parts so): one blend per weighting and blend weight
    blends = table[table["family"] == "blend"]
    assert len(blends) == 3 * 2
    for recency in blends["recency_half_life_days"]:
        same = table["recency_half_life_days"].fillna(-1) == (
            -1 if pd.isna(recency) else recency
        )
        assert {"lightgbm", "linear"} <= set(table.loc[same, "family"])
    again = select_model(rows, folds, config, 3)
    pd.testing.assert_frame_equal(again.candidates, table)  # same seed, same choice


@pytest.mark.parametrize("strategy", ["time", "random"])
def test_a_fold_with_many_rows_trains_on_a_sample_of_its_leads(
    parts: dict[str, pd.DataFrame], strategy: str
) -> None:
    rows = parts["train"]
    whole = cv_folds(rows, fast_config(cv={"max_train_rows": None}).model, strategy, 3)
    leads = rows["lead_id"].to_numpy()
    rows_per_lead = pd.Series(leads).value_counts()
    # a cap below the smallest fold: every fold is capped
    cap = min(int(f.train.sum()) for f in whole) - 1
    capped_config = fast_config(cv={"max_train_rows": cap}).model
    capped = cv_folds(rows, capped_config, strategy, 3)
    assert [f.number for f in capped] == [f.number for f in whole]
    for full, fold in zip(whole, capped, strict=True):
        # the validation rows stay; the training rows are every row of some of the
        # fold's training leads, as many as fit under the cap
        assert np.array_equal(fold.valid, full.valid) and fold.origin == full.origin
        assert not (fold.train & ~full.train).any()
        kept = set(leads[fold.train])
        assert np.array_equal(fold.train, full.train & np.isin(leads, list(kept)))
        assert cap - rows_per_lead.max() < fold.train.sum() <= cap
    # seeded: the same folds again
    again = cv_folds(rows, capped_config, strategy, 3)
    assert all(
        np.array_equal(a.train, b.train) for a, b in zip(again, capped, strict=True)
    )
    # a cap above every fold leaves them whole
    roomy = fast_config(cv={"max_train_rows": int(len(rows))}).model
    assert all(
        np.array_equal(a.train, b.train)
        for a, b in zip(cv_folds(rows, roomy, strategy, 3), whole, strict=True)
    )


def test_the_recency_variant_grows_up_to_the_unweighted_tree_count(
    parts: dict[str, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    from predscore.model import selection as choosing

    grown: list[tuple[str, float | None, int]] = []
    real = choosing._Cv.trees

    def trees(self, name, params, half_life, max_trees):  # type: ignore[no-untyped-def]
        grown.append((name, half_life, max_trees))
        return real(self, name, params, half_life, max_trees)

    monkeypatch.setattr(choosing._Cv, "trees", trees)
    rows = parts["train"]
    config = fast_config().model  # recency half-lives: none, 180 days
    selection = select_model(rows, cv_folds(rows, config, "time", 3), config, 3)
    table = selection.candidates
    unweighted = table[
        (table["family"] == "lightgbm") & table["recency_half_life_days"].isna()
    ].iloc[0]  # the best tree candidate, whose weighting is tried
    weighted = [g for g in grown if g[1] == 180.0]
    assert weighted == [(unweighted["candidate"], 180.0, int(unweighted["trees"]))]
    assert all(g[2] == config.max_trees for g in grown if g[1] is None)
    again = table[
        (table["family"] == "lightgbm") & (table["recency_half_life_days"] == 180.0)
    ]
    assert (again["trees"] <= unweighted["trees"]).all()


def test_replays_leave_out_the_leads_too_recent_at_their_origin(
    parts: dict[str, pd.DataFrame],
) -> None:
    rows = parts["train"]
    split = SplitConfig(mature_quantile=0.9)
    leads = lead_table(rows)
    origin = leads["created_at"].iloc[int(0.7 * len(leads))]
    known = rows_known_at(rows, origin)
    kept = training_rows_at(rows, origin, split)
    assert (kept <= known).all() and kept.sum() < known.sum()
    # exactly the leads labelled_rows would leave out on that day
    expected, _, dropped = labelled_rows(rows.loc[known], split)
    assert set(rows.loc[kept, "lead_id"]) == set(expected["lead_id"])
    assert dropped == rows.loc[known & ~kept, "lead_id"].nunique()
    assert training_rows_at(rows, origin, split, horizon_days=30.0).sum() == (
        rows_known_at(rows, origin, 30.0).sum()  # with a horizon: labels as known
    )


def test_levels_no_training_row_holds_read_as_missing() -> None:
    frame = pd.DataFrame(
        {"sector": pd.Categorical(["a", "b", "a"], categories=["a", "b", "z"])}
    )
    levels = category_levels(frame, ["sector"])
    assert levels == {"sector": ["a", "b"]}  # "z" is declared, never seen
    later = pd.DataFrame({"sector": pd.Categorical(["z", "new", "b"])})
    codes = feature_matrix(later, ["sector"], levels)[:, 0]
    assert np.isnan(codes[0]) and np.isnan(codes[1]) and codes[2] == 1


def test_procedure_refits_on_every_row(parts: dict[str, pd.DataFrame]) -> None:
    config = fast_config()
    rows = parts["train"]
    fitted = fit_procedure([(config.features, rows)], 1, config, "time")
    assert len(fitted.rows) == len(rows)
    model = fitted.model
    assert model.spec == fitted.selection.spec
    # the out-of-fold map with its level set again on the refit's own rows
    oof_map, refit_map = fitted.selection.calibrator, model.calibrator_
    assert refit_map.method == oof_map.method
    assert {k: v for k, v in refit_map.params.items() if k != "shift"} == {
        k: v for k, v in oof_map.params.items() if k != "shift"
    }
    weights = row_weights(rows, refit_map.row_weight, refit_map.recency_half_life_days)
    rate = np.average(rows["label"], weights=weights)
    assert np.average(model.predict_proba(rows), weights=weights) == pytest.approx(
        rate, abs=1e-6
    )
    folds_config = config.model_copy(
        update={
            "model": config.model.model_copy(
                update={
                    "calibration": config.model.calibration.model_copy(
                        update={"level": "folds"}
                    )
                }
            )
        }
    )
    plain = fit_procedure([(config.features, rows)], 1, folds_config, "time")
    assert plain.model.calibrator_ is plain.selection.calibrator
    p = model.predict_proba(parts["test"])
    assert p.min() >= 0 and p.max() <= 1
    assert roc_auc(parts["test"]["label"], p) > 0.75


# -- training workflow -----------------------------------------------------------
def test_train_model_beats_rules_and_reports(
    demo: dict, snapshots: pd.DataFrame
) -> None:
    config = fast_config()
    result = train_model(demo, config, config.rules)
    metrics = result.metrics
    for scorer in ("model", "rules"):
        assert {"roc_auc", "pr_auc", "brier", "ece", "lift_top10"} <= set(
            metrics[scorer]
        )
    assert metrics["model"]["roc_auc"] > metrics["rules"]["roc_auc"] + 0.1
    rows, _, immature = labelled_rows(snapshots, config.model.split)
    # refit on every labelled lead; the leads too recent to judge left out
    assert result.parts["labelled"]["leads"] == rows["lead_id"].nunique()
    assert result.parts["immature"]["leads"] == immature
    assert len(result.test) == metrics["model"]["rows"]
    assert metrics["selected"]["candidate"] == result.candidates["candidate"].iloc[0]
    procedure = result.bundle.metadata["procedure"]
    assert procedure["model"]["cv"] == config.model.cv.model_dump(mode="json")


def test_the_engagement_grid_is_scored_on_a_sample_of_leads(demo: dict) -> None:
    config = fast_config(
        feature_grid={
            "half_life_days": [7.0, 30.0],
            "windows_days": [[7, 30, 90]],
            "max_leads": 300,
        }
    )
    result = train_model(demo, config, None)
    assert len(result.grid) == 2 and result.grid["cv_score"].notna().all()
    # the grid on 300 leads; the model chosen and refitted on every labelled lead
    assert result.parts["labelled"]["leads"] > 300
    chosen = result.metrics["selected"]["half_life_days"]
    best = result.grid.loc[result.grid["cv_score"].idxmin(), "half_life_days"]
    assert chosen == best


def test_compact_rows_change_no_prediction(
    models: dict[str, LeadModel], parts: dict[str, pd.DataFrame]
) -> None:
    test = parts["test"]
    small = compact_rows(test)
    assert (small.dtypes == "float32").any() and not (small.dtypes == "float64").any()
    assert small.memory_usage(deep=True).sum() < test.memory_usage(deep=True).sum()
    for model in models.values():
        np.testing.assert_array_equal(
            model.predict_proba(small), model.predict_proba(test)
        )


def test_horizon_training_evaluation_and_backtest_use_known_labels(
    demo: dict, horizon_snapshots: pd.DataFrame
) -> None:
    config = fast_config(evaluation={"origins": 2, "references": [], "resamples": 100})
    features = config.features.model_copy(update={"horizon_days": HORIZON})
    config = config.model_copy(update={"features": features})
    result = train_model(demo, config, None)
    assert result.parts["immature"]["leads"] == 0
    # every lead with a known label is learnt from, the open ones included
    assert result.parts["labelled"]["leads"] == len(lead_table(horizon_snapshots))
    metrics, scored = evaluate_model(demo, result.bundle, config)
    held = holdout_leads(horizon_snapshots, config.model.split.test, "time", 0)
    assert set(scored["lead_id"]) == set(held)
    assert len(scored) == metrics["model"]["rows"]
    folds = backtest(demo, config, 2)
    assert len(folds.folds) + len(folds.skipped) > 0


def test_train_refuses_without_enough_history(demo: dict) -> None:
    config = fast_config(history={"min_closed_leads": 10**6, "min_wins": 40})
    with pytest.raises(InsufficientHistoryError, match="rules alone"):
        train_model(demo, config, config.rules)


def test_grid_scores_engagement_settings_that_change_nothing_once(
    demo: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from predscore.experiment import train as training

    scored = []
    real = training.engagement_score
    monkeypatch.setattr(
        training,
        "engagement_score",
        lambda rows, *a, **k: scored.append(len(rows)) or real(rows, *a, **k),
    )
    # a history without activities: every half-life gives the same features
    quiet = {**demo, "activities": demo["activities"].iloc[:0]}
    config = fast_config(
        feature_grid={"half_life_days": [3.0, 60.0], "windows_days": [[7, 30, 90]]}
    )
    result = train_model(quiet, config, None)
    assert len(scored) == 1
    assert result.grid["cv_score"].nunique() == 1 and len(result.grid) == 2
    assert result.metrics["selected"]["half_life_days"] == 3.0  # the first of equals


def test_grid_picks_the_lowest_cross_validated_score(demo: dict) -> None:
    config = fast_config(
        feature_grid={"half_life_days": [3.0, 60.0], "windows_days": [[7, 30, 90]]}
    )
    result = train_model(demo, config, None)
    assert len(result.grid) == 2
    best = result.grid.loc[result.grid["cv_score"].idxmin(), "half_life_days"]
    assert result.metrics["selected"]["half_life_days"] == best
    assert result.bundle.features.half_life_days == best
    assert "rules" not in result.metrics
