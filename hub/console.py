"""Terminal output shared by the commands: results on stdout, messages on stderr."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def say(message: str) -> None:
    """A progress or status line, on stderr so that stdout stays machine-readable."""
    err.print(message, markup=False)


def counting_progress() -> Progress:
    """A progress bar on stderr, one line per task: its description, a bar, done of total
    and the time taken; gone when it ends."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
