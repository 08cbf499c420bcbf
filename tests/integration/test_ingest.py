"""A borough's person events through the real broker: published with acknowledgement,
consumed, decoded and validated; malformed messages slipped in among them land in the
dead-letter topics with their reasons while every partition keeps flowing."""

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
from schemas.events import DeadLettered, Operation, PersonChanged, Team
from schemas.topics import dead_letter, source_persons
from sources.publisher import Delivery, Message, Publisher
from streams.dead_letters import HEADER_PREFIX, DeadLetterWriter
from streams.validation import Accepted, RawMessage, Rejected, validate_message
from tests.borough import borough
from tests.kafka_helpers import consume, headers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CODEC = SingleObjectCodec()
TODAY = dt.date(2025, 3, 1)
RESIDENTS = 3_000


@dataclasses.dataclass
class Bad:
    """A malformed message we send, and what the hub must say about it."""

    topic: str
    key: bytes
    value: bytes
    reason: str
    partition: int | None = None
    offset: int | None = None


def malformed_messages(suffix: str, sample: PersonChanged) -> list[Bad]:
    topic = source_persons(sample.source_system)
    valid = CODEC.encode(sample, topic)
    key = sample.record_id.encode()
    team = Team(event_id="t", op=Operation.CREATE, source_system="mosaic",
                event_ts=sample.event_ts, team_id="T1")  # fmt: skip
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
            CODEC.encode(dataclasses.replace(sample, source_record_id="")),
            "missing_field",
        ),
        Bad(
            topic,
            key,
            CODEC.encode(dataclasses.replace(sample, source_system=f"other_{suffix}")),
            "source_mismatch",
        ),
        Bad(topic, key, CODEC.encode(team), "unexpected_type"),
    ]


def publish(settings: Settings, events: list[PersonChanged], bad: list[Bad]) -> None:
    """The first half of the events, every malformed message, then the second half."""
    publisher = Publisher(settings.kafka_bootstrap, CODEC, timeout_s=60)
    half = len(events) // 2
    for event in events[:half]:
        publisher.send(source_persons(event.source_system), event.record_id, event)
    for item in bad:

        def where(delivery: Delivery, item: Bad = item) -> None:
            item.partition, item.offset = delivery.partition, delivery.offset

        publisher.send_message(Message(item.topic, item.key, item.value), where)
    for event in events[half:]:
        publisher.send(source_persons(event.source_system), event.record_id, event)
    totals = publisher.flush()
    assert totals.acknowledged == len(events) + len(bad)


def validate_topics(
    settings: Settings, topics: list[str], expected: int, metrics: HubMetrics
) -> tuple[list[Accepted], list[Rejected]]:
    """What the validate stage does: decode and check each message, dead-letter the bad
    ones, commit offsets only once the dead letters are acknowledged."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"test-validate-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    writer = DeadLetterWriter(
        Publisher(settings.kafka_bootstrap, CODEC, timeout_s=60, metrics=metrics), metrics
    )
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    consumer.subscribe(topics)
    deadline = time.monotonic() + 180
    try:
        while len(accepted) + len(rejected) < expected and time.monotonic() < deadline:
            batch = consumer.consume(num_messages=500, timeout=0.5)
            for message in batch:
                error = message.error()
                if error is not None:
                    assert error.code() == KafkaError._PARTITION_EOF, str(error)
                    continue
                raw = RawMessage(message.topic(), message.partition(), message.offset(),
                                 message.key(), message.value())  # fmt: skip
                result = validate_message(raw, CODEC, TODAY)
                outcome = "accepted" if isinstance(result, Accepted) else "dead_lettered"
                metrics.events_validated.labels(topic=raw.topic, outcome=outcome).inc()
                if isinstance(result, Accepted):
                    accepted.append(result)
                    for flag in result.flags:
                        metrics.quality_flags.labels(topic=raw.topic, flag=flag).inc()
                else:
                    rejected.append(result)
                    writer.write(result)
            if batch:
                writer.flush()
                consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return accepted, rejected


def test_a_borough_flows_through_and_malformed_messages_are_dead_lettered(
    stack_settings: Settings,
) -> None:
    suffix = uuid.uuid4().hex[:8]
    systems = (f"council_tax_{suffix}", f"housing_{suffix}", f"education_{suffix}")
    town = borough(RESIDENTS, seed=11, systems=systems)
    events = town.events
    bad = malformed_messages(suffix, events[len(events) // 3])
    publish(stack_settings, events, bad)

    topics = [source_persons(s) for s in systems]
    metrics = build_metrics()
    accepted, rejected = validate_topics(stack_settings, topics, len(events) + len(bad), metrics)

    # Every event is accounted for: each valid one accepted exactly once, each bad one
    # rejected with the reason we expect.
    assert sorted(a.event.event_id for a in accepted) == sorted(e.event_id for e in events)
    assert sorted(r.reason for r in rejected) == sorted(b.reason for b in bad)
    by_place = {(r.message.topic, r.message.partition, r.message.offset): r for r in rejected}
    for item in bad:
        assert by_place[(item.topic, item.partition, item.offset)].reason == item.reason

    # The partition kept flowing: events after each bad message were accepted.
    for item in bad:
        place = (item.topic, item.partition)
        later = [
            a
            for a in accepted
            if (a.message.topic, a.message.partition) == place
            and a.message.offset > (item.offset or 0)
        ]
        assert later, f"nothing accepted after the {item.reason} message"

    # Data-quality problems were fixed or flagged, and the people kept.
    flags = Counter(flag for a in accepted for flag in a.flags)
    assert flags["nhs_number_check_digit"] > 0
    persons = [a.event.after for a in accepted if isinstance(a.event, PersonChanged)]
    assert all(p is not None for p in persons)
    assert all(p.address is None or p.address.postcode in {None, "NW1 2DB", "NW5 1TL", "N7 9PW",
               "WC1H 9JE", "NW3 4QG"} for p in persons if p)  # fmt: skip

    # The dead letters are on the twin topic, with the reason, the place, the original bytes.
    dlq = consume(stack_settings.kafka_bootstrap, dead_letter(bad[0].topic), expected=len(bad))
    assert len(dlq) == len(bad)
    originals = {(b.partition, b.offset): b for b in bad}
    personal = _personal_values(events[len(events) // 3])
    for message in dlq:
        letter = CODEC.decode(message.value(), message.topic())
        assert isinstance(letter, DeadLettered)
        original = originals[(letter.source_partition, letter.source_offset)]
        assert letter.payload == original.value
        assert letter.reason == original.reason
        assert message.key() == original.key
        head = headers(message)
        assert head[HEADER_PREFIX + "reason"] == original.reason.encode()
        assert head[HEADER_PREFIX + "source_topic"] == original.topic.encode()
        assert head[HEADER_PREFIX + "source_offset"] == str(original.offset).encode()
        exposed = b"|".join(head.values()) + (letter.detail or "").encode()
        assert not [v for v in personal if v.encode() in exposed]

    # ... and counted.
    for reason, count in Counter(b.reason for b in bad).items():
        assert (
            metrics.registry.get_sample_value(
                "hub_dead_letters_total", {"topic": bad[0].topic, "reason": reason}
            )
            == count
        )
    accepted_total = sum(
        metrics.registry.get_sample_value(
            "hub_events_validated_total", {"topic": t, "outcome": "accepted"}
        )
        or 0
        for t in topics
    )
    assert accepted_total == len(events)


def _personal_values(event: PersonChanged) -> list[Any]:
    person = event.after
    assert person is not None
    values = [person.first_name, person.last_name, person.nhs_number, str(person.dob)]
    return [v for v in values if v]
