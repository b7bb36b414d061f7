"""Shared metrics: single classes, lift, decisions, segments."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from predscore.errors import PredscoreError
from predscore.evaluation import (
    ENGAGED_NO_PROJECT,
    QUIET_DEADLINE,
    average_precision,
    decision_metrics,
    evaluate_scores,
    lift_at,
    roc_auc,
    trap_segments,
)


def test_perfect_and_single_class() -> None:
    assert roc_auc([0, 0, 1, 1], [1, 2, 3, 4]) == 1.0
    assert average_precision([0, 0, 1, 1], [1, 2, 3, 4]) == 1.0
    assert np.isnan(roc_auc([1, 1], [1, 2]))
    assert np.isnan(average_precision([0, 0], [1, 2]))


def test_lift_and_capture() -> None:
    y = [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    s = list(range(10, 0, -1))
    top = lift_at(y, s, 0.1)
    assert top == {"rate": 1.0, "lift": 5.0, "capture": 0.5}


def test_decision_precision_recall() -> None:
    out = decision_metrics([1, 1, 0, 0], [True, False, True, False])
    assert out == {"selected_share": 0.5, "precision": 0.5, "recall": 0.5}


def test_evaluate_scores_keys() -> None:
    out = evaluate_scores([0, 1, 0, 1], [1, 2, 3, 4], decision=[0, 0, 1, 1])
    assert {"roc_auc", "pr_auc", "lift_10", "capture_20", "precision"} <= set(out)


def test_bad_labels_rejected() -> None:
    with pytest.raises(PredscoreError, match="labels must be 0/1"):
        roc_auc([0, 2], [1, 2])


def test_trap_segments() -> None:
    frame = pd.DataFrame(
        {
            "n_email_open_90d": [9, 0, 1, 0],
            "n_email_click_90d": [3, 0, 0, 0],
            "n_webinar_attend_90d": [2, 0, 0, 0],
            "n_content_download_90d": [1, 0, 0, 0],
            "role": pd.Categorical(["user", "decision_maker", "user", None]),
            "qual_authority": [np.nan, 1.0, np.nan, np.nan],
            "qual_need": [np.nan, 1.0, np.nan, np.nan],
            "qual_timeline_months": [np.nan, 3.0, np.nan, np.nan],
        }
    )
    masks = trap_segments(frame)
    assert masks[ENGAGED_NO_PROJECT].tolist() == [True, False, False, False]
    assert masks[QUIET_DEADLINE].tolist() == [False, True, False, False]


def _trap_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n_email_open_90d": [9, 0, 1, 0],
            "n_email_click_90d": [3, 0, 0, 0],
            "n_webinar_attend_90d": [2, 0, 0, 0],
            "n_content_download_90d": [1, 0, 0, 0],
            "role": pd.Categorical(["user", "decision_maker", "user", None]),
            "qual_authority": [np.nan, 1.0, np.nan, np.nan],
            "qual_need": [np.nan, 1.0, np.nan, np.nan],
            "qual_timeline_months": [np.nan, 3.0, np.nan, np.nan],
        }
    )


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda f: f.assign(qual_authority=np.nan, qual_need=np.nan).assign(
                qual_timeline_months=np.nan
            ),
            id="no qualification answer",
        ),
        pytest.param(
            lambda f: f.assign(
                n_email_open_90d=0,
                n_email_click_90d=0,
                n_webinar_attend_90d=0,
                n_content_download_90d=0,
            ),
            id="no engagement",
        ),
        pytest.param(lambda f: f.drop(columns="qual_need"), id="missing column"),
    ],
)
def test_trap_segments_empty_without_their_signals(
    change: Callable[[pd.DataFrame], pd.DataFrame],
) -> None:
    # a wide export without answers is not "everybody engaged and unqualified"
    masks = trap_segments(change(_trap_frame()))
    assert [m.tolist() for m in masks.values()] == [[False] * 4, [False] * 4]


def test_engaged_needs_some_engagement() -> None:
    frame = pd.concat([_trap_frame()] + [_trap_frame().iloc[[3]]] * 8)
    # the top quartile of a mostly idle frame is 0: idle rows are not "engaged"
    masks = trap_segments(frame.reset_index(drop=True))
    assert np.flatnonzero(masks[ENGAGED_NO_PROJECT]).tolist() == [0, 2]
