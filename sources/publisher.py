"""Publishing events to Kafka so that "published" means "acknowledged by the broker".

The producer is idempotent (``enable.idempotence``, ``acks=all``): retries never duplicate
or reorder a partition. Every send has a delivery report; the publisher counts what was
acknowledged and what failed, calls the sender's callback either way, and :meth:`flush`
raises if anything is still unacknowledged. Nothing is swallowed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.errors import HubError, ServiceNotRunning

if TYPE_CHECKING:
    from monitoring.metrics import HubMetrics
    from schemas.codec import Codec
    from schemas.events import Event

POLL_EVERY = 500  # sends between two polls for delivery reports
_kafka_log = logging.getLogger("hub.sources.kafka")
_kafka_log.addHandler(logging.NullHandler())
_kafka_log.propagate = False  # librdkafka's chatter stays out of the terminal


class PublishError(HubError):
    """Kafka did not acknowledge every event (or the producer failed for good)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One Kafka message ready to send (already serialised)."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Sequence[tuple[str, bytes]] = ()
    timestamp_ms: int | None = None  # the message's time (None: when it is produced)


@dataclass(frozen=True, slots=True)
class Delivery:
    """The broker's answer for one message: acknowledged at (partition, offset), or an error."""

    topic: str
    error: str | None
    partition: int | None = None
    offset: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


OnDelivery = Callable[[Delivery], None]


@dataclass
class PublishTotals:
    acknowledged: int = 0
    failed: int = 0
    first_error: str | None = None
    by_topic: dict[str, int] = field(default_factory=dict)
    failed_by_topic: dict[str, int] = field(default_factory=dict)


class Publisher:
    """An idempotent confluent-kafka producer with checked delivery reports."""

    def __init__(
        self,
        bootstrap: str,
        codec: Codec,
        *,
        timeout_s: float = 30.0,
        metrics: HubMetrics | None = None,
        client_id: str = "hub-publisher",
        config: dict[str, Any] | None = None,
    ) -> None:
        from confluent_kafka import Producer

        self.bootstrap = bootstrap
        self.codec = codec
        self.timeout_s = timeout_s
        self.metrics = metrics
        self.totals = PublishTotals()
        self._fatal: str | None = None
        self._unpolled = 0
        conf: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "client.id": client_id,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "compression.type": "lz4",
            "message.timeout.ms": int(timeout_s * 1000),
            "error_cb": self._on_error,
            "logger": _kafka_log,
        }
        conf.update(config or {})
        self._producer = Producer(conf)

    def check_connection(self, timeout_s: float = 10.0) -> None:
        """Raise :class:`ServiceNotRunning` unless the broker answers within the timeout."""
        from confluent_kafka import KafkaException

        try:
            self._producer.list_topics(timeout=timeout_s)
        except KafkaException:
            raise ServiceNotRunning(
                f"Kafka at {self.bootstrap} did not answer within {timeout_s:.0f} s "
                "(is the stack up? run: hub stack up)"
            ) from None

    def send(
        self,
        topic: str,
        key: str | bytes | None,
        event: Event,
        *,
        on_delivery: OnDelivery | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
        timestamp_ms: int | None = None,
    ) -> None:
        """Encode ``event`` for ``topic`` and send it; ``on_delivery`` hears the outcome."""
        raw_key = key.encode() if isinstance(key, str) else key
        value = self.codec.encode(event, topic)
        self.send_message(Message(topic, raw_key, value, headers, timestamp_ms), on_delivery)

    def send_message(self, message: Message, on_delivery: OnDelivery | None = None) -> None:
        """Send a message that is already serialised (dead letters, replays)."""
        self._raise_if_fatal()
        report = self._reporter(message.topic, on_delivery)
        while True:
            try:
                self._producer.produce(
                    message.topic,
                    value=message.value,
                    key=message.key,
                    headers=list(message.headers) or None,
                    on_delivery=report,
                    timestamp=message.timestamp_ms or 0,
                )
                break
            except BufferError:  # the local queue is full: let deliveries drain, then retry
                self._producer.poll(0.5)
                self._raise_if_fatal()
        # Delivery reports are served every so many sends (and by flush), not after each:
        # a poll costs about as much as the produce itself.
        self._unpolled += 1
        if self._unpolled >= POLL_EVERY:
            self._unpolled = 0
            self._producer.poll(0)

    def flush(self) -> PublishTotals:
        """Wait for every delivery report; raise :class:`PublishError` if any event failed
        or is still unacknowledged when the timeout has passed."""
        # Every message times out after timeout_s (message.timeout.ms), so its report
        # arrives by then; the margin covers the broker's last round trip.
        remaining = self._producer.flush(self.timeout_s + 5.0)
        self._raise_if_fatal()
        if remaining:
            raise PublishError(
                f"{remaining} event(s) still not acknowledged by Kafka at {self.bootstrap} "
                f"after {self.timeout_s:.0f} s"
            )
        if self.totals.failed:
            raise PublishError(
                f"{self.totals.failed} event(s) were not acknowledged by Kafka: "
                f"{self.totals.first_error}"
            )
        return self.totals

    def drain(self) -> None:
        """Serve delivery reports that have arrived, without waiting."""
        self._producer.poll(0)

    def _reporter(self, topic: str, on_delivery: OnDelivery | None) -> Callable[[Any, Any], None]:
        def report(error: Any, message: Any) -> None:
            if error is None:
                delivery = Delivery(topic, None, message.partition(), message.offset())
                self.totals.acknowledged += 1
                self.totals.by_topic[topic] = self.totals.by_topic.get(topic, 0) + 1
                if self.metrics:
                    self.metrics.events_published.labels(topic=topic).inc()
            else:
                delivery = Delivery(topic, str(error))
                self.totals.failed += 1
                self.totals.first_error = self.totals.first_error or str(error)
                self.totals.failed_by_topic[topic] = self.totals.failed_by_topic.get(topic, 0) + 1
                if self.metrics:
                    self.metrics.publish_failures.labels(topic=topic).inc()
            if on_delivery is not None:
                on_delivery(delivery)

        return report

    def _on_error(self, error: Any) -> None:
        if error.fatal():
            self._fatal = str(error)

    def _raise_if_fatal(self) -> None:
        if self._fatal is not None:
            raise PublishError(f"the Kafka producer failed for good: {self._fatal}")
