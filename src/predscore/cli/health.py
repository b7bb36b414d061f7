"""Model health commands: monitor, compare."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from predscore.cli._app import (
    AsOfOption,
    DataOption,
    ModelOption,
    ValidatedOption,
    _as_of,
    _config,
    _errors,
    _frame_table,
    app,
    console,
    err_console,
)

ALERT_EXIT_CODE = 3


@app.command("monitor")
def monitor(
    data: DataOption,
    scores: Annotated[
        Path,
        typer.Option(
            "--scores",
            help="A scoring run (`score --out`) or a folder of runs: the newest is "
            "checked, the earlier ones give the realised performance.",
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for monitor.json and monitor.html.")
    ],
    model: ModelOption = None,
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            help="Folder of earlier scoring runs (default: the runs beside --scores).",
            show_default=False,
        ),
    ] = None,
    validated: ValidatedOption = False,
    as_of: AsOfOption = None,
    no_mlflow: Annotated[
        bool, typer.Option("--no-mlflow", help="Do not log the figures to MLflow.")
    ] = False,
) -> None:
    """Feature drift, score shift and realised performance; exit 3 on an alert.

    The model defaults to the one named by the scoring run's manifest.
    """
    from predscore.monitor import monitor_model

    with _errors():
        config = _config()
        with err_console.status("monitoring") as status:
            result = monitor_model(
                data,
                scores,
                out,
                config,
                _as_of(as_of),
                model=model,
                history=history,
                validated=validated,
                log_to_mlflow=not no_mlflow,
                progress=status.update,
            )
        doc = result.document
        drift = result.drift.head(10).loc[
            :, ["feature", "psi", "js", "moved_bin", "reference_share", "current_share"]
        ]
        console.print(
            _frame_table(
                drift,
                f"Most drifted features: {doc['drift']['rows']:,} open leads "
                f"against {doc['training']['rows']:,} training rows",
            )
        )
        shift = doc["scores_shift"]
        line = (
            f"scores: mean probability {shift['current']['mean_probability']:.3f} "
            f"(training {shift['training']['mean_probability']:.3f}); PSI against "
            f"training {shift['vs_training']['probability']['psi']:.3f} (score), "
            f"{shift['vs_training']['route']['psi']:.3f} (route)"
        )
        if shift["vs_previous"]:
            line += (
                f"; against the previous run "
                f"{shift['vs_previous']['probability']['psi']:.3f} (score)"
            )
        console.print(escape(line), highlight=False)
        months = doc["realised"]["months"]
        if months:
            import pandas as pd

            view = pd.DataFrame(months).loc[
                :,
                [
                    "month",
                    "scored",
                    "judged",
                    "predicted_rate",
                    "actual_rate",
                    "roc_auc",
                    "brier",
                    "ece",
                ],
            ]
            console.print(
                _frame_table(
                    view.astype(object).where(view.notna(), "–"),
                    "Realised performance of earlier runs (judged leads)",
                )
            )
        where = out / "monitor.html"
        logged = (
            f"; metrics on MLflow run {doc['mlflow_run']}" if doc["mlflow_run"] else ""
        )
        console.print(escape(f"monitor → {where}, {out / 'monitor.json'}{logged}"))
        if result.alerts:
            reason = "; ".join(result.alerts)
            err_console.print(
                f"[bold red]alert:[/] {escape(reason)}",
                markup=True,
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(code=ALERT_EXIT_CODE)


@app.command("compare")
def compare(
    data: DataOption,
    champion: Annotated[
        str | None,
        typer.Option(
            "--champion",
            help="Bundle folder or MLflow model URI (default: models:/NAME@champion).",
            show_default=False,
        ),
    ] = None,
    challenger: Annotated[
        str | None,
        typer.Option(
            "--challenger",
            help="Bundle folder or MLflow model URI (default: models:/NAME@challenger).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Also write compare.json here.", show_default=False),
    ] = None,
    validated: ValidatedOption = False,
    as_of: AsOfOption = None,
) -> None:
    """Champion against challenger on the same newest labelled leads (paired
    bootstrap by lead); the verdict is what `promote` checks."""
    import pandas as pd

    from predscore.experiment import compare_registered

    with _errors():
        config = _config()
        with err_console.status("comparing") as status:
            found = compare_registered(
                data,
                config,
                _as_of(as_of),
                champion=champion,
                challenger=challenger,
                validated=validated,
                out=out,
                progress=status.update,
            )
        doc = found.document
        view = pd.DataFrame(doc["intervals"]).assign(
            interval=lambda t: [
                f"[{lo:+.3f}, {hi:+.3f}]"
                for lo, hi in zip(t["low"], t["high"], strict=True)
            ]
        )
        console.print(
            _frame_table(
                view.loc[
                    :,
                    [
                        "metric",
                        "champion",
                        "challenger",
                        "difference",
                        "interval",
                        "verdict",
                    ],
                ],
                f"Challenger minus champion on the {doc['leads']:,} newest labelled "
                f"leads ({doc['rows']:,} rows, {doc['wins']:,} won; created "
                f"{doc['created_from'][:10]} to {doc['created_to'][:10]})",
            )
        )
        if doc.get("segments"):
            rows = []
            for entry in doc["segments"]:
                name = "(none)" if entry["segment"] is None else entry["segment"]
                for r in entry.get("intervals", []):
                    rows.append(
                        {
                            "segment": name,
                            "leads": entry["leads"],
                            "metric": r["metric"],
                            "champion": r["champion"],
                            "challenger": r["challenger"],
                            "interval": f"[{r['low']:+.3f}, {r['high']:+.3f}]",
                            "verdict": r["verdict"],
                        }
                    )
            console.print(
                _frame_table(
                    pd.DataFrame(rows),
                    f"Per segment ({doc['segments'][0]['column']})",
                )
            )
        console.print(
            escape(f"champion {doc['champion']}; challenger {doc['challenger']}"),
            highlight=False,
        )
        for note in found.notes:
            console.print(escape(note), highlight=False)
