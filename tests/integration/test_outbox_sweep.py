"""A batch a worker committed but never drained (it stopped in between) is drained by a
running worker's sweep, on real Redis, Kafka and SQLite: its rows reach the store."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from hub.settings import Settings
from schemas.codec import make_codec
from sinks import tables
from sinks.redis_state import RedisState
from sinks.store import Store
from sources.publisher import Publisher
from sources.simulator import SimulationConfig, simulate
from streams.identity import IdentityWorker, Upsert
from streams.pipeline import Drain
from streams.topology import ensure_topics
from tests.support.resolving import toy_resolver

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


async def test_a_running_worker_drains_what_a_stopped_one_left(
    stack_settings: Settings, tmp_path: Path
) -> None:
    settings = stack_settings.model_copy(update={"redis_prefix": f"t-{uuid.uuid4().hex[:8]}"})
    ensure_topics(settings)
    records = [
        r.to_source_record()
        for r in simulate(SimulationConfig(residents=60, seed=3), day=1).records.values()
    ]
    client = aioredis.Redis.from_url(settings.redis_url)
    state = RedisState(client, prefix=settings.redis_prefix)
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.upgrade()
    publisher = Publisher(settings.kafka_bootstrap, make_codec(settings), timeout_s=60)
    try:
        stopped = IdentityWorker(state, toy_resolver)  # commits, then "dies" before draining
        await stopped.start()
        left = await stopped.apply([Upsert(r, 1) for r in records[:40]])
        assert left.version is not None

        drain = Drain(state, store, publisher)
        assert await drain.sweep() == 0  # it might be a running worker's batch: not yet
        assert store.rows(tables.source_records) == []

        # meanwhile a running worker commits and drains a batch of its own
        running = IdentityWorker(state, toy_resolver)
        await running.start()
        own = await running.apply([Upsert(r, 1) for r in records[40:]])
        assert own.version is not None
        await drain.drain(own.version, own.outbox)

        assert await drain.sweep() == 1  # the stopped worker's batch, pending since last time
        assert await state.pending_outbox() == []
        stored = {row["record_id"] for row in store.rows(tables.source_records)}
        assert stored == {r.record_id for r in records}
        assert await drain.sweep() == 0
    finally:
        await state.wipe()
        await client.aclose()
        store.dispose()
