"""Terminal output shared by the commands: results on stdout, messages on stderr."""

from __future__ import annotations

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def say(message: str) -> None:
    """A progress or status line, on stderr so that stdout stays machine-readable."""
    err.print(message, markup=False)
