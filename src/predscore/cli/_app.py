"""The typer application and what every command shares (options, errors, config).

Commands are thin: parse options, load the configuration, call one library function and
report with rich. Errors raised on purpose (:class:`~predscore.errors.PredscoreError`)
end the command with a one-line reason on stderr and exit code 1. This module and
``serve/`` are the only places that read the clock and configure logging.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from predscore.config import (
    PredscoreConfig,
    RulesConfig,
    find_config_dir,
    load_config,
    load_rules,
)
from predscore.errors import PredscoreError

__all__ = ["app", "console", "err_console", "main"]

app = typer.Typer(
    name="predscore",
    help="Predictive B2B lead scoring: learn from won/lost leads which open leads close.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
_state: dict[str, Path | bool | None] = {"config_dir": None, "entries": None}

ConfigDirOption = Annotated[
    Path | None,
    typer.Option(
        "--config-dir",
        help="Folder of YAML configs (default: $PREDSCORE_CONFIG_DIR, then ./configs).",
        show_default=False,
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Cutoff time, ISO 8601 (e.g. 2026-09-30 or 2026-09-30T12:00:00Z); "
        "naive times are UTC. Default: now (labels with a horizon: never after the "
        "newest event of the data).",
        show_default=False,
    ),
]


@app.callback()
def _root(
    config_dir: ConfigDirOption = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress.")
    ] = False,
    entries: Annotated[
        bool | None,
        typer.Option(
            "--entries/--no-entries",
            help="validate, features, train and score read the reps' qualification "
            "answers of the store as qualifications rows (default: store.pipeline).",
            show_default=False,
        ),
    ] = None,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    _state["config_dir"] = config_dir
    _state["entries"] = entries


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Turn a PredscoreError, or an operating-system error (disk full, folder not
    writable), into a one-line message on stderr and exit code 1."""
    try:
        yield
    except PredscoreError as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=1) from None
    except OSError as exc:  # a full disk, a folder that cannot be written...
        where = exc.filename or "a file"
        reason = escape(f"cannot write or read {where}: {exc.strerror or exc}")
        err_console.print(
            f"[bold red]error:[/] {reason}",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=1) from None


def _config_dir() -> Path | None:
    folder = _state["config_dir"]
    return find_config_dir(folder if isinstance(folder, Path) else None)


def _config(overrides: dict | None = None) -> PredscoreConfig:
    config = load_config(_config_dir(), overrides)
    if _state["entries"] is not None:
        store = config.store.model_copy(update={"pipeline": _state["entries"]})
        config = config.model_copy(update={"store": store})
    return config


def _store(config: PredscoreConfig):
    """The store of what reps write (:func:`predscore.store.open_store`)."""
    import os

    from predscore.store import open_store

    return open_store(config.store, os.environ)


def _feedback(config: PredscoreConfig) -> pd.DataFrame | None:
    """The reps' feedback when a store exists (never created just to be read)."""
    import os

    if not (os.environ.get(config.store.url_env) or config.store.path.is_file()):
        return None
    from predscore.store import read_feedback

    return read_feedback(_store(config))


def _entries(config: PredscoreConfig) -> pd.DataFrame | None:
    """The reps' answers as qualifications rows when the pipeline reads them."""
    if not config.store.pipeline:
        return None
    from predscore.store import qualification_rows

    return qualification_rows(_store(config))


def _as_of(value: str | None) -> pd.Timestamp:
    if value is None:
        return pd.Timestamp(datetime.now(UTC)).floor("s")
    try:
        stamp = pd.Timestamp(value)
    except ValueError as exc:
        raise PredscoreError(f"--as-of: cannot parse {value!r} as a timestamp") from exc
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


DataOption = Annotated[
    Path, typer.Option("--data", help="Folder of the five canonical tables.")
]
ValidatedOption = Annotated[
    bool,
    typer.Option(
        "--validated",
        help="The folder is already validated (`validate --out`): read it from "
        "Parquet in bounded memory, skipping validation.",
    ),
]
RulesOption = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        help="Rule baseline (default: the rules section of the configuration, e.g. "
        "configs/rules.yaml).",
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


def _rules(config: PredscoreConfig, path: Path | None) -> RulesConfig:
    return load_rules(path) if path is not None else config.rules


def _dataset(data: Path, validated: bool, as_of: pd.Timestamp, config: PredscoreConfig):
    """The validated tables of a command (:func:`predscore.read_dataset`), with the
    count of rejected rows on stderr (the standard output may be a JSON document)."""
    from predscore.schema.validate import read_dataset

    with err_console.status("validating"):
        dataset = read_dataset(
            data,
            as_of,
            config.validation,
            validated=validated,
            entries=None if validated else _entries(config),
        )
    if dataset.rejections is not None and len(dataset.rejections):
        err_console.print(
            f"{len(dataset.rejections):,} input rows rejected by validation "
            f"(see `predscore validate --data {data}`)"
        )
    return dataset


def _frame_table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(
            *(
                f"{v:,.3f}"
                if isinstance(v, float)
                else f"{v:,}"
                if isinstance(v, int)
                else str(v)
                for v in row
            )
        )
    return table


def _progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def main() -> None:
    """Entry point of the ``predscore`` console script."""
    app()
