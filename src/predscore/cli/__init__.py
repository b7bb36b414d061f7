"""Command line of predscore (typer).

Commands are thin: parse options, load the configuration, call one library function and
report with rich. Errors raised on purpose (:class:`~predscore.errors.PredscoreError`)
end the command with a one-line reason on stderr and exit code 1. This package and
``serve/`` are the only places that read the clock and configure logging.
"""

from predscore.cli import (  # noqa: F401  (registers the commands)
    data,
    explain,
    health,
    model,
    reps,
    score,
    serve,
)
from predscore.cli._app import app, main

__all__ = ["app", "main"]
