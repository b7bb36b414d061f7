"""predscore score: every open lead scored or rejected, atomic, resumable, local = Spark."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from model_data import demo_folders, small_bundle
from predscore.cli import app
from predscore.config import load_config
from predscore.errors import ConfigError, DataValidationError
from predscore.features import build_features
from predscore.model import load_bundle
from predscore.rules import temperature
from predscore.scoring import (
    OUTPUT_SCHEMA,
    Scorer,
    TableSource,
    prepare_run,
    run_scoring,
    score_tables,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore::PendingDeprecationWarning:shap",
    "ignore:LightGBM binary classifier:UserWarning",
)
ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-10-01T00:00:00Z"


def _run(*args: str, code: int = 0) -> SimpleNamespace:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A raw and a validated small demo folder, and a model bundle (no MLflow)."""
    work = demo_folders(tmp_path_factory.mktemp("score"), ROOT)
    small_bundle(work / "valid", work / "bundle")
    return work


@pytest.fixture()
def env(work: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)  # no MLflow store, no models/ here
    monkeypatch.setenv("PREDSCORE_CONFIG_DIR", str(ROOT / "configs"))
    return work


def _score(work: Path, out: Path, *extra: str, code: int = 0) -> SimpleNamespace:
    return _run(
        "score",
        "--data",
        str(work / "valid"),
        "--validated",
        "--as-of",
        AS_OF,
        "--model",
        str(work / "bundle"),
        "--out",
        str(out),
        "--chunk-leads",
        "150",
        *extra,
        code=code,
    )


def _outputs(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    return (
        pd.read_parquet(out / "scores.parquet"),
        pd.read_parquet(out / "rejections.parquet"),
        json.loads((out / "manifest.json").read_text()),
    )


def _proof(manifest: dict) -> None:
    c = manifest["counts"]
    assert c["in"] == c["scored"] + c["rejected"] + c["closed"] + c["not_yet_created"]
    assert c["open"] == c["scored"] + c["rejected_at_scoring"]


def test_every_open_lead_is_scored_once_with_reasons_that_add_up(
    env: Path, tmp_path: Path
) -> None:
    out = tmp_path / "scores"
    _score(env, out)
    scores, rejections, manifest = _outputs(out)
    bundle = load_bundle(env / "bundle")
    open_rows = build_features(env / "valid", AS_OF, bundle.features, bundle.icp)
    assert list(scores.columns) == OUTPUT_SCHEMA.names
    assert sorted(scores["lead_id"]) == sorted(open_rows["lead_id"])
    assert not scores["lead_id"].duplicated().any()
    _proof(manifest)
    assert manifest["counts"]["scored"] == len(scores) == len(open_rows)
    assert manifest["chunks"]["total"] == int(np.ceil(len(open_rows) / 150))
    # probabilities are the model's, ranks follow them, reasons add up to the score
    expected = bundle.predict_proba(open_rows.set_index("lead_id"))
    got = scores.set_index("lead_id")["probability"]
    np.testing.assert_allclose(got.loc[expected.index], expected, atol=1e-12)
    ranked = scores.sort_values("rank")
    assert ranked["rank"].tolist() == list(range(1, len(scores) + 1))
    assert ranked["probability"].is_monotonic_decreasing
    total = scores["base"] + scores["reasons"].map(
        lambda rs: sum(r["points"] for r in rs)
    )
    np.testing.assert_allclose(total, scores["score"], atol=1e-9)
    assert scores["reasons"].map(len).min() > 0
    assert set(scores["route"]) <= {"meeting", "nurture", "disqualify"}
    assert set(scores["tier"]) <= {"hot", "warm", "cold"}
    # tier = the timeline's temperature, cold only when the model's route disqualifies
    warmth = pd.Series(
        temperature(open_rows, load_config(ROOT / "configs").rules),
        index=open_rows["lead_id"],
    )
    by_lead = scores.set_index("lead_id")
    expected_tier = warmth.where(
        by_lead["route"].reindex(warmth.index) != "disqualify", "cold"
    )
    assert (by_lead["tier"].reindex(warmth.index) == expected_tier).all()
    assert scores["account_name"].notna().all()
    assert scores["delta"].isna().all()
    assert len(rejections) == 0


def test_raw_folder_is_validated_and_rejections_counted(
    env: Path, tmp_path: Path
) -> None:
    _score(env, tmp_path / "valid")
    _run(
        "score",
        "--data",
        str(env / "demo"),
        "--as-of",
        AS_OF,
        "--model",
        str(env / "bundle"),
        "--out",
        str(tmp_path / "raw"),
        "--chunk-leads",
        "150",
    )
    raw, rejections, manifest = _outputs(tmp_path / "raw")
    valid, _, _ = _outputs(tmp_path / "valid")
    _proof(manifest)
    leads_in = len(pd.read_parquet(env / "demo" / "leads.parquet"))
    assert manifest["counts"]["in"] == leads_in
    assert manifest["counts"]["rejected_by_validation"] > 0
    assert (rejections["table"] == "leads").sum() == manifest["counts"]["rejected"]
    assert set(rejections["table"]) > {"leads"}  # activity rows etc. too
    pd.testing.assert_frame_equal(raw, valid)


def test_rerun_gives_identical_files_and_previous_gives_deltas(
    env: Path, tmp_path: Path
) -> None:
    _score(env, tmp_path / "a")
    _score(env, tmp_path / "b")
    for name in ("scores.parquet", "rejections.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (
            tmp_path / "b" / name
        ).read_bytes()
    _score(env, tmp_path / "c", "--previous", str(tmp_path / "a"))
    scores, _, manifest = _outputs(tmp_path / "c")
    assert manifest["previous"] == str(tmp_path / "a")
    np.testing.assert_allclose(scores["delta"], 0.0)


def test_killed_run_publishes_nothing_and_resume_finishes_it(
    env: Path, tmp_path: Path
) -> None:
    config = load_config(ROOT / "configs")
    scorer = Scorer.load(config, str(env / "bundle"))
    cutoff = pd.Timestamp(AS_OF)
    out = tmp_path / "killed"

    def plan(resume: bool):
        return prepare_run(
            data=env / "valid",
            tables=env / "valid",
            out=out,
            as_of=cutoff,
            scorer=scorer,
            chunk_leads=150,
            reasons=True,
            owner_column="owner",
            settings={},
            resume=resume,
        )

    class Killed(Exception):
        pass

    def kill_after_two(done: int, total: int) -> None:
        if done == 2:
            raise Killed

    run = plan(resume=False)
    with pytest.raises(Killed):
        run_scoring(run, progress=kill_after_two)
    assert not out.exists()  # nothing half-written where the CRM looks
    assert len(list((run.work / "parts").glob("part-*.parquet"))) == 2
    resumed = plan(resume=True)
    assert resumed.resumed == [0, 1]
    manifest = run_scoring(resumed)
    assert manifest["chunks"]["resumed"] == 2
    _proof(manifest)
    _score(env, tmp_path / "full")
    for name in ("scores.parquet", "rejections.parquet"):
        assert (out / name).read_bytes() == (tmp_path / "full" / name).read_bytes()
    assert not run.work.exists()


def test_rules_only_and_csv(env: Path, tmp_path: Path) -> None:
    _score(env, tmp_path / "rules", "--rules-only", "--format", "csv")
    scores = pd.read_csv(tmp_path / "rules" / "scores.csv")
    manifest = json.loads((tmp_path / "rules" / "manifest.json").read_text())
    assert manifest["mode"] == "rules" and manifest["model"]["version"] == "rules"
    _proof(manifest)
    assert scores["probability"].isna().all()
    assert (scores["route"] == scores["rule_route"]).all()
    ranked = scores.sort_values("rank")
    assert ranked["rule_points"].is_monotonic_decreasing
    reasons = scores["rule_reasons"].map(json.loads)
    assert reasons.map(lambda rs: all("text" in r for r in rs)).all()


def test_no_model_falls_back_to_rules(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an empty store of its own: MLflow caches stores by URI, and the default one is
    # relative (another test's champion would be found)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'empty.db'}")
    _run(
        "score",
        "--data",
        str(env / "valid"),
        "--validated",
        "--as-of",
        AS_OF,
        "--out",
        str(tmp_path / "x"),
    )
    assert json.loads((tmp_path / "x" / "manifest.json").read_text())["mode"] == "rules"


def test_bad_input_is_refused_before_any_work(env: Path, tmp_path: Path) -> None:
    _score(env, tmp_path / "done")
    refused = _score(env, tmp_path / "done", code=1)
    assert "exists" in refused.output and "--overwrite" in refused.output
    _score(env, tmp_path / "done", "--overwrite")
    future = _run(
        "score",
        "--data",
        str(env / "valid"),
        "--validated",
        "--as-of",
        "2999-01-01",
        "--out",
        str(tmp_path / "f"),
        code=1,
    )
    assert "in the future" in future.output
    before = _run(
        "score",
        "--data",
        str(env / "valid"),
        "--validated",
        "--as-of",
        "1990-01-01",
        "--model",
        str(env / "bundle"),
        "--out",
        str(tmp_path / "b"),
        code=1,
    )
    assert "before the first lead" in before.output
    unknown = _run(
        "score",
        "--data",
        str(env / "valid"),
        "--validated",
        "--as-of",
        AS_OF,
        "--model",
        "models:/nope@champion",
        "--out",
        str(tmp_path / "u"),
        code=1,
    )
    assert "nope" in unknown.output
    for folder in ("f", "b", "u"):
        assert not (tmp_path / folder).exists()


def test_model_features_missing_from_data_are_named(env: Path) -> None:
    config = load_config(ROOT / "configs")
    scorer = Scorer.load(config, str(env / "bundle"))
    scorer.bundle.model.features_ = [*scorer.bundle.model.features_, "crm_budget_k"]
    with pytest.raises(DataValidationError, match="crm_budget_k"):
        scorer.check_columns(TableSource(env / "valid").lead_extras())


def test_score_tables_answers_every_lead(env: Path) -> None:
    """The API's path: invalid, closed and open leads each get an answer."""
    config = load_config(ROOT / "configs")
    scorer = Scorer.load(config, str(env / "bundle"))
    source = TableSource(env / "valid")
    tables = source.lead_tables(_some_leads(env))
    tables["leads"].loc[0, "created_at"] = pd.NaT  # an invalid lead row
    batch = score_tables(tables, pd.Timestamp(AS_OF), scorer)
    answered = set(batch.scores["lead_id"]) | set(batch.rejections["lead_id"].dropna())
    assert answered >= set(tables["leads"]["lead_id"].dropna().astype(str))
    assert batch.scores["rank"].tolist() == list(range(1, len(batch.scores) + 1))
    not_open = batch.rejections[batch.rejections["row"].isna()]
    assert len(not_open) and not_open["reason"].str.contains("not open").all()
    assert not set(not_open["lead_id"]) & set(batch.scores["lead_id"])


def test_scoring_runs_with_this_machines_engine_settings(
    env: Path, tmp_path: Path
) -> None:
    """The bundle keeps the feature definitions, never the engine settings of the
    machine that trained it; the scorer uses those of the machine it runs on."""
    saved = json.loads((env / "bundle" / "bundle.json").read_text())
    engine = {"batch_rows", "memory_limit", "threads", "predict_threads"}
    assert not engine & set(saved["features_config"])
    config = load_config(ROOT / "configs")
    # small batches, and TreeSHAP on one thread against all cores: the same scores
    here = config.model_copy(
        update={
            "engine": config.engine.model_copy(
                update={"batch_rows": 7, "predict_threads": 1}
            )
        }
    )
    scorer = Scorer.load(here, str(env / "bundle"))
    assert scorer.engine.batch_rows == 7
    default = score_tables(
        TableSource(env / "valid").lead_tables(_some_leads(env)),
        pd.Timestamp(AS_OF),
        Scorer.load(config, str(env / "bundle")),
    )
    small = score_tables(
        TableSource(env / "valid").lead_tables(_some_leads(env)),
        pd.Timestamp(AS_OF),
        scorer,
    )
    pd.testing.assert_frame_equal(small.scores, default.scores)  # batches: same scores
    broken = config.model_copy(
        update={"engine": config.engine.model_copy(update={"memory_limit": "lots"})}
    )
    with pytest.raises(ConfigError, match=r"engine\.memory_limit: 'lots'"):
        score_tables(
            TableSource(env / "valid").lead_tables(_some_leads(env)),
            pd.Timestamp(AS_OF),
            Scorer.load(broken, str(env / "bundle")),
        )


def _some_leads(work: Path) -> list[str]:
    leads = pd.read_parquet(work / "valid" / "leads.parquet", columns=["lead_id"])
    return leads["lead_id"].head(60).tolist()


@pytest.mark.skipif(
    shutil.which("java") is None, reason="Spark needs Java (make install)"
)
def test_spark_engine_matches_local(env: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SPARK_MASTER", "local[2]")
    _score(env, tmp_path / "local")
    _score(env, tmp_path / "spark", "--engine", "spark")
    local, _, _ = _outputs(tmp_path / "local")
    spark, _, manifest = _outputs(tmp_path / "spark")
    assert manifest["engine"] == "spark"
    _proof(manifest)
    local, spark = (
        local.set_index("lead_id").sort_index(),
        spark.set_index("lead_id").sort_index(),
    )
    assert local.index.equals(spark.index)
    np.testing.assert_allclose(spark["probability"], local["probability"], atol=1e-9)
    assert (spark["route"] == local["route"]).all()
    assert (spark["rank"] == local["rank"]).all()
