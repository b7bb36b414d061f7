"""Model commands: train, evaluate, backtest, promote."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from predscore.cli._app import (
    AsOfOption,
    _as_of,
    _config,
    _errors,
    _frame_table,
    app,
    console,
    err_console,
)
from predscore.config import PredscoreConfig, RulesConfig, load_rules, load_section
from predscore.errors import InsufficientHistoryError

DataOption = Annotated[
    Path, typer.Option("--data", help="Folder of the five canonical tables.")
]
ValidatedOption = Annotated[
    bool,
    typer.Option(
        "--validated",
        help="The folder is already validated (`validate --out`): skip validation.",
    ),
]
RulesOption = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        help="Rule baseline to compare with (default: the rules section of the "
        "configuration, e.g. configs/rules.yaml).",
        show_default=False,
    ),
]
ModelConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Model configuration file (default: the model section, configs/model.yaml).",
        show_default=False,
    ),
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="Bundle folder or MLflow model URI (models:/predscore@champion, "
        "runs:/ID/model). Default: champion, then challenger, then models/champion.",
        show_default=False,
    ),
]


def _model_config(config_file: Path | None) -> PredscoreConfig:
    config = _config()
    if config_file is not None:
        config = config.model_copy(update={"model": load_section(config_file, "model")})
    return config


def _rules(config: PredscoreConfig, path: Path | None) -> RulesConfig:
    return load_rules(path) if path is not None else config.rules


def _tables(data: Path, validated: bool, as_of: str | None, config: PredscoreConfig):
    """The validated tables: the folder itself, or validated in memory first."""
    if validated:
        return data
    from predscore.schema.validate import load_dataset

    with err_console.status("validating"):
        result = load_dataset(data, _as_of(as_of), config.validation)
    if len(result.rejections):
        console.print(
            f"{len(result.rejections):,} input rows rejected by validation "
            f"(see `predscore validate --data {data}`)"
        )
    return result.tables


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
    return config, _rules(config, rules_file), _tables(data, validated, as_of, config)


def _data_hash(data: Path) -> dict[str, Any]:
    from predscore.io.parquet import file_sha256

    files = sorted(p for p in data.iterdir() if p.suffix in {".parquet", ".csv"})
    return {"folder": str(data), "files": {p.name: file_sha256(p) for p in files}}


def _write_json(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str, sort_keys=False))


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
        evaluation_figures,
        metrics_table,
        segments_table,
        train_model,
    )
    from predscore.model.tracking import log_training

    with _errors():
        config, rules, tables = _inputs(data, config_file, rules_file, validated, as_of)
        cutoff = _cutoff(tables, as_of, config.features.horizon_days)
        with err_console.status("training") as status:
            try:
                result = train_model(tables, config, rules, status.update, cutoff)
            except InsufficientHistoryError as exc:
                console.print(f"[yellow]{exc}[/]")
                return
            from predscore.cli.explain import global_artifacts

            status.update("explaining the test period (global view)")
            shap_figures, shap_documents = global_artifacts(
                tables, result, config, cutoff
            )
            status.update("logging the run to MLflow")
            started = time.perf_counter()
            metrics = {
                **result.metrics,
                "timings": result.timings,
                "parts": result.parts,
            }
            logged = log_training(
                result.bundle,
                config.model.tracking,
                params={
                    "model": config.model.model_dump(mode="json", exclude={"tracking"}),
                    "selected": result.metrics["selected"],
                    "split_strategy": result.strategy,
                    "seed": config.seed,
                },
                metrics={
                    "cv": {k: metrics[k] for k in ("model", "rules") if k in metrics}
                }
                | {"timings": result.timings},
                documents={
                    "metrics.json": json.loads(json.dumps(metrics, default=str)),
                    "config/predscore.json": config.model_dump(mode="json"),
                    "features.json": {"features": result.bundle.model.features_},
                    "data.json": _data_hash(data),
                    "grid.json": result.grid.to_dict(orient="records"),
                    "candidates.json": result.candidates.to_dict(orient="records"),
                    **shap_documents,
                },
                figures=evaluation_figures(result.test, result.importance)
                | shap_figures,
                example=result.example,
                tags={"data": str(data)},
            )
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
            f"(+{time.perf_counter() - started:.1f} s MLflow)",
            highlight=False,
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
    import matplotlib.pyplot as plt

    from predscore.experiment import (
        evaluate_model,
        evaluation_figures,
        intervals_table,
        metrics_table,
        segments_table,
    )
    from predscore.model.tracking import resolve_model

    with _errors():
        config = _config()
        rules = _rules(config, rules_file)
        with err_console.status("loading the model"):
            bundle, origin = resolve_model(model, config.model.tracking)
        tables = _tables(data, validated, as_of, config)
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
        _write_json(out / "metrics.json", metrics)
        figures = evaluation_figures(scored, bundle.model.feature_importance())
        (out / "plots").mkdir(parents=True, exist_ok=True)
        for name, figure in figures.items():
            figure.savefig(out / "plots" / name, dpi=110)
            plt.close(figure)
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
    from predscore.experiment import backtest, intervals_table

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
        if out is not None:
            _write_json(
                out / "backtest.json",
                {
                    "folds": result.folds.to_dict(orient="records"),
                    "mean": result.mean.to_dict(orient="records"),
                    "skipped": result.skipped,
                    "intervals": result.intervals,
                },
            )
            console.print(f"backtest → {out / 'backtest.json'}")


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
        typer.Option("--version", help="Model version (default: the challenger)."),
    ] = None,
) -> None:
    """Make a registered version the champion and export it to models/champion."""
    from predscore.model.tracking import promote

    with _errors():
        config = _config()
        promoted, export = promote(config.model.tracking, version)
        console.print(
            f"model '{config.model.tracking.registered_model}' version {promoted} is "
            f"now champion; exported to {export}"
        )
