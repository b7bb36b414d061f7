"""A scored batch from the real pipeline for the tests of the web app, API and report.

:func:`build_served`: a small demo CRM run through the real pipeline (demo-data, validate, a
small model bundle, ``predscore score``), with one open lead's account renamed to a
script tag and one job title made of markup, as a hostile CRM export would have them.
The ``served`` fixture (tests/integration/conftest.py) builds it once per session;
tests must not change its files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from model_data import small_bundle
from predscore.cli import app
from predscore.schema.store import read_table, write_table

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-10-01T00:00:00Z"
TOKEN = "test-token-0123456789abcdef"
XSS_NAME = "<script>alert(1)</script>"
XSS_TITLE = '<img src=x onerror="alert(2)">'


@dataclass(frozen=True)
class Served:
    """Folders of the served batch and the lead whose names are markup."""

    root: Path
    valid: Path
    bundle: Path
    scores: Path  # the parent of the batch folder (the server picks the latest)
    batch: Path
    xss_lead: str


def _run(*args: str) -> None:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _poison(demo: Path) -> str:
    """Give an open lead's account a script tag as its name; return the lead."""
    leads, accounts = read_table(demo, "leads"), read_table(demo, "accounts")
    closed = set(read_table(demo, "outcomes")["lead_id"])
    candidates = leads[~leads["lead_id"].isin(closed) & leads["account_id"].notna()]
    # a lead alone in its account, so that only one row of the queue shows the name
    alone = candidates[~candidates["account_id"].duplicated(keep=False)]
    alone = alone[alone["account_id"].map(leads["account_id"].value_counts()) == 1]
    lead = alone.sort_values("lead_id").iloc[0]
    accounts.loc[accounts["account_id"] == lead["account_id"], "name"] = XSS_NAME
    leads.loc[leads["lead_id"] == lead["lead_id"], "job_title"] = XSS_TITLE
    write_table(accounts, demo, "accounts")
    write_table(leads, demo, "leads")
    return str(lead["lead_id"])


def build_served(root: Path) -> Served:
    """Run the pipeline into ``root`` and return where everything is."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PREDSCORE_CONFIG_DIR", str(ROOT / "configs"))
        mp.chdir(root)  # no MLflow store here: the bundle is named explicitly
        _run("demo-data", "--out", "demo", "--leads", "1500", "--seed", "7")
        xss_lead = _poison(root / "demo")
        _run("validate", "--data", "demo", "--as-of", "2026-10-01", "--out", "valid")
        small_bundle(root / "valid", root / "bundle")
        _run(
            "score",
            "--data",
            str(root / "valid"),
            "--validated",
            "--as-of",
            AS_OF,
            "--model",
            str(root / "bundle"),
            "--out",
            str(root / "scores" / "2026-10-01"),
        )
    batch = root / "scores" / "2026-10-01"
    scores = pd.read_parquet(batch / "scores.parquet")
    assert xss_lead in set(scores["lead_id"]), "the poisoned lead must be open"
    return Served(
        root=root,
        valid=root / "valid",
        bundle=root / "bundle",
        scores=root / "scores",
        batch=batch,
        xss_lead=xss_lead,
    )


def _iso(value: Any) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).isoformat()


def _value(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def lead_body(valid: Path, lead_ids: list[str]) -> dict[str, Any]:
    """A POST /score body with these leads as the validated folder holds them."""
    leads, accounts = read_table(valid, "leads"), read_table(valid, "accounts")
    acts, quals = read_table(valid, "activities"), read_table(valid, "qualifications")
    out = []
    for lead_id in lead_ids:
        lead = leads[leads["lead_id"] == lead_id].iloc[0]
        account = accounts[accounts["account_id"] == lead["account_id"]].iloc[0]
        out.append(
            {
                "lead_id": lead_id,
                "account_id": lead["account_id"],
                "created_at": _iso(lead["created_at"]),
                **{
                    k: _value(lead[k])
                    for k in (
                        "source",
                        "job_title",
                        "role",
                        "seniority",
                        "department",
                        "country",
                        "owner",
                    )
                },
                "account": {
                    "account_id": account["account_id"],
                    **{
                        k: _value(account[k])
                        for k in ("name", "sector", "country", "region")
                    },
                    "employees": _value(account["employees"]),
                    "annual_revenue": _value(account["annual_revenue"]),
                    "tech_stack": None
                    if account["tech_stack"] is None
                    else list(account["tech_stack"]),
                    "created_at": _iso(account["created_at"]),
                },
                "activities": [
                    {
                        "occurred_at": _iso(a.occurred_at),
                        "channel": a.channel,
                        "action": a.action,
                        "detail": _value(a.detail),
                        "quantity": _value(a.quantity),
                    }
                    for a in acts[acts["lead_id"] == lead_id].itertuples()
                ],
                "qualifications": [
                    {
                        "recorded_at": _iso(q.recorded_at),
                        "field": q.field,
                        "value": q.value,
                    }
                    for q in quals[quals["lead_id"] == lead_id].itertuples()
                ],
            }
        )
    return {"as_of": AS_OF, "leads": out}
