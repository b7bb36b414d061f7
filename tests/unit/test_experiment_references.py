"""Reference models, and the model / rules / references comparison as tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import predscore.experiment.evaluate as evaluate_module
import predscore.experiment.references as references_module
from model_data import fast_config, small_demo
from predscore.errors import ConfigError
from predscore.experiment import (
    METRIC_KEYS,
    REFERENCES,
    evaluate_model,
    evaluation_figures,
    metrics_table,
    reference_probability,
    segments_table,
    side_by_side,
    train_model,
)
from predscore.experiment.references import reference_frames


def _rows(n: int, seed: int) -> pd.DataFrame:
    """Labelled feature rows: a numeric signal, a categorical one, missing values."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    sector = rng.choice(["saas", "bank", "retail"], size=n)
    logit = 1.5 * signal + np.where(sector == "saas", 1.0, -0.5)
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    signal[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n)],
            "as_of": pd.Timestamp("2025-01-01", tz="UTC"),
            "label": label,
            "signal": signal,
            "sector": pd.Categorical(sector),
            "employees": pd.array(rng.integers(1, 500, n), dtype="Int64"),
        }
    )


@pytest.mark.parametrize("name", REFERENCES)
def test_references_learn_and_give_probabilities(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(references_module, "FLAML_BUDGET", 3.0)  # seconds
    train, test = _rows(600, 0), _rows(300, 1)
    p = reference_probability(name, train, test, threads=1, seed=0)
    assert p.shape == (len(test),)
    assert ((p >= 0) & (p <= 1)).all()
    ranked = pd.Series(p).rank().to_numpy()
    y = test["label"].to_numpy()
    auc = (ranked[y == 1].sum() - y.sum() * (y.sum() + 1) / 2) / (
        y.sum() * (len(y) - y.sum())
    )
    assert auc > 0.7  # the signal is strong: a reference that learnt finds it
    if name != "flaml":  # a search bounded by time depends on the machine's speed
        again = reference_probability(name, train, test, threads=1, seed=0)
        np.testing.assert_array_equal(p, again)


def test_reference_frames_type_columns_and_drop_unseen_levels() -> None:
    train, test = _rows(50, 0), _rows(20, 1)
    test["sector"] = pd.Categorical(["unheard"] + ["saas"] * 19)
    x_train, x_test, categorical = reference_frames(train, test)
    assert categorical == ["sector"]
    assert list(x_train.columns) == ["signal", "sector", "employees"]
    assert x_train["employees"].dtype == float
    assert pd.isna(x_test["sector"].iloc[0])  # unseen in training → missing
    assert list(x_test["sector"].cat.categories) == sorted(train["sector"].unique())


def test_unknown_reference_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown reference model 'xgb'"):
        reference_probability("xgb", _rows(10, 0), _rows(10, 1))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    tables = small_demo(tmp_path_factory.mktemp("demo"))
    config = fast_config(threads=1)
    return tables, config, train_model(tables, config, config.rules)


def test_evaluate_model_fits_references_on_what_was_known_at_each_origin(
    trained: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables, config, result = trained
    seen: list[tuple[str, pd.DataFrame, pd.DataFrame]] = []
    real = evaluate_module.reference_probability

    def spy(name, train, test, threads, seed):  # noqa: ANN001, ANN202
        seen.append((name, train, test))
        return real(name, train, test, threads, seed)

    monkeypatch.setattr(evaluate_module, "reference_probability", spy)
    names = ("lgbm_default", "logreg")
    metrics, scored = evaluate_model(
        tables, result.bundle, config, config.rules, references=names
    )
    origins = metrics["origins"]
    assert len(seen) == len(names) * len(origins)
    for _name, train, test in seen:
        # fitted on rows known before the block began, never on a scored lead
        assert not set(train["lead_id"]) & set(test["lead_id"])
        assert train["closed_at"].max() <= test["as_of"].min()
    for name in names:
        scored_leads = set().union(
            *(set(t["lead_id"]) for n, _, t in seen if n == name)
        )
        assert scored_leads == set(scored["lead_id"])
    # the references add entries; the model's and the rules' are unchanged
    plain, _ = evaluate_model(
        tables, result.bundle, config, config.rules, references=()
    )
    for scorer in ("model", "rules"):
        pd.testing.assert_series_equal(
            pd.Series(metrics[scorer]), pd.Series(plain[scorer])
        )
    for name in names:
        assert 0.5 < metrics[name]["roc_auc"] <= 1
        assert scored[f"{name}_probability"].between(0, 1).all()
        assert set(metrics["segments"][next(iter(metrics["segments"]))]) >= {name}
    assert {r["scorer"] for r in metrics["intervals"]} == {*names, "rules"}


def test_evaluate_judges_only_the_leads_old_enough(trained: tuple) -> None:
    tables, config, result = trained
    metrics, scored = evaluate_model(tables, result.bundle, config, references=())
    assert metrics["split"] == "time" and metrics["unjudged_leads"] > 0
    procedure = result.bundle.metadata["procedure"]["model"]
    kept = procedure["evaluation"]["mature_quantile"]
    procedure["evaluation"]["mature_quantile"] = None  # judge every closed lead
    try:
        every, scored_all = evaluate_model(tables, result.bundle, config, references=())
    finally:
        procedure["evaluation"]["mature_quantile"] = kept
    assert every["unjudged_leads"] == 0
    # the leads left out are the newest: judged, they are the newest test leads
    newest = scored_all.groupby("lead_id")["as_of"].min().max()
    assert scored.groupby("lead_id")["as_of"].min().max() < newest


def test_tables_of_the_comparison(trained: tuple) -> None:
    tables, config, result = trained
    metrics, scored = evaluate_model(
        tables, result.bundle, config, config.rules, references=("logreg",)
    )
    table = metrics_table(metrics)
    assert table["scorer"].tolist() == ["model", "rules", "logreg"]
    assert list(table.columns) == ["scorer", *METRIC_KEYS]
    assert table.loc[0, "roc_auc"] == metrics["model"]["roc_auc"]
    segments = segments_table(metrics)
    assert segments["segment"].tolist() == ["engaged", "quiet decision-maker"]
    assert {"model_rank", "rules_rank", "logreg_rank", "logreg_p"} <= set(segments)
    figures = evaluation_figures(scored, None)
    labels = figures["roc_pr.png"].axes[0].get_legend_handles_labels()[1]
    assert labels == ["model", "rules", "logreg"]


def test_segments_table_is_none_without_segments() -> None:
    rows = _rows(40, 0)
    doc = side_by_side(rows, np.full(len(rows), 0.4), None, None)
    assert segments_table(doc) is None  # no engagement, no answers: no segments
    assert metrics_table(doc)["scorer"].tolist() == ["model"]
    with pytest.raises(ConfigError, match="name 'model' is taken"):
        side_by_side(
            rows, np.full(len(rows), 0.4), None, None, {"model": rows["signal"]}
        )
