"""predscore users add|remove|list and predscore feedback --out, on a store file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from predscore.cli import app
from predscore.config import RepsConfig
from predscore.store import Store, add_feedback, authenticate, read_audit

ROOT = Path(__file__).resolve().parents[2]
SECRET = "pass word from stdin"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PREDSCORE_CONFIG_DIR", str(ROOT / "configs"))
    url = f"sqlite:///{tmp_path / 'reps.db'}"
    monkeypatch.setenv("PREDSCORE_DB_URL", url)
    return url


def _run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, list(args), input=stdin)


def test_users_add_list_remove(db: str, caplog: pytest.LogCaptureFixture) -> None:
    added = _run("users", "add", "Ana", "--owner", "Ana Díaz", stdin=SECRET + "\n")
    assert added.exit_code == 0, added.output
    assert "user ana added (rep, owner Ana Díaz)" in added.output
    assert _run("users", "add", "root", "--role", "admin", stdin=SECRET).exit_code == 0
    listed = _run("users", "list")
    assert listed.exit_code == 0 and "ana" in listed.output and "admin" in listed.output
    again = _run("users", "add", "ana", stdin=SECRET)
    assert again.exit_code == 1 and "exists already" in again.output
    short = _run("users", "add", "bo", stdin="short\n")
    assert short.exit_code == 1 and "fewer than" in short.output
    store = Store(db)
    assert authenticate(store, "ana", SECRET) is not None
    removed = _run("users", "remove", "ana")
    assert removed.exit_code == 0 and authenticate(store, "ana", SECRET) is None
    assert _run("users", "remove", "ana").exit_code == 1
    # the password is never echoed, logged or audited
    everything = added.output + listed.output + caplog.text
    assert SECRET not in everything
    assert not read_audit(store)["detail"].fillna("").str.contains("stdin").any()
    assert read_audit(store)["actor"].str.startswith("cli").all()


def test_feedback_summary_file(db: str, tmp_path: Path) -> None:
    assert _run("users", "list").exit_code == 0  # creates and migrates the store
    store = Store(db)
    at = datetime(2026, 11, 2, tzinfo=UTC)
    for who, verdict in (("ana", "agree"), ("bo", "too_low"), ("bo", "too_low")):
        add_feedback(
            store,
            RepsConfig(),
            lead_id="L1",
            verdict=verdict,
            reason="other",
            text=None,
            who=who,
            at=at,
            probability=0.4,
        )
    out = tmp_path / "feedback.csv"
    done = _run("feedback", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert "3 feedback(s) summarised" in done.output
    summary = pd.read_csv(out)
    assert set(summary["by"]) == {"all", "reason", "rep", "band"}
    bo = summary[(summary["by"] == "rep") & (summary["group"] == "bo")].iloc[0]
    assert (bo["n"], bo["too_low"]) == (2, 2)


def _tiny_folder(folder: Path, tables: dict[str, pd.DataFrame]) -> Path:
    from predscore.schema import TABLE_ORDER, write_table

    for table in TABLE_ORDER:
        write_table(tables[table], folder, table)
    return folder


def test_entries_join_validate_and_score_appends_the_history(
    db: str, tmp_path: Path, tiny_tables: dict[str, pd.DataFrame]
) -> None:
    from predscore.store import add_entries, count_entries, lead_history

    crm = _tiny_folder(tmp_path / "crm", tiny_tables)
    assert _run("users", "list").exit_code == 0
    store = Store(db)
    at = datetime(2024, 6, 1, tzinfo=UTC)
    add_entries(
        store, "L3", {"budget": "no", "timeline_months": "2"}, RepsConfig(), "ana", at
    )
    plain = _run("validate", "--data", str(crm), "--as-of", "2025-01-01", "--out", "v0")
    merged = _run(
        "--entries",
        "validate",
        "--data",
        str(crm),
        "--as-of",
        "2025-01-01",
        "--out",
        "v1",
    )
    assert plain.exit_code == 0 and merged.exit_code == 0, merged.output
    n_crm = len(pd.read_parquet(tmp_path / "v0" / "qualifications.parquet"))
    rows = pd.read_parquet(tmp_path / "v1" / "qualifications.parquet")
    assert len(rows) == n_crm + count_entries(store) == n_crm + 2
    for day in ("2025-01-01", "2025-02-01"):
        done = _run(
            "--entries",
            "score",
            "--data",
            str(crm),
            "--as-of",
            day,
            "--rules-only",
            "--out",
            f"scores/{day}",
        )
        assert done.exit_code == 0, done.output
    history = lead_history(store, "L3")
    assert history["run_id"].tolist() == ["2025-01-01", "2025-02-01"]
    scored = pd.read_parquet(tmp_path / "scores" / "2025-02-01" / "scores.parquet")
    assert scored.set_index("lead_id").loc["L3", "eliminated_by"] == "cannot_decide"
