"""Reference models, and the model / rules / references comparison as tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import predscore.experiment.evaluate as evaluate_module
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
def test_references_learn_and_give_probabilities(name: str) -> None:
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


def test_evaluate_model_fits_references_on_the_leads_the_model_learnt_from(
    trained: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables, config, result = trained
    seen: dict[str, tuple[set, set]] = {}
    real = evaluate_module.reference_probability

    def spy(name, train, test, threads, seed):  # noqa: ANN001, ANN202
        seen[name] = (set(train["lead_id"]), set(test["lead_id"]))
        return real(name, train, test, threads, seed)

    monkeypatch.setattr(evaluate_module, "reference_probability", spy)
    metrics, scored = evaluate_model(
        tables, result.bundle, config, config.rules, references=REFERENCES
    )
    assert set(seen) == set(REFERENCES)
    test_leads = set(result.test["lead_id"])
    learnt = sum(result.parts[p]["leads"] for p in ("train", "valid", "calibration"))
    for train_leads, scored_leads in seen.values():
        assert scored_leads == test_leads
        assert not train_leads & test_leads
        assert len(train_leads) == learnt
    # the references add entries; the model's and the rules' are unchanged
    plain, _ = evaluate_model(tables, result.bundle, config, config.rules)
    for scorer in ("model", "rules"):
        pd.testing.assert_series_equal(
            pd.Series(metrics[scorer]), pd.Series(plain[scorer])
        )
    for name in REFERENCES:
        assert 0.5 < metrics[name]["roc_auc"] <= 1
        assert scored[f"{name}_probability"].between(0, 1).all()
        assert set(metrics["segments"][next(iter(metrics["segments"]))]) >= {name}


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
