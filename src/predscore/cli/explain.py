"""Explanation commands: ``predscore explain`` (one lead), and the global view that
``predscore train`` logs to MLflow."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from predscore.cli._app import (
    AsOfOption,
    _as_of,
    _config,
    _errors,
    app,
    console,
    err_console,
)
from predscore.cli.model import (
    DataOption,
    ModelOption,
    RulesOption,
    ValidatedOption,
    _rules,
)
from predscore.config import ExplainConfig, PredscoreConfig
from predscore.errors import PredscoreError

_LOG = logging.getLogger(__name__)


def _lead_tables(source: Any, lead_ids: Iterable[str]) -> dict[str, pd.DataFrame]:
    """The five tables restricted to some leads (and their accounts): features of a
    lead depend on its own rows and its account only."""
    from predscore.scoring import TableSource

    return TableSource(source).lead_tables(lead_ids)


def _source(
    data: Path, validated: bool, cutoff: pd.Timestamp, config: PredscoreConfig
) -> Any:
    """The validated tables: the folder itself, or validated in memory (quietly: the
    standard output may be the JSON document)."""
    if validated:
        return data
    from predscore.schema.validate import load_dataset

    with err_console.status("validating"):
        result = load_dataset(data, cutoff, config.validation)
    if len(result.rejections):
        err_console.print(
            f"{len(result.rejections):,} input rows rejected by validation "
            f"(see `predscore validate --data {data}`)"
        )
    return result.tables


def _check_open(
    tables: Mapping[str, pd.DataFrame], lead: str, as_of: pd.Timestamp
) -> None:
    """Raise a clear error when a lead has no feature row at ``as_of``."""
    leads = tables["leads"]
    if not len(leads):
        raise PredscoreError(f"lead {lead!r} not found in the leads table")
    created = leads["created_at"].iloc[0]
    if created > as_of:
        raise PredscoreError(
            f"lead {lead!r} was created at {created}, after --as-of {as_of}"
        )
    closed = tables["outcomes"]
    closed = closed[closed["closed_at"] <= as_of]
    if len(closed):
        row = closed.sort_values("closed_at").iloc[0]
        raise PredscoreError(
            f"lead {lead!r} was closed ({row['outcome']}) at {row['closed_at']}, "
            f"before --as-of {as_of}; pass an earlier --as-of to explain it then"
        )


def _plain(value: Any) -> Any:
    """JSON-ready value: numpy scalars unwrapped, NaN as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _document(row: pd.Series, origin: str) -> dict[str, Any]:
    """The ``--json`` object of one explained lead."""
    keys = (
        "lead_id",
        "as_of",
        "probability",
        "score",
        "base",
        "tier",
        "route",
        "grid",
        "fit_points",
        "engagement_points",
        "qualification_points",
    )
    doc = {k: _plain(row[k]) for k in keys if k in row.index}
    doc["reasons"] = [{k: _plain(v) for k, v in r.items()} for r in row["reasons"]]
    doc["rule_points"] = _plain(row["rule_points"])
    doc["rule_route"] = row["rule_route"]
    doc["eliminated_by"] = _plain(row["eliminated_by"])
    doc["rule_reasons"] = [
        {k: _plain(v) for k, v in r.items()} for r in row["rule_reasons"]
    ]
    doc["model"] = origin
    return doc


def _shown(value: float, decimals: int, minus: str) -> str:
    text = f"{abs(value):.{decimals}f}"
    return text if value >= 0 else f"{minus}{text}"


def _report(row: pd.Series, config: ExplainConfig, origin: str) -> None:
    """Score, tier, route and the reasons of model and rules side by side."""
    d, minus = config.decimals, config.minus
    score = math.floor(row["score"] * 10**d + 0.5) / 10**d
    base = math.floor(row["base"] * 10**d + 0.5) / 10**d
    console.print(
        f"[bold]{row['lead_id']}[/] as of {row['as_of']:%Y-%m-%d %H:%M} UTC "
        f"([dim]{origin}[/])"
    )
    console.print(
        f"score [bold]{_shown(score, d, minus)}[/] / {config.scale:g} "
        f"(closing probability {row['probability']:.1%}) · tier [bold]{row['tier']}"
        f"[/] · route [bold]{row['route']}[/] · grid [bold]{row['grid']}[/] "
        f"(fit {_shown(row['fit_points'], 1, minus)}, engagement "
        f"{_shown(row['engagement_points'], 1, minus)}, qualification "
        f"{_shown(row['qualification_points'], 1, minus)} pts)"
    )
    table = Table(title_justify="left", show_lines=False)
    table.add_column("family")
    table.add_column(f"model: base {_shown(base, d, minus)} pts, + reasons", ratio=3)
    table.add_column(
        f"rules: {row['rule_points']:g} pts → {row['rule_route']}"
        + (f" ({row['eliminated_by']})" if pd.notna(row["eliminated_by"]) else ""),
        ratio=2,
    )
    model = [(r["family"], r["text"], r["points"]) for r in row["reasons"]]
    rules = [r["text"] for r in row["rule_reasons"]]
    for i in range(max(len(model), len(rules))):
        family, text, points = model[i] if i < len(model) else ("", "", 0.0)
        colour = "green" if points > 0 else "red" if points < 0 else "default"
        table.add_row(
            family,
            f"[{colour}]{text}[/]" if text else "",
            rules[i] if i < len(rules) else "",
        )
    console.print(table)
    console.print(
        f"base {_shown(base, d, minus)} + the reasons' points = score "
        f"{_shown(score, d, minus)}"
    )


@app.command("explain")
def explain_command(
    data: DataOption,
    lead: Annotated[str, typer.Option("--lead", help="Lead id (lead_id).")],
    model: ModelOption = None,
    as_of: AsOfOption = None,
    validated: ValidatedOption = False,
    rules_file: RulesOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead.")
    ] = False,
    every: Annotated[
        bool,
        typer.Option("--all", help="Every human feature, not only the top reasons."),
    ] = False,
) -> None:
    """Why a lead scores what it scores: points per reason, beside the rules'."""
    from predscore.explain import Explainer, explain_leads
    from predscore.features import build_features
    from predscore.model.tracking import resolve_model

    with _errors():
        config = _config()
        rules = _rules(config, rules_file)
        cutoff = _as_of(as_of)
        bundle, origin = resolve_model(model, config.model.tracking)
        tables = _lead_tables(_source(data, validated, cutoff, config), [lead])
        _check_open(tables, lead, cutoff)
        rows = build_features(tables, cutoff, bundle.features, bundle.icp)
        settings = config.explain
        if every:
            settings = settings.model_copy(
                update={"top_reasons": 10_000, "min_points": 0.0}
            )
        explainer = Explainer.from_bundle(bundle, settings)
        row = explain_leads(rows, explainer, rules).iloc[0]
        if as_json:
            print(json.dumps(_document(row, origin), ensure_ascii=False, indent=2))
            return
        _report(row, settings, origin)


def global_artifacts(
    tables: Any, result: Any, config: PredscoreConfig, cutoff: Any = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Figures and documents of the global view of a training (``train`` logs them).

    The explanations of up to ``explain.global_rows`` test snapshots (leads drawn with
    the seed): mean |SHAP| per human feature (``explain/global_importance.json``) and
    a beeswarm plot (``plots/shap_beeswarm.png``). A failure here is reported and
    skipped: the training is logged anyway.
    """
    from predscore.explain import Explainer, global_view
    from predscore.features import build_snapshots

    try:
        bundle, test = result.bundle, result.test
        leads = np.sort(test["lead_id"].astype(str).unique())
        if not len(leads):
            return {}, {}
        wanted = config.explain.global_rows
        per_lead = len(test) / len(leads)
        n = min(len(leads), max(1, math.ceil(wanted / per_lead)))
        rng = np.random.default_rng(config.seed)
        picked = rng.choice(leads, size=n, replace=False)
        rows = build_snapshots(
            _lead_tables(tables, picked), bundle.features, bundle.icp, cutoff
        )
        if len(rows) > wanted:
            rows = rows.iloc[np.sort(rng.choice(len(rows), wanted, replace=False))]
        explainer = Explainer.from_bundle(bundle, config.explain)
        view = global_view(explainer.explain(rows), rows, explainer)
    except PredscoreError as exc:
        console.print(f"[yellow]global explanation view skipped: {exc}[/]")
        return {}, {}
    table = view.table.assign(rows=len(rows))
    return (
        {"shap_beeswarm.png": view.figure},
        {"explain/global_importance.json": table.to_dict(orient="records")},
    )
