"""A worker's drainer process on real Redis, Kafka and SQLite: what the worker commits and
hands over reaches the store and Kafka, is counted in the worker's metrics, and a drainer
that dies stops the worker's hand-overs instead of leaving its batches undone unnoticed."""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

import streams.app
from hub.settings import Settings
from hub.stack.processes import free_port
from hub.wiring import resolver_factory
from monitoring.metrics import HubMetrics, build_metrics
from schemas import topics
from schemas.codec import make_codec
from sinks import tables
from sinks.redis_state import RedisState
from sinks.store import Store
from sources.publisher import Publisher
from sources.simulator import SimulationConfig, simulate
from streams.drainer import DrainerStopped, DrainProcess, _drain_one, _ended
from streams.identity import IdentityWorker, Upsert
from streams.pipeline import Drain, Drained
from streams.topology import ensure_topics
from tests.support.resolving import toy_resolver

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def settings(stack_settings: Settings, tmp_path: Path) -> Settings:
    own = stack_settings.model_copy(
        update={
            "redis_prefix": f"t-{uuid.uuid4().hex[:8]}",
            "database_url": f"sqlite:///{tmp_path / 'store.db'}",
        }
    )
    ensure_topics(own)
    Store(own.database_url).upgrade()
    return own


@pytest.fixture
async def state(settings: Settings) -> AsyncIterator[RedisState]:
    client = aioredis.Redis.from_url(settings.redis_url)
    redis_state = RedisState(client, prefix=settings.redis_prefix)
    yield redis_state
    await redis_state.wipe()
    await client.aclose()


async def test_what_the_worker_hands_over_is_stored_published_and_counted(
    settings: Settings, state: RedisState, borough_model: Path
) -> None:
    records = [
        r.to_source_record()
        for r in simulate(SimulationConfig(residents=40, seed=5), day=1).records.values()
    ]
    registry = CollectorRegistry()
    metrics: HubMetrics = build_metrics(registry)
    settings = settings.model_copy(update={"model_path": borough_model})
    worker = IdentityWorker(state, resolver_factory(settings))
    await worker.start()
    drainer = DrainProcess(settings, metrics)
    drainer.start()
    try:
        sent = dt.datetime.now(dt.UTC)
        halves = [records[: len(records) // 2], records[len(records) // 2 :]]
        for half in halves:
            applied = await worker.apply([Upsert(r, 1) for r in half])
            assert applied.version is not None
            await drainer.hand_over(applied.version, [sent] * len(half))
        await asyncio.wait_for(drainer.idle(), 120)
    finally:
        await drainer.stop()

    assert await state.pending_outbox() == []
    store = Store(settings.database_url)
    try:
        stored = {row["record_id"] for row in store.rows(tables.source_records)}
        reviews = store.rows(tables.review_items)
    finally:
        store.dispose()
    assert stored == {r.record_id for r in records}
    # the worker resolves without review items' explanations; the drainer adds them
    assert reviews
    for row in reviews:  # the waterfall adds up to the pair's weight
        assert row["explanation"]
        total = sum(weight for _comparison, _level, weight in row["explanation"])
        assert total == pytest.approx(row["match_weight"], abs=1e-6)
    assert registry.get_sample_value("hub_batch_seconds_count", {"stage": "store"}) == 2
    latencies = registry.get_sample_value("hub_end_to_end_latency_seconds_count")
    assert latencies == len(records)
    published = registry.get_sample_value(
        "hub_events_published_total", {"topic": topics.HUB_MATCH_DECISIONS}
    )
    assert published == len(records)


def test_a_drainer_left_behind_by_a_crashed_worker_ends_when_abandoned(
    settings: Settings,
) -> None:
    # A worker whose loop stopped on a crash without stopping its drainer: the drainer
    # ignores SIGTERM, so the interpreter's exit (which joins children) would wait for ever.
    drainer = DrainProcess(settings, build_metrics(CollectorRegistry()))

    async def start() -> None:
        drainer.start()

    loop = asyncio.new_event_loop()
    loop.run_until_complete(start())
    loop.close()
    time.sleep(1)
    assert drainer._process.is_alive()  # (waiting to be handed a batch)
    drainer.abandon(timeout_s=30)
    assert drainer._process.exitcode == 0  # it ended on its own, not killed
    drainer.abandon()  # (and again: nothing left to do)


async def a_committed_batch(state: RedisState) -> int:
    """The state version of a batch of 20 simulated records, committed and not drained."""
    records = [
        r.to_source_record()
        for r in simulate(SimulationConfig(residents=20, seed=6), day=1).records.values()
    ]
    worker = IdentityWorker(state, toy_resolver)
    await worker.start()
    applied = await worker.apply([Upsert(r, 1) for r in records])
    assert applied.version is not None
    return applied.version


async def test_a_drainer_abandoned_with_a_batch_in_hand_drains_it_and_ends_quietly(
    settings: Settings, state: RedisState
) -> None:
    version = await a_committed_batch(state)
    drainer = DrainProcess(settings, build_metrics(CollectorRegistry()))
    drainer.start()
    await drainer.hand_over(version, [])
    await asyncio.to_thread(drainer.abandon, 60)  # (the pipe closes before it can answer)
    assert drainer._process.exitcode == 0  # not 1, from a BrokenPipeError's traceback
    assert await state.pending_outbox() == []  # the batch in hand was drained
    assert Store(settings.database_url).rows(tables.source_records)


async def test_a_dead_drainer_stops_the_hand_overs(settings: Settings, state: RedisState) -> None:
    records = [
        r.to_source_record()
        for r in simulate(SimulationConfig(residents=20, seed=6), day=1).records.values()
    ]
    worker = IdentityWorker(state, toy_resolver)
    await worker.start()
    drainer = DrainProcess(settings, build_metrics(CollectorRegistry()))
    drainer.start()
    try:
        os.kill(drainer.pid, signal.SIGKILL)
        applied = await worker.apply([Upsert(r, 1) for r in records])
        assert applied.version is not None
        with pytest.raises(DrainerStopped, match=r"stopped: it was killed by SIGKILL$"):
            await drainer.hand_over(applied.version, [])
            await asyncio.wait_for(drainer.idle(), 60)
        with pytest.raises(DrainerStopped):
            await drainer.hand_over(applied.version, [])
    finally:
        await drainer.stop()
    # the batch is still parked in the outbox, for a worker's sweep or start
    assert [version for version, _ in await state.pending_outbox()] == [applied.version]


async def test_a_drainer_stopped_before_it_stored_its_batch_says_so(
    settings: Settings, state: RedisState, caplog: pytest.LogCaptureFixture
) -> None:
    version = await a_committed_batch(state)
    silent_store = f"postgresql+psycopg://hub:hub@127.0.0.1:{free_port()}/hub"
    drainer = DrainProcess(
        settings.model_copy(update={"database_url": silent_store}),
        build_metrics(CollectorRegistry()),
    )
    drainer.start()
    await drainer.hand_over(version, [])
    await drainer.stop(timeout_s=3)  # (it retries the store for minutes: it is ended)
    assert (
        "stopped with 1 batches committed but not stored (the store or Kafka did not answer)"
        in caplog.text
    )
    assert [pending for pending, _ in await state.pending_outbox()] == [version]


async def test_a_drain_that_keeps_failing_gives_up_with_one_line(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis unreachable (nothing listens on its port) for longer than the retry window:
    the drainer gives up with a line that names the batch and the error, never the data."""

    monkeypatch.setattr(streams.app, "RETRY_FOR_S", 0.5)
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    store = Store(settings.database_url)
    publisher = Publisher(settings.kafka_bootstrap, make_codec(settings), client_id="t-drainer")
    drain = Drain(RedisState(client, prefix=settings.redis_prefix), store, publisher)
    failures: Counter[str] = Counter()
    try:
        with pytest.raises(
            DrainerStopped, match=r"draining batch 7 failed for 0 s: ConnectionError"
        ):
            await _drain_one(drain, 7, lambda kind: failures.update([kind]))
    finally:
        store.dispose()
        await client.aclose()
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert retries and all(
        m == "draining batch 7 failed (ConnectionError); retrying" for m in retries
    )
    assert failures == {"redis": len(retries)}  # (the worker's Redis error counter's)


def test_what_the_drainer_retried_or_failed_to_publish_counts_in_the_worker(
    settings: Settings,
) -> None:
    registry = CollectorRegistry()
    drainer = DrainProcess(settings, build_metrics(registry))
    ours, its = multiprocessing.Pipe()
    for kind in ("redis", "redis", "store"):  # (sent as each failure happens)
        its.send({kind: 1})
    drainer._read(ours)
    value = registry.get_sample_value
    assert (value("hub_redis_errors_total"), value("hub_store_errors_total")) == (2, 1)
    its.send(
        Drained(
            7, 0.0, 0.0, 0.0,
            published={topics.HUB_PERSONS: 4},
            publish_failed={topics.HUB_PERSONS: 2},
        )
    )  # fmt: skip
    drainer._read(ours)
    assert value("hub_events_published_total", {"topic": topics.HUB_PERSONS}) == 4
    assert value("hub_publish_failures_total", {"topic": topics.HUB_PERSONS}) == 2
    assert (value("hub_redis_errors_total"), value("hub_store_errors_total")) == (2, 1)


@pytest.mark.parametrize(
    ("exitcode", "said"),
    [
        (-9, "it was killed by SIGKILL"),
        (-7, "it was killed by SIGBUS"),
        (1, "it exited with status 1"),
        (None, "its pipe closed"),
    ],
)
def test_how_the_drainer_ended_is_said_in_words(exitcode: int | None, said: str) -> None:
    assert _ended(exitcode) == said


async def test_the_workers_retried_failures_are_logged_and_counted_by_kind(
    settings: Settings, borough_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from redis.exceptions import RedisError

    from hub.wiring import worker_parts
    from sinks.store import StoreError
    from streams.app import Worker

    registry = CollectorRegistry()
    settings = settings.model_copy(update={"model_path": borough_model})
    worker = Worker(
        settings, worker_parts(settings, build_metrics(registry)), ensure_topics(settings)
    )
    failures = [RedisError("gone"), StoreError("locked"), RedisError("gone")]

    async def batch() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    assert await worker._retrying(batch) == "done"
    value = registry.get_sample_value
    assert (value("hub_redis_errors_total"), value("hub_store_errors_total")) == (2, 1)
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    kinds = ("RedisError", "StoreError", "RedisError")
    assert retries == [f"retrying after {kind}" for kind in kinds]
