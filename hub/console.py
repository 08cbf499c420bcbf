"""Terminal output shared by the commands: results on stdout, messages on stderr."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

# Plain text: no highlighting, and no emoji codes (a file named a:x:b.csv printed as a❌b.csv).
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

MAX_RATE = 1_000_000  # events a second a command may be asked to send
MAX_WAIT_S = 86_400  # seconds a command may be asked to wait for the workers (a day)
SHOWN_LINES = 10  # line numbers a message names before "and N more"
LOGGED_EVERY_S = 30.0  # where stderr is no terminal, how often progress is written as a line


def counted(count: int, noun: str) -> str:
    """``1 row``, ``2 rows``, ``1,000 rows``: a count and its noun, singular for one."""
    return f"{count:,} {noun if count == 1 else noun + 's'}"


def number_from(low: int, high: int) -> Callable[[float | None], float | None]:
    """A typer option's callback refusing a number outside ``low`` to ``high``, NaN and
    infinity among them (typer's own ``min`` and ``max`` say NaN is over the maximum)."""

    def check(value: float | None) -> float | None:
        if value is not None and not low <= value <= high:
            raise typer.BadParameter(f"must be a number from {low:,} to {high:,}")
        return value

    return check


def say(message: str) -> None:
    """A progress or status line, on stderr so that stdout stays machine-readable."""
    err.print(message, markup=False)


class LoggedProgress(Progress):
    """Rich's progress bars on a terminal; where stderr is no terminal (a log file, a
    scheduled run's output), where a bar shows nothing, a line for each task under way
    every ``every_s`` seconds instead."""

    def __init__(self, *columns: str | ProgressColumn, every_s: float, **options: Any) -> None:
        super().__init__(*columns, **options)
        self._every_s = every_s
        self._stopped = threading.Event()
        self._writer: threading.Thread | None = None

    def start(self) -> None:
        super().start()
        if not self.console.is_terminal and self._writer is None:
            self._writer = threading.Thread(target=self._write, name="progress", daemon=True)
            self._writer.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._writer is not None:
            self._writer.join()
        super().stop()

    def _write(self) -> None:
        while not self._stopped.wait(self._every_s):
            for task in self.tasks:
                if task.finished or not task.visible:
                    continue
                done = f"{task.completed:,.0f}" + (f" of {task.total:,.0f}" if task.total else "")
                say(f"{task.description}: {done} after {task.elapsed or 0:.0f} s")


def counting_progress(every_s: float = LOGGED_EVERY_S) -> Progress:
    """A progress bar on stderr, one line per task: its description, a bar, done of total
    and the time taken; gone when it ends (see :class:`LoggedProgress` off a terminal)."""
    return LoggedProgress(
        TextColumn("{task.description}", markup=False),  # (it may name a file)
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        every_s=every_s,
    )
