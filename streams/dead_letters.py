"""Dead letters: a rejected message goes to its topic's twin ``<topic>.dlq``, counted.

The dead-letter message keeps the original key; its value is a :class:`DeadLettered`
event holding the reason and the original bytes verbatim (so it can be replayed once the
cause is fixed). Its headers say why and where from, for tools that do not decode Avro:
reason, stage, source topic, partition and offset, event type and schema fingerprint.
Headers never carry field values, so no personal data.

A Faust agent builds the message with :func:`dead_letter_message` and sends it with its
own producer; synchronous code uses :class:`DeadLetterWriter`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from monitoring.metrics import HubMetrics
from schemas.codec import Codec
from schemas.events import DeadLettered
from schemas.topics import dead_letter
from sources.publisher import Delivery, Message, Publisher
from streams.validation import STAGE, Rejected

HEADER_PREFIX = "hub.dlq."


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def dead_letter_headers(rejected: Rejected, stage: str = STAGE) -> list[tuple[str, bytes]]:
    message = rejected.message
    headers = {
        "reason": rejected.reason,
        "stage": stage,
        "source_topic": message.topic,
        "source_partition": str(message.partition),
        "source_offset": str(message.offset),
    }
    if rejected.event_type:
        headers["event_type"] = rejected.event_type
    if rejected.fingerprint:
        headers["schema_fingerprint"] = rejected.fingerprint
    return [(HEADER_PREFIX + name, value.encode()) for name, value in headers.items()]


def dead_lettered(
    rejected: Rejected, *, now: dt.datetime, event_id: str | None = None, stage: str = STAGE
) -> DeadLettered:
    message = rejected.message
    return DeadLettered(
        event_id=event_id or str(uuid.uuid4()),
        event_ts=now,
        reason=rejected.reason,
        detail=rejected.detail,
        stage=stage,
        source_topic=message.topic,
        source_partition=message.partition,
        source_offset=message.offset,
        source_timestamp=message.timestamp,
        event_type=rejected.event_type,
        schema_fingerprint=rejected.fingerprint,
        key=message.key,
        payload=message.value,
    )


def dead_letter_message(
    rejected: Rejected, codec: Codec, *, now: dt.datetime, stage: str = STAGE
) -> Message:
    """The message to send to the dead-letter twin of the rejected message's topic."""
    topic = dead_letter(rejected.message.topic)
    event = dead_lettered(rejected, now=now, stage=stage)
    return Message(
        topic=topic,
        key=rejected.message.key,
        value=codec.encode(event, topic),
        headers=dead_letter_headers(rejected, stage),
    )


class DeadLetterWriter:
    """Sends dead letters through a publisher and counts each once Kafka acknowledges it.

    Call :meth:`flush` before committing the consumer's offsets: it raises if any dead
    letter was not acknowledged, so a failed write is retried, never lost.
    """

    def __init__(
        self,
        publisher: Publisher,
        metrics: HubMetrics,
        *,
        stage: str = STAGE,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.publisher = publisher
        self.metrics = metrics
        self.stage = stage
        self.clock = clock

    def write(self, rejected: Rejected) -> None:
        message = dead_letter_message(
            rejected, self.publisher.codec, now=self.clock(), stage=self.stage
        )
        counter = self.metrics.dead_letters.labels(
            topic=rejected.message.topic, reason=rejected.reason
        )

        def count(delivery: Delivery) -> None:
            if delivery.ok:
                counter.inc()

        self.publisher.send_message(message, count)

    def flush(self) -> None:
        self.publisher.flush()
