"""Commands of what reps write: users (add, remove, list) and the feedback summary."""

from __future__ import annotations

import getpass
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from predscore.cli._app import _config, _errors, _frame_table, app, console
from predscore.errors import StoreError

users_app = typer.Typer(
    help="Users of the pages: reps (their own leads) and admins (every lead).",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")


def _store():
    from predscore.store import open_store

    return open_store(_config().store, os.environ)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _password() -> str:
    """The new password: one line of the standard input when it is not a terminal
    (scripts), else typed twice at a hidden prompt; never an argument."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise StoreError("no password given (type it at the prompt or pipe one line)")
    return password


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Sign-in name (a-z, 0-9, ._-@).")],
    role: Annotated[
        str, typer.Option("--role", help="rep (their own leads) or admin.")
    ] = "rep",
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner",
            help="The CRM owner name of their leads (the scores' owner column); "
            "default: the user name.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Add a user; the password is read from a hidden prompt or one line of stdin."""
    from predscore.store import add_user

    with _errors():
        store = _store()
        user = add_user(
            store,
            username,
            _password(),
            role,
            datetime.now(UTC),
            _actor(),
            owner=owner,
        )
    console.print(
        f"user {user.username} added ({user.role}, owner {user.owner})",
        highlight=False,
    )


@users_app.command("remove")
def users_remove(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
) -> None:
    """Remove a user (their answers and feedback stay, under their name)."""
    from predscore.store import remove_user

    with _errors():
        remove_user(_store(), username, datetime.now(UTC), _actor())
    console.print(f"user {username.strip().lower()} removed", highlight=False)


@users_app.command("list")
def users_list() -> None:
    """List the users: name, role, owner name, when added."""
    from predscore.store import list_users

    with _errors():
        users = list_users(_store())
    frame = pd.DataFrame(
        [
            (u.username, u.role, u.owner, u.created_at.strftime("%Y-%m-%d %H:%M"))
            for u in users
        ],
        columns=["user", "role", "owner", "added (UTC)"],
    )
    console.print(_frame_table(frame, f"{len(frame)} user(s)"))


@app.command()
def feedback(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
) -> None:
    """Reps' feedback on scores: verdicts per reason, per rep and per score band (CSV)."""
    from predscore.store import export_feedback

    with _errors():
        config = _config()
        summary = export_feedback(_store(), config.reps, out)
    total = summary.loc[summary["by"] == "all", "n"]
    console.print(
        f"{int(total.iloc[0]) if len(total) else 0:,} feedback(s) summarised → {out}",
        highlight=False,
    )
    if len(summary):
        console.print(_frame_table(summary, "feedback"))
