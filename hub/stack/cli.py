"""`hub stack ...` commands."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from hub.console import say
from hub.settings import load_settings
from hub.stack.manager import Stack

app = typer.Typer(help="Run Kafka, Redis and PostgreSQL as local processes (no Docker).")


@app.command()
def up(
    postgres: Annotated[bool, typer.Option("--postgres", help="also start PostgreSQL")] = False,
) -> None:
    """Start the services that are not running and wait until each answers requests."""
    began = time.monotonic()
    Stack(load_settings(), report=say).up(postgres=postgres)
    say(f"stack ready in {time.monotonic() - began:.1f}s")


@app.command()
def down() -> None:
    """Stop exactly the processes this stack started (by their pid files)."""
    Stack(load_settings(), report=say).down()


@app.command()
def status() -> None:
    """Exit 0 only when every started service is healthy; name those that are not."""
    Stack(load_settings(), report=say).status()


@app.command()
def logs(
    service: Annotated[str | None, typer.Argument(help="kafka, redis or postgres")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="lines per service", min=1)] = 40,
) -> None:
    """Show the last lines of the services' logs."""
    stack = Stack(load_settings(), report=say)
    found = stack.log_lines(service, lines)
    if not found:
        say(f"no logs in {stack.logs}: the stack has not run from here (HUB_STACK_DIR)")
    for line in found:
        typer.echo(line)
