"""The command line end to end (typer's CliRunner), as a user or a cron job calls it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from predscore.cli import app
from predscore.schema import TABLE_ORDER

COMMANDS = ["demo-data", "ingest", "validate", "features"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "demo"
    result = CliRunner().invoke(app, ["demo-data", "--out", str(out), "--leads", "800"])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_help_everywhere(runner: CliRunner, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_demo_data_writes_the_five_tables(demo_dir: Path) -> None:
    assert sorted(p.stem for p in demo_dir.glob("*.parquet")) == sorted(TABLE_ORDER)


def test_validate_prints_summary_and_writes_rejections(
    runner: CliRunner, demo_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "validated"
    result = runner.invoke(
        app,
        [
            "validate",
            "--data",
            str(demo_dir),
            "--as-of",
            "2026-10-01",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "rows_in" in result.output and "rejected" in result.output
    rejections = pd.read_parquet(out / "rejections.parquet")
    assert list(rejections.columns) == ["lead_id", "table", "row", "column", "reason"]
    leads_in = len(pd.read_parquet(demo_dir / "leads.parquet"))
    leads_kept = len(pd.read_parquet(out / "leads.parquet"))
    assert leads_in == leads_kept + (rejections["table"] == "leads").sum()
    # the validated output is itself valid: nothing more to reject
    again = runner.invoke(
        app, ["validate", "--data", str(out), "--as-of", "2026-10-01", "--strict"]
    )
    assert again.exit_code == 0, again.output


def test_validate_strict_fails_on_rejections(runner: CliRunner, demo_dir: Path) -> None:
    result = runner.invoke(
        app, ["validate", "--data", str(demo_dir), "--as-of", "2026-10-01", "--strict"]
    )
    assert result.exit_code == 1


def test_structural_error_is_one_line_and_exit_1(
    runner: CliRunner, demo_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for table in TABLE_ORDER:
        (broken / f"{table}.parquet").write_bytes(
            (demo_dir / f"{table}.parquet").read_bytes()
        )
    leads = pd.read_parquet(broken / "leads.parquet").drop(columns=["created_at"])
    leads.to_parquet(broken / "leads.parquet")
    result = runner.invoke(app, ["validate", "--data", str(broken)])
    assert result.exit_code == 1
    message = result.output.strip()
    assert message.startswith("error:") and "\n" not in message
    assert "leads.parquet" in message and "created_at" in message


def test_missing_folder(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--data", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "no such folder" in result.output


def test_bad_as_of(runner: CliRunner, demo_dir: Path) -> None:
    result = runner.invoke(
        app, ["validate", "--data", str(demo_dir), "--as-of", "yesterday"]
    )
    assert result.exit_code == 1
    assert "--as-of" in result.output


def test_config_error_names_file_and_key(runner: CliRunner, tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "demo.yaml").write_text("leads: 100\nwon_rat: 0.3\n")
    result = runner.invoke(
        app, ["--config-dir", str(configs), "demo-data", "--out", str(tmp_path / "d")]
    )
    assert result.exit_code == 1
    assert "demo.yaml" in result.output and "demo.won_rat" in result.output


def test_features_open_leads_and_snapshots(
    runner: CliRunner, demo_dir: Path, tmp_path: Path
) -> None:
    validated = tmp_path / "validated"
    assert (
        runner.invoke(
            app,
            [
                "validate",
                "--data",
                str(demo_dir),
                "--as-of",
                "2026-10-01",
                "--out",
                str(validated),
            ],
        ).exit_code
        == 0
    )
    out = tmp_path / "features.parquet"
    result = runner.invoke(
        app,
        [
            "features",
            "--data",
            str(demo_dir),
            "--as-of",
            "2026-10-01",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    features = pd.read_parquet(out)
    leads = pd.read_parquet(validated / "leads.parquet")
    outcomes = pd.read_parquet(validated / "outcomes.parquet")
    open_ids = set(leads["lead_id"]) - set(outcomes["lead_id"])
    assert set(features["lead_id"]) == open_ids and features["lead_id"].is_unique
    # an already validated folder streams straight from Parquet and gives the same rows
    again = tmp_path / "again.parquet"
    result = runner.invoke(
        app,
        [
            "features",
            "--data",
            str(validated),
            "--validated",
            "--as-of",
            "2026-10-01",
            "--out",
            str(again),
        ],
    )
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_parquet(again), features)
    snaps = tmp_path / "snapshots.parquet"
    result = runner.invoke(
        app,
        [
            "features",
            "--data",
            str(validated),
            "--validated",
            "--snapshots",
            "--out",
            str(snaps),
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(snaps)
    assert set(frame["lead_id"]) <= set(outcomes["lead_id"])
    assert (frame["as_of"] < frame["closed_at"]).all()
    assert set(frame["label"].unique()) <= {0, 1}
