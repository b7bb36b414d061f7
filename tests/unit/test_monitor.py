"""Realised performance, scoring-run discovery and the health page (predscore.monitor)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from predscore.monitor import (
    MonitorError,
    find_runs,
    judged_rows,
    model_origin,
    realised_performance,
    render_page,
)

T = pd.Timestamp


def _utc(text: str) -> pd.Timestamp:
    return T(text, tz="UTC")


def test_judged_rows_follow_what_is_known_at_the_cutoff() -> None:
    scored = pd.DataFrame(
        {
            "lead_id": ["won_later", "lost_later", "still_open", "closed_after_now"],
            "as_of": [_utc("2026-01-01")] * 4,
            "probability": [0.8, 0.3, 0.5, 0.4],
        }
    )
    outcomes = pd.DataFrame(
        {
            "lead_id": ["won_later", "lost_later", "closed_after_now"],
            "closed_at": [_utc("2026-02-01"), _utc("2026-05-01"), _utc("2026-09-01")],
            "outcome": ["won", "lost", "won"],
        }
    )
    rows = judged_rows(scored, outcomes, _utc("2026-06-01")).set_index("lead_id")
    assert rows["judged"].to_dict() == {
        "won_later": True,
        "lost_later": True,
        "still_open": False,
        "closed_after_now": False,
    }
    assert rows.loc["won_later", "label"] == 1 and rows.loc["lost_later", "label"] == 0
    # a 60-day horizon: the later loss and the open lead are judged 0 (window passed)
    horizon = judged_rows(scored, outcomes, _utc("2026-06-01"), 60.0).set_index(
        "lead_id"
    )
    assert horizon["label"].to_dict() == {
        "won_later": 1.0,
        "lost_later": 0.0,
        "still_open": 0.0,
        "closed_after_now": 0.0,
    }


def test_realised_performance_of_runs_whose_leads_then_closed() -> None:
    """Two monthly runs, 200 leads each; their outcomes arrive later; the metrics
    per month are scikit-learn's on the judged leads."""
    rng = np.random.default_rng(0)
    frames, closes = [], []
    for month, start in (("2026-03", "2026-03-01"), ("2026-04", "2026-04-01")):
        ids = [f"{month}-{i}" for i in range(200)]
        p = rng.random(200)
        won = rng.random(200) < p  # calibrated by construction
        frames.append(
            pd.DataFrame({"lead_id": ids, "as_of": _utc(start), "probability": p})
        )
        closed = _utc(start) + pd.to_timedelta(rng.integers(1, 150, 200), unit="D")
        closes.append(
            pd.DataFrame(
                {
                    "lead_id": ids,
                    "closed_at": closed,
                    "outcome": np.where(won, "won", "lost"),
                }
            )
        )
    scored, outcomes = pd.concat(frames), pd.concat(closes)
    cutoff = _utc("2026-07-15")
    found = realised_performance(scored, outcomes, cutoff, min_leads=30)
    months = {m["month"]: m for m in found["months"]}
    assert list(months) == ["2026-03", "2026-04"]
    rows = judged_rows(scored, outcomes, cutoff)
    for name, m in months.items():
        part = rows.loc[rows["lead_id"].str.startswith(name) & rows["judged"]]
        assert m["scored"] == 200 and m["judged"] == len(part)
        assert m["roc_auc"] == pytest.approx(
            roc_auc_score(part["label"], part["probability"])
        )
        assert m["brier"] == pytest.approx(
            brier_score_loss(part["label"], part["probability"])
        )
        assert m["actual_rate"] == pytest.approx(part["label"].mean())
        assert m["predicted_rate"] == pytest.approx(part["probability"].mean())
        assert m["roc_auc"] > 0.7  # the probabilities did rank the outcomes
    # April's leads have had less time: fewer of them are judged yet
    assert months["2026-04"]["judged_share"] < months["2026-03"]["judged_share"]
    assert found["overall"]["judged"] == sum(m["judged"] for m in months.values())
    assert sum(b["rows"] for b in found["calibration"]) == found["overall"]["judged"]


def _run(folder: Path, as_of: str, **manifest: object) -> Path:
    folder.mkdir(parents=True)
    doc = {"as_of": as_of, "mode": "model", **manifest}
    (folder / "manifest.json").write_text(json.dumps(doc))
    return folder


def test_find_runs_takes_the_newest_as_current_and_the_one_before_as_previous(
    tmp_path: Path,
) -> None:
    _run(tmp_path / "2026-07", "2026-07-01T00:00:00+00:00")
    _run(tmp_path / "2026-09", "2026-09-01T00:00:00+00:00")
    _run(tmp_path / "2026-08", "2026-08-01T00:00:00+00:00")
    (tmp_path / "notes").mkdir()  # not a run: ignored
    runs = find_runs(tmp_path)
    assert runs.current.path.name == "2026-09"
    assert [r.path.name for r in runs.earlier] == ["2026-07", "2026-08"]
    assert runs.previous is not None and runs.previous.path.name == "2026-08"
    # one run named: its siblings are the earlier runs
    single = find_runs(tmp_path / "2026-08")
    assert [r.path.name for r in single.earlier] == ["2026-07"]
    with pytest.raises(MonitorError, match="no scoring run found"):
        find_runs(tmp_path / "notes")


def test_model_origin_pins_the_version_that_scored(tmp_path: Path) -> None:
    run = find_runs(
        _run(
            tmp_path / "r",
            "2026-09-01T00:00:00+00:00",
            model={"version": "models:/predscore@champion (v3)"},
        )
    ).current
    assert model_origin(run) == "models:/predscore/3"
    rules = find_runs(
        _run(tmp_path / "s", "2026-09-01T00:00:00+00:00", mode="rules")
    ).current
    with pytest.raises(MonitorError, match="rules alone"):
        model_origin(rules)


def test_the_page_escapes_every_string_from_the_data() -> None:
    xss = "<script>alert(1)</script>"
    profile = {"labels": [xss, "other/missing"], "reference": [1.0, 0.0]}
    document = {
        "model": xss,
        "scores": xss,
        "as_of": "2026-09-01T00:00:00+00:00",
        "checked_at": "2026-10-01T00:00:00+00:00",
        "training": {"rows": 10, "leads": 5, "close_rate": 0.2},
        "thresholds": {
            "drift": {"psi_alert": 0.5, "js_alert": None, "min_rows": 1, "shown": 5}
        },
        "drift": {
            "rows": 3,
            "drifted": [xss],
            "features": [
                {
                    "feature": xss,
                    "psi": 2.0,
                    "js": 0.9,
                    "moved_bin": xss,
                    "reference_share": 1.0,
                    "current_share": 0.0,
                }
            ],
            "bins": {xss: {**profile, "current": [0.0, 1.0]}},
        },
        "scores_shift": {
            "current": {
                "as_of": "2026-09-01",
                "leads": 3,
                "mean_probability": 0.3,
                "routes": {"meeting": 0.1, "nurture": 0.8, "disqualify": 0.1},
            },
            "training": {
                "mean_probability": 0.2,
                "routes": {"meeting": 0.1, "nurture": 0.8, "disqualify": 0.1},
                "probability_bins": {"edges": [0.5], "shares": [0.5, 0.5, 0.0]},
            },
            "current_bins": [0.5, 0.5, 0.0],
            "vs_training": {
                "probability": {"psi": 0.0, "js": 0.0},
                "route": {"psi": 0.0, "js": 0.0},
            },
            "previous": None,
            "vs_previous": None,
        },
        "realised": {"months": [], "overall": None, "skipped": [xss]},
        "alerts": [f"feature drift: {xss}"],
    }
    page = render_page(document)
    assert xss not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "data:image/png;base64," in page  # plots inline
    assert "default-src 'none'" in page  # nothing fetched from elsewhere
