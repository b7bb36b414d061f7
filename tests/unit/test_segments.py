"""Segment models: a model of its own for a segment with enough history, the global
model for the rest; routed, saved, scored and explained per segment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model_data import fast_config, small_demo
from predscore.config import PredscoreConfig
from predscore.errors import ModelError
from predscore.experiment import fit_procedure, segment_comparison
from predscore.experiment.evaluate import GLOBAL, _Scored
from predscore.features import build_features, build_snapshots
from predscore.model import (
    ModelBundle,
    SegmentModels,
    labelled_rows,
    lead_table,
    load_bundle,
    save_bundle,
)
from predscore.scoring import Scorer

AS_OF = pd.Timestamp("2026-10-01T00:00:00Z")


def _config(**segments: object) -> PredscoreConfig:
    return fast_config(segments={"column": "region", **segments})


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return small_demo(tmp_path_factory.mktemp("demo"), leads=2000)


@pytest.fixture(scope="module")
def rows(demo: dict) -> pd.DataFrame:
    config = _config()
    snapshots = build_snapshots(demo, config.features, config.icp)
    return labelled_rows(snapshots, config.model.split)[0]


@pytest.fixture(scope="module")
def sizes(rows: pd.DataFrame) -> pd.DataFrame:
    """Labelled leads and wins per region, largest first."""
    leads = lead_table(rows).merge(
        rows.drop_duplicates("lead_id")[["lead_id", "region"]], on="lead_id"
    )
    leads["region"] = leads["region"].astype("string")
    return (
        leads.dropna(subset=["region"])
        .groupby("region")
        .agg(leads=("lead_id", "size"), wins=("won", "sum"))
        .sort_values("leads", ascending=False)
    )


@pytest.fixture(scope="module")
def fitted(rows: pd.DataFrame, sizes: pd.DataFrame):
    # the minimums let the largest region have a model and no other
    largest, second = sizes.iloc[0], sizes.iloc[1]
    assert second["leads"] < largest["leads"]
    config = _config(
        min_closed_leads=int(second["leads"]) + 1,
        min_wins=min(int(largest["wins"]), 20),
        keep="above_minimums",
    )
    return config, fit_procedure([(config.features, rows)], 1, config, "time")


def test_a_segment_above_the_minimums_gets_its_own_model(
    fitted, sizes: pd.DataFrame
) -> None:
    config, procedure = fitted
    largest = sizes.index[0]
    assert procedure.segments is not None
    assert list(procedure.segments.models) == [largest]
    report = {line["segment"]: line for line in procedure.segment_report}
    assert set(report) == set(sizes.index)
    assert report[largest]["model"] == "own"
    # compared with the global model out of fold all the same
    assert report[largest]["cv_rows"] > 0 and "cv_verdict" in report[largest]
    assert all(
        line["model"] == "global" and "below the minimums" in line["reason"]
        for segment, line in report.items()
        if segment != largest
    )
    for segment, line in report.items():
        assert line["leads"] == sizes.loc[segment, "leads"]
    # the segment column is constant in a segment: not one of its model's features
    assert "region" not in procedure.segments.models[largest].features_
    assert "region" in procedure.model.features_


def test_each_row_is_scored_by_its_segments_model(fitted, rows: pd.DataFrame) -> None:
    _, procedure = fitted
    ((segment, model),) = procedure.segments.models.items()
    got = procedure.predict_proba(rows)
    own = rows["region"].astype("string").eq(segment).fillna(False).to_numpy()
    np.testing.assert_array_equal(got[own], model.predict_proba(rows.loc[own]))
    np.testing.assert_array_equal(
        got[~own], procedure.model.predict_proba(rows.loc[~own])
    )
    assert not np.allclose(got[own], procedure.model.predict_proba(rows.loc[own]))


def test_no_segment_above_the_minimums_means_the_global_model(
    rows: pd.DataFrame,
) -> None:
    config = _config(min_closed_leads=10**6)
    procedure = fit_procedure([(config.features, rows)], 1, config, "time")
    assert procedure.segments is None
    assert {line["model"] for line in procedure.segment_report} == {"global"}


def test_a_segment_no_better_than_the_global_model_keeps_the_global_model(
    rows: pd.DataFrame,
) -> None:
    # segments drawn at random: each holds half the leads and nothing of its own,
    # so a model of its own learns from less and cannot beat the global model
    leads = rows["lead_id"].unique()
    coin = dict(
        zip(leads, np.random.default_rng(0).integers(0, 2, len(leads)), strict=True)
    )
    flipped = rows.assign(
        coin=pd.Categorical(rows["lead_id"].map(coin).map({0: "heads", 1: "tails"}))
    )
    config = _config(column="coin", min_closed_leads=100, min_wins=20)
    procedure = fit_procedure([(config.features, flipped)], 1, config, "time")
    assert procedure.segments is None
    for line in procedure.segment_report:
        assert line["model"] == "global"
        assert line["reason"].startswith("not better than the global model")
        assert line["cv_verdict"] != "better"


def test_a_segment_that_closes_otherwise_gets_a_model_of_its_own(
    rows: pd.DataFrame,
) -> None:
    # in one half of the leads, drawn at random, the outcome is reversed: what
    # closes elsewhere does not close there; a model of its own sees it out of fold
    leads = rows["lead_id"].unique()
    coin = dict(
        zip(leads, np.random.default_rng(1).integers(0, 2, len(leads)), strict=True)
    )
    side = rows["lead_id"].map(coin).to_numpy()
    reversed_ = rows.assign(
        coin=pd.Categorical(np.where(side == 1, "tails", "heads")),
        label=np.where(side == 1, 1 - rows["label"], rows["label"]),
    )
    config = _config(column="coin", min_closed_leads=100, min_wins=20)
    procedure = fit_procedure([(config.features, reversed_)], 1, config, "time")
    report = {line["segment"]: line for line in procedure.segment_report}
    assert procedure.segments is not None
    for name in procedure.segments.models:
        assert report[name]["cv_verdict"] == "better"
        assert report[name]["cv_interval"][1] < 0
    assert "tails" in procedure.segments.models


def test_a_segment_column_the_rows_lack_is_named() -> None:
    models = SegmentModels("team", {})
    with pytest.raises(ModelError, match="segment column 'team'"):
        models.keys(pd.DataFrame({"region": ["EMEA"]}))


def test_missing_values_and_unknown_segments_go_to_the_global_model() -> None:
    models = SegmentModels("region", {"EMEA": object(), "NA": object()})
    frame = pd.DataFrame({"region": pd.Categorical(["NA", None, "APAC", "EMEA", "NA"])})
    assert models.keys(frame).tolist() == ["NA", None, None, "EMEA", "NA"]
    groups = {k: v.tolist() for k, v in models.groups(frame)}
    assert groups == {None: [1, 2], "EMEA": [3], "NA": [0, 4]}


def _bundle(config: PredscoreConfig, procedure) -> ModelBundle:
    return ModelBundle(
        model=procedure.model,
        features=procedure.features,
        icp=config.icp,
        split=config.model.split,
        seed=config.seed,
        segments=procedure.segments,
    )


def test_a_bundle_with_segments_round_trips(
    fitted, rows: pd.DataFrame, tmp_path: Path
) -> None:
    config, procedure = fitted
    bundle = _bundle(config, procedure)
    loaded = load_bundle(save_bundle(bundle, tmp_path / "bundle"))
    assert loaded.segments is not None
    assert loaded.segments.column == "region"
    assert list(loaded.segments.models) == list(procedure.segments.models)
    np.testing.assert_array_equal(
        loaded.predict_proba(rows).to_numpy(), procedure.predict_proba(rows)
    )


def test_scores_name_their_segment_and_reasons_add_up(fitted, demo: dict) -> None:
    config, procedure = fitted
    bundle = _bundle(config, procedure)
    scorer = Scorer(
        rules=config.rules,
        explain=config.explain,
        features=bundle.features,
        icp=bundle.icp,
        bundle=bundle,
        model_version="test",
    )
    open_rows = build_features(demo, AS_OF, bundle.features, bundle.icp)
    table = scorer.score(open_rows).to_pandas()
    (segment,) = procedure.segments.models
    own = open_rows["region"].astype("string").eq(segment).fillna(False).to_numpy()
    assert own.any() and not own.all()
    # same order, each lead once; the segment is named where its model scored
    assert table["lead_id"].tolist() == open_rows["lead_id"].astype(str).tolist()
    assert (table.loc[own, "model_segment"] == segment).all()
    assert table.loc[~own, "model_segment"].isna().all()
    np.testing.assert_allclose(
        table["probability"], bundle.predict_proba(open_rows), atol=1e-12
    )
    total = table["base"] + table["reasons"].map(
        lambda rs: sum(r["points"] for r in rs)
    )
    np.testing.assert_allclose(total, table["score"], atol=1e-9)
    # each group is explained against its own model's base
    assert table.loc[own, "base"].nunique() == 1
    assert table.loc[~own, "base"].nunique() == 1
    assert table.loc[own, "base"].iloc[0] != table.loc[~own, "base"].iloc[0]
    # the same leads scored without segments: the global model's probabilities
    flat = Scorer(
        rules=config.rules,
        explain=config.explain,
        features=bundle.features,
        icp=bundle.icp,
        bundle=bundle.for_segment(None),
        model_version="test",
    ).score(open_rows.loc[~own])
    np.testing.assert_allclose(
        flat.column("probability").to_numpy(),
        table.loc[~own, "probability"].to_numpy(),
        atol=1e-12,
    )
    assert scorer.model_digest() != flat_digest(scorer)


def test_one_lead_is_explained_by_its_segments_model(fitted, demo: dict) -> None:
    from predscore.explain import explain_lead

    config, procedure = fitted
    bundle = _bundle(config, procedure)
    open_rows = build_features(demo, AS_OF, bundle.features, bundle.icp)
    (segment,) = procedure.segments.models
    own = open_rows["region"].astype("string").eq(segment).fillna(False).to_numpy()
    expected = bundle.predict_proba(open_rows)
    for at in (np.flatnonzero(own)[0], np.flatnonzero(~own)[0]):
        lead = open_rows["lead_id"].iloc[at]
        row = explain_lead(demo, lead, AS_OF, bundle, config.explain, config.rules)
        assert row["probability"] == pytest.approx(expected.iloc[at], abs=1e-12)


def flat_digest(scorer: Scorer) -> str | None:
    """The digest of the same scorer's global model alone."""
    import dataclasses

    return dataclasses.replace(
        scorer, bundle=scorer.bundle.for_segment(None)
    ).model_digest()


def test_segment_comparison_pairs_each_segment_with_the_global_model() -> None:
    rng = np.random.default_rng(0)
    n = 400
    labels = rng.integers(0, 2, n)
    region = np.where(np.arange(n) < 250, "EMEA", "NA").astype(object)
    region[:10] = None
    rows = pd.DataFrame(
        {"lead_id": [f"L{i}" for i in range(n)], "label": labels, "region": region}
    )
    good = np.clip(labels * 0.6 + rng.uniform(0, 0.4, n), 0, 1)
    noise = rng.uniform(0, 1, n)
    scored = _Scored(rows, good, None, None, {GLOBAL: noise}, {})
    config = _config().model_copy(deep=True)
    entries = segment_comparison(scored, config)
    assert [e["segment"] for e in entries] == ["EMEA", "NA", None]
    assert [e["leads"] for e in entries] == [240, 150, 10]
    emea = entries[0]
    assert emea["roc_auc_verdict"] == "better" and emea["roc_auc_difference"] > 0
    assert emea["model_roc_auc"] > emea["global_roc_auc"]


def test_compare_reports_each_segment(fitted, demo: dict) -> None:
    from predscore.experiment import compare_models

    config, procedure = fitted
    segmented = _bundle(config, procedure)
    found = compare_models(demo, segmented.for_segment(None), segmented, config)
    entries = {e["segment"]: e for e in found["segments"]}
    (segment,) = procedure.segments.models
    assert segment in entries
    assert sum(e["leads"] for e in entries.values()) == found["leads"]
    for entry in entries.values():
        assert entry["column"] == "region"
        if "intervals" in entry:
            metrics = {r["metric"] for r in entry["intervals"]}
            assert metrics == {r["metric"] for r in found["intervals"]}
    # where no segment model scores, challenger and champion are the same model
    for name, entry in entries.items():
        if name != segment and "intervals" in entry:
            assert all(r["difference"] == 0 for r in entry["intervals"])


def test_realised_performance_per_segment_model() -> None:
    from predscore.monitor.realised import realised_performance

    as_of = pd.Timestamp("2026-01-01T00:00:00Z")
    n = 200
    rng = np.random.default_rng(1)
    won = rng.integers(0, 2, n)
    scored = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n)],
            "as_of": as_of,
            "probability": np.clip(won * 0.5 + rng.uniform(0, 0.5, n), 0, 1),
            "model_segment": np.where(np.arange(n) % 4 == 0, None, "EMEA"),
        }
    )
    outcomes = pd.DataFrame(
        {
            "lead_id": scored["lead_id"],
            "closed_at": as_of + pd.Timedelta(days=30),
            "outcome": np.where(won == 1, "won", "lost"),
        }
    )
    found = realised_performance(scored, outcomes, as_of + pd.Timedelta(days=60))
    by = {s["segment"]: s for s in found["segments"]}
    assert set(by) == {"EMEA", None}
    assert by["EMEA"]["scored"] == 150 and by[None]["scored"] == 50
    assert by["EMEA"]["wins"] + by[None]["wins"] == found["overall"]["wins"]
    assert by["EMEA"]["roc_auc"] > 0.8
    # scores with no segment model: no per-segment table
    flat = realised_performance(
        scored.drop(columns="model_segment"), outcomes, as_of + pd.Timedelta(days=60)
    )
    assert flat["segments"] == []
