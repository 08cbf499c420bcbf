"""`hub run`: the whole hub on this machine, fed by the council simulator.

Starts the stack, makes sure there is a model (training one on a simulated borough if
HUB_MODEL_PATH has none), starts the workers, streams a borough's change events through
Kafka, waits until every event has its effect, and prints what the hub now knows and where
to look. Everything keeps running afterwards; `hub stack down` stops it all.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from hub.console import MAX_RATE, MAX_WAIT_S, counting_progress, err, number_from, say
from hub.errors import HubError, StackError
from hub.settings import STACK_MODEL, Settings, load_settings
from hub.stack.manager import Stack
from hub.stack.workers import Workers
from sources.simulator.cli import check_residents
from sources.simulator.config import MAX_SEED


def ensure_model(settings: Settings, residents: int, seed: int) -> Path:
    """The model workers load (:attr:`Settings.model_file`), else one trained here."""
    if settings.model_file.is_file():
        return settings.model_file
    from matchers.splink_adapter import TrainingOptions, train
    from matchers.standardise import standardise
    from sources.simulator import SimulationConfig, simulate

    path = settings.stack_dir / STACK_MODEL
    say(f"no model at {settings.model_path}: training one on a simulated borough")
    snapshot = simulate(SimulationConfig(residents=residents, seed=seed), day=1)
    records = [standardise(r.to_source_record()) for r in snapshot.records.values()]
    with err.status("training the model"):
        model = train(records, TrainingOptions(), lambda _message: None)
    model.save(path)
    say(f"model {model.version} trained on {len(records):,} records, written to {path}")
    return path


def _count(settings: Settings) -> dict[str, int]:
    from sqlalchemy import func, select

    from sinks import tables
    from sinks.store import Store, open_review_items_in

    store = Store(settings.database_url)
    try:
        with store.engine.connect() as connection:

            def count(query: object) -> int:
                return int(connection.execute(query).scalar_one())  # type: ignore[call-overload]

            return {
                "persons": count(
                    select(func.count())
                    .select_from(tables.persons)
                    .where(~tables.persons.c.removed)
                ),
                "source_records": count(
                    select(func.count())
                    .select_from(tables.source_records)
                    .where(tables.source_records.c.person_id.is_not(None))
                ),
                "households": count(select(func.count()).select_from(tables.households)),
                "open_review_items": open_review_items_in(connection, limit=0)[0],
                "relationships": count(select(func.count()).select_from(tables.relationships)),
                "partner_indicators": count(
                    select(func.count()).select_from(tables.partner_indicators)
                ),
            }
    finally:
        store.dispose()


def run_command(
    *,
    residents: Annotated[int, typer.Option(help="residents in the simulated borough")] = 2000,
    seed: Annotated[int, typer.Option(help="the borough's seed", min=0, max=MAX_SEED)] = 1,
    rate: Annotated[
        float,
        typer.Option(
            help="events per second streamed to Kafka (1 to 1,000,000)",
            callback=number_from(1, MAX_RATE),
        ),
    ] = 1000.0,
    workers: Annotated[int, typer.Option(help="hub workers to run", min=1, max=64)] = 2,
    postgres: Annotated[
        bool, typer.Option("--postgres", help="store in the stack's PostgreSQL, not SQLite")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            help="seconds to wait for the workers (1 to 86,400)",
            callback=number_from(1, MAX_WAIT_S),
        ),
    ] = 900.0,
) -> None:
    """Run the whole hub here: stack, workers, a simulated borough streaming through it."""
    from schemas.codec import make_codec
    from sinks.store import store_url
    from sources.live import stream
    from sources.publisher import Publisher
    from sources.simulator import SimulationConfig, iter_events
    from streams.progress import backlog

    check_residents(residents)
    settings = load_settings()
    Workers(settings, say).check_ports(workers)
    if postgres:
        settings = settings.model_copy(update={"database_url": settings.postgres_url()})
    Stack(settings, report=say).up(postgres=postgres)
    model = ensure_model(settings, residents, seed)
    env = {"HUB_MODEL_PATH": str(model.resolve()), "HUB_DATABASE_URL": settings.database_url}
    Workers(settings, say).start(workers, env)

    events = list(iter_events(SimulationConfig(residents=residents, seed=seed), day=1))
    publisher = Publisher(settings.kafka_bootstrap, make_codec(settings), client_id="hub-run")
    with counting_progress() as bar:
        task = bar.add_task(f"streaming the borough at {rate:.0f}/s", total=len(events))
        report = stream(
            events, publisher, rate=rate, on_event=lambda n: bar.update(task, completed=n)
        )
    if report.error is not None or report.interrupted:
        raise HubError(f"streaming stopped after {report.acknowledged} events: {report.error}")
    say(f"published {report.acknowledged:,} events to Kafka in {report.seconds:.1f}s")

    deadline = time.monotonic() + timeout
    with counting_progress() as bar:
        total = backlog(settings)
        task = bar.add_task("workers processing", total=max(total, 1))
        while (left := backlog(settings)) > 0:
            bar.update(task, completed=max(0, total - left))
            if time.monotonic() > deadline:
                raise StackError(f"workers still {left} events behind after {timeout:.0f}s")
            time.sleep(0.5)
    counts = _count(settings)
    say(
        f"the hub now knows {counts['persons']:,} persons from {counts['source_records']:,} "
        f"source records in {counts['households']:,} households; "
        f"{counts['open_review_items']:,} pairs wait for review"
    )
    ports = [Workers(settings, say).port(i) for i in range(1, workers + 1)]
    store = store_url(settings.database_url).render_as_string(hide_password=True)
    lines = [
        "where to look:",
        "  hub stack status                      services and workers, healthy or not",
        *(f"  http://127.0.0.1:{p}/metrics         a worker's Prometheus metrics" for p in ports),
        f"  {store:<37} the store (persons, households, review queue, ...)",
        f"  {settings.stack_dir / 'logs'}/                          service and worker logs",
        "  monitoring/grafana/dashboards/residents-hub.json   Grafana dashboard (import it)",
        "  monitoring/alerts.yml                 Prometheus alert rules",
        "  hub stack down                        stop everything",
    ]
    for line in lines:
        typer.echo(line)
