"""Output commands for reps: serve (web app and scoring API) and report (HTML file)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from predscore.cli._app import _config, _config_dir, _errors, app, console
from predscore.errors import DataValidationError

ScoresOption = Annotated[
    Path | None,
    typer.Option(
        "--scores",
        help="Folder written by `predscore score --out`, or a folder of such folders "
        "(the latest as-of is shown). Default: serve.scores of the configuration.",
        show_default=False,
    ),
]


def _overrides(**values: Any) -> dict[str, Any]:
    return {"serve": {k: v for k, v in values.items() if v is not None}}


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            help="Address to listen on (default: serve.host).",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="Port (default: serve.port).", show_default=False),
    ] = None,
    scores: ScoresOption = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Model of POST /score: bundle folder or MLflow URI (default: the champion).",
            show_default=False,
        ),
    ] = None,
    rules_only: Annotated[
        bool, typer.Option("--rules-only", help="POST /score with the rules alone.")
    ] = False,
    no_score_api: Annotated[
        bool,
        typer.Option(
            "--no-score-api", help="Pages only: no POST /score, no model loaded."
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Server processes, each with its own model (default: serve.workers).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Web app for reps (queue, lead pages) and POST /score; needs PREDSCORE_API_TOKEN."""
    from predscore.serve import run_server

    with _errors():
        overrides = _overrides(
            host=host,
            port=port,
            scores=None if scores is None else str(scores),
            model=model,
            rules_only=True if rules_only else None,
            score_api=False if no_score_api else None,
            workers=workers,
        )
        config = _config(overrides)
        settings = config.serve
        console.print(
            f"predscore serve on http://{settings.host}:{settings.port} with "
            f"{settings.workers} worker(s) (queue: /queue, API docs: /docs; scores: "
            f"{settings.scores or 'none yet'})",
            highlight=False,
        )
        run_server(config, _config_dir(), overrides)


@app.command()
def report(
    scores: Annotated[
        Path,
        typer.Option(
            "--scores",
            help="Folder written by `predscore score --out` (or a folder of them: the "
            "latest).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    top: Annotated[
        int | None,
        typer.Option(
            "--top",
            min=1,
            help="Cards for the top N leads only (default: serve.report_max_leads, "
            "else all); the queue lists every lead.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """One self-contained HTML file: the ranked queue and a card per lead."""
    from predscore.io import write_text
    from predscore.pages import find_batch, read_batch
    from predscore.report import render_report

    with _errors():
        config = _config()
        folder = find_batch(scores)
        if folder is None:
            raise DataValidationError(
                f"{scores}: no scores.parquet here or in a sub-folder; "
                "run `predscore score --out DIR` first"
            )
        batch = read_batch(folder)
        now = pd.Timestamp(datetime.now(UTC)).floor("s")
        html = render_report(
            batch,
            config.explain,
            generated_at=now,
            top=top or config.serve.report_max_leads,
        )
        write_text(html, out)
    cards = min(
        len(batch.scores), top or config.serve.report_max_leads or len(batch.scores)
    )
    console.print(
        f"report of {len(batch.scores):,} leads ({cards:,} cards) from {folder} → {out} "
        f"({len(html.encode()) / 1e6:.1f} MB)",
        highlight=False,
    )
