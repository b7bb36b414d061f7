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
    _as_of,
    _config,
    _errors,
    _progress,
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
    from predscore.errors import PredscoreError
    from predscore.scoring import Scorer, ScoringError, prepare_run, run_scoring

    with _errors():
        config = _config()
        settings = config.scoring
        cutoff = _as_of(as_of)
        now = pd.Timestamp(datetime.now(UTC))
        if cutoff > now:
            raise ScoringError(
                f"--as-of {cutoff} is in the future (now {now.floor('s')}): "
                "scores would use events that have not happened"
            )
        if not data.is_dir():
            raise PredscoreError(f"{data}: data folder not found")
        rules = _rules(config, rules_file)
        scorer = Scorer.load(config, model, rules_only=rules_only, rules=rules)
        if scorer.mode == "rules" and not rules_only:
            err_console.print(
                "[yellow]no trained model found: scoring with the rules alone[/] "
                "(train one with `predscore train`)"
            )
        tables, rejections = _tables(data, validated, cutoff, config)
        explain = settings.reasons if reasons is None else reasons
        run = prepare_run(
            data=data,
            tables=tables,
            out=out,
            as_of=cutoff,
            scorer=scorer,
            chunk_leads=chunk_leads or settings.chunk_leads,
            reasons=explain,
            owner_column=settings.owner_column,
            settings={
                "rules": rules.model_dump(mode="json"),
                "explain": config.explain.model_dump(mode="json"),
                "features": scorer.features.model_dump(mode="json"),
                "icp": scorer.icp.model_dump(mode="json"),
            },
            validation_rejections=rejections,
            overwrite=overwrite,
            resume=resume,
        )
        if run.resumed:
            console.print(
                f"resuming: {len(run.resumed)} of {len(run.chunks)} chunk(s) already done"
            )
        if engine is Engine.spark:
            from predscore.scoring.spark import run_spark

            manifest = run_spark(
                run, settings, fmt=fmt.value, previous=previous, console=err_console
            )
        else:
            with _progress() as bar:
                task = bar.add_task("scoring", total=max(len(run.chunks), 1))

                def advance(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=max(total, 1))

                manifest = run_scoring(
                    run, fmt=fmt.value, previous=previous, progress=advance
                )
        _report(manifest, out)


def _tables(data: Path, validated: bool, cutoff: pd.Timestamp, config):
    """The validated tables (folder or frames) and the validation rejections."""
    if validated:
        return data, None
    from predscore.schema.validate import load_dataset

    with err_console.status("validating"):
        result = load_dataset(data, cutoff, config.validation)
    return result.tables, result.rejections


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
