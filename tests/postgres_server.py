"""A real PostgreSQL server for the tests, started from the system's binaries.

The suite runs the database tests (the reps' store, SQL sources, the SQL export)
against PostgreSQL as users run it, not a mock: :func:`start` finds ``initdb`` and
``pg_ctl`` (on ``PATH`` or under ``/usr/lib/postgresql/*/bin``, where Debian puts
them; ``make system`` installs them), creates a throw-away cluster in a temporary
folder, starts it on a free local port with ``trust`` authentication and returns its
SQLAlchemy URL. As root (PostgreSQL refuses to run as root) the server runs as the
``postgres`` system user. :func:`unavailable` says why a server cannot be started, so
that the tests skip with that reason.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["postgres_bin", "server", "unavailable"]


def postgres_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: on PATH, else Debian's newest."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(versions[-1]).parent if versions else None


def _run_as() -> list[str]:
    """The command prefix that runs the server as a user PostgreSQL accepts."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def unavailable() -> str | None:
    """Why no server can be started here, or None when one can."""
    if postgres_bin() is None:
        return (
            "PostgreSQL is not installed (no initdb/pg_ctl on PATH or under "
            "/usr/lib/postgresql): run `make system`"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and no 'postgres' user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and no runuser to start the server as 'postgres'"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is not installed (pip install 'psycopg[binary]')"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server() -> Iterator[str]:
    """Start a throw-away PostgreSQL cluster; yield its SQLAlchemy URL; stop it.

    Raises
    ------
    RuntimeError
        When ``initdb`` or ``pg_ctl`` fails (their output is in the message).
    """
    bin_dir = postgres_bin()
    assert bin_dir is not None, unavailable()
    prefix = _run_as()
    with tempfile.TemporaryDirectory(prefix="predscore-pg-") as tmp:
        root = Path(tmp)
        data, sockets, log = root / "data", root / "sockets", root / "server.log"
        sockets.mkdir()
        if prefix:
            user = pwd.getpwnam("postgres")
            for path in (root, sockets):
                os.chown(path, user.pw_uid, user.pw_gid)
        port = _free_port()

        def run(*args: str) -> None:
            done = subprocess.run(
                [*prefix, *args], capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                tail = log.read_text()[-2000:] if log.exists() else ""
                raise RuntimeError(
                    f"{Path(args[0]).name} failed ({done.returncode}): "
                    f"{done.stdout[-1000:]}{done.stderr[-1000:]}{tail}"
                )

        run(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        )
        options = (
            f"-c port={port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={sockets} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        pg_ctl = str(bin_dir / "pg_ctl")
        run(pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                [*prefix, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
                check=False,
            )
