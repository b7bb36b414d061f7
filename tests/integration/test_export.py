"""Score write-back: Salesforce and HubSpot import files, and the SQL upsert with
its history in one transaction, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from predscore.cli import app
from predscore.config import ExportConfig, load_export_config
from predscore.errors import ConfigError, OutputError
from predscore.export import export_records, export_scores, export_tables
from predscore.pages.scores_folder import read_batch
from scored_batch import AS_OF, batch_frame, write_batch

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs" / "export"
LONG = "attended " + "many " * 80 + "webinars: +9 pts"


def _batch(folder: Path, shift: float = 0.0, as_of: pd.Timestamp = AS_OF) -> Path:
    """The hand-written batch; its first lead's first reason made 400 characters
    long; probabilities moved by ``shift`` (another run)."""
    frame = batch_frame()
    first = [dict(r) for r in frame.at[0, "reasons"]]
    first[0]["text"] = LONG
    frame.at[0, "reasons"] = first
    frame["probability"] = (frame["probability"] + shift).clip(0, 1)
    frame["score"] = frame["probability"] * 100
    write_batch(folder, frame)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["as_of"] = as_of.isoformat()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _config(name: str, **changes: object) -> ExportConfig:
    doc = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    for key, value in changes.items():
        section, _, sub = key.partition(".")
        if sub:
            doc[section] = {**doc[section], sub: value}
        else:
            doc[section] = value
    return ExportConfig.model_validate(doc)


def test_the_shipped_configurations_load() -> None:
    for name in ("salesforce", "hubspot", "sql"):
        assert load_export_config(CONFIGS / f"{name}.yaml").target == name


def test_salesforce_upsert_csv_and_job(tmp_path: Path) -> None:
    scores = _batch(tmp_path / "run")
    config = _config("salesforce", **{"salesforce.line_ending": "CRLF"})
    result = export_scores(scores, config, tmp_path / "out")
    data = (tmp_path / "out" / "salesforce_upsert.csv").read_bytes()
    job = json.loads((tmp_path / "out" / "salesforce_job.json").read_text())
    assert job == {
        "object": "Lead",
        "operation": "upsert",
        "externalIdFieldName": "Predscore_Lead_Id__c",
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "CRLF",
    }
    text = data.decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0].split(",") == [
        *config.fields.values(),
        *config.reasons.fields,
    ]
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    frame = batch_frame()
    assert len(rows) == result.leads == len(frame)
    by_id = {r["Predscore_Lead_Id__c"]: r for r in rows}
    for _, lead in frame.iterrows():
        row = by_id[lead["lead_id"]]
        assert float(row["Predscore_Score__c"]) == pytest.approx(lead["score"], 1e-12)
        assert row["Predscore_Route__c"] == lead["route"]
        assert row["Predscore_Scored_At__c"] == "2026-10-01T00:00:00Z"
    # the long reason is cut to the field's 255 characters, ending with …
    first = by_id[frame.at[0, "lead_id"]]["Predscore_Reason_1__c"]
    assert len(first) == 255 and first.endswith("…")
    # a missing value empties the field (#N/A), never an empty cell
    assert all(v != "" for r in rows for v in r.values())


def test_hubspot_import_csv_and_request(tmp_path: Path) -> None:
    scores = _batch(tmp_path / "run")
    config = _config("hubspot")
    export_scores(scores, config, tmp_path / "out")
    text = (tmp_path / "out" / "hubspot_import.csv").read_text()
    request = json.loads((tmp_path / "out" / "hubspot_import_request.json").read_text())
    header = text.splitlines()[0].split(",")
    page = request["files"][0]["fileImportPage"]
    assert request["files"][0]["fileName"] == "hubspot_import.csv"
    assert [m["columnName"] for m in page["columnMappings"]] == header
    ids = [m for m in page["columnMappings"] if "idColumnType" in m]
    assert [m["columnName"] for m in ids] == ["predscore_lead_id"]
    assert request["importOperations"] == {"0-1": "UPDATE"}
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["predscore_scored_at"] for r in rows} == {"2026-10-01"}


def _table(url: str, config: ExportConfig, which: int) -> pd.DataFrame:
    table = export_tables(config)[which]
    engine = create_engine(url)
    try:
        with engine.connect() as con:
            frame = pd.DataFrame(con.execute(select(table)).mappings().all())
    finally:
        engine.dispose()
    return frame.sort_values(list(frame.columns[:1])).reset_index(drop=True)


def test_sql_export_round_trips_and_is_idempotent(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREDSCORE_EXPORT_URL", db_url)
    config = _config("sql", **{"sql.batch_rows": 1})
    scores = _batch(tmp_path / "run")
    first = export_scores(scores, config)
    assert first.sql == {
        "rows": 4,
        "history_added": 4,
        "scores_rows": 4,
        "history_rows": 4,
    }
    table = _table(db_url, config, 0)
    records = export_records(read_batch(scores), config)
    records = records.sort_values("lead_id").reset_index(drop=True)
    assert table["lead_id"].tolist() == records["lead_id"].tolist()
    pd.testing.assert_series_equal(table["score"], records["score"])
    assert table["reason_1"].tolist() == records["reason_1"].tolist()
    assert (table["run_id"] == first.run_id).all()
    # the same run again: nothing changes
    again = export_scores(scores, config)
    assert again.sql["history_added"] == 0 and again.sql["history_rows"] == 4
    pd.testing.assert_frame_equal(_table(db_url, config, 0), table)


def test_a_failed_export_leaves_the_tables_as_they_were(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREDSCORE_EXPORT_URL", db_url)
    config = _config("sql", **{"sql.batch_rows": 1})
    export_scores(_batch(tmp_path / "run1"), config)
    scores_before = _table(db_url, config, 0)
    history_before = _table(db_url, config, 1)
    newer = _batch(tmp_path / "run2", shift=0.05, as_of=AS_OF + pd.Timedelta(days=1))

    def interrupted(done: int) -> None:
        if done == 2:  # half-way: two of four leads written
            raise RuntimeError("connection lost")

    with pytest.raises(RuntimeError, match="connection lost"):
        export_scores(newer, config, progress=interrupted)
    pd.testing.assert_frame_equal(_table(db_url, config, 0), scores_before)
    pd.testing.assert_frame_equal(_table(db_url, config, 1), history_before)
    # the newer run exported whole, then the older one again: the newer scores stay
    export_scores(newer, config)
    newest = _table(db_url, config, 0)
    export_scores(tmp_path / "run1", config)
    pd.testing.assert_frame_equal(_table(db_url, config, 0), newest)
    assert len(_table(db_url, config, 1)) == 8


def test_an_unreachable_database_names_it_without_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "PREDSCORE_EXPORT_URL",
        "postgresql://crm:s3cret-pass@127.0.0.1:9/crm?connect_timeout=2",
    )
    with pytest.raises(OutputError) as caught:
        export_scores(_batch(tmp_path / "run"), _config("sql"))
    assert "s3cret-pass" not in str(caught.value) and "nothing written" in str(
        caught.value
    )
    monkeypatch.delenv("PREDSCORE_EXPORT_URL")
    with pytest.raises(ConfigError, match="PREDSCORE_EXPORT_URL"):
        export_scores(_batch(tmp_path / "run"), _config("sql"))


def test_bad_configurations_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown column"):
        _config("salesforce", fields={"lead_id": "X__c", "colour": "Y__c"})
    with pytest.raises(ValueError, match="external_id_field"):
        _config("salesforce", fields={"lead_id": "Other__c"})
    with pytest.raises(ValueError, match="run_id and scored_at"):
        _config("sql", fields={"lead_id": "lead_id", "score": "score"})
    path = tmp_path / "bad.yaml"
    path.write_text("target: salesforce\nfields: {lead_id: X}\nsalesforc: {}\n")
    with pytest.raises(ConfigError, match="bad.yaml: key 'salesforc'"):
        load_export_config(path)


def test_export_command_checks_the_destination(tmp_path: Path) -> None:
    scores = _batch(tmp_path / "run")
    runner = CliRunner()
    args = ["export", "--scores", str(scores), "--config"]
    done = runner.invoke(
        app,
        [
            *args,
            str(CONFIGS / "hubspot.yaml"),
            "--to",
            "hubspot",
            "--out",
            str(tmp_path / "h"),
        ],
    )
    assert done.exit_code == 0, done.output
    assert (
        "4 leads" in done.output and (tmp_path / "h" / "hubspot_import.csv").is_file()
    )
    wrong = runner.invoke(app, [*args, str(CONFIGS / "hubspot.yaml"), "--to", "sql"])
    assert wrong.exit_code != 0 and "--to sql" in wrong.output
