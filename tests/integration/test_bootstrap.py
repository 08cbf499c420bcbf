"""`hub bootstrap` on real Redis and a real store: the state it loads is the state the
stream builds from the same snapshot, and it never overwrites a state by accident."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from hub.bench_bootstrap import snapshot_rows, write_snapshot
from hub.bootstrap import Target, read_snapshot, run_bootstrap
from hub.errors import HubError, UsageError
from hub.link import load_matcher, survivorship_from, thresholds_from
from hub.settings import Settings
from hub.wiring import resolver_factory, store
from matchers.decisions import Judgement, stated_apart
from sinks import tables
from sinks.redis_state import TABLES, RedisState, ReplicatedState
from sinks.store import StoreError
from sources.simulator import SimulationConfig, simulate
from streams.identity import IdentityWorker, Upsert
from streams.rebuild import build_state, read_durable
from tests.support.pipeline import partition_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BOROUGH = SimulationConfig(residents=400, seed=11)
# Tables whose content does not depend on the order records arrived in.
ORDER_FREE = (
    "records", "record_keys", "buckets", "edges", "judgements", "source_versions",
    "service_groups", "record_groups",
)  # fmt: skip


@pytest.fixture(scope="module")
def snapshot_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = snapshot_rows(simulate(BOROUGH, day=1))
    return write_snapshot(rows, tmp_path_factory.mktemp("snapshot") / "persons.parquet")


@pytest.fixture
def settings(stack_settings: Settings, borough_model: Path, tmp_path: Path) -> Settings:
    return stack_settings.model_copy(
        update={
            "model_path": borough_model,
            "redis_prefix": f"boot-{uuid.uuid4().hex[:8]}",
            "database_url": f"sqlite:///{tmp_path / 'store.db'}",
        }
    )


def target_for(settings: Settings) -> Target:
    client = aioredis.Redis.from_url(settings.redis_url)
    return Target(RedisState(client, prefix=settings.redis_prefix), store(settings))


@pytest.fixture
def target(settings: Settings) -> Iterator[Target]:
    target = target_for(settings)
    yield target
    asyncio.run(wipe(settings.redis_url, settings.redis_prefix))
    target.store.dispose()


async def wipe(url: str, prefix: str) -> None:
    async with aioredis.Redis.from_url(url) as client:
        keys = [k async for k in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.unlink(*keys)


async def load_state(settings: Settings) -> ReplicatedState:
    async with aioredis.Redis.from_url(settings.redis_url) as client:
        return await RedisState(client, prefix=settings.redis_prefix).load()


def tables_of(replica: ReplicatedState) -> dict[str, dict[str, Any]]:
    return {t.name: dict(getattr(replica, t.attr)) for t in TABLES}


async def stream_snapshot(settings: Settings, snapshot_path: Path) -> None:
    """The same records through the stream's resolve stage, in small batches, shuffled."""
    snapshot = read_snapshot([snapshot_path], None)
    upserts = [
        Upsert(record, version)
        for record, version in zip(snapshot.records, snapshot.versions, strict=True)
    ]
    random.Random(5).shuffle(upserts)
    async with aioredis.Redis.from_url(settings.redis_url) as client:
        worker = IdentityWorker(
            RedisState(client, settings.redis_prefix), resolver_factory(settings)
        )
        await worker.start()
        for start in range(0, len(upserts), 40):
            await worker.apply(upserts[start : start + 40])


def persons_by_records(replica: ReplicatedState) -> dict[frozenset[str], Any]:
    """Each person's golden record, keyed by its records (ids aside)."""
    return {entry.record_ids: entry.golden for entry in replica._persons.values()}


def households_by_records(replica: ReplicatedState) -> set[tuple[str, frozenset[frozenset[str]]]]:
    persons = replica._persons
    return {
        (entry.household_key, frozenset(persons[p].record_ids for p in entry.person_ids))
        for entry in replica._households.values()
    }


def residents_by_records(replica: ReplicatedState) -> dict[str, frozenset[frozenset[str]]]:
    persons = replica._persons
    return {
        key: frozenset(persons[p].record_ids for p in members)
        for key, members in replica._residents.items()
    }


@pytest.mark.parametrize("scorer", ["splink", "hub"])
def test_bootstrap_loads_the_state_the_stream_builds(
    settings: Settings, target: Target, snapshot_file: Path, scorer: str
) -> None:
    summary = run_bootstrap(
        [snapshot_file], settings=settings, target=target, scorer=scorer, show_progress=False
    )
    assert summary["records"] > 1000
    assert summary["state_version"] == 1
    streamed_settings = settings.model_copy(update={"redis_prefix": settings.redis_prefix + "s"})
    asyncio.run(stream_snapshot(streamed_settings, snapshot_file))
    booted = asyncio.run(load_state(settings))
    streamed = asyncio.run(load_state(streamed_settings))
    try:
        ours, theirs = tables_of(booted), tables_of(streamed)
        for name in ORDER_FREE:
            assert ours[name] == theirs[name], name
        # Persons, households and residents are the same groups of records; ids,
        # aliases and versions depend on arrival order (the stream merged as it went).
        assert persons_by_records(booted) == persons_by_records(streamed)
        assert households_by_records(booted) == households_by_records(streamed)
        assert residents_by_records(booted) == residents_by_records(streamed)
        assert partition_of(ours["person_of"]) == partition_of(theirs["person_of"])
        assert ours["counters"] == {
            "person": summary["persons"],
            "household": summary["households"],
        }
        assert not ours["person_aliases"] and not ours["household_aliases"]
    finally:
        asyncio.run(wipe(settings.redis_url, streamed_settings.redis_prefix))
    # The store holds the same persons and every record's payload and source version.
    persons = {p.person_id: p for p in booted._persons.values()}
    stored = target.store.record_partition()
    assert {r: p for r, (p, _h) in stored.items()} == ours["person_of"]
    assert {r: h for r, (_p, h) in stored.items()} == {
        r: persons[p].household_id for r, p in ours["person_of"].items()
    }
    payloads = target.store.rows(tables.source_payloads)
    assert {row["record_id"]: row["source_version"] for row in payloads} == ours["source_versions"]
    assert len(target.store.rows(tables.households)) == summary["households"]


def test_bootstrap_refuses_a_state_that_is_not_empty_unless_told_to_replace(
    settings: Settings, target: Target, snapshot_file: Path
) -> None:
    first = run_bootstrap([snapshot_file], settings=settings, target=target, show_progress=False)
    with pytest.raises(UsageError, match="already holds an identity state"):
        run_bootstrap([snapshot_file], settings=settings, target=target, show_progress=False)
    before = asyncio.run(load_state(settings))
    again = run_bootstrap(
        [snapshot_file], settings=settings, target=target, replace=True, show_progress=False
    )
    assert again["replaced"] is True
    assert again["state_version"] == first["state_version"] + 1
    after = asyncio.run(load_state(settings))
    assert after.version == again["state_version"]
    assert tables_of(after) == tables_of(before)  # the same snapshot gives the same state
    # Nothing of the first load is left twice in the store.
    assert len(target.store.rows(tables.source_records)) == again["records"]
    assert len(target.store.rows(tables.persons)) == again["persons"]


def test_a_store_write_failing_part_way_says_how_to_recover_and_a_replace_recovers(
    settings: Settings, target: Target, snapshot_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def held() -> dict[str, int]:
        return {t.name: len(target.store.rows(t)) for t in tables.metadata.sorted_tables}

    first = run_bootstrap([snapshot_file], settings=settings, target=target, show_progress=False)
    before, whole = asyncio.run(load_state(settings)), held()
    apply, calls = target.store.apply, []

    def fails_the_second_time(batch: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise StoreError("store at sqlite:///store.db cannot be written: disk I/O error")
        apply(batch)

    monkeypatch.setattr(target.store, "apply", fails_the_second_time)
    with pytest.raises(HubError) as failed:
        run_bootstrap(
            [snapshot_file], settings=settings, target=target, replace=True, show_progress=False
        )
    assert str(failed.value) == (
        "store at sqlite:///store.db cannot be written: disk I/O error; the store may hold part "
        "of this snapshot, and the identity state in Redis is as it was: run the same hub "
        "bootstrap again with --replace"
    )
    assert held() != whole  # (a part)
    untouched = asyncio.run(load_state(settings))
    assert (untouched.version, tables_of(untouched)) == (before.version, tables_of(before))
    monkeypatch.setattr(target.store, "apply", apply)
    again = run_bootstrap(
        [snapshot_file], settings=settings, target=target, replace=True, show_progress=False
    )
    assert tables_of(asyncio.run(load_state(settings))) == tables_of(before)
    assert held() == whole
    assert again["records"] == first["records"]


def test_a_replacing_bootstrap_numbers_its_state_above_what_the_store_holds(
    settings: Settings, target: Target, snapshot_file: Path
) -> None:
    # Redis lost its state; the store keeps a judgement of a later version (a replace
    # keeps judgements). A state numbered from Redis's version alone would be refused.
    first = run_bootstrap([snapshot_file], settings=settings, target=target, show_progress=False)
    asyncio.run(wipe(settings.redis_url, settings.redis_prefix))
    target.store.apply({tables.judgements: [{
        "record_a": "a:1", "record_b": "b:1", "same": False, "judged_by": "officer",
        "judged_at": "2026-11-26T10:00:00", "version": 500,
    }]})  # fmt: skip
    again = run_bootstrap(
        [snapshot_file], settings=settings, target=target, replace=True, show_progress=False
    )
    assert first["state_version"] == 1 and again["state_version"] == 501
    assert target.store.newest_state_version() == 501

    async def start_a_worker() -> int:
        async with aioredis.Redis.from_url(settings.redis_url) as client:
            worker = IdentityWorker(
                RedisState(client, settings.redis_prefix), resolver_factory(settings)
            )
            await worker.start(target.store.newest_state_version())
            return worker.replica.version

    assert asyncio.run(start_a_worker()) == 501


def test_a_replacing_bootstrap_keeps_the_judgements_and_its_persons_obey_them(
    settings: Settings, target: Target, snapshot_file: Path
) -> None:
    run_bootstrap([snapshot_file], settings=settings, target=target, show_progress=False)
    person_of = tables_of(asyncio.run(load_state(settings)))["person_of"]
    people = sorted(sorted(g) for g in partition_of(person_of) if len(g) >= 2)
    (a, b, *_), (c, d, *_) = people[0], people[1]
    # a person said a and b are two people; a source related c and d (c is d's parent)
    judged = Judgement(a, b, same=False, by="officer", at="2026-11-27T10:00:00")
    stated = stated_apart(c, d, c.partition(":")[0])
    target.store.apply({tables.judgements: [
        {"record_a": j.record_a, "record_b": j.record_b, "same": j.same, "judged_by": j.by,
         "judged_at": j.at, "version": 1}
        for j in (judged, stated)
    ]})  # fmt: skip
    run_bootstrap(
        [snapshot_file], settings=settings, target=target, replace=True, show_progress=False
    )
    after = tables_of(asyncio.run(load_state(settings)))
    assert after["person_of"][a] != after["person_of"][b]
    assert after["person_of"][c] != after["person_of"][d]
    assert after["judgements"][a] == {b: judged} and after["judgements"][d] == {c: stated}
    assert set(target.store.judgements()) == {judged, stated}


def test_a_replacing_bootstrap_keeps_the_groupings_the_relationships_it_keeps_make(
    settings: Settings, target: Target, snapshot_file: Path
) -> None:
    """A replace keeps the store's relationships; the state it loads holds the service
    groupings, memberships and relationship versions they make, as `hub state rebuild`
    of the store it leaves would (every table that does not depend on arrival order)."""
    run_bootstrap([snapshot_file], settings=settings, target=target, show_progress=False)
    a, b, c = sorted(tables_of(asyncio.run(load_state(settings)))["records"])[:3]
    at = dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC)

    def membership(rel: str, record: str, *, removed: bool = False) -> dict[str, Any]:
        return {"relationship_id": f"mosaic:{rel}", "source_system": "mosaic",
                "kind": "FAMILY_GROUP", "record_id": record, "related_record_id": None,
                "group_id": "mosaic:F1", "role": None, "start": None, "end": None,
                "removed": removed, "version": 7, "updated_at": at}  # fmt: skip

    target.store.apply({tables.relationships: [
        membership("r1", a), membership("r2", b), membership("r3", c, removed=True),
    ]})  # fmt: skip
    run_bootstrap(
        [snapshot_file], settings=settings, target=target, replace=True, show_progress=False
    )
    booted = tables_of(asyncio.run(load_state(settings)))
    matcher = load_matcher(settings.model_path)
    rebuilt = build_state(
        read_durable(target.store),
        matcher,
        thresholds_from(settings, matcher.block_cap),
        survivorship_from(settings),
        version=0,
    )
    theirs = tables_of(rebuilt.state)
    for name in (*ORDER_FREE, "memberships", "membership_holders"):
        assert booted[name] == theirs[name], name
    (group,) = booted["service_groups"].values()
    assert group.record_ids == {a, b}
    assert booted["record_groups"][a] == {group.key} and c not in booted["record_groups"]
    assert booted["memberships"]["rel:mosaic:r1"] == (group.key, a)
    assert booted["source_versions"]["rel:mosaic:r3"] == 7


def test_bootstrap_refuses_while_a_worker_runs_on_the_state(
    settings: Settings, target: Target, snapshot_file: Path
) -> None:
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    client.set(f"{settings.redis_prefix}:workers:somewhere-1", "1", ex=30)
    try:
        with pytest.raises(UsageError, match="worker"):
            run_bootstrap(
                [snapshot_file], settings=settings, target=target, replace=True,
                show_progress=False,
            )  # fmt: skip
        assert asyncio.run(load_state(settings)).version == 0
    finally:
        client.delete(f"{settings.redis_prefix}:workers:somewhere-1")
        client.close()
