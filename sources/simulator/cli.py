"""`hub simulate`: write a synthetic borough's source snapshots, truth and event stream,
or publish the stream to Kafka live."""

from __future__ import annotations

import math
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hub.console import err, say
from hub.errors import UsageError
from sources.simulator.config import (
    FORMATS,
    MAX_DAY,
    MAX_RESIDENTS,
    MAX_SEED,
    MIN_RESIDENTS,
)

if TYPE_CHECKING:
    from sources.live import StreamReport
    from sources.publisher import Publisher
    from sources.simulator.simulation import Simulation


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
        if name in out:
            raise UsageError(f"--rates: {name} is given twice")
        try:
            out[name] = float(value)
        except ValueError:
            raise UsageError(f"--rates: {name} needs a number, not {value.strip()!r}") from None
        if not 0.0 <= out[name] <= (1.0 if name != "duplicate" else 100.0):
            raise UsageError(f"--rates: {name} must be between 0 and 1")
    return out


def simulate_command(
    *,
    out: Annotated[Path | None, typer.Option("--out", help="folder to write the files to")] = None,
    residents: Annotated[int, typer.Option(help="how many people live in the borough")] = 10_000,
    seed: Annotated[
        int,
        typer.Option(help="the same seed gives byte-identical files", min=0, max=MAX_SEED),
    ] = 1,
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
        float | None,
        typer.Option(help="publish the event stream to Kafka at this many events a second"),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="with --rate: stop after this many events")
    ] = None,
) -> None:
    """Simulate a borough seen through its source systems, with the truth for evaluation.

    With --out, writes the snapshot files and the truth; with --rate, publishes the
    time-ordered event stream to Kafka (src.<system>.*, partner.*, cms.*) at that rate,
    acknowledged, until the stream ends, --limit events, or Ctrl-C. Prints a JSON summary
    on stdout; progress goes to stderr.
    """
    _check_options(
        out=out,
        fmt=fmt,
        residents=residents,
        day=day,
        error_scale=error_scale,
        rate=rate,
        limit=limit,
    )
    from sources.simulator.config import SimulationConfig
    from sources.simulator.simulation import simulate

    previous = _previous_output(out) if out is not None else frozenset()
    publisher = None
    if rate is not None:  # fail before the work if Kafka is not there
        from hub.settings import load_settings
        from sources.cli import connect_publisher

        publisher = connect_publisher(load_settings())
    base = SimulationConfig(residents=residents, seed=seed)
    errors = replace(base.errors.scaled(error_scale), **_rates(rates))
    config = replace(base, errors=errors)
    if out is not None:
        try:  # (before the simulation, which takes a while)
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"{out}: cannot be created: {error.strerror}") from None
    started = time.monotonic()
    simulation = simulate(config, day=day, progress=say)
    summary: dict[str, object] = {
        "seed": seed,
        "day": day,
        "residents": simulation.residents,
        "households": simulation.households,
    }
    if out is not None:
        counts = _write_files(simulation, out, fmt, events, previous)
        say(
            f"wrote {len(counts)} files to {out} in {time.monotonic() - started:.1f}s: "
            f"{len(simulation.records):,} person records from {simulation.residents:,} "
            f"residents in {simulation.households:,} households"
        )
        summary |= {"out": str(out), "files": counts}
    if publisher is None or rate is None:
        typer.echo(orjson.dumps(summary).decode())
        return
    report = _stream_live(simulation, publisher, rate, limit)
    summary["stream"] = report.summary()
    typer.echo(orjson.dumps(summary).decode())
    if report.interrupted:
        raise typer.Exit(130)
    if report.error is not None:
        raise report.error


def check_residents(residents: int) -> None:
    """Refuse a --residents the simulator cannot or should not simulate."""
    if not MIN_RESIDENTS <= residents <= MAX_RESIDENTS:
        raise UsageError(f"--residents must be from {MIN_RESIDENTS} to {MAX_RESIDENTS:,}")


def _check_options(
    *,
    out: Path | None,
    fmt: str,
    residents: int,
    day: int,
    error_scale: float,
    rate: float | None,
    limit: int | None,
) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    check_residents(residents)
    if not 1 <= day <= MAX_DAY:
        raise UsageError(f"--day must be from 1 to {MAX_DAY:,}")
    if not 0 <= error_scale < math.inf:  # (NaN too)
        raise UsageError("--error-scale must be a number, 0 or more")
    if rate is not None and not 0 < rate < math.inf:  # (NaN too)
        raise UsageError("--rate must be a positive number of events a second")
    if limit is not None and rate is None:
        raise UsageError("--limit needs --rate (it stops the live stream)")
    if limit is not None and limit < 1:
        raise UsageError("--limit must be 1 or more")
    if out is None and rate is None:
        raise UsageError("give --out to write files, or --rate to publish the stream to Kafka")
    if out is not None and out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")


def _previous_output(out: Path) -> frozenset[str]:
    """The files an earlier run wrote to ``out`` (none for a new or empty folder); a
    folder holding anything else is refused, so no one's own files are written over."""
    from sources.simulator.writers import MANIFEST, previous_output

    try:
        if not out.is_dir() or not any(out.iterdir()):
            return frozenset()
    except OSError as error:
        raise UsageError(f"{out}: cannot be read: {error.strerror}") from None
    previous = previous_output(out)
    if previous is None:
        raise UsageError(
            f"{out}: not empty, and not an earlier output of hub simulate (no {MANIFEST} "
            "of its own): give a new or empty folder"
        )
    return previous


def _write_files(
    simulation: Simulation, out: Path, fmt: str, events: bool, previous: frozenset[str]
) -> dict[str, int]:
    """Write the files, then remove those of an earlier run this one did not write over."""
    from sources.simulator.writers import FILE_COUNT, remove_stale, write_simulation

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

        try:
            counts = write_simulation(
                simulation, out, fmt, events=events, step=step, previous=previous
            )
            stale = remove_stale(out, previous, counts)
        except OSError as error:
            raise UsageError(f"{out}: cannot be written: {error.strerror}") from None
    if stale:
        say(f"removed {len(stale)} files an earlier run wrote and this one did not")
    return counts


STATUS_EVERY_S = 10.0  # without a terminal (a log file), a status line this often


def _stream_live(
    simulation: Simulation, publisher: Publisher, rate: float, limit: int | None
) -> StreamReport:
    """Publish the stream with a progress bar (or a periodic line) and print the summary."""
    from sources.live import stream

    total = len(simulation.events) if limit is None else min(limit, len(simulation.events))
    say(
        f"streaming {total:,} events to Kafka at {publisher.bootstrap} at {rate:g}/s (Ctrl-C stops)"
    )
    last_status = time.monotonic()
    with Progress(
        TextColumn("streaming"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[acknowledged]:,} acknowledged"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("stream", total=total, acknowledged=0)

        def on_event(count: int) -> None:
            nonlocal last_status
            acknowledged = publisher.totals.acknowledged
            bar.update(task, completed=count, acknowledged=acknowledged)
            if not err.is_terminal and time.monotonic() - last_status >= STATUS_EVERY_S:
                last_status = time.monotonic()
                say(f"streamed {count:,} of {total:,} events, {acknowledged:,} acknowledged")

        try:
            report = stream(simulation.events, publisher, rate=rate, limit=limit, on_event=on_event)
        except KeyboardInterrupt:  # a second Ctrl-C while waiting for acknowledgements
            say("interrupted while waiting for Kafka's acknowledgements: the count is unknown")
            raise typer.Exit(130) from None
    _say_summary(report)
    return report


def _say_summary(report: StreamReport) -> None:
    how = "interrupted after" if report.interrupted else "streamed"
    per_s = report.streamed / report.seconds if report.seconds > 0 else 0.0
    say(
        f"{how} {report.streamed:,} of {report.planned:,} events in {report.seconds:.1f}s "
        f"({per_s:,.0f}/s): {report.acknowledged:,} published, "
        f"{sum(report.rejected.values()):,} rejected, {report.failed:,} not acknowledged"
    )
    width = max(map(len, report.by_topic), default=0)
    for topic, count in sorted(report.by_topic.items()):
        say(f"  {topic:<{width}}  {count:>9,}")
    for reason, count in sorted(report.rejected.items()):
        say(f"  rejected ({reason}): {count:,}")
