"""A simulated borough through the real broker: every event the council simulator emits is
published in the contract (with acknowledgement), consumed, decoded and validated;
malformed messages slipped in among them land in the dead-letter topic with their reasons
while the partition keeps flowing, and every message is accounted for."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid
from collections import Counter
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError

from hub.settings import Settings
from monitoring.metrics import HubMetrics, build_metrics
from schemas.codec import SINGLE_OBJECT_MAGIC, SingleObjectCodec
from schemas.events import (
    DeadLettered,
    Operation,
    PartnerIndicator,
    PersonChanged,
    PropertyChanged,
    RelationshipObserved,
    Team,
)
from schemas.topics import (
    dead_letter,
    event_type_for,
    partner,
    source_persons,
    source_properties,
    source_relationships,
)
from sources.publisher import Delivery, Message, Publisher
from sources.simulated import KafkaSink, Outgoing, to_contract
from sources.simulator.config import SimulationConfig
from sources.simulator.model import Event as SimEvent
from sources.simulator.simulation import simulate
from sources.simulator.streaming import replay
from streams.dead_letters import HEADER_PREFIX, DeadLetterWriter
from streams.validation import Accepted, RawMessage, Rejected, validate_message
from tests.kafka_helpers import consume, headers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CODEC = SingleObjectCodec()
RESIDENTS = 1_500
Place = tuple[str, int, int]  # topic, partition, offset


def owned(out: Outgoing, suffix: str) -> Outgoing:
    """The same event under source names of this test's own, so it owns its topics."""
    event: Any = out.event
    if isinstance(event, PersonChanged | PropertyChanged | RelationshipObserved):
        event = dataclasses.replace(event, source_system=f"{event.source_system}_{suffix}")
        name_topic = {
            PersonChanged: source_persons,
            PropertyChanged: source_properties,
            RelationshipObserved: source_relationships,
        }[type(event)]
        topic = name_topic(event.source_system)
        return Outgoing(topic, f"{suffix}:{out.key}", event)
    if isinstance(event, PartnerIndicator):
        event = dataclasses.replace(
            event,
            dataset=f"{event.dataset}_{suffix}",
            source_system=f"{event.source_system}_{suffix}",
        )
        return Outgoing(partner(event.dataset), f"{suffix}:{out.key}", event)
    return out  # case-management topics are shared: the test picks its events by id


@dataclasses.dataclass
class Bad:
    topic: str
    key: bytes
    value: bytes
    reason: str


def malformed(sample: PersonChanged, topic: str) -> list[Bad]:
    valid = CODEC.encode(sample, topic)
    key = sample.record_id.encode()
    team = Team(event_id="t", op=Operation.CREATE, source_system="mosaic",
                event_ts=sample.event_ts, team_id="T1")  # fmt: skip
    foreign = dataclasses.replace(sample, source_system="somewhere_else")
    assert sample.after is not None
    nul = dataclasses.replace(sample, after=dataclasses.replace(sample.after, last_name="A\x00"))
    return [
        Bad(topic, key, b"\x00garbage that is not Avro", "not_single_object"),
        Bad(
            topic,
            key,
            SINGLE_OBJECT_MAGIC + uuid.uuid4().bytes[:8] + valid[10:],
            "unknown_fingerprint",
        ),
        Bad(topic, key, valid[: len(valid) // 2], "malformed"),
        Bad(topic, key, valid + b"\x02extra", "trailing_bytes"),
        Bad(
            topic,
            key,
            CODEC.encode(dataclasses.replace(sample, op=Operation.DELETE)),
            "op_mismatch",
        ),
        Bad(
            topic,
            key,
            CODEC.encode(dataclasses.replace(sample, source_record_id=" ")),
            "missing_field",
        ),
        Bad(topic, key, CODEC.encode(foreign), "source_mismatch"),
        Bad(topic, key, CODEC.encode(nul), "nul_character"),
        Bad(topic, key, CODEC.encode(team), "unexpected_type"),
    ]


def inverted(sample: Outgoing) -> Bad:
    """A relationship that ends the day before it starts (the simulator writes none)."""
    event = sample.event
    assert isinstance(event, RelationshipObserved) and event.start is not None
    wrong = dataclasses.replace(event, end=event.start - dt.timedelta(days=1))
    return Bad(sample.topic, sample.key.encode(), CODEC.encode(wrong), "dates_inverted")


@dataclasses.dataclass
class Published:
    events: dict[Place, Outgoing] = dataclasses.field(default_factory=dict)
    bad: dict[Place, Bad] = dataclasses.field(default_factory=dict)
    topics: set[str] = dataclasses.field(default_factory=set)


def publish(settings: Settings, stream: list[SimEvent], suffix: str) -> Published:
    """The first half of the stream, the malformed messages, then the rest."""
    published = Published()
    publisher = Publisher(settings.kafka_bootstrap, CODEC, timeout_s=60)

    def landed(out: Outgoing, delivery: Delivery) -> None:
        assert delivery.ok, delivery.error
        published.events[(out.topic, delivery.partition or 0, delivery.offset or 0)] = out

    sink = KafkaSink(publisher, mapping=lambda e: owned(to_contract(e), suffix), on_delivery=landed)
    half = len(stream) // 2
    replay(stream[:half], sink)
    sample = next(o for o in map(sink.mapping, stream[half:]) if isinstance(o.event, PersonChanged)
                  and o.event.op is Operation.CREATE)  # fmt: skip
    assert isinstance(sample.event, PersonChanged)
    relationship = next(o for o in map(sink.mapping, stream[half:])
                        if isinstance(o.event, RelationshipObserved) and o.event.start)  # fmt: skip
    for item in [*malformed(sample.event, sample.topic), inverted(relationship)]:

        def bad_landed(delivery: Delivery, item: Bad = item) -> None:
            published.bad[(item.topic, delivery.partition or 0, delivery.offset or 0)] = item

        publisher.send_message(Message(item.topic, item.key, item.value), bad_landed)
    replay(stream[half:], sink)
    totals = publisher.flush()
    assert totals.acknowledged == len(stream) + len(published.bad)
    published.topics = {o.topic for o in published.events.values()}
    return published


def validate_all(
    settings: Settings, published: Published, today: dt.date, metrics: HubMetrics
) -> dict[Place, Accepted | Rejected]:
    """The validate stage: decode and check each message, dead-letter the bad ones, commit
    offsets only once the dead letters are acknowledged."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap,
                         "group.id": f"test-validate-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})  # fmt: skip
    writer = DeadLetterWriter(
        Publisher(settings.kafka_bootstrap, CODEC, timeout_s=60, metrics=metrics), metrics
    )
    wanted = published.events.keys() | published.bad.keys()
    results: dict[Place, Accepted | Rejected] = {}
    consumer.subscribe(sorted(published.topics))
    deadline = time.monotonic() + 240
    try:
        while len(results) < len(wanted) and time.monotonic() < deadline:
            batch = consumer.consume(num_messages=1000, timeout=0.5)
            for message in batch:
                error = message.error()
                if error is not None:
                    assert error.code() == KafkaError._PARTITION_EOF, str(error)
                    continue
                place = (message.topic(), message.partition(), message.offset())
                if place not in wanted:
                    continue  # another test's event on a shared case-management topic
                raw = RawMessage(*place, message.key(), message.value())
                result = validate_message(raw, CODEC, today)
                results[place] = result
                outcome = "accepted" if isinstance(result, Accepted) else "dead_lettered"
                metrics.events_validated.labels(topic=raw.topic, outcome=outcome).inc()
                if isinstance(result, Rejected):
                    writer.write(result)
            if batch:
                writer.flush()
                consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return results


def test_a_simulated_borough_flows_through_and_malformed_messages_are_dead_lettered(
    stack_settings: Settings,
) -> None:
    simulation = simulate(SimulationConfig(residents=RESIDENTS, seed=5), day=2)
    today = simulation.snapshot_date + dt.timedelta(days=1)
    suffix = uuid.uuid4().hex[:8]
    published = publish(stack_settings, simulation.events, suffix)
    kinds = Counter(type(o.event).__name__ for o in published.events.values())
    assert set(kinds) == {
        "PersonChanged",
        "PropertyChanged",
        "RelationshipObserved",
        "PartnerIndicator",
        "Team",
        "Worker",
        "Allocation",
        "WorkflowStep",
    }

    metrics = build_metrics()
    results = validate_all(stack_settings, published, today, metrics)

    # Every message is accounted for: each simulator event accepted (the simulator writes
    # nothing the hub refuses), each malformed message rejected with its reason.
    assert set(results) == published.events.keys() | published.bad.keys()
    for place, out in published.events.items():
        result = results[place]
        assert isinstance(result, Accepted), (type(out.event).__name__, result)
        assert result.event.event_id == out.event.event_id
        assert event_type_for(place[0]) is type(out.event)
    for place, item in published.bad.items():
        result = results[place]
        assert isinstance(result, Rejected) and result.reason == item.reason

    # The partition kept flowing past every malformed message.
    for topic, partition, offset in published.bad:
        later = [
            place
            for place, result in results.items()
            if place[:2] == (topic, partition)
            and place[2] > offset
            and isinstance(result, Accepted)
        ]
        assert later, f"nothing accepted after offset {offset} of {topic}[{partition}]"

    # Data-quality problems in the simulated sources were flagged, the people kept.
    flags = Counter(f for r in results.values() if isinstance(r, Accepted) for f in r.flags)
    assert sum(flags.values()) > 0

    # The dead letters are on the twin topic with reason, place and the original bytes,
    # and nothing personal in their headers.
    people = [o.event.after for o in published.events.values()
              if isinstance(o.event, PersonChanged) and o.event.after]  # fmt: skip
    personal = {v for p in people for v in (p.last_name, p.nhs_number) if v and len(v) > 4}
    bad_topics = Counter(item.topic for item in published.bad.values())
    assert len(bad_topics) == 2  # a persons topic and a relationships topic
    for bad_topic, expected in bad_topics.items():
        letters = consume(stack_settings.kafka_bootstrap, dead_letter(bad_topic), expected=expected)
        assert len(letters) == expected
        for message in letters:
            letter = CODEC.decode(message.value(), message.topic())
            assert isinstance(letter, DeadLettered)
            original = published.bad[(bad_topic, letter.source_partition, letter.source_offset)]
            assert (letter.payload, letter.reason, message.key()) == (
                original.value,
                original.reason,
                original.key,
            )
            head = headers(message)
            assert head[HEADER_PREFIX + "reason"] == original.reason.encode()
            assert head[HEADER_PREFIX + "source_offset"] == str(letter.source_offset).encode()
            exposed = b"|".join(head.values()).decode() + (letter.detail or "")
            assert not [v for v in personal if v in exposed]

    # ... and counted, per topic and reason.
    rejected = Counter((p[0], r.reason) for p, r in results.items() if isinstance(r, Rejected))
    for (topic, reason), count in rejected.items():
        assert (
            metrics.registry.get_sample_value(
                "hub_dead_letters_total", {"topic": topic, "reason": reason}
            )
            == count
        )
