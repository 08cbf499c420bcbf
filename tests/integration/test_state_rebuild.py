"""Rebuilding the identity state from the store, on real Redis and a real SQLite store.

Two hubs apply the same operations (upserts, updates, deletes, judgements, service
groupings); one loses its Redis state and rebuilds it from its store. The rebuilt state
equals the lost one (ids, versions and all), and both hubs stay equal as more operations
arrive.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import create_engine, text

from hub.link import Matcher
from matchers.decisions import Judgement
from matchers.records import SourceRecord
from matchers.resolver import configuration
from matchers.standardise import standardise
from matchers.survivorship import SurvivorshipRules
from sinks import tables
from sinks.redis_state import TABLES, RedisState, ReplicatedState
from sinks.state_bulk import held_lock
from sinks.store import Store
from sources.simulator import SimulationConfig, simulate
from streams.identity import Delete, IdentityWorker, Judge, Membership, Operation, Upsert
from streams.outputs import store_rows
from streams.rebuild import build_state, read_durable, replace_state
from tests.integration.test_redis_state import toy_resolver
from tests.support.resolving import THRESHOLDS, batch, batch_partition
from tests.support.toy_model import ToyKeyRules, ToyScorer

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
MATCHER = Matcher(standardise, ToyKeyRules(), ToyScorer())


@dataclasses.dataclass
class Hub:
    """A Redis prefix, its store, and the worker that keeps both: the stream without
    Kafka (each batch drained straight into the store, as `Drain` does)."""

    state: RedisState
    store: Store
    worker: IdentityWorker

    async def apply(self, operations: Sequence[Operation], batch_size: int = 25) -> None:
        for start in range(0, len(operations), batch_size):
            part = operations[start : start + batch_size]
            applied = await self.worker.apply(part)
            groups = [membership_row(o) for o in part if isinstance(o, Membership)]
            if groups:
                self.store.apply({tables.relationships: groups})
            if applied.version is not None:
                self.store.apply(store_rows(applied.outbox, applied.version, NOW))
                await self.state.clear_outbox([applied.version])


def membership_row(change: Membership) -> dict[str, Any]:
    """The relationships row the pipeline stores beside a membership change."""
    return {
        "relationship_id": change.key.removeprefix("rel:"), "source_system": change.source_system,
        "kind": change.kind.upper(), "record_id": change.record_id, "related_record_id": None,
        "group_id": change.group_id, "role": None, "start": None, "end": None,
        "removed": not change.present, "version": change.source_version, "updated_at": NOW,
    }  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
async def hubs(
    request: pytest.FixtureRequest, redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Hub, Hub]]:
    client = aioredis.Redis.from_url(redis_url)
    server = None
    if request.param == "postgresql":
        server = create_engine(
            request.getfixturevalue("postgres_url"), isolation_level="AUTOCOMMIT"
        )
    made, databases = [], []
    for name in ("lost", "kept"):
        state = RedisState(client, prefix=f"test-{uuid.uuid4().hex[:8]}")
        if server is None:
            url = f"sqlite:///{tmp_path / name}.db"
        else:
            database = f"t_{uuid.uuid4().hex[:10]}"
            with server.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{database}"'))
            databases.append(database)
            url = server.url.set(database=database).render_as_string(hide_password=False)
        store = Store(url)
        store.upgrade()
        worker = IdentityWorker(state, toy_resolver)
        await worker.start()
        made.append(Hub(state, store, worker))
    yield made[0], made[1]
    for hub in made:
        await hub.state.wipe()
        hub.store.dispose()
    await client.aclose()
    if server is not None:
        with server.connect() as connection:
            for database in databases:
                connection.execute(text(f'DROP DATABASE "{database}" WITH (FORCE)'))
        server.dispose()


def tables_of(replica: ReplicatedState) -> dict[str, dict[str, Any]]:
    return {t.name: dict(getattr(replica, t.attr)) for t in TABLES}


def comparable(replica: ReplicatedState) -> dict[str, dict[str, Any]]:
    """The state's tables; a household's key left out: the resolver keeps the key a
    household was formed at when its members move together (an open issue), while a
    rebuild takes their current address."""
    out = tables_of(replica)
    out["households"] = {
        k: dataclasses.replace(v, household_key="") for k, v in out["households"].items()
    }
    return out


async def rebuild(hub: Hub) -> int:
    async with held_lock(hub.state) as lease:
        durable = read_durable(hub.store)
        version = max(durable.state_version, await hub.state.current_version()) + 1
        rebuilt = build_state(durable, MATCHER, THRESHOLDS, SurvivorshipRules(), version=version)
        built_under = configuration(MATCHER.scorer.version, THRESHOLDS, SurvivorshipRules())
        await replace_state(hub.state, rebuilt.state, lease, built_under)
    return version


def day_one(records: list[SourceRecord], seed: int) -> list[Operation]:
    """Every record, then updates, deletes and service groupings, in a shuffled order."""
    rng = random.Random(seed)
    operations: list[Operation] = [Upsert(r, 1) for r in records]
    for record in rng.sample(records, 30):  # changed names and addresses
        changed = dataclasses.replace(
            record, last_name=(record.last_name or "x") + "e", postcode=None, uprn=None
        )
        operations.append(Upsert(changed, 2))
    operations += [Delete(r.record_id, 3) for r in rng.sample(records, 15)]
    for n, record in enumerate(rng.sample(records, 40)):
        operations.append(
            Membership(f"rel:{record.record_id}-g", 1, "council_tax", "council_tax_account",
                       f"A{n % 12}", record.record_id, present=n % 5 != 0)
        )  # fmt: skip
    rng.shuffle(operations)
    return operations


def judgements(replica: ReplicatedState, rng: random.Random) -> list[Operation]:
    """A "not the same" inside persons of several records (splits) and a "same" between
    records of two persons (a merge)."""
    persons = sorted((sorted(e.record_ids) for e in replica._persons.values()), key=lambda r: r[0])
    several = [p for p in persons if len(p) >= 3]
    picked = rng.sample(several, 3)
    split = [Judge(Judgement(p[0], p[1], False, "officer", "2026-11-27T10:00:00")) for p in picked]
    a, b = rng.sample(persons, 2)
    merge = Judge(Judgement(a[0], b[0], True, "officer", "2026-11-27T10:05:00"))
    return [*split, merge]


async def test_a_rebuilt_state_equals_the_lost_one_and_keeps_up(
    hubs: tuple[Hub, Hub],
) -> None:
    lost, kept = hubs
    simulation = simulate(SimulationConfig(residents=250, seed=5), day=1)
    records = [r.to_source_record() for r in simulation.records.values()]
    first = day_one(records, seed=1)
    for hub in (lost, kept):
        await hub.apply(first)
    judged = judgements(kept.worker.replica, random.Random(2))
    for hub in (lost, kept):
        await hub.apply(judged, batch_size=1)
    assert len(kept.store.rows(tables.judgements)) == len(judged)
    before = comparable(lost.worker.replica)
    assert before == comparable(kept.worker.replica)
    assert before["person_aliases"] and before["service_groups"]

    await lost.state.wipe()  # Redis lost everything
    version = await rebuild(lost)
    assert version == await lost.state.current_version() > lost.worker.replica.version
    restarted = IdentityWorker(lost.state, toy_resolver)
    await restarted.start()
    assert comparable(restarted.replica) == before
    assert restarted.replica.version == version
    lost.worker = restarted

    # More changes: the rebuilt hub and the one never lost stay one and the same.
    rng = random.Random(3)
    later: list[Operation] = [Upsert(r, 1) for r in records]  # repeated: stale
    later += [Delete(r.record_id, 4) for r in rng.sample(records, 10)]
    later += [Upsert(dataclasses.replace(r, first_name="Zed"), 5) for r in rng.sample(records, 10)]
    for hub in (lost, kept):
        await hub.apply(later)
    assert comparable(lost.worker.replica) == comparable(kept.worker.replica)
    live = [standardise(r) for r in read_durable(lost.store).records]
    judged_pairs = [o.judgement for o in judged if isinstance(o, Judge)]
    assert lost.worker.replica.partition() == batch_partition(batch(live, judgements=judged_pairs))


async def test_a_membership_that_moves_to_another_group_leaves_the_first(
    hubs: tuple[Hub, Hub],
) -> None:
    """A source's relationship id is stable across updates: when one moves its record to
    another group (a child's family group changes) the record leaves the first, as the
    store and a rebuild from it have it; a record two relationships put in one group stays
    while either does."""
    lost, kept = hubs
    simulation = simulate(SimulationConfig(residents=20, seed=6), day=1)
    a, b, c = sorted(simulation.records.values(), key=lambda r: r.record_id)[:3]
    records = [r.to_source_record() for r in (a, b, c)]

    def member(key: str, version: int, group: str, record: SourceRecord, *, present: bool = True
               ) -> Membership:  # fmt: skip
        return Membership(f"rel:{key}", version, "mosaic", "family_group", group,
                          record.record_id, present=present)  # fmt: skip

    first = [Upsert(r, 1) for r in records]
    first += [member("m1", 1, "F1", records[0]), member("m2", 1, "F1", records[1]),
              member("m3", 1, "F1", records[2]), member("m4", 1, "F2", records[2])]  # fmt: skip
    moved = [member("m1", 2, "F2", records[0]),  # m1 moves its record to F2
             member("m5", 1, "F1", records[2]),  # a second membership of c's in F1...
             member("m5", 2, "F1", records[2], present=False),  # ...ends: m3 still holds c
             member("m4", 2, "F3", records[2]),  # m4 moves c from F2 to F3
             member("m2", 2, "", records[1], present=False)]  # m2 now names no group  # fmt: skip
    for hub in (lost, kept):
        await hub.apply(first)
        await hub.apply(moved, batch_size=1)

    def groups(replica: ReplicatedState) -> dict[str, set[str]]:
        return {g.group_id: set(g.record_ids) for g in replica._service_groups.values()}

    ids = [r.record_id for r in records]
    expected = {"F1": {ids[2]}, "F2": {ids[0]}, "F3": {ids[2]}}
    assert groups(kept.worker.replica) == expected
    await lost.state.wipe()
    await rebuild(lost)
    restarted = IdentityWorker(lost.state, toy_resolver)
    await restarted.start()
    assert groups(restarted.replica) == expected
    assert comparable(restarted.replica) == comparable(kept.worker.replica)
