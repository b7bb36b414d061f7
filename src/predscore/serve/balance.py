"""Keep-alive connections spread evenly over the server's worker processes.

Stage: serve. With several workers (``serve.workers``) every worker accepts from one
listening socket and keeps the connections it accepted, and which worker accepts a
new connection is up to the kernel: eight keep-alive clients often sit 6 / 2 or 7 / 1
over two workers, and the crowded worker's requests queue behind each other while the
other has time to spare. :class:`ConnectionBalance` lets the workers even it out:
each counts its active connections (those answered within the last ``idle``
seconds), writes the count to its own file in a folder the workers share and reads
the others'; a worker that holds more than its share of all active connections
(``ceil(total / workers)``) closes the connections it answers next
(``Connection: close``) until it holds its share of that total, then waits for the
counts to show the moves before it judges again; each client reconnects to whichever
worker accepts. A worker without a recent count (idle, or gone) counts as holding
none.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Hashable
from pathlib import Path

__all__ = ["ConnectionBalance"]

_log = logging.getLogger("predscore.serve")


class ConnectionBalance:
    """One worker's side of the balance of connections between workers.

    A connection counts from its second answer (a client that sends one request and
    hangs up holds nothing: no event tells a server a connection has closed), until
    it has been ``idle`` seconds without an answer. A worker judges itself crowded
    only when two exchanges of counts in a row say so (a count read just after a
    pause may be a second old). When the folder cannot be written or read, the
    worker stops balancing (logged once) and serves on.

    Parameters
    ----------
    folder : Path
        Folder shared by the workers of one server (each writes its own file).
    workers : int
        Worker processes of the server.
    name : str, optional
        This worker's file name (default: its process id).
    idle : float
        Seconds after its last answer a connection stops counting as active; a
        count older than this is not read.
    refresh : float
        Seconds between two exchanges of counts; after a worker has closed the
        connections it held beyond its share it closes no other for two of them
        (the counts must show the moves first).
    clock : callable
        Seconds on a clock every process of the host shares (``time.monotonic``:
        Linux's ``CLOCK_MONOTONIC``, which the wall clock's steps do not move).
    """

    def __init__(
        self,
        folder: Path,
        workers: int,
        *,
        name: str | None = None,
        idle: float = 1.0,
        refresh: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = Path(folder)
        self.workers = workers
        self._file = self.folder / (name or str(os.getpid()))
        self._idle = idle
        self._refresh = refresh
        self._clock = clock
        self._once: dict[Hashable, float] = {}  # connections answered once
        self._active: dict[Hashable, float] = {}  # connection -> time of last answer
        self._others = 0
        self._exchanged = -math.inf
        self._crowded_at: float | None = None  # the exchange that first said so
        self._calm_until = -math.inf
        self._share: int | None = None  # the share being reached by closing
        self._broken = False
        #: connections this worker closed to even the balance
        self.closed = 0

    def answered(self, connection: Hashable) -> bool:
        """Count an answer on ``connection``; whether that answer must close it
        (this worker holds more than its share of the active connections)."""
        now = self._clock()
        if connection not in self._active and connection not in self._once:
            self._once[connection] = now  # counted from its second answer
            return False
        self._once.pop(connection, None)
        self._active[connection] = now
        if now - self._exchanged >= self._refresh:
            self._exchange(now)
        if self._broken or now < self._calm_until:
            return False
        mine = len(self._active)
        if self._share is None:
            share = math.ceil((mine + self._others) / self.workers)
            if mine <= share:
                self._crowded_at = None
                return False
            if self._crowded_at is None or self._crowded_at == self._exchanged:
                self._crowded_at = self._exchanged  # to be confirmed by the next
                return False
            # the share of the total as counted now: the connections closed from
            # here on are not in the others' counts yet
            self._share, self._crowded_at = share, None
        if mine <= self._share:
            self._share = None
            return False
        del self._active[connection]
        self.closed += 1
        if mine - 1 <= self._share:  # moved enough: wait for the counts to show it
            self._share = None
            self._calm_until = now + 2 * self._refresh
            self._exchange(now)  # the others see the lower count at once
        return True

    def forget(self, connection: Hashable) -> None:
        """``connection`` is closing for another reason: it counts no more."""
        self._active.pop(connection, None)
        self._once.pop(connection, None)

    def _exchange(self, now: float) -> None:
        """Forget idle connections, publish this worker's count, read the others'."""
        self._exchanged = now
        oldest = now - self._idle
        self._active = {c: t for c, t in self._active.items() if t >= oldest}
        self._once = {c: t for c, t in self._once.items() if t >= oldest}
        try:
            staged = self._file.with_name(f".{self._file.name}")
            staged.write_text(f"{len(self._active)} {now!r}")
            staged.replace(self._file)  # atomic: a reader sees a whole count
            others = 0
            for entry in os.scandir(self.folder):
                if entry.name == self._file.name or entry.name.startswith("."):
                    continue
                try:
                    count, stamp = Path(entry.path).read_text().split()
                except FileNotFoundError:  # its worker is replacing it
                    continue
                if float(stamp) >= oldest:
                    others += int(count)
        except (OSError, ValueError) as exc:
            self._broken = True
            _log.warning(
                "workers' connection balance off: its folder cannot be used (%s)",
                type(exc).__name__,
            )
            return
        self._others = others
