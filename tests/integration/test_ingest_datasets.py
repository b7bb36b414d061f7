"""The five shipped mappings on the real public data sets of ``../shared/datasets``.

Skipped when the folder is absent (set ``PREDSCORE_DATASETS`` to point elsewhere).
Each data set is ingested once per module through the command line (a few seconds
each); the tests then check row conservation against the source files read
independently, the label counts published in each SOURCE.md, and that no leak column
reaches the output.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from predscore.cli import app
from predscore.ingest import REPORT_FILE, load_mapping
from predscore.schema import TABLE_ORDER

REPO = Path(__file__).resolve().parents[2]
DATASETS = Path(
    os.environ.get("PREDSCORE_DATASETS", REPO.parent / "shared" / "datasets")
)
MAPPINGS = REPO / "configs" / "mappings"

pytestmark = [
    pytest.mark.datasets,
    pytest.mark.skipif(
        not DATASETS.is_dir(),
        reason=f"public data sets not found at {DATASETS} (set PREDSCORE_DATASETS)",
    ),
]


@dataclass(frozen=True)
class Case:
    """A data set, its mapping and what its SOURCE.md says."""

    mapping: str
    folder: str
    leads_file: str
    won: int
    lost: int
    open: int
    delimiter: str = ","
    # rows that the data itself makes invalid, found by reading it (see the mapping)
    leads_rejected: int = 0
    outcomes_rejected: int = 0


CASES = [
    Case("x_education", "x_education_leads", "Leads.csv", 3_561, 9_240 - 3_561, 0),
    # one won deal has its won_date two days before its first contact
    Case(
        "olist",
        "olist_marketing_funnel",
        "olist_marketing_qualified_leads_dataset.csv",
        842,
        8_000 - 842,
        0,
        outcomes_rejected=1,
    ),
    # 196 opportunity numbers appear twice: the later rows are duplicates
    Case(
        "ibm_sales",
        "ibm_sales_win_loss",
        "WA_Fn-UseC_-Sales-Win-Loss.csv",
        17_627,
        60_398,
        0,
        leads_rejected=196,
        outcomes_rejected=196,
    ),
    Case(
        "uci_bank",
        "uci_bank_marketing",
        "bank-additional-full.csv",
        4_640,
        41_188 - 4_640,
        0,
        delimiter=";",
    ),
    Case(
        "maven_crm",
        "maven_crm_sales_opportunities",
        "sales_pipeline.csv",
        4_238,
        2_473,
        2_089,
    ),
]
IDS = [c.mapping for c in CASES]


@dataclass(frozen=True)
class Ingested:
    case: Case
    out: Path
    tables: dict[str, pd.DataFrame]
    rejections: pd.DataFrame
    report: dict


def _ingest(case: Case, out: Path) -> Ingested:
    """Run ``predscore ingest`` on one data set and read back what it wrote."""
    result = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"}).invoke(
        app,
        [
            "ingest",
            "--mapping",
            str(MAPPINGS / f"{case.mapping}.yaml"),
            "--source",
            str(DATASETS / case.folder),
            "--out",
            str(out),
            "--as-of",
            "2026-01-01",
        ],
    )
    assert result.exit_code == 0, result.output
    tables = {t: pd.read_parquet(out / f"{t}.parquet") for t in TABLE_ORDER}
    return Ingested(
        case,
        out,
        tables,
        pd.read_parquet(out / "rejections.parquet"),
        json.loads((out / REPORT_FILE).read_text()),
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Ingested]:
    """Ingest a data set by mapping name, once per module."""
    cache: dict[str, Ingested] = {}

    def run(name: str) -> Ingested:
        if name not in cache:
            case = next(c for c in CASES if c.mapping == name)
            cache[name] = _ingest(case, tmp_path_factory.mktemp(name))
        return cache[name]

    return run


@pytest.fixture(params=IDS)
def ingested(
    request: pytest.FixtureRequest, runs: Callable[[str], Ingested]
) -> Ingested:
    return runs(request.param)


def _source_rows(case: Case) -> int:
    path = DATASETS / case.folder / case.leads_file
    return len(pd.read_csv(path, sep=case.delimiter, dtype=str, usecols=[0]))


def test_every_source_row_is_a_lead_or_a_rejection(ingested: Ingested) -> None:
    case = ingested.case
    rejected = ingested.rejections["table"].value_counts()
    assert len(ingested.tables["leads"]) + rejected.get("leads", 0) == _source_rows(
        case
    )
    assert rejected.get("leads", 0) == case.leads_rejected
    assert rejected.get("outcomes", 0) == case.outcomes_rejected
    for row in ingested.report["tables"]:
        assert row["rows_in"] == row["kept"] + row["rejected"], row
        assert row["kept"] == len(ingested.tables[row["table"]])
    # rows of rejections are rows of the source files
    assert ingested.rejections["row"].between(0, _source_rows(case) - 1).all()


def test_label_counts_match_source_md(ingested: Ingested) -> None:
    case = ingested.case
    labels = {row["label"]: row for row in ingested.report["labels"]}
    assert (labels["won"]["source"], labels["lost"]["source"]) == (case.won, case.lost)
    assert labels["open"]["source"] == case.open
    assert labels["rejected"]["source"] == 0
    outcomes = ingested.tables["outcomes"]["outcome"].astype(str).value_counts()
    closed_kept = outcomes.get("won", 0) + outcomes.get("lost", 0)
    assert closed_kept == case.won + case.lost - case.outcomes_rejected
    assert len(ingested.tables["leads"]) - closed_kept == labels["open"]["kept"]


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def test_leak_columns_are_absent(ingested: Ingested) -> None:
    leaks = load_mapping(MAPPINGS / f"{ingested.case.mapping}.yaml").leaks
    assert leaks, "every shipped mapping names its leak columns"
    reported = {row["column"] for row in ingested.report["leak_columns"]}
    assert reported == set(leaks)
    for table in ("accounts", "leads"):
        columns = set(ingested.tables[table].columns)
        for leak in leaks:
            assert leak not in columns and _snake(leak) not in columns, (table, leak)


def test_timestamps_are_utc_and_closings_follow_creation(ingested: Ingested) -> None:
    leads = ingested.tables["leads"].set_index("lead_id")
    outcomes = ingested.tables["outcomes"].set_index("lead_id")
    assert str(leads["created_at"].dt.tz) == "UTC"
    assert leads["created_at"].notna().all()
    assert (outcomes["closed_at"] >= leads.loc[outcomes.index, "created_at"]).all()


def test_uci_timeline_from_row_order(runs: Callable[[str], Ingested]) -> None:
    ingested = runs("uci_bank")
    assert "duration" not in ingested.tables["leads"].columns
    created = ingested.tables["leads"]["created_at"]
    assert created.is_monotonic_increasing
    assert created.iloc[0] == pd.Timestamp("2008-05-01T00:00:00Z")
    assert created.iloc[-1].strftime("%Y-%m") == "2010-11"


def test_maven_joins_and_fixes(runs: Callable[[str], Ingested]) -> None:
    ingested = runs("maven_crm")
    accounts, leads = ingested.tables["accounts"], ingested.tables["leads"]
    assert len(accounts) == 85
    assert "technolgy" not in set(accounts["sector"].astype(str))
    assert leads["account_id"].isna().sum() == 1_425  # open deals with no account
    assert leads["product_series"].notna().all()  # "GTXPro" found "GTX Pro"
    assert leads["manager"].notna().all()
    joins = {(j["into"], j["lookup"]): j["unmatched"] for j in ingested.report["joins"]}
    assert joins == {("pipeline", "products"): 0, ("pipeline", "teams"): 0}
