"""Every shipped rules config runs on the features of the data it was written for.

Each public data set of ``../shared/datasets`` (skipped when the folder is absent; set
``PREDSCORE_DATASETS`` to point elsewhere) is ingested through its mapping, turned into
training snapshots and scored with ``configs/rules/<name>.yaml``; the demo CRM (small,
generated) is scored with ``configs/rules.yaml``. Beyond "it runs" (every feature a rule
reads exists, with a comparable type), every rule must fire on some row: a category
spelled differently from the data (``reseller`` for ``Reseller``) silently never
matches, and only the real data can tell.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predscore.config import RulesConfig, load_config, load_rules
from predscore.demo import generate_demo_data
from predscore.features import build_features, build_snapshots
from predscore.ingest import ingest, load_mapping
from predscore.rules import evaluate_rules, score_rules
from predscore.schema.validate import load_dataset

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
DATASETS = Path(
    os.environ.get("PREDSCORE_DATASETS", REPO.parent / "shared" / "datasets")
)
AS_OF = pd.Timestamp("2026-10-01T00:00:00Z")

#: rules file name → data set folder (the mapping has the rules file's name)
FOLDERS = {
    "x_education": "x_education_leads",
    "olist": "olist_marketing_funnel",
    "ibm_sales": "ibm_sales_win_loss",
    "uci_bank": "uci_bank_marketing",
    "maven_crm": "maven_crm_sales_opportunities",
}
RULE_FILES = sorted(p.stem for p in (CONFIGS / "rules").glob("*.yaml"))


def test_every_rules_file_names_a_data_set() -> None:
    assert set(RULE_FILES) <= set(FOLDERS), "add the new rules file to FOLDERS"
    for name in RULE_FILES:
        assert (CONFIGS / "mappings" / f"{name}.yaml").is_file()


def _read_by(rules: RulesConfig) -> list[str]:
    """Every feature the rules read."""
    names = [f for c in rules.eliminatory for f in c.when.features()]
    for rule in rules.points:
        names += rule.when.features() if rule.when is not None else []
        names += list(rule.units or {})
    if rules.temperature.feature is not None:
        names.append(rules.temperature.feature)
    return list(dict.fromkeys(names))


def _check_rules_fire(rows: pd.DataFrame, rules: RulesConfig) -> pd.DataFrame:
    """Score the distinct combinations of what the rules read (the same firings as
    all rows, in a fraction of the time); every rule must fire on one of them."""
    columns = _read_by(rules)
    snapshots = rows.loc[:, columns].drop_duplicates(ignore_index=True)
    out = score_rules(snapshots, rules)
    assert out["rule_route"].isin(["meeting", "nurture", "disqualify"]).all()
    totals = [sum(r["points"] for r in reasons) for reasons in out["rule_reasons"]]
    np.testing.assert_allclose(totals, out["rule_points"])
    eliminated = set(out["eliminated_by"].dropna())
    silent = [c.name for c in rules.eliminatory if c.name not in eliminated]
    assert not silent, f"eliminatory criteria that never fire: {silent}"
    for rule in rules.points:
        alone = rules.model_copy(update={"eliminatory": [], "points": [rule]})
        points = score_rules(snapshots, alone)["rule_points"]
        assert points.ne(0).any(), f"rule '{rule.name}' never fires"
    return out


@pytest.mark.datasets
@pytest.mark.skipif(
    not DATASETS.is_dir(),
    reason=f"public data sets not found at {DATASETS} (set PREDSCORE_DATASETS)",
)
@pytest.mark.parametrize("name", RULE_FILES)
def test_dataset_rules_run_on_its_snapshots(name: str) -> None:
    mapping = CONFIGS / "mappings" / f"{name}.yaml"
    ingested = ingest(load_mapping(mapping), DATASETS / FOLDERS[name], AS_OF).tables
    tables = ingested
    snapshots = build_snapshots(tables)
    rules = load_rules(CONFIGS / "rules" / f"{name}.yaml")
    # open leads too: some rules are meant for them (an opportunity with no account)
    open_leads = build_features(tables, AS_OF)
    _check_rules_fire(pd.concat([snapshots, open_leads], ignore_index=True), rules)
    evaluation = evaluate_rules(snapshots, rules)
    assert 0 <= evaluation.metrics["roc_auc"] <= 1
    assert evaluation.routes["rows"].sum() == len(snapshots)


def test_default_rules_run_on_demo_snapshots(tmp_path: Path) -> None:
    config = load_config(CONFIGS, overrides={"demo": {"leads": 1500}})
    generate_demo_data(tmp_path, config.demo, config.icp)
    tables = load_dataset(tmp_path, AS_OF, config.validation).tables
    snapshots = build_snapshots(tables, config.features, config.icp)
    out = _check_rules_fire(snapshots, config.rules)
    assert set(out["tier"]) == {"hot", "warm", "cold"}
    evaluation = evaluate_rules(snapshots, config.rules)
    segments = evaluation.segments.set_index("segment")["rows"]
    assert (segments > 0).all()
