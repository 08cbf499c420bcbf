"""Prove the stack carries events: publish one event to Kafka and read exactly it back."""

from __future__ import annotations

import logging
import time
import uuid

from hub.console import say
from hub.errors import ServiceNotRunning
from hub.settings import Settings

SMOKE_TOPIC = "hub.smoke"

_quiet = logging.getLogger("hub.smoke.kafka")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


def round_trip(settings: Settings, timeout_s: float = 30.0) -> float:
    """Publish an event (acknowledged by the broker) and consume it; return the seconds taken."""
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

    began = time.monotonic()
    event_id = uuid.uuid4().hex.encode()
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "message.timeout.ms": int(timeout_s * 1000),
            "logger": _quiet,
        }
    )
    acked: list[tuple[int, int]] = []

    def on_delivery(error: object, message: object) -> None:
        if error is None:
            acked.append((message.partition(), message.offset()))  # type: ignore[attr-defined]

    producer.produce(SMOKE_TOPIC, value=event_id, key=b"smoke", on_delivery=on_delivery)
    producer.flush(timeout_s)
    if not acked:
        raise ServiceNotRunning(
            f"Kafka at {settings.kafka_bootstrap} did not acknowledge an event "
            "(is the stack up? run: hub stack up)"
        )
    partition, offset = acked[0]
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"hub-smoke-{event_id.decode()}",
            "enable.auto.commit": False,
            "logger": _quiet,
        }
    )
    try:
        consumer.assign([TopicPartition(SMOKE_TOPIC, partition, offset)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            if message.value() == event_id:
                took = time.monotonic() - began
                say(
                    f"event {event_id.decode()[:8]} went through Kafka ({SMOKE_TOPIC} "
                    f"partition {partition} offset {offset}) in {took * 1000:.0f} ms"
                )
                return took
    finally:
        consumer.close()
    raise ServiceNotRunning(f"the event published to {SMOKE_TOPIC} was not read back in time")
