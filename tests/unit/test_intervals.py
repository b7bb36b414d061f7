"""Paired bootstrap intervals by lead (predscore.evaluation.paired_bootstrap)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from predscore.errors import PredscoreError
from predscore.evaluation import paired_bootstrap
from predscore.evaluation.intervals import _Ranked


def _data(leads: int = 400, rows_per_lead: int = 3, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(leads), rows_per_lead)
    won = rng.random(leads) < 0.3
    y = won[groups].astype(int)
    noise = rng.random(len(y))
    return {
        "y": y,
        "groups": groups,
        "good": np.clip(0.5 * y + 0.5 * noise, 0, 1),
        "noise": rng.random(len(y)),
    }


def test_same_seed_same_intervals() -> None:
    d = _data()
    scores = {"good": d["good"], "noise": d["noise"]}
    first = paired_bootstrap(d["y"], d["groups"], scores, "good", resamples=200, seed=4)
    again = paired_bootstrap(d["y"], d["groups"], scores, "good", resamples=200, seed=4)
    other = paired_bootstrap(d["y"], d["groups"], scores, "good", resamples=200, seed=5)
    assert first.equals(again)
    assert not first[["low", "high"]].equals(other[["low", "high"]])


def test_a_scorer_against_itself_is_inside_the_noise() -> None:
    d = _data()
    table = paired_bootstrap(
        d["y"],
        d["groups"],
        {"a": d["good"], "b": d["good"].copy()},
        "a",
        resamples=200,
    )
    assert (table["difference"] == 0).all()
    assert (table["verdict"] == "inside the noise").all()


def test_a_clearly_better_scorer_is_better_on_both_metrics() -> None:
    d = _data()
    table = paired_bootstrap(
        d["y"],
        d["groups"],
        {"good": d["good"], "noise": d["noise"]},
        "good",
        resamples=300,
    ).set_index("metric")
    assert table.loc["roc_auc", "low"] > 0  # higher ROC AUC: positive difference
    assert table.loc["brier", "high"] < 0  # lower Brier: negative difference
    assert (table["verdict"] == "better").all() and table["better"].all()
    reverse = paired_bootstrap(
        d["y"],
        d["groups"],
        {"good": d["good"], "noise": d["noise"]},
        "noise",
        resamples=300,
    )
    assert (reverse["verdict"] == "worse").all()


def test_a_lead_is_resampled_as_a_block() -> None:
    d = _data(leads=300, rows_per_lead=1, seed=1)
    weak = np.clip(d["good"] + np.random.default_rng(2).normal(0, 0.3, 300), 0, 1)
    scores = {"good": d["good"], "weak": weak}

    def width(y: np.ndarray, groups: np.ndarray, s: dict) -> float:
        t = paired_bootstrap(y, groups, s, "good", ("roc_auc",), 400, seed=0)
        return float(t["high"].iloc[0] - t["low"].iloc[0])

    base = width(d["y"], d["groups"], scores)
    tripled = {k: np.tile(v, 3) for k, v in scores.items()}
    y3 = np.tile(d["y"], 3)
    # the same 300 leads seen three times: as wide as before
    same = width(y3, np.tile(d["groups"], 3), tripled)
    # 900 distinct leads: narrower (about 1/sqrt(3))
    distinct = width(y3, np.arange(900), tripled)
    assert same == pytest.approx(base, rel=0.25)
    assert distinct < 0.75 * base


def test_weighted_roc_auc_is_scikit_learns() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(2000) < 0.4).astype(int)
    p = np.round(rng.random(2000), 2)  # ties
    w = rng.integers(0, 4, 2000).astype(float)
    ours = _Ranked(p, y).roc_auc(w)
    assert ours == pytest.approx(roc_auc_score(y, p, sample_weight=w), abs=1e-12)


def test_bad_requests_fail_clearly() -> None:
    d = _data()
    scores = {"a": d["good"], "b": d["noise"]}
    with pytest.raises(PredscoreError, match="unknown metric"):
        paired_bootstrap(d["y"], d["groups"], scores, "a", ("lift",))
    with pytest.raises(PredscoreError, match="not among the scorers"):
        paired_bootstrap(d["y"], d["groups"], scores, "z")
    with pytest.raises(PredscoreError, match="single outcome"):
        paired_bootstrap(np.zeros(len(d["y"])), d["groups"], scores, "a")


def test_a_ranking_orders_the_rows_for_roc_auc_only() -> None:
    """The rules rank by their points; their mapped probability (with ties) gives
    their Brier score."""
    rng = np.random.default_rng(5)
    n = 400
    y = rng.integers(0, 2, n)
    points = y * 2.0 + rng.normal(0, 1.5, n)
    mapped = np.clip(np.round(points) / 10 + 0.4, 0.01, 0.99)  # steps: ties
    model = np.clip(y * 0.3 + rng.uniform(0, 0.7, n), 0, 1)
    table = paired_bootstrap(
        y,
        np.arange(n),
        {"model": model, "rules": mapped},
        against="model",
        resamples=200,
        rankings={"rules": points},
    ).set_index("metric")
    assert table.loc["roc_auc", "other"] == pytest.approx(roc_auc_score(y, points))
    assert roc_auc_score(y, points) != pytest.approx(roc_auc_score(y, mapped))
    assert table.loc["brier", "other"] == pytest.approx(brier_score_loss(y, mapped))
