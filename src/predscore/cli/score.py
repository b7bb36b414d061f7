"""``predscore score``: the batch job over every open lead (local or Spark)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from predscore.cli._app import (
    AsOfOption,
    DataOption,
    ModelOption,
    RulesOption,
    ValidatedOption,
    _as_of,
    _config,
    _errors,
    _progress,
    _rules,
    _store,
    app,
    console,
    err_console,
)


class Engine(StrEnum):
    local = "local"
    spark = "spark"


class Format(StrEnum):
    parquet = "parquet"
    csv = "csv"


@app.command("score")
def score_command(
    data: DataOption,
    out: Annotated[
        Path,
        typer.Option("--out", help="Folder to write scores, rejections, manifest."),
    ],
    as_of: AsOfOption = None,
    model: ModelOption = None,
    validated: ValidatedOption = False,
    rules_file: RulesOption = None,
    rules_only: Annotated[
        bool,
        typer.Option("--rules-only", help="Score with the rule baseline alone."),
    ] = False,
    engine: Annotated[
        Engine, typer.Option("--engine", help="local (one machine) or spark.")
    ] = Engine.local,
    fmt: Annotated[
        Format, typer.Option("--format", help="scores.parquet or scores.csv.")
    ] = Format.parquet,
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous",
            help="Folder of a previous run: each lead gets its score change (delta).",
            show_default=False,
        ),
    ] = None,
    reasons: Annotated[
        bool | None,
        typer.Option(
            "--reasons/--no-reasons",
            help="Explain every score (default: scoring.reasons).",
            show_default=False,
        ),
    ] = None,
    chunk_leads: Annotated[
        int | None,
        typer.Option(
            "--chunk-leads",
            min=1,
            help="Open leads per chunk (default: scoring.chunk_leads).",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Keep the chunks an interrupted run finished."),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing --out folder.")
    ] = False,
) -> None:
    """Score every open lead: probability, tier, route, reasons; nothing lost."""
    from predscore.scoring import score_leads

    with _errors():
        config = _config()
        rules = _rules(config, rules_file)
        store = (
            _store(config) if config.store.pipeline or config.store.history else None
        )
        with _progress() as bar:
            task = bar.add_task("scoring", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=max(total, 1))

            manifest = score_leads(
                data,
                out,
                config,
                _as_of(as_of),
                model=model,
                rules=rules,
                rules_only=rules_only,
                validated=validated,
                engine=engine.value,
                fmt=fmt.value,
                previous=previous,
                reasons=reasons,
                chunk_leads=chunk_leads,
                resume=resume,
                overwrite=overwrite,
                now=pd.Timestamp(datetime.now(UTC)),
                say=lambda line: err_console.print(
                    f"[yellow]{line}[/]", highlight=False
                ),
                progress=advance,
                store=store,
            )
        _report(manifest, out)


def _report(manifest: dict, out: Path) -> None:
    counts = manifest["counts"]
    console.print(
        f"scored [bold]{counts['scored']:,}[/] of {counts['open']:,} open leads "
        f"({manifest['mode']}: {manifest['model']['version']}); rejected "
        f"{counts['rejected']:,}; closed {counts['closed']:,}; "
        f"not yet created {counts['not_yet_created']:,}; "
        f"in {counts['in']:,} = scored + rejected + closed + not yet created"
    )
    name = next(iter(manifest["outputs"]))
    console.print(
        f"outputs in {out}/: {name}, rejections.parquet, manifest.json "
        f"({manifest['timings'].get('chunks', 0):.1f} s scoring)"
    )
    if manifest["counts"]["rejection_rows"]:
        console.print(
            f"{manifest['counts']['rejection_rows']:,} rejection row(s): "
            f"see {out}/rejections.parquet"
        )


class Destination(StrEnum):
    salesforce = "salesforce"
    hubspot = "hubspot"
    sql = "sql"


@app.command("export")
def export_command(
    scores: Annotated[
        Path, typer.Option("--scores", help="Folder of a scoring run (score --out).")
    ],
    to: Annotated[Destination, typer.Option("--to", help="Where the scores go.")],
    config_file: Annotated[
        Path,
        typer.Option(
            "--config", help="Export configuration, e.g. configs/export/NAME.yaml."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder of the files (salesforce, hubspot); default SCORES/export.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write a scoring run back to the CRM: Salesforce or HubSpot import files, or
    an upsert into SQL tables."""
    from predscore.config import load_export_config
    from predscore.errors import ConfigError
    from predscore.export import export_scores

    with _errors():
        config = load_export_config(config_file)
        if config.target != to.value:
            raise ConfigError(
                f"{config_file}: target {config.target!r} but --to {to.value}"
            )
        with err_console.status(f"exporting {scores} to {to.value}"):
            result = export_scores(scores, config, out)
        if result.sql:
            counts = result.sql
            console.print(
                f"run {result.run_id}: {result.leads:,} leads upserted; history "
                f"+{counts['history_added']:,} rows ({counts['scores_rows']:,} leads "
                f"and {counts['history_rows']:,} history rows in the tables)"
            )
        else:
            console.print(
                f"run {result.run_id}: {result.leads:,} leads → "
                + ", ".join(str(p) for p in result.files)
            )
