"""The model stage: splits, calibration, LightGBM estimator, bundles, training."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from model_data import fast_config, small_demo
from predscore.config import CalibrationConfig, HistoryConfig, SplitConfig
from predscore.errors import DataValidationError, InsufficientHistoryError, ModelError
from predscore.experiment import (
    backtest,
    check_history,
    choose_candidate,
    evaluate_model,
    train_model,
    training_warnings,
)
from predscore.experiment.train import split_parts
from predscore.features import build_snapshots
from predscore.model import (
    IMMATURE,
    Calibrator,
    LeadModel,
    fit_calibrator,
    immature_leads,
    lead_table,
    load_bundle,
    rolling_folds,
    row_weights,
    rows_known_at,
    save_bundle,
    split_leads,
)

HORIZON = 60.0


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
    config = fast_config()
    assignment, _ = split_leads(snapshots, config.model.split, config.seed)
    return split_parts(snapshots, assignment)


@pytest.fixture(scope="module")
def fitted(parts: dict[str, pd.DataFrame]) -> LeadModel:
    return _model().fit(parts["train"], parts["valid"], parts["calibration"])


def _model(seed: int = 3, **model: object) -> LeadModel:
    return LeadModel.from_config(fast_config(**model).model, seed)


# -- splits ----------------------------------------------------------------------
def test_time_split_keeps_leads_whole_and_ordered(snapshots: pd.DataFrame) -> None:
    assignment, strategy = split_leads(snapshots, SplitConfig(strategy="time"), 0)
    assert strategy == "time"
    leads = lead_table(snapshots).set_index("lead_id")
    assert set(assignment.index) == set(leads.index)  # every lead in exactly one part
    created = leads["created_at"]
    order = ["train", "valid", "calibration", "test", IMMATURE]
    for older, newer in zip(order, order[1:], strict=False):
        assert created[assignment[assignment == older].index].max() <= (
            created[assignment[assignment == newer].index].min()
        )
    shares = assignment[assignment != IMMATURE].value_counts(normalize=True)
    assert shares["train"] == pytest.approx(0.55, abs=0.01)
    assert shares["test"] == pytest.approx(0.15, abs=0.01)


def test_leads_too_recent_to_judge_are_left_out(snapshots: pd.DataFrame) -> None:
    leads = lead_table(snapshots)
    created, closed = leads["created_at"], leads["closed_at"]
    recent = immature_leads(leads, 0.9)
    assert recent.any() and not recent.all()
    # the newest leads, those created within the cycle (90 % of the closed leads
    # closed within it) before the newest close
    cycle = (closed - created).quantile(0.9)
    np.testing.assert_array_equal(recent, (created > closed.max() - cycle).to_numpy())
    # of them, only the fast closers have closed yet: their close rate reads low
    assert leads.loc[recent, "won"].mean() < leads.loc[~recent, "won"].mean()
    assert not immature_leads(leads, None).any()
    assignment, _ = split_leads(snapshots, SplitConfig(strategy="time"), 0)
    assert set(assignment[assignment == IMMATURE].index) == set(
        leads.loc[recent, "lead_id"]
    )
    used = pd.concat(split_parts(snapshots, assignment).values())["lead_id"]
    assert not set(used) & set(leads.loc[recent, "lead_id"])
    off, _ = split_leads(snapshots, SplitConfig(mature_quantile=None), 0)
    assert not off.eq(IMMATURE).any()
    # a random split (no usable time) never leaves a lead out
    shuffled, _ = split_leads(snapshots, SplitConfig(strategy="random"), 0)
    assert not shuffled.eq(IMMATURE).any()


def test_history_counts_only_leads_old_enough_to_judge(snapshots: pd.DataFrame) -> None:
    assignment, _ = split_leads(snapshots, SplitConfig(strategy="time"), 0)
    mature = int(assignment.ne(IMMATURE).sum())
    wins = 1
    enough = HistoryConfig(min_closed_leads=mature, min_wins=wins)
    assert check_history(snapshots, enough, assignment)["closed_leads"] == mature
    short = HistoryConfig(min_closed_leads=mature + 1, min_wins=wins)
    check_history(snapshots, short)  # all closed leads count without the split
    with pytest.raises(InsufficientHistoryError, match="too recent to judge"):
        check_history(snapshots, short, assignment)


def test_random_split_is_seeded_and_stratified(snapshots: pd.DataFrame) -> None:
    config = SplitConfig(strategy="random")
    first, strategy = split_leads(snapshots, config, 11)
    again, _ = split_leads(snapshots, config, 11)
    other, _ = split_leads(snapshots, config, 12)
    assert strategy == "random"
    pd.testing.assert_series_equal(first, again)
    assert not first.equals(other)
    won = lead_table(snapshots).set_index("lead_id")["won"]
    rates = won.groupby(first).mean()
    assert rates.max() - rates.min() < 0.02  # each part keeps the overall win rate


def test_auto_split_goes_random_when_dates_are_few(snapshots: pd.DataFrame) -> None:
    one_day = snapshots.assign(as_of=snapshots["as_of"].min())
    _, strategy = split_leads(one_day, SplitConfig(), 0)
    assert strategy == "random"


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
    config = SplitConfig(strategy="time")
    assignment, _ = split_leads(horizon_snapshots, config, 0, horizon_days=HORIZON)
    assert not assignment.eq(IMMATURE).any()  # every row's label is known: none left
    # without the horizon the same config would leave the newest leads out
    assert split_leads(horizon_snapshots, config, 0)[0].eq(IMMATURE).any()
    counts = check_history(
        horizon_snapshots, HistoryConfig(min_closed_leads=1, min_wins=1), assignment
    )
    # leads with a labelled row count, open or closed; a win is a row labelled 1
    assert counts["open_leads"] == int(still_open.sum())
    assert counts["closed_leads"] + counts["open_leads"] == len(leads)
    positive = horizon_snapshots.groupby("lead_id", observed=True)["label"].max()
    assert counts["wins"] == int(positive.sum())
    short = HistoryConfig(min_closed_leads=len(leads) + 1, min_wins=1)
    with pytest.raises(InsufficientHistoryError, match="still open"):
        check_history(horizon_snapshots, short, assignment)


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


# -- calibration -----------------------------------------------------------------
def test_calibrators_are_monotone_and_round_trip() -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(2 * raw - 1)))).astype(int)
    groups = np.arange(4000)
    for method in ("sigmoid", "isotonic"):
        config = CalibrationConfig(methods=[method], isotonic_min_leads=10)
        cal = fit_calibrator(raw, y, np.ones(4000), groups, config)
        assert cal.method == method
        grid = np.linspace(-4, 4, 50)
        p = cal.transform(grid)
        assert np.all(np.diff(p) >= -1e-12) and p.min() >= 0 and p.max() <= 1
        again = Calibrator.from_dict(cal.to_dict())
        np.testing.assert_array_equal(again.transform(grid), p)
    both = fit_calibrator(raw, y, np.ones(4000), groups, CalibrationConfig())
    assert set(both.cv_brier) == {"isotonic", "sigmoid"}
    assert both.method == min(both.cv_brier, key=both.cv_brier.get)
    # the data follow a logistic curve exactly: Platt recovers it
    sig = fit_calibrator(
        raw, y, np.ones(4000), groups, CalibrationConfig(methods=["sigmoid"])
    )
    assert sig.params["a"] == pytest.approx(2, rel=0.15)


def test_isotonic_is_skipped_on_small_samples() -> None:
    raw = np.linspace(-2, 2, 100)
    y = (raw > 0).astype(int)
    cal = fit_calibrator(raw, y, np.ones(100), np.arange(100), CalibrationConfig())
    assert cal.method == "sigmoid"
    # many snapshots of few leads are a small sample: the guard counts leads
    rng = np.random.default_rng(1)
    raw = rng.normal(size=5000)
    y = (raw + rng.normal(size=5000) > 0).astype(int)
    few = np.repeat(np.arange(250), 20)
    config = CalibrationConfig(isotonic_min_leads=1000)
    assert fit_calibrator(raw, y, np.ones(5000), few, config).method == "sigmoid"
    many = fit_calibrator(raw, y, np.ones(5000), np.arange(5000), config)
    assert set(many.cv_brier) == {"isotonic", "sigmoid"}


# -- estimator -------------------------------------------------------------------
def test_same_seed_same_model(
    parts: dict[str, pd.DataFrame], fitted: LeadModel
) -> None:
    again = _model().fit(parts["train"], parts["valid"], parts["calibration"])
    assert again.booster_.model_to_string() == fitted.booster_.model_to_string()
    np.testing.assert_array_equal(
        again.predict_proba(parts["test"]), fitted.predict_proba(parts["test"])
    )


def test_probabilities_are_calibrated_and_rank(
    parts: dict[str, pd.DataFrame], fitted: LeadModel
) -> None:
    from predscore.evaluation import roc_auc

    test = parts["test"]
    p = fitted.predict_proba(test)
    assert p.shape == (len(test),) and p.min() >= 0 and p.max() <= 1
    assert roc_auc(test["label"], p) > 0.75
    # calibration brings the mean back to the close rate of the period it is fitted
    # on, snapshot by snapshot (the newest test leads are censored: only the fast
    # closers among them have closed, so their rate is not the reference)
    calibration = parts["calibration"]
    assert fitted.predict_proba(calibration).mean() == pytest.approx(
        calibration["label"].mean(), abs=0.02
    )
    balanced = _model(class_weight="balanced").fit(
        parts["train"], parts["valid"], calibration
    )
    assert balanced.predict_proba(calibration).mean() == pytest.approx(
        calibration["label"].mean(), abs=0.02
    )


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
    plain = row_weights(frame, "per_lead")
    np.testing.assert_array_equal(plain, np.ones(4))
    w = row_weights(frame, "per_lead", recency_half_life_days=30.0)
    np.testing.assert_allclose(w / w[0], [1.0, 0.5, 0.25, 0.25])
    assert w.mean() == pytest.approx(1.0)  # the total weight does not change
    # class balancing applies on top of the decay: wins weigh as much as losses
    both = row_weights(frame, "per_lead", "balanced", recency_half_life_days=30.0)
    y = frame["label"].to_numpy()
    assert both[y == 1].sum() == pytest.approx(both[y == 0].sum())


def test_refit_and_recency_keep_same_seed_same_model(
    parts: dict[str, pd.DataFrame], fitted: LeadModel
) -> None:
    def fit() -> LeadModel:
        return _model(refit=True, recency_half_life_days=60.0).fit(
            parts["train"], parts["valid"], parts["calibration"]
        )

    first, again = fit(), fit()
    assert first.booster_.model_to_string() == again.booster_.model_to_string()
    # regrown on train + valid with exactly the number of trees early stopping chose
    assert first.booster_.num_trees() == first.best_iteration_
    assert first.booster_.model_to_string() != fitted.booster_.model_to_string()
    p = first.predict_proba(parts["test"])
    np.testing.assert_array_equal(p, again.predict_proba(parts["test"]))
    from predscore.evaluation import roc_auc

    assert roc_auc(parts["test"]["label"], p) > 0.75


def test_grid_keeps_the_trees_it_grew_at_the_model_rate(
    parts: dict[str, pd.DataFrame], fitted: LeadModel
) -> None:
    config = fast_config(feature_grid={"learning_rate": None}).model
    features = fast_config().features
    choice = choose_candidate([(features, parts)], config, 3, count=2)
    assert choice.model is not None  # grown with the model's own parameters: kept
    finished = choice.model.complete_fit(
        parts["train"], parts["valid"], parts["calibration"]
    )
    # the same model as a fit from scratch: nothing is grown twice for nothing
    assert finished.booster_.model_to_string() == fitted.booster_.model_to_string()
    np.testing.assert_array_equal(
        finished.predict_proba(parts["test"]), fitted.predict_proba(parts["test"])
    )
    quick = fast_config(feature_grid={"learning_rate": 0.2}).model
    proxy = choose_candidate([(features, parts)], quick, 3, count=2)
    assert proxy.model is None  # compared on faster trees: the final ones are regrown
    assert len(proxy.grid) == 1 and proxy.grid["best_iteration"].iloc[0] >= 1


def test_training_matrix_is_the_prediction_encoding(
    parts: dict[str, pd.DataFrame], fitted: LeadModel
) -> None:
    rows = parts["test"].head(300)
    matrix = fitted._array(rows)
    assert matrix.dtype == np.float32 and matrix.shape == (300, len(fitted.features_))
    frame = fitted._matrix(rows)  # pandas categories: what LightGBM encodes itself
    np.testing.assert_array_equal(
        fitted.booster_.predict(frame, raw_score=True), fitted.predict_raw(rows)
    )
    stacked = fitted._array(rows.head(100), rows.tail(200))
    np.testing.assert_array_equal(stacked, matrix)


def test_contributions_add_up_to_the_raw_score(
    parts: dict[str, pd.DataFrame], fitted: LeadModel
) -> None:
    rows = parts["test"].head(200)
    contrib = fitted.contributions(rows)
    assert list(contrib.columns) == [*fitted.features_, "base"]
    np.testing.assert_allclose(contrib.sum(axis=1), fitted.predict_raw(rows), atol=1e-9)


def test_unseen_category_and_column_order(
    parts: dict[str, pd.DataFrame], fitted: LeadModel
) -> None:
    rows = parts["test"].head(50)
    expected = fitted.predict_proba(rows)
    shuffled = rows[list(reversed(rows.columns))]
    np.testing.assert_array_equal(fitted.predict_proba(shuffled), expected)
    category = next(iter(fitted.categories_))
    odd = rows.assign(**{category: "never-seen-before"})
    assert np.isfinite(fitted.predict_proba(odd)).all()


def test_missing_feature_and_unfitted_model_fail_clearly(
    parts: dict[str, pd.DataFrame], fitted: LeadModel
) -> None:
    column = fitted.features_[0]
    with pytest.raises(DataValidationError, match=column):
        fitted.predict_proba(parts["test"].drop(columns=[column]))
    with pytest.raises(ModelError, match="not fitted"):
        _model().predict_proba(parts["test"])


def test_bundle_round_trip(
    tmp_path, parts: dict[str, pd.DataFrame], fitted: LeadModel
) -> None:
    from predscore.model import ModelBundle

    config = fast_config()
    bundle = ModelBundle(fitted, config.features, config.icp, config.model.split, 3)
    folder = save_bundle(bundle, tmp_path / "bundle")
    loaded = load_bundle(folder)
    np.testing.assert_array_equal(
        loaded.model.predict_proba(parts["test"]), fitted.predict_proba(parts["test"])
    )
    assert loaded.features == config.features
    assert loaded.split == config.model.split
    with pytest.raises(ModelError, match="not a predscore model bundle"):
        load_bundle(tmp_path)
    # a bundle from before `mature_quantile` keeps the periods it was trained with
    doc_path = folder / "bundle.json"
    doc = json.loads(doc_path.read_text())
    del doc["split"]["mature_quantile"]
    doc_path.write_text(json.dumps(doc))
    assert load_bundle(folder).split.mature_quantile is None


# -- training workflow -----------------------------------------------------------
def test_train_model_beats_rules_and_reports(demo: dict) -> None:
    config = fast_config()
    result = train_model(demo, config, config.rules)
    metrics = result.metrics
    for scorer in ("model", "rules"):
        assert {
            "roc_auc",
            "pr_auc",
            "brier",
            "ece",
            "lift_top10",
            "capture_top20",
        } <= set(metrics[scorer])
    assert metrics["model"]["roc_auc"] > metrics["rules"]["roc_auc"]
    assert sum(p["leads"] for p in result.parts.values()) == len(
        lead_table(build_snapshots(demo, result.bundle.features, config.icp))
    )
    assert len(result.test) == metrics["rows"]
    trees = metrics["selected"]["best_iteration"]
    assert metrics["warnings"] == training_warnings(metrics, config.model)
    assert (metrics["warnings"] != []) == (trees < config.model.warn_below_trees)


def test_few_trees_warn_of_drift() -> None:
    config = fast_config().model
    kept = {"selected": {"best_iteration": 1}}
    (warning,) = training_warnings(kept, config)
    assert "kept 1 tree " in warning and "predscore backtest" in warning
    enough = {"selected": {"best_iteration": config.warn_below_trees}}
    assert training_warnings(enough, config) == []
    assert (
        training_warnings(kept, config.model_copy(update={"warn_below_trees": 0})) == []
    )


def test_horizon_training_evaluation_and_backtest_use_known_labels(
    demo: dict, horizon_snapshots: pd.DataFrame
) -> None:
    config = fast_config()
    features = config.features.model_copy(update={"horizon_days": HORIZON})
    config = config.model_copy(update={"features": features})
    result = train_model(demo, config, None)
    assert result.parts[IMMATURE]["leads"] == 0
    # every lead with a known label is in one part, the open ones included
    assert sum(p["leads"] for p in result.parts.values()) == len(
        lead_table(horizon_snapshots)
    )
    metrics, scored = evaluate_model(demo, result.bundle, config)
    assert len(scored) == result.parts["test"]["rows"] == metrics["rows"]
    folds = backtest(demo, config, 2)
    assert len(folds.folds) + len(folds.skipped) > 0


def test_train_refuses_without_enough_history(demo: dict) -> None:
    config = fast_config(history={"min_closed_leads": 10**6, "min_wins": 40})
    with pytest.raises(InsufficientHistoryError, match="rules alone"):
        train_model(demo, config, config.rules)


def test_grid_picks_the_lowest_validation_loss(demo: dict) -> None:
    config = fast_config(
        feature_grid={"half_life_days": [3.0, 60.0], "windows_days": [[7, 30, 90]]}
    )
    result = train_model(demo, config, None)
    assert len(result.grid) == 2
    best = result.grid.loc[result.grid["valid_logloss"].idxmin(), "half_life_days"]
    assert result.metrics["selected"]["half_life_days"] == best
    assert result.bundle.features.half_life_days == best
    assert "rules" not in result.metrics
