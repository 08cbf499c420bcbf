"""`hub simulate`: write a synthetic borough's source snapshots, truth and event stream."""

from __future__ import annotations

import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.progress import BarColumn, Progress, TextColumn

from hub.console import err, say
from hub.errors import UsageError
from sources.simulator.config import FORMATS


def _rates(spec: str | None) -> dict[str, float]:
    """``"typo=0.05,nickname=0.1"`` -> ``{"typo": 0.05, "nickname": 0.1}``, checked."""
    from sources.simulator.config import ErrorRates

    known = {f.name for f in fields(ErrorRates)}
    out: dict[str, float] = {}
    for part in (p.strip() for p in (spec or "").split(",")):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in known:
            raise UsageError(f"--rates: unknown rate {name!r} (one of: {', '.join(sorted(known))})")
        try:
            out[name] = float(value)
        except ValueError:
            raise UsageError(f"--rates: {name} needs a number, not {value.strip()!r}") from None
        if not 0.0 <= out[name] <= (1.0 if name != "duplicate" else 100.0):
            raise UsageError(f"--rates: {name} must be between 0 and 1")
    return out


def simulate_command(
    *,
    out: Annotated[Path, typer.Option("--out", help="folder to write the files to")],
    residents: Annotated[int, typer.Option(help="how many people live in the borough")] = 10_000,
    seed: Annotated[int, typer.Option(help="the same seed gives byte-identical files")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="csv, jsonl or parquet")] = "csv",
    day: Annotated[
        int, typer.Option(help="snapshot at the end of this day (2 = one day after day 1)")
    ] = 1,
    events: Annotated[
        bool, typer.Option("--events", help="also write the event stream to events.jsonl")
    ] = False,
    error_scale: Annotated[
        float, typer.Option(help="multiply every data-problem rate (0 = clean data)")
    ] = 1.0,
    rates: Annotated[
        str | None,
        typer.Option(help="set data-problem rates, e.g. typo=0.05,stale_address=0.5"),
    ] = None,
    rate: Annotated[
        float | None, typer.Option(help="publish the stream live at this many events a second")
    ] = None,
) -> None:
    """Simulate a borough seen through its source systems, with the truth for evaluation.

    Prints a JSON summary (row counts per file) on stdout; progress goes to stderr.
    """
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if residents < 10:
        raise UsageError("--residents must be at least 10")
    if day < 1:
        raise UsageError("--day must be 1 or more")
    if error_scale < 0:
        raise UsageError("--error-scale cannot be negative")
    if rate is not None:
        raise UsageError(
            "--rate needs the Kafka publisher, which is not wired in yet; "
            "use --events to write the same stream to events.jsonl"
        )
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    from sources.simulator.config import SimulationConfig
    from sources.simulator.simulation import simulate
    from sources.simulator.writers import FILE_COUNT, write_simulation

    base = SimulationConfig(residents=residents, seed=seed)
    errors = replace(base.errors.scaled(error_scale), **_rates(rates))
    config = replace(base, errors=errors)
    started = time.monotonic()
    simulation = simulate(config, day=day, progress=say)
    out.mkdir(parents=True, exist_ok=True)
    with Progress(
        TextColumn("writing {task.fields[name]:<32}"),
        BarColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("write", total=FILE_COUNT + (1 if events else 0), name="")

        def step(name: str, _rows: int) -> None:
            bar.update(task, advance=1, name=name)

        counts = write_simulation(simulation, out, fmt, events=events, step=step)
    seconds = time.monotonic() - started
    say(
        f"wrote {len(counts)} files to {out} in {seconds:.1f}s: "
        f"{len(simulation.records):,} person records from {simulation.residents:,} residents "
        f"in {simulation.households:,} households"
    )
    summary = {
        "out": str(out),
        "seed": seed,
        "day": day,
        "residents": simulation.residents,
        "households": simulation.households,
        "files": counts,
    }
    typer.echo(orjson.dumps(summary).decode())
