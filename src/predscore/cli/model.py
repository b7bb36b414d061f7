"""Model commands: train, evaluate, backtest, promote."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape

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
    _feedback,
    _frame_table,
    _rules,
    app,
    console,
    err_console,
)
from predscore.config import PredscoreConfig, RulesConfig, load_section
from predscore.errors import InsufficientHistoryError

ModelConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Model configuration file (default: the model section, configs/model.yaml).",
        show_default=False,
    ),
]


def _model_config(config_file: Path | None) -> PredscoreConfig:
    config = _config()
    if config_file is not None:
        config = config.model_copy(update={"model": load_section(config_file, "model")})
    return config


def _cutoff(
    tables: Any, as_of: str | None, horizon_days: float | None
) -> pd.Timestamp | None:
    """The data's cutoff for horizon labels (``features.horizon_days``; None without
    one): ``--as-of``, or the newest event of the data when it is not given or later
    than the data (the time of the export is not known otherwise, and a later cutoff
    would read "not won" for windows the export cannot see the end of)."""
    from predscore.features import label_cutoff

    if horizon_days is None:
        return None
    cutoff, note = label_cutoff(tables, as_of)
    if note:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    return cutoff


def _inputs(
    data: Path,
    config_file: Path | None,
    rules_file: Path | None,
    validated: bool,
    as_of: str | None,
) -> tuple[PredscoreConfig, RulesConfig, Any]:
    """Configuration, rule baseline and validated tables of a model command."""
    config = _model_config(config_file)
    dataset = _dataset(data, validated, _as_of(as_of), config)
    return config, _rules(config, rules_file), dataset.tables


@app.command("train")
def train(
    data: DataOption,
    config_file: ModelConfigOption = None,
    rules_file: RulesOption = None,
    validated: ValidatedOption = False,
    as_of: AsOfOption = None,
) -> None:
    """Train the calibrated closing-probability model; log and register it in MLflow."""
    from predscore.experiment import (
        metrics_table,
        segment_report_table,
        segments_table,
        train_and_register,
    )

    with _errors():
        config, rules, tables = _inputs(data, config_file, rules_file, validated, as_of)
        cutoff = _cutoff(tables, as_of, config.features.horizon_days)
        with err_console.status("training") as status:
            try:
                run = train_and_register(
                    data,
                    tables,
                    config,
                    rules,
                    cutoff,
                    status.update,
                    feedback=_feedback(config),
                )
            except InsufficientHistoryError as exc:
                console.print(f"[yellow]{exc}[/]")
                return
        result, logged = run.result, run.logged
        for note in run.notes:
            console.print(f"[yellow]{note}[/]")
        console.print(
            _frame_table(
                metrics_table(result.metrics),
                "Cross-validation (out-of-fold rows; honest figures: `predscore evaluate`)",
            )
        )
        segments = segments_table(result.metrics)
        if segments is not None:
            console.print(_frame_table(segments, "Trap segments (out-of-fold rows)"))
        if len(result.grid):
            console.print(
                _frame_table(result.grid, "Engagement grid (cross-validated)")
            )
        console.print(
            _frame_table(
                result.candidates.loc[
                    :,
                    [
                        c
                        for c in (
                            "candidate",
                            "family",
                            "recency_half_life_days",
                            "trees",
                            "cv_score",
                            "cv_roc_auc",
                        )
                        if c in result.candidates.columns
                    ],
                ].head(8),
                "Candidates (time-series cross-validation; lower score is better)",
            )
        )
        sel = result.metrics["selected"]
        horizon = result.bundle.features.horizon_days
        label = "won" if horizon is None else f"won within {horizon:g} days"
        labelled = result.parts["labelled"]
        immature = result.parts.get("immature", {}).get("leads", 0)
        console.print(
            f"label: {label}; learnt from {labelled['leads']:,} labelled leads "
            f"({labelled['wins']:,} won), {len(result.metrics['folds'])} folds"
            + (f"; {immature:,} too recent to judge, left out" if immature else ""),
            highlight=False,
        )
        calibration = result.metrics["calibration"]
        recency = calibration["recency_half_life_days"]
        console.print(
            f"chose {sel['candidate']} ({sel['family']}), engagement half-life "
            f"{sel['half_life_days']:g} d, windows {sel['windows_days']}; calibration "
            f"{calibration['method']}"
            + ("" if recency is None else f" (recency half-life {recency:g} d)")
            + f"; split {result.strategy}; trained in "
            f"{result.timings['total_s']:.1f} s "
            f"(+{run.logging_seconds:.1f} s MLflow)",
            highlight=False,
        )
        if result.metrics.get("segment_models"):
            console.print(
                _frame_table(
                    segment_report_table(result.metrics["segment_models"]),
                    f"Segment models ({config.model.segments.column}): a model of "
                    "their own above the minimums and better out of fold, else the "
                    "global model",
                )
            )
        for warning in result.metrics.get("warnings", []):
            console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
        console.print(
            f"run {logged.run_id} → model '{logged.model_name}' version "
            f"{logged.version} (alias challenger) in {logged.tracking_uri}"
        )


@app.command("evaluate")
def evaluate(
    data: DataOption,
    out: Annotated[Path, typer.Option("--out", help="Folder for metrics.json, plots.")],
    model: ModelOption = None,
    rules_file: RulesOption = None,
    validated: ValidatedOption = False,
    as_of: AsOfOption = None,
) -> None:
    """Model and rules side by side on the model's test leads: metrics.json + plots."""
    from predscore.experiment import (
        evaluate_model,
        intervals_table,
        metrics_table,
        save_evaluation,
        segment_models_table,
        segments_table,
    )
    from predscore.model.tracking import resolve_model

    with _errors():
        config = _config()
        rules = _rules(config, rules_file)
        with err_console.status("loading the model"):
            bundle, origin = resolve_model(model, config.model.tracking)
        tables = _dataset(data, validated, _as_of(as_of), config).tables
        with err_console.status("evaluating") as status:
            # given: read as for train; not given: the cutoff of the model's training
            given = None if as_of is None else bundle.features.horizon_days
            metrics, scored = evaluate_model(
                tables,
                bundle,
                config,
                rules,
                cutoff=_cutoff(tables, as_of, given),
                progress=status.update,
            )
        metrics["model_uri"] = origin
        save_evaluation(out, metrics, scored, bundle)
        periods = metrics["origins"]
        console.print(
            _frame_table(
                metrics_table(metrics),
                f"Out-of-time test: newest leads, retrained at {len(periods)} "
                f"origin(s) ({origin}'s procedure)",
            )
        )
        segments = segments_table(metrics)
        if segments is not None:
            console.print(_frame_table(segments, "Trap segments"))
        if metrics["intervals"]:
            console.print(
                _frame_table(
                    intervals_table(metrics["intervals"]),
                    "Model minus each other scorer (paired bootstrap by lead)",
                )
            )
        if metrics.get("segment_models"):
            console.print(
                _frame_table(
                    segment_models_table(metrics["segment_models"]),
                    "Segment models minus the global model, per segment",
                )
            )
        console.print(f"metrics → {out / 'metrics.json'}; plots → {out / 'plots'}")


@app.command("backtest")
def backtest_command(
    data: DataOption,
    folds: Annotated[int, typer.Option("--folds", help="Number of periods.")] = 4,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write backtest.json here.")
    ] = None,
    config_file: ModelConfigOption = None,
    rules_file: RulesOption = None,
    validated: ValidatedOption = False,
    as_of: AsOfOption = None,
) -> None:
    """Rolling-origin backtest: train before period k, test on period k, K times."""
    from predscore.experiment import (
        backtest,
        intervals_table,
        save_backtest,
        segment_models_table,
    )

    with _errors():
        config, rules, tables = _inputs(data, config_file, rules_file, validated, as_of)
        cutoff = _cutoff(tables, as_of, config.features.horizon_days)
        with err_console.status("backtesting") as status:
            result = backtest(tables, config, folds, rules, status.update, cutoff)
        for line in result.skipped:
            console.print(f"[yellow]skipped {line}[/]")
        if len(result.folds):
            console.print(_frame_table(_fold_view(result.folds), "Per fold"))
            console.print(_frame_table(_mean_view(result.mean), "Over the folds"))
        if result.intervals:
            console.print(
                _frame_table(
                    intervals_table(result.intervals),
                    "Model minus each other scorer, folds pooled (paired bootstrap)",
                )
            )
        if result.segments:
            console.print(
                _frame_table(
                    segment_models_table(result.segments),
                    "Segment models minus the global model, per segment, folds pooled",
                )
            )
        if out is not None:
            path = save_backtest(out, result)
            console.print(f"backtest → {path}")


def _fold_view(folds: pd.DataFrame) -> pd.DataFrame:
    """One row per fold, model and rules side by side (fits 80 columns)."""
    wide = folds.pivot(
        index="fold", columns="scorer", values=["roc_auc", "brier", "ece"]
    )
    view = folds.drop_duplicates("fold").set_index("fold")
    out = pd.DataFrame(
        {
            "origin": view["origin"].dt.strftime("%Y-%m-%d"),
            "train": view["train_leads"],
            "test": view["test_leads"],
        }
    )
    for metric, scorer in wide.columns:
        out[f"{metric.replace('roc_', '')} {scorer}"] = wide[(metric, scorer)]
    return out.reset_index()


def _mean_view(mean: pd.DataFrame) -> pd.DataFrame:
    """Metric rows, one "mean ± std" column per scorer."""
    rows = []
    for metric in ("roc_auc", "pr_auc", "brier", "ece", "lift_top10", "capture_top20"):
        row = {"metric": metric}
        for record in mean.to_dict(orient="records"):
            std = record[f"{metric}_std"]
            spread = f" ± {std:.3f}" if std is not None else ""
            row[record["scorer"]] = f"{record[f'{metric}_mean']:.3f}{spread}"
        rows.append(row)
    return pd.DataFrame(rows)


@app.command("promote")
def promote_command(
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            help="Model version (default: the challenger); an older one reverts.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Promote even a version `compare` found significantly worse than "
            "the champion.",
        ),
    ] = False,
) -> None:
    """Make a registered version the champion and export it to models/champion.

    Refused when `predscore compare` found the version significantly worse than
    the current champion (monitor.compare.gate_metric), unless --force.
    """
    from predscore.experiment import promote_checked

    with _errors():
        config = _config()
        done = promote_checked(config, version, force=force)
        console.print(
            f"model '{config.model.tracking.registered_model}' version {done.version} "
            f"is now champion; exported to {done.export}"
        )
        console.print(escape(done.note), highlight=False)
