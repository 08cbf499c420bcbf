"""`hub state rebuild` on the real pipeline: a borough streamed through a real worker,
Redis wiped, the state rebuilt from the store with the same persons, households and ids,
and the stream carrying on from it to the batch result."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from hub import wiring
from hub.link import load_matcher, survivorship_from, thresholds_from
from hub.settings import Settings
from matchers.batch import resolve_batch
from matchers.decisions import Judgement
from schemas.codec import make_codec
from sinks import tables
from sinks.redis_state import TABLES, ReplicatedState
from sinks.store import Store
from sources.publisher import Publisher
from sources.simulator import PersonChange, SimulationConfig, iter_events
from streams.identity import IdentityWorker, Judge
from streams.pipeline import Drain
from tests.conftest import world_readable_tempdir
from tests.support.pipeline import (
    HUB,
    HubUnderTest,
    applied_records,
    partition_of,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BOROUGH = SimulationConfig(residents=400, seed=11)


@pytest.fixture
def hub(stack_settings: Settings, borough_model: Path) -> Iterator[HubUnderTest]:
    under_test = HubUnderTest(stack_settings, borough_model, world_readable_tempdir("hub-sr-"))
    under_test.start_at_end()
    yield under_test
    under_test.stop()


def load_state(hub: HubUnderTest) -> ReplicatedState:
    async def load() -> ReplicatedState:
        state = wiring.redis_state(hub.worker_settings())
        try:
            return await state.load()
        finally:
            await state.client.aclose()

    return asyncio.run(load())


def comparable(replica: ReplicatedState) -> dict[str, dict[str, Any]]:
    """Every table of the state; a household's key left out (the resolver keeps the key a
    household was formed at when its members move together, a rebuild takes their
    current address)."""
    out = {t.name: dict(getattr(replica, t.attr)) for t in TABLES}
    out["households"] = {
        k: dataclasses.replace(v, household_key="") for k, v in out["households"].items()
    }
    return out


def judge(hub: HubUnderTest, judgements: list[Judgement]) -> None:
    """Apply human judgements as a review stage would: one commit, drained to the store."""
    settings = hub.worker_settings()

    async def apply() -> None:
        state = wiring.redis_state(settings)
        identity = IdentityWorker(state, wiring.resolver_factory(settings))
        publisher = Publisher(settings.kafka_bootstrap, make_codec(settings))
        try:
            await identity.start()
            applied = await identity.apply([Judge(j) for j in judgements])
            assert applied.version is not None
            await Drain(state, hub.store(), publisher).drain(applied.version, applied.outbox)
        finally:
            await state.client.aclose()

    asyncio.run(apply())


def picked_judgements(hub: HubUnderTest) -> list[Judgement]:
    """Two records of one person judged different people; two persons judged one."""
    groups: dict[str, list[str]] = {}
    for record_id, (person_id, _h) in hub.store().record_partition().items():
        groups.setdefault(person_id, []).append(record_id)
    persons = sorted(sorted(g) for g in groups.values())
    rng = random.Random(4)
    split = rng.choice([g for g in persons if len(g) >= 3])
    a, b = rng.sample([g for g in persons if g != split], 2)
    return [
        Judgement(split[0], split[1], False, "officer", "2026-11-27T10:00:00"),
        Judgement(a[0], b[0], True, "officer", "2026-11-27T10:01:00"),
    ]


def assert_equals_batch(hub: HubUnderTest) -> None:
    """The store's persons and households equal a batch run over the records the stream
    holds and the judgements the store keeps."""
    store = hub.store()
    settings = hub.worker_settings()
    matcher = load_matcher(hub.model_path)
    records = {r.record_id: matcher.standardise(r) for r in applied_records(store)}
    judged = store.judgements()
    result = resolve_batch(
        records.values(), matcher.rules, matcher.scorer,
        thresholds_from(settings, matcher.block_cap),
        judgements=judged, survivorship=survivorship_from(settings),
    )  # fmt: skip
    streamed = store.record_partition()
    assert set(streamed) == set(records)
    assert partition_of({r: p for r, (p, _h) in streamed.items()}) == partition_of(result.person_of)
    households = {r: result.household_of.get(p) or f"none:{r}" for r, p in result.person_of.items()}
    assert partition_of({r: h or f"none:{r}" for r, (_p, h) in streamed.items()}) == (
        partition_of(households)
    )


def rebuild(
    hub: HubUnderTest, *options: str, store_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = hub.env() | ({"HUB_DATABASE_URL": store_url} if store_url else {})
    return subprocess.run(
        [HUB, "state", "rebuild", *options], env=env, capture_output=True, text=True,
        check=False, timeout=600,
    )  # fmt: skip


def test_a_wiped_state_is_rebuilt_with_its_ids_and_the_stream_carries_on(
    hub: HubUnderTest, tmp_path: Path
) -> None:
    worker = hub.start_worker()
    hub.wait_for_workers(1)
    assert hub.publish(list(iter_events(BOROUGH, day=1)))
    wait_until(hub.caught_up, 300, "the worker to process day 1\n" + hub.worker_log())
    judge(hub, picked_judgements(hub))
    refused = rebuild(hub)
    assert refused.returncode != 0 and "worker(s) are running" in refused.stderr

    worker.terminate()
    worker.wait(60)
    hub.workers.remove(worker)
    before = load_state(hub)
    assert before.partition() and before._judgements and before._service_groups
    client = redis.Redis.from_url(hub.settings.redis_url)
    wiped = [k for k in client.scan_iter(match=f"{hub.name}:*")]
    client.delete(*wiped)  # Redis lost everything (heartbeats too)
    client.close()

    # A worker will not carry on from a state older than the store's: it stops and says why.
    refusing = hub.start_worker()
    assert refusing.wait(120) != 0
    hub.workers.remove(refusing)
    assert "Redis has lost data" in hub.worker_log()
    assert "run `hub state rebuild`" in hub.worker_log()
    assert load_state(hub).version == 0  # it wrote nothing

    result = rebuild(hub)
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(result.stdout)
    assert summary["persons_kept"] == summary["persons"] == len(before.partition())
    assert summary["records_moved"] == 0 and summary["persons_new"] == 0
    after = load_state(hub)
    assert after.version > before.version
    assert after._person_of == before._person_of  # the same partition, the same ids
    assert comparable(after) == comparable(before)

    # Another store than the workers' (another folder's default, a typing error in the
    # URL) is refused: rebuilding from it would empty the state.
    nowhere = rebuild(hub, store_url=f"sqlite:///{tmp_path / 'nowhere' / 'hub.db'}")
    assert nowhere.returncode == 2 and "no store at" in nowhere.stderr
    assert not (tmp_path / "nowhere").exists()
    empty = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    empty.upgrade()
    empty.dispose()
    wrong = rebuild(hub, store_url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert wrong.returncode == 1 and "holds nothing, but the identity state" in wrong.stderr
    assert load_state(hub).version == after.version  # nothing was changed

    # Day 2 through a worker that starts from the rebuilt state: the events of day 1
    # come again (stale: the versions came back from the store) and then the changes.
    hub.start_worker()
    hub.wait_for_workers(1)
    assert hub.publish(list(iter_events(BOROUGH, day=2)))
    wait_until(hub.caught_up, 300, "the worker to process day 2\n" + hub.worker_log())
    assert_equals_batch(hub)
    live = load_state(hub)
    assert live.partition() != before.partition()  # day 2 changed something

    # A rebuild while the worker runs (--force) finds nothing to change, and the running
    # worker reloads the rebuilt state before its next batch.
    forced = rebuild(hub, "--force")
    assert forced.returncode == 0, forced.stderr
    assert orjson.loads(forced.stdout)["records_moved"] == 0
    assert load_state(hub)._person_of == live._person_of
    day_three = list(iter_events(BOROUGH, day=3))
    assert hub.publish(day_three)
    wait_until(hub.caught_up, 300, "the worker to process day 3\n" + hub.worker_log())
    assert_equals_batch(hub)
    newest: dict[str, int] = {}
    for event in day_three:
        if isinstance(event, PersonChange):
            newest[event.record_id] = max(newest.get(event.record_id, -1), event.version)
    payloads = hub.store().rows(tables.source_payloads)
    assert {row["record_id"]: row["source_version"] for row in payloads} == newest
