"""`hub state rebuild`: the identity state in Redis, rebuilt from the durable store;
`hub state expire`: relationships whose end date has passed, ended."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from hub.console import counted, counting_progress, say
from hub.errors import HubError
from hub.settings import Settings, load_settings

if TYPE_CHECKING:
    from hub.link import Matcher
    from matchers.decisions import Thresholds
    from matchers.survivorship import SurvivorshipRules
    from sinks.store import Store
    from streams.rebuild import RebuildReport

app = typer.Typer(
    help="The identity state in Redis: rebuild it from the store; end what has ended."
)


@app.command("rebuild")
def rebuild_command(
    force: Annotated[
        bool, typer.Option("--force", help="rebuild even while workers are running")
    ] = False,
) -> None:
    """Rebuild the Redis identity state from the store: the same partition, the same ids.

    Re-runs the matching core in batch (the model at HUB_MODEL_PATH) over every live
    source record the store holds, with the judgements (people's, and those relationships
    state) and service groupings, keeps
    the person and household ids the store knows, and writes the state under the state
    lock. Refuses while workers are running unless --force. Prints a JSON summary.
    """
    from hub.link import load_matcher, survivorship_from, thresholds_from
    from hub.running import connect_redis, running_workers
    from sinks.store import Store

    settings = load_settings()
    matcher = load_matcher(settings.model_file)
    thresholds = thresholds_from(settings, matcher.block_cap)
    client = connect_redis(settings)
    try:
        workers = running_workers(client, settings.redis_prefix)
    finally:
        client.close()
    if workers and not force:
        raise HubError(
            f"{len(workers)} worker(s) are running on prefix {settings.redis_prefix!r} "
            f"({', '.join(workers[:3])}): stop them first (a stopped worker's heartbeat lasts "
            "10 s), or rebuild anyway with --force"
        )
    store = Store(settings.database_url, create=False)
    try:
        store.upgrade()
        began = time.perf_counter()
        report = asyncio.run(
            rebuild(settings, store, matcher, thresholds, survivorship_from(settings))
        )
    finally:
        store.dispose()
    summary: dict[str, Any] = {**report.as_dict(), "seconds": round(time.perf_counter() - began, 3)}
    summary["model_version"] = matcher.scorer.version
    say(
        f"rebuilt the identity state (prefix {settings.redis_prefix!r}) from {store.safe_url}: "
        f"{counted(report.records, 'record')}, {counted(report.persons, 'person')} "
        f"({report.persons_kept:,} kept their id, {report.persons_new:,} new), "
        f"{counted(report.households, 'household')}, "
        f"{counted(report.judgements, 'judgement')}, state version {report.version} "
        f"in {summary['seconds']:.1f}s"
    )
    if report.records_moved:
        say(
            f"{report.records_moved:,} records are in another person than the store says: "
            "the model, thresholds or judgements differ from those the stream used"
        )
    typer.echo(orjson.dumps(summary).decode())


@app.command("expire")
def expire_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count them by source, send nothing")
    ] = False,
) -> None:
    """End the relationships whose end date has passed (a tenancy, a claim unit, a
    council-tax account, a carer's relation a source gave an end in advance): send each
    again, as its source last sent it, to the source's relationships topic; the workers
    take the record out of its group and mark the relationship removed in the store, as
    they do when a source sends an end that has passed (two records once related stay
    two people). Sources send nothing on the day, so run it once a day
    (after midnight UTC), as the nightly `hub cdc`. Needs Kafka; the workers apply what it
    sends when they run. Prints a JSON summary (relationships sent, by source)."""
    import datetime as dt

    from sinks.store import Store
    from sources.cli import connect_publisher
    from sources.expire import ended_rows, expire, sendable

    settings = load_settings()
    now = dt.datetime.now(dt.UTC)
    store = Store(settings.database_url, create=False)
    try:
        store.upgrade()
        rows = ended_rows(store, now.date())
    finally:
        store.dispose()
    events, unreadable = sendable(rows, now)
    by_source = Counter(event.source_system for event in events)
    if not dry_run and events:
        report = expire(events, connect_publisher(settings, "hub-state-expire"))
        if report.error is not None:
            raise HubError(f"{report.error} (run hub state expire again: sending twice is safe)")
    verb = "would send" if dry_run else "sent"
    say(
        f"{len(events):,} relationships whose end date has passed: {verb} them again for the "
        "workers to end"
        if events
        else "no current relationship in the store has an end date that has passed"
    )
    summary = {"ended": len(events), "by_source": dict(sorted(by_source.items()))}
    summary["sent"] = not dry_run and bool(events)
    if unreadable:
        summary["unreadable"] = len(unreadable)
    typer.echo(orjson.dumps(summary).decode())
    if unreadable:
        shown = ", ".join(unreadable[:5]) + (", ..." if len(unreadable) > 5 else "")
        raise HubError(
            f"{len(unreadable):,} ended relationships have a kind or date this release does "
            f"not read, and are left out ({shown}): upgrade the hub, or end them at their "
            "source"
        )


async def rebuild(
    settings: Settings,
    store: Store,
    matcher: Matcher,
    thresholds: Thresholds,
    survivorship: SurvivorshipRules,
) -> RebuildReport:
    """Drain what a stopped worker left, read the store, rebuild, write; under the lock."""

    from hub.wiring import redis_state
    from matchers.resolver import configuration
    from sinks.state_bulk import held_lock
    from streams.rebuild import build_state, read_durable, replace_state

    state = redis_state(settings)
    try:
        await state.check_keeps_keys()
        with counting_progress() as progress:
            async with held_lock(state) as lease:
                await _check_store_is_the_states(store, state)
                pending = await state.pending_outbox()
                if pending:
                    task = progress.add_task("storing batches a worker left", total=None)
                    await _drain(settings, state, store, matcher)
                    progress.remove_task(task)
                task = progress.add_task("reading the store", total=None)
                durable = await asyncio.to_thread(read_durable, store)
                progress.update(task, description=f"matching {len(durable.records):,} records")
                version = max(durable.state_version, await state.current_version()) + 1
                rebuilt = await asyncio.to_thread(
                    build_state, durable, matcher, thresholds, survivorship, version=version
                )
                progress.remove_task(task)
                fields = sum(rebuilt.state.size().values())
                task = progress.add_task("writing the state to Redis", total=fields)
                built_under = configuration(matcher.scorer.version, thresholds, survivorship)
                await replace_state(
                    state, rebuilt.state, lease, built_under, lambda n: progress.advance(task, n)
                )
        return rebuilt.report
    finally:
        await state.client.aclose()


async def _check_store_is_the_states(store: Store, state: Any) -> None:
    """Refuse a store that holds nothing while the state in Redis has moved on, and its
    outbox does not hold the state's whole history (the first batch on): it is not the
    store the workers write (another folder's default, a typing error in
    HUB_DATABASE_URL), and rebuilding from it would empty the state."""
    version = await state.current_version()
    if not version or await asyncio.to_thread(store.holds_anything):
        return
    pending = [batch for batch, _ in await state.pending_outbox()]
    if 1 in pending:  # (no batch was ever stored: the drain before the rebuild stores them)
        return
    raise HubError(
        f"the store at {store.safe_url} holds nothing, but the identity state in Redis has "
        f"moved on (version {version}): is HUB_DATABASE_URL the workers' store? Nothing was "
        "changed (to empty the state: hub stack reset)"
    )


async def _drain(settings: Settings, state: Any, store: Store, matcher: Matcher) -> None:
    """Store and publish the batches committed to Redis but not yet drained (a worker
    stopped in between), so the store holds every committed batch before it is read."""
    from hub.wiring import explaining
    from sources.cli import connect_publisher
    from streams.pipeline import Drain

    publisher = connect_publisher(settings, "hub-state-rebuild")
    await Drain(state, store, publisher, explanations=explaining(matcher)).recover()
