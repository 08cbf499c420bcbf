"""The identity state in real Redis: replicas load and catch up, commits are atomic and
fenced by the lock, and two workers at once reach the batch result."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest
import redis.asyncio as aioredis

from hub.settings import Settings
from hub.wiring import require_current_layout
from matchers.identity_state import IdAllocator, IdentityState
from matchers.records import SourceRecord
from matchers.resolver import Resolver
from matchers.standardise import standardise
from sinks.redis_state import (
    TABLES,
    EvictingRedis,
    OlderStateLayout,
    RedisState,
    ReplicatedState,
    StateConflict,
    StateWentBack,
)
from sinks.state_bulk import held_lock
from sources.simulator import SimulationConfig, simulate
from streams.identity import ConfigurationMismatch, Delete, IdentityWorker, Outbox, Upsert
from tests.support.resolving import THRESHOLDS, batch, batch_partition, toy_resolver

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
async def redis_state(redis_url: str) -> AsyncIterator[RedisState]:
    client = aioredis.Redis.from_url(redis_url)
    state = RedisState(client, prefix=f"test-{uuid.uuid4().hex[:8]}")
    yield state
    await state.wipe()
    await client.aclose()


@pytest.fixture(scope="module")
def borough() -> list[SourceRecord]:
    simulation = simulate(SimulationConfig(residents=300, seed=7), day=1)
    return [r.to_source_record() for r in simulation.records.values()]


def tables_of(replica: ReplicatedState) -> dict[str, dict[str, object]]:
    return {t.name: dict(getattr(replica, t.attr)) for t in TABLES}


async def test_a_second_replica_loads_then_catches_up(
    redis_state: RedisState, borough: list[SourceRecord]
) -> None:
    first = IdentityWorker(redis_state, toy_resolver)
    await first.start()
    applied = await first.apply([Upsert(r, 1) for r in borough[:150]])
    assert applied.version == 1 and applied.applied == 150
    outbox = await redis_state.pending_outbox()
    assert [v for v, _ in outbox] == [1]
    assert Outbox.decode(outbox[0][1]) == applied.outbox

    second = IdentityWorker(redis_state, toy_resolver)
    await second.start()
    assert tables_of(second.replica) == tables_of(first.replica)

    await first.apply([Upsert(r, 1) for r in borough[150:]])
    await first.apply([Delete(borough[0].record_id, 2)])
    token = await redis_state.acquire()
    caught = await redis_state.catch_up(second.replica)
    await redis_state.release(token)
    assert caught == 2
    assert second.replica.version == first.replica.version == 3
    assert tables_of(second.replica) == tables_of(first.replica)


async def test_stale_and_repeated_events_change_nothing(
    redis_state: RedisState, borough: list[SourceRecord]
) -> None:
    worker = IdentityWorker(redis_state, toy_resolver)
    await worker.start()
    await worker.apply([Upsert(r, 5) for r in borough[:20]])
    before = tables_of(worker.replica)
    again = await worker.apply([Upsert(r, 5) for r in borough[:20]] + [Upsert(borough[0], 4)])
    assert (again.version, again.stale.total(), again.applied) == (None, 21, 0)
    assert tables_of(worker.replica) == before
    assert await redis_state.current_version() == 1


@pytest.mark.parametrize("meanwhile", ["the lock expired", "another worker committed"])
async def test_a_commit_that_lost_the_lock_or_the_version_writes_nothing(
    meanwhile: str, redis_state: RedisState, borough: list[SourceRecord]
) -> None:
    worker = IdentityWorker(redis_state, toy_resolver)
    await worker.start()
    token = await redis_state.acquire()
    worker.resolver.upsert(borough[0])
    expired = meanwhile == "the lock expired"
    if expired:
        await redis_state.client.delete(redis_state.lock_key)
    else:
        await redis_state.client.set(redis_state.version_key, 7)
    with pytest.raises(StateConflict):
        await redis_state.commit(worker.replica, token, release=True)
    assert await redis_state.current_version() == (0 if expired else 7)
    assert await redis_state.client.hlen(redis_state.table_key("records")) == 0
    held = await redis_state.client.get(redis_state.lock_key)
    assert held is None if expired else held.decode() == token  # a failed commit keeps it


async def test_one_commit_sets_and_removes_thousands_of_fields_and_gives_the_lock_up(
    redis_state: RedisState, borough: list[SourceRecord]
) -> None:
    # The commit script writes each table in chunks (Lua's unpack takes ~8,000 values).
    assert len(borough) > 1000
    first, second = (IdentityWorker(redis_state, toy_resolver) for _ in range(2))
    await first.start()
    await second.start()
    await first.apply([Upsert(r, 1) for r in borough])
    assert await redis_state.client.hlen(redis_state.table_key("records")) == len(borough)
    assert await redis_state.client.hlen(redis_state.table_key("edges")) > 1000
    assert not await redis_state.client.exists(redis_state.lock_key)
    await first.apply([Delete(r.record_id, 2) for r in borough])
    assert await redis_state.client.hlen(redis_state.table_key("records")) == 0
    assert await redis_state.client.hlen(redis_state.table_key("edges")) == 0
    await second.apply([])  # (it catches up first)
    assert tables_of(second.replica) == tables_of(first.replica)
    assert tables_of(await redis_state.load()) == tables_of(first.replica)


async def test_two_workers_at_once_reach_the_batch_result(
    redis_url: str, redis_state: RedisState, borough: list[SourceRecord]
) -> None:
    # Each worker has its own connection and replica; records of one person are spread
    # over both and arrive in small batches at the same time.
    second_client = aioredis.Redis.from_url(redis_url)
    workers = [
        IdentityWorker(redis_state, toy_resolver),
        IdentityWorker(RedisState(second_client, prefix=redis_state.prefix), toy_resolver),
    ]
    for worker in workers:
        await worker.start()
    records = list(borough)
    random.Random(3).shuffle(records)
    halves = [records[0::2], records[1::2]]

    async def run(worker: IdentityWorker, mine: list[SourceRecord]) -> None:
        for start in range(0, len(mine), 7):
            await worker.apply([Upsert(r, 1) for r in mine[start : start + 7]])
            await asyncio.sleep(0)  # let the other worker in between batches

    await asyncio.gather(*(run(w, h) for w, h in zip(workers, halves, strict=True)))
    token = await redis_state.acquire()
    for worker in workers:
        await worker.redis.catch_up(worker.replica)
    await redis_state.release(token)
    await second_client.aclose()

    expected = batch_partition(batch(standardise(r) for r in borough))
    for worker in workers:
        assert worker.replica.partition() == expected
    # Person numbers were never handed out twice.
    person_ids = [e.person_id for e in workers[0].replica._persons.values()]
    assert len(person_ids) == len(set(person_ids))


async def test_a_state_in_the_older_layout_is_refused_with_what_to_do(
    redis_state: RedisState, stack_settings: Settings
) -> None:
    # until stop 9 each blocking key's whole bucket was stored; such a state cannot be read
    await redis_state.client.hset(redis_state.table_key("buckets"), "k", b'["r1"]')
    with pytest.raises(OlderStateLayout, match="hub state rebuild"):
        await redis_state.load()
    settings = stack_settings.model_copy(update={"redis_prefix": redis_state.prefix})
    with pytest.raises(OlderStateLayout):  # `hub worker` says so before it starts
        require_current_layout(settings)
    await redis_state.wipe()  # (`hub stack reset`): a fresh start loads
    assert (await redis_state.load()).size()["records"] == 0


async def test_a_state_that_went_back_is_refused_before_anything_is_written(
    redis_state: RedisState, borough: list[SourceRecord]
) -> None:
    running = IdentityWorker(redis_state, toy_resolver)
    await running.start()
    await running.apply([Upsert(r, 1) for r in borough[:100]])
    await running.apply([Upsert(r, 1) for r in borough[100:200]])
    await redis_state.wipe()  # Redis restarted empty

    # a running worker stops at its next batch, even when it reloaded the empty state
    # after a failed batch (as it does: its replica may hold writes that never got there)
    for reloaded in (False, True):
        if reloaded:
            await redis_state.load(running.replica)
            assert running.replica.version == 0
        with pytest.raises(StateWentBack, match="at version 0, but this worker had already seen"):
            await running.apply([Upsert(r, 1) for r in borough[200:]])
    # ... and one starting refuses a state older than what the store holds
    starting = IdentityWorker(redis_state, toy_resolver)
    with pytest.raises(StateWentBack, match=r"the store holds version 2\b.*hub state rebuild"):
        await starting.start(stored_version=2)
    assert await redis_state.current_version() == 0  # neither wrote anything
    assert await redis_state.pending_outbox() == []
    await starting.start(stored_version=0)  # a store as empty as the state: a fresh start


async def test_a_state_built_under_another_configuration_is_refused(
    redis_state: RedisState, borough: list[SourceRecord]
) -> None:
    first = IdentityWorker(redis_state, toy_resolver)
    await first.start()
    await first.apply([Upsert(r, 1) for r in borough[:50]])
    stricter = dataclasses.replace(THRESHOLDS, link=7.0)

    def strict_resolver(state: IdentityState, ids: IdAllocator) -> Resolver:
        resolver = toy_resolver(state, ids)
        resolver.thresholds = stricter
        return resolver

    with pytest.raises(
        ConfigurationMismatch, match=r"HUB_LINK_THRESHOLD 7.0 here, 6.0 in the state\. "
    ):
        await IdentityWorker(redis_state, strict_resolver).start()
    await IdentityWorker(redis_state, toy_resolver).start()  # the same one carries on
    await redis_state.wipe()  # (`hub stack reset`): a fresh start takes the new one
    await IdentityWorker(redis_state, strict_resolver).start()
    with pytest.raises(ConfigurationMismatch, match=r"HUB_LINK_THRESHOLD 6\.0 here, 7\.0"):
        await IdentityWorker(redis_state, toy_resolver).start()
    # a running worker stops at its next batch if the state was rebuilt under another one
    # meanwhile (`hub state rebuild --force`), writing nothing
    running = IdentityWorker(redis_state, strict_resolver)
    await running.start()
    rebuilt = IdentityWorker(redis_state, toy_resolver).configuration
    await redis_state.client.set(redis_state.configuration_key, orjson.dumps(rebuilt))
    with pytest.raises(ConfigurationMismatch, match=r"HUB_LINK_THRESHOLD 7\.0 here, 6\.0"):
        await running.apply([Upsert(r, 1) for r in borough[:10]])
    assert await redis_state.current_version() == 0


async def test_a_redis_that_evicts_any_key_when_full_is_refused(redis_state: RedisState) -> None:
    client = redis_state.client
    (before,) = (await client.config_get("maxmemory-policy")).values()
    try:
        for policy in ("noeviction", "volatile-lru"):  # (only keys with a lifetime go)
            await client.config_set("maxmemory-policy", policy)
            await IdentityWorker(redis_state, toy_resolver).start()
        await client.config_set("maxmemory-policy", "allkeys-lru")
        with pytest.raises(EvictingRedis, match=r"allkeys-lru\).*to noeviction"):
            await IdentityWorker(redis_state, toy_resolver).start()
    finally:
        await client.config_set("maxmemory-policy", before)


async def test_a_settled_lease_is_renewed_once_and_then_left_alone(
    redis_state: RedisState,
) -> None:
    # A long job (a bulk load, a rebuild) holds the lock renewed in the background; its
    # last transaction WATCHes the lock key, which a renewal would touch and so abort it.
    client, lock_key = redis_state.client, redis_state.lock_key
    async with held_lock(redis_state, ttl_s=0.3) as lease:
        await asyncio.sleep(0.4)  # longer than the TTL: held only because it was renewed
        assert await client.get(lock_key) == lease.token.encode()
        await lease.settle()
        assert await client.pttl(lock_key) > 200  # renewed for a whole TTL just now
        async with client.pipeline(transaction=True) as pipe:
            await pipe.watch(lock_key)
            await asyncio.sleep(0.15)  # longer than the renewal interval (0.1 s)
            pipe.multi()
            pipe.get(lock_key)
            assert await pipe.execute() == [lease.token.encode()]  # not aborted
    assert await client.get(lock_key) is None  # released
