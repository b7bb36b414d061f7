"""Drift statistics (predscore.evaluation.drift) and the weighted average precision
of the paired bootstrap, against hand-computed values and scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from predscore.evaluation import paired_bootstrap
from predscore.evaluation.drift import (
    OTHER,
    bin_labels,
    bin_shares,
    distribution_shift,
    js_distance,
    profile_column,
    psi,
)
from predscore.evaluation.intervals import _Ranked


def test_psi_of_two_bins_by_hand() -> None:
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)
    expected = -0.25 * math.log(0.5) + 0.25 * math.log(1.5)
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(expected, abs=1e-12)
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.274653, abs=1e-6)
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0


def test_psi_gives_an_empty_bin_the_epsilon_share() -> None:
    # training never saw the second bin; today half the rows fall in it
    value = psi([1.0, 0.0], [0.5, 0.5], epsilon=1e-4)
    by_hand = (0.5 - 1.0) * math.log(0.5 / 1.0) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert value == pytest.approx(by_hand, rel=1e-12)
    assert math.isfinite(value)


def test_jensen_shannon_distance_by_hand() -> None:
    assert js_distance([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)
    assert js_distance([0.4, 0.6], [0.4, 0.6]) == 0.0
    # P = (1/2, 1/2), Q = (1, 0), M = (3/4, 1/4), base 2
    kl_pm = 0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)
    kl_qm = 1.0 * math.log2(1.0 / 0.75)
    by_hand = math.sqrt(0.5 * (kl_pm + kl_qm))
    assert js_distance([0.5, 0.5], [1.0, 0.0]) == pytest.approx(by_hand, abs=1e-12)
    assert js_distance([0.5, 0.5], [1.0, 0.0]) == js_distance([1.0, 0.0], [0.5, 0.5])


def test_numeric_profile_bins_on_quantiles_with_a_missing_bin() -> None:
    values = pd.Series([0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 10.0, np.nan, np.nan])
    profile = profile_column(values, bins=4)
    # quartiles of the 8 known values: 0, 0.5, 2.25 (the median and the first
    # quartile of a column that is half zeros would coincide and merge)
    assert profile["kind"] == "numeric"
    assert profile["edges"] == [0.0, 0.5, 2.25]
    # right-closed bins: <= 0 | (0, 0.5] | (0.5, 2.25] | > 2.25 | missing
    assert profile["shares"] == [0.4, 0.0, 0.2, 0.2, 0.2]
    assert bin_labels(profile) == [
        "≤ 0",
        "(0, 0.5]",
        "(0.5, 2.25]",
        "> 2.25",
        "missing",
    ]
    today = bin_shares(pd.Series([0.5, 2.5, 100.0, None]), profile)
    np.testing.assert_allclose(today, [0.0, 0.25, 0.0, 0.5, 0.25])
    merged = profile_column(pd.Series([0.0] * 9 + [1.0]), bins=4)
    assert merged["edges"] == [0.0]  # the quantiles coincide: two bins and missing


def test_category_profile_pools_rare_unseen_and_missing_levels() -> None:
    values = pd.Series(["saas"] * 6 + ["retail"] * 3 + ["mining"] + [None] * 2)
    profile = profile_column(values, max_levels=5, min_level_share=0.1)
    assert profile["levels"] == ["saas", "retail"]  # mining: 1 of 12 < 10 %
    assert profile["shares"] == pytest.approx([0.5, 0.25, 0.25])
    assert bin_labels(profile)[-1] == OTHER
    today = bin_shares(pd.Series(["saas", "energy", None, "retail"]), profile)
    np.testing.assert_allclose(today, [0.25, 0.25, 0.5])


def test_distribution_shift_puts_the_most_drifted_first() -> None:
    rng = np.random.default_rng(0)
    train = pd.DataFrame(
        {
            "stable": rng.normal(size=2000),
            "moved": rng.normal(size=2000),
            "channel": rng.choice(["email", "webinar"], 2000),
        }
    )
    profiles = {c: profile_column(train[c]) for c in train.columns}
    today = pd.DataFrame(
        {
            "stable": rng.normal(size=500),
            "moved": rng.normal(loc=1.5, size=500),
            "channel": ["event"] * 400 + ["email"] * 100,
        }
    )
    shift = distribution_shift(profiles, today)
    assert shift["feature"].tolist()[-1] == "stable"
    assert shift.set_index("feature").loc["stable", "psi"] < 0.1
    assert shift.set_index("feature").loc["moved", "psi"] > 0.5
    channel = shift.set_index("feature").loc["channel"]
    assert channel["moved_bin"] == OTHER and channel["current_share"] == 0.8


def test_weighted_average_precision_equals_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    for _ in range(30):
        y = (rng.random(300) < 0.3).astype(int)
        p = np.round(rng.random(300), 1)  # ties
        w = rng.integers(0, 3, 300).astype(float)
        if w[y == 1].sum() == 0:
            continue
        mine = _Ranked(p, y).average_precision(w)
        assert mine == pytest.approx(
            average_precision_score(y, p, sample_weight=w), abs=1e-12
        )


def test_paired_bootstrap_reports_average_precision() -> None:
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(300), 2)
    y = (rng.random(300) < 0.3)[groups].astype(int)
    good = np.clip(0.6 * y + 0.4 * rng.random(len(y)), 0, 1)
    table = paired_bootstrap(
        y,
        groups,
        {"good": good, "noise": rng.random(len(y))},
        "good",
        metrics=("average_precision",),
        resamples=200,
    ).set_index("metric")
    row = table.loc["average_precision"]
    assert row["value"] == pytest.approx(average_precision_score(y, good))
    assert row["low"] > 0 and row["verdict"] == "better"
