"""predscore explain through the command line, and the global view of a training."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from model_data import demo_folders, fast_config, small_bundle
from predscore.cli import app
from predscore.config import load_config
from predscore.experiment import global_artifacts
from predscore.explain import Explainer, explain_leads
from predscore.features import build_features

pytestmark = pytest.mark.filterwarnings(
    "ignore::PendingDeprecationWarning:shap",
    "ignore:LightGBM binary classifier:UserWarning",
)
ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-10-01T00:00:00Z"
FEW_TREES = {"max_trees": 150}  # fast, still rich


def _run(*args: str, code: int = 0) -> SimpleNamespace:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A validated small demo folder and a model bundle trained on it (no MLflow)."""
    work = demo_folders(tmp_path_factory.mktemp("explain"), ROOT)
    parts = small_bundle(work / "valid", work / "bundle", fast_config(**FEW_TREES))
    parts["test"].loc[:, ["lead_id", "as_of", "label"]].to_parquet(
        work / "test.parquet"
    )
    return work


@pytest.fixture()
def env(work: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(work)
    monkeypatch.setenv("PREDSCORE_CONFIG_DIR", str(ROOT / "configs"))
    return work


def _open_leads(work: Path) -> pd.DataFrame:
    from predscore.model import load_bundle

    bundle = load_bundle(work / "bundle")
    return build_features(work / "valid", AS_OF, bundle.features, bundle.icp)


def _explain(lead: str, *extra: str, code: int = 0) -> SimpleNamespace:
    return _run(
        "explain",
        "--data",
        "valid",
        "--validated",
        "--model",
        "bundle",
        "--as-of",
        AS_OF,
        "--lead",
        lead,
        *extra,
        code=code,
    )


def test_json_reasons_add_up_to_the_score(env: Path) -> None:
    rows = _open_leads(env)
    lead = str(rows["lead_id"].iloc[3])
    doc = json.loads(_explain(lead, "--json").stdout)
    for key in (
        "lead_id",
        "probability",
        "score",
        "base",
        "tier",
        "route",
        "reasons",
        "rule_reasons",
    ):
        assert key in doc
    assert doc["lead_id"] == lead
    assert doc["score"] == pytest.approx(100 * doc["probability"], abs=1e-9)
    total = doc["base"] + sum(r["points"] for r in doc["reasons"])
    assert abs(total - doc["score"]) < 1e-6
    assert doc["tier"] in {"hot", "warm", "cold"}
    assert doc["route"] in {"meeting", "nurture", "disqualify"}
    for reason in doc["reasons"]:
        assert set(reason) == {"feature", "family", "value", "points", "text"}
        assert "nan" not in reason["text"].split()
    families = {r["family"] for r in doc["reasons"]}
    assert families <= {"fit", "engagement", "qualification"}
    for family in ("fit", "engagement", "qualification"):
        subtotal = sum(r["points"] for r in doc["reasons"] if r["family"] == family)
        assert doc[f"{family}_points"] == pytest.approx(subtotal, abs=1e-9)

    # the same as explaining the lead inside the full open-lead table
    from predscore.model import load_bundle

    config = load_config(ROOT / "configs")
    explainer = Explainer.from_bundle(load_bundle(env / "bundle"), config.explain)
    full = explain_leads(rows, explainer, config.rules).set_index("lead_id")
    assert full.loc[lead, "score"] == pytest.approx(doc["score"], abs=1e-9)
    assert [r["text"] for r in full.loc[lead, "reasons"]] == [
        r["text"] for r in doc["reasons"]
    ]


def test_table_shows_score_reasons_and_rules(env: Path) -> None:
    lead = str(_open_leads(env)["lead_id"].iloc[0])
    out = " ".join(_explain(lead).stdout.split())
    assert lead in out and "score" in out and "route" in out
    assert "model: base" in out and "rules:" in out
    assert "= score" in out


def test_all_shows_every_human_feature_and_no_rest(env: Path) -> None:
    lead = str(_open_leads(env)["lead_id"].iloc[1])
    doc = json.loads(_explain(lead, "--json", "--all").stdout)
    assert not [r for r in doc["reasons"] if r["feature"].startswith("other ")]
    assert abs(
        doc["base"] + sum(r["points"] for r in doc["reasons"]) - doc["score"]
    ) < (1e-6)


def test_closed_or_unknown_lead_fails_with_the_reason(env: Path) -> None:
    outcomes = pd.read_parquet(env / "valid" / "outcomes.parquet")
    closed = str(outcomes["lead_id"].iloc[0])
    result = _explain(closed, code=1)
    assert "was closed" in result.output and "earlier --as-of" in result.output
    result = _explain("no-such-lead", code=1)
    assert "not found" in result.output


def test_global_view_artifacts_of_a_training(env: Path) -> None:
    from predscore.model import load_bundle

    config = load_config(ROOT / "configs")
    config = config.model_copy(
        update={"explain": config.explain.model_copy(update={"global_rows": 200})}
    )
    figures, documents = global_artifacts(
        env / "valid",
        load_bundle(env / "bundle"),
        pd.read_parquet(env / "test.parquet"),
        config,
    )
    assert list(figures) == ["shap_beeswarm.png"]
    table = pd.DataFrame(documents["explain/global_importance.json"])
    assert {"feature", "family", "mean_abs_logodds", "share"} <= set(table.columns)
    assert table["rows"].iloc[0] <= 200
    assert np.isclose(table["share"].sum(), 1.0)
