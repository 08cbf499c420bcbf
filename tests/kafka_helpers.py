"""Reading test topics back from the real broker: wait on a condition with a deadline."""

from __future__ import annotations

import time
import uuid
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message


def consume(bootstrap: str, topic: str, *, expected: int, timeout_s: float = 60.0) -> list[Message]:
    """Every message on ``topic`` from the beginning, once ``expected`` have arrived (or
    the deadline passed: the caller's assertion on the count then says what is missing)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-read-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    received: list[Message] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(received) < expected and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                error = message.error()
                if error is None:
                    received.append(message)
                elif error.code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(str(error))
    finally:
        consumer.close()
    return received


def headers(message: Message) -> dict[str, bytes]:
    return {name: value for name, value in (message.headers() or []) if value is not None}


def describe(message: Message) -> dict[str, Any]:
    return {"partition": message.partition(), "offset": message.offset(), "key": message.key()}
