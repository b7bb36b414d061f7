"""Explanation command: ``predscore explain`` (one lead, in the terminal or as JSON)."""

from __future__ import annotations

import json
import logging
import math
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from predscore.cli._app import (
    AsOfOption,
    DataOption,
    ModelOption,
    RulesOption,
    ValidatedOption,
    _as_of,
    _config,
    _dataset,
    _errors,
    _rules,
    app,
    console,
)
from predscore.config import ExplainConfig

_LOG = logging.getLogger(__name__)


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
    from predscore.explain import explain_lead
    from predscore.model.tracking import resolve_model

    with _errors():
        config = _config()
        rules = _rules(config, rules_file)
        cutoff = _as_of(as_of)
        bundle, origin = resolve_model(model, config.model.tracking)
        tables = _dataset(data, validated, cutoff, config).tables
        row = explain_lead(
            tables,
            lead,
            cutoff,
            bundle,
            config.explain,
            rules,
            every=every,
            engine=config.engine,
        )
        if as_json:
            print(json.dumps(_document(row, origin), ensure_ascii=False, indent=2))
            return
        _report(row, config.explain, origin)
