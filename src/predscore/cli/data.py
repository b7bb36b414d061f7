"""Data commands: demo-data, ingest, validate, features."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from predscore.cli._app import (
    AsOfOption,
    _as_of,
    _config,
    _dataset,
    _entries,
    _errors,
    _frame_table,
    _progress,
    app,
    console,
    err_console,
)


@app.command("demo-data")
def demo_data(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write the five tables to.")
    ],
    leads: Annotated[
        int | None,
        typer.Option("--leads", min=1, help="Number of leads (default: demo.yaml)."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = None,
    drift: Annotated[
        str | None,
        typer.Option(
            "--drift",
            help="Inject a drift over time: 'sector' (a sector's share grows) or "
            "'channel' (a channel replaces another); settings in demo.yaml `drift`.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Generate a synthetic B2B CRM (accounts, leads, activities, qualifications, outcomes)."""
    from predscore.demo import generate_demo_data

    with _errors():
        overrides: dict = {
            k: v for k, v in {"leads": leads, "seed": seed}.items() if v is not None
        }
        if drift is not None:
            overrides["drift"] = {"kind": drift}
        config = _config({"demo": overrides} if overrides else None)
        started = time.perf_counter()
        with _progress() as progress:
            task = progress.add_task("generating leads", total=config.demo.leads)
            summary = generate_demo_data(
                out,
                config.demo,
                config.icp,
                lambda done: progress.update(task, completed=done),
            )
        elapsed = time.perf_counter() - started
        counts = pd.DataFrame(
            {"table": list(summary.rows), "rows": list(summary.rows.values())}
        )
        console.print(
            _frame_table(counts, f"Demo CRM written to {out} in {elapsed:.1f} s")
        )
        console.print(
            f"leads: {config.demo.leads:,} — won {summary.won:,}, lost {summary.lost:,}, "
            f"open {summary.open:,}; won rate among closed {summary.won_rate:.1%}"
        )
        if config.demo.drift is not None:
            d = config.demo.drift
            what = (
                f"accounts moving to sector {d.sector}"
                if d.kind == "sector"
                else f"activities moving from {d.channel_from} to {d.channel_to}"
            )
            console.print(
                f"drift injected: {what}, from {d.start:.0%} of the span on, up to "
                f"{d.share:.0%} of the new ones at the end"
            )


@app.command("ingest")
def ingest(
    mapping: Annotated[
        Path,
        typer.Option(
            "--mapping", help="Column mapping, e.g. configs/mappings/NAME.yaml."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", help="Folder to write the five tables and reports to."),
    ],
    source: Annotated[
        Path | None,
        typer.Option(
            "--source",
            help="Folder of the export's files (or the file of a one-file export); "
            "not needed when every source of the mapping is an SQL query.",
            show_default=False,
        ),
    ] = None,
    as_of: AsOfOption = None,
) -> None:
    """Import a CRM export through a mapping: canonical tables, rejections and a report."""
    from predscore.ingest import REPORT_FILE, run_ingest

    with _errors():
        config = _config()
        cutoff = _as_of(as_of)
        what = source if source is not None else mapping
        with err_console.status(f"ingesting {what}"):
            result = run_ingest(mapping, source, out, cutoff, config.validation)
        seconds = result.report["seconds"]["total"]
        console.print(
            _frame_table(
                result.summary, f"Ingest of {what} as of {cutoff} in {seconds:.1f} s"
            )
        )
        console.print(_frame_table(result.labels, "Leads by label (source → kept)"))
        leaks = [leak["column"] for leak in result.report["leak_columns"]]
        console.print(f"leak columns dropped: {', '.join(leaks) or 'none'}")
        console.print(
            f"rejections: {len(result.rejections):,} rows → {out / 'rejections.parquet'}; "
            f"report → {out / REPORT_FILE}"
        )


@app.command("features")
def features(
    data: Annotated[
        Path, typer.Option("--data", help="Folder of the five canonical tables.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
    as_of: AsOfOption = None,
    snapshots: Annotated[
        bool,
        typer.Option(
            "--snapshots",
            help="Write training snapshots (one row per closed lead every "
            "snapshot_every_days, with its label) instead of the open leads at --as-of; "
            "with features.horizon_days, also the leads still open, each row labelled "
            "as known at --as-of (default: the newest event).",
        ),
    ] = False,
    validated: Annotated[
        bool,
        typer.Option(
            "--validated",
            help="The folder is already validated (e.g. `validate --out`): stream it "
            "from Parquet in bounded memory, skipping validation.",
        ),
    ] = False,
) -> None:
    """Point-in-time fit, engagement and qualification features as of a cutoff."""
    from predscore.features import export_features, export_snapshots

    with _errors():
        config = _config()
        cutoff = _as_of(as_of)
        started = time.perf_counter()
        source = _dataset(data, validated, cutoff, config).tables
        with err_console.status("building features"):
            if snapshots:
                # with a label horizon, labels known at --as-of (else the newest event)
                known_at = None if as_of is None else cutoff
                rows = export_snapshots(
                    source,
                    out,
                    config.features,
                    config.icp,
                    known_at,
                    engine=config.engine,
                )
            else:
                rows = export_features(
                    source,
                    cutoff,
                    out,
                    config.features,
                    config.icp,
                    engine=config.engine,
                )
        what = "snapshots" if snapshots else f"open leads as of {cutoff}"
        console.print(
            f"{rows:,} rows ({what}) → {out} in {time.perf_counter() - started:.1f} s"
        )


@app.command("validate")
def validate(
    data: Annotated[
        Path, typer.Option("--data", help="Folder of the five canonical tables.")
    ],
    as_of: AsOfOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Also write the validated tables here (and rejections)."
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Exit with code 1 when any row is rejected."),
    ] = False,
    segments: Annotated[
        bool, typer.Option("--segments/--no-segments", help="Print the trap segments.")
    ] = False,
) -> None:
    """Check the tables: structure errors stop; bad rows go to rejections.parquet."""
    from predscore.schema.rejections import write_rejections
    from predscore.schema.store import write_table
    from predscore.schema.validate import load_dataset

    with _errors():
        config = _config()
        cutoff = _as_of(as_of)
        with err_console.status("validating"):
            result = load_dataset(data, cutoff, config.validation, _entries(config))
        target = out or data
        rejections_path = write_rejections(
            result.rejections, target / "rejections.parquet"
        )
        if out is not None:
            for name, frame in result.tables.items():
                write_table(frame, out, name)
        console.print(
            _frame_table(result.summary, f"Validation of {data} as of {cutoff}")
        )
        console.print(
            f"rejections: {len(result.rejections):,} rows → {rejections_path}"
        )
        if segments:
            from predscore.demo.trap import segment_close_rates

            console.print(
                _frame_table(
                    segment_close_rates(result.tables), "Close rate by segment"
                )
            )
        if strict and len(result.rejections):
            raise typer.Exit(code=1)
