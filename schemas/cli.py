"""`hub schemas`: the event contract as the hub sees it, and keeping old versions readable."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from schemas.bench import codec_bench_command

__all__ = ["app", "codec_bench_command"]

app = typer.Typer(help="The event schemas: list them, keep old versions.", no_args_is_help=True)


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON line per schema")] = False,
) -> None:
    """Each event type with its schema fingerprint (as framed in single-object encoding)."""
    from schemas.registry import default_registry

    for event_type, writer in default_registry().current.items():
        row = {"event_type": writer.full_name, "fingerprint": writer.fingerprint.hex()}
        if as_json:
            typer.echo(orjson.dumps(row).decode())
        else:
            typer.echo(f"{row['fingerprint']}  {event_type.__name__}")


@app.command("freeze")
def freeze_command() -> None:
    """Keep every schema version git has seen (and the working tree's) in schemas/history/,
    so that data written with it stays readable after the schema changes. Run it after
    changing a schema; the schema tests fail until you do."""
    from hub.console import say
    from schemas.history import versions
    from schemas.registry import freeze

    written = []
    for version in versions():
        written += freeze(version.schemas)
    for path in written:
        say(f"kept {path.name}")
    say(f"{len(written)} new schema version(s) kept in schemas/history/")
