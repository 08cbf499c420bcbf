"""The whole pipeline on real Kafka, Redis and the store, with real `hub worker` processes."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.link import link_batch, load_matcher, survivorship_from, thresholds_from
from hub.settings import Settings
from schemas.topics import dead_letter
from sinks import tables
from sources.simulator import PersonChange, SimulationConfig, iter_events
from tests.conftest import world_readable_tempdir
from tests.support.pipeline import (
    HubUnderTest,
    applied_records,
    partition_of,
    wait_until,
    watermarks,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BOROUGH = SimulationConfig(residents=400, seed=11)


@pytest.fixture
def hub(stack_settings: Settings, borough_model: Path) -> Iterator[HubUnderTest]:
    under_test = HubUnderTest(stack_settings, borough_model, world_readable_tempdir("hub-e2e-"))
    under_test.start_at_end()
    yield under_test
    under_test.stop()


def assert_equals_batch(hub: HubUnderTest) -> int:
    """The store's persons and households equal a batch run over the same records and the
    judgements the store keeps (here those the sources' relationships state)."""
    store = hub.store()
    records = applied_records(store)
    matcher = load_matcher(hub.model_path)
    settings = hub.worker_settings()
    batch = link_batch(
        records,
        matcher,
        thresholds_from(settings, matcher.block_cap),
        survivorship_from(settings),
        store.judgements(),
    )
    streamed = store.record_partition()
    assert set(streamed) == {r.record_id for r in records}
    assert partition_of({r: p for r, (p, _h) in streamed.items()}) == partition_of(batch.person_of)
    assert partition_of({r: h or f"none:{r}" for r, (_p, h) in streamed.items()}) == partition_of(
        {r: h or f"none:{r}" for r, h in batch.household_of.items()}
    )
    return len(records)


def dead_letters(bootstrap: str, topic: str, start: dict[int, int]) -> list[dict[str, str]]:
    """Headers of the dead letters on ``topic`` after the offsets in ``start``."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"dlq-{uuid.uuid4().hex}"})
    try:
        consumer.assign([TopicPartition(topic, p, o) for p, o in start.items()])
        ends = {p: watermarks(consumer, TopicPartition(topic, p))[1] for p in start}
        found = []
        while sum(max(0, ends[p] - start[p]) for p in start) > len(found):
            message = consumer.poll(5)
            assert message is not None, "a dead letter went missing"
            found.append({k: v.decode() for k, v in message.headers() or []})
        return found
    finally:
        consumer.close()


def test_two_workers_stream_a_borough_to_the_batch_result(hub: HubUnderTest) -> None:
    hub.extra_env["HUB_BLOCK_CAP"] = "25"  # (some buckets cross it, both ways)
    hub.start_worker()
    hub.start_worker()
    hub.wait_for_workers(2)
    dlq = dead_letter("src.council_tax.persons")
    before = hub.end_offsets(dlq)
    events = list(iter_events(BOROUGH, day=1))
    middle = len(events) // 2
    assert hub.publish(events[:middle]) == middle
    assert hub.publish(events[:middle]) == middle  # (sent twice: the copies change nothing)
    hub.publish_raw("src.council_tax.persons", [b"not avro at all", b"\xc3\x01" + b"\0" * 12])
    assert hub.publish(events[middle:]) == len(events) - middle
    wait_until(hub.caught_up, 300, "the workers to process the borough\n" + hub.worker_log())
    records = assert_equals_batch(hub)
    assert records > 1000
    store = hub.store()
    assert store.rows(tables.relationships)
    assert store.rows(tables.partner_indicators)
    # every relationship between two records is a statement that they are two people
    related = {
        tuple(sorted((row["record_id"], row["related_record_id"])))
        for row in store.rows(tables.relationships)
        if row["related_record_id"]
    }
    stated = {j.pair for j in store.judgements() if j.stated}
    assert related and stated == related
    # and a parent relation says which is the parent since when (the batch above bounds it)
    parents = {
        (row["record_id"], row["related_record_id"], row["start"])
        for row in store.rows(tables.relationships)
        if row["kind"] == "PARENT" and row["related_record_id"] and row["start"]
    }
    stated_parents = {
        (j.parent, j.other(j.parent), j.since) for j in store.judgements() if j.parent
    }
    assert stated_parents and stated_parents <= parents
    letters = dead_letters(hub.settings.kafka_bootstrap, dlq, before)
    reasons = sorted(h["hub.dlq.reason"] for h in letters)
    assert reasons == ["not_single_object", "unknown_fingerprint"]
    assert all(h["hub.dlq.source_topic"] == "src.council_tax.persons" for h in letters)
    # the workers' /metrics: every message consumed was validated, the two poison ones
    # dead-lettered, the copies ignored as stale; every person event was matched and its
    # latency measured; over-common keys were skipped
    people = [e for e in events if isinstance(e, PersonChange)]
    copies = [e for e in events[:middle] if isinstance(e, PersonChange)]
    validated = hub.metric("hub_events_validated_total")
    assert validated == hub.metric("hub_events_consumed_total") >= len(people) + len(copies) + 2
    assert hub.metric("hub_stale_events_total") >= len(copies)
    assert hub.metric("hub_stale_events_total", source="council_tax") > 0
    assert hub.metric("hub_over_common_keys_total") > 0
    poison = {"topic": "src.council_tax.persons", "outcome": "dead_lettered"}
    assert hub.metric("hub_events_validated_total", **poison) == 2
    matched = [e for e in people if e.op != "delete"]
    assert hub.metric("hub_match_decisions_total") >= len(matched)
    wait_until(
        lambda: hub.metric("hub_end_to_end_latency_seconds_count") >= len(matched),
        30,
        "the drainers' latencies to be counted",
    )


def test_a_worker_killed_mid_stream_loses_nothing_and_repeats_nothing(hub: HubUnderTest) -> None:
    worker = hub.start_worker()
    hub.wait_for_workers(1)
    events = list(iter_events(BOROUGH, day=1))
    person_events = [e for e in events if isinstance(e, PersonChange)]
    hub.publish(events)
    store = hub.store()
    wait_until(
        lambda: len(store.rows(tables.source_payloads)) > len(person_events) // 4,
        300,
        "the worker to get a quarter of the way\n" + hub.worker_log(),
    )
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(30)
    newest: dict[str, int] = {}
    for event in person_events:
        newest[event.record_id] = max(newest.get(event.record_id, -1), event.version)
    assert len(store.rows(tables.source_payloads)) < len(newest)  # killed mid-stream
    hub.start_worker()
    wait_until(hub.caught_up, 300, "the restarted worker to finish\n" + hub.worker_log())
    assert_equals_batch(hub)
    # the worker reads its lag from Kafka as it goes, and says when it last did
    caught_up_at = time.time()
    wait_until(
        lambda: hub.metric("hub_consumer_lag_read_timestamp_seconds") > caught_up_at,
        60,
        "the worker to read its partitions' end offsets",
    )
    assert hub.metric("hub_consumer_lag") == 0
    # Every source record holds the newest version the stream sent for it, once.
    payloads = {row["record_id"]: row for row in store.rows(tables.source_payloads)}
    assert {r: row["source_version"] for r, row in payloads.items()} == newest
