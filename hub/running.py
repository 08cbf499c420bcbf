"""What is running: Redis answering, the workers' heartbeats, Kafka answering.

Shared by the commands that act on a running hub (`hub resolve`, `hub state rebuild`,
`hub stack reset`); each failure is one line (:class:`ServiceNotRunning`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.errors import ServiceNotRunning
from hub.settings import Settings

if TYPE_CHECKING:
    import redis

_kafka_log = logging.getLogger("hub.running.kafka")
_kafka_log.addHandler(logging.NullHandler())
_kafka_log.propagate = False


def connect_redis(settings: Settings) -> redis.Redis:
    """A Redis client that has answered PING."""
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError:
        client.close()
        raise ServiceNotRunning(
            f"Redis at {settings.redis_url_shown} does not answer (is the stack up? hub stack up)"
        ) from None
    return client


def running_workers(client: redis.Redis, prefix: str) -> list[str]:
    """Ids of the workers whose heartbeat (``<prefix>:workers:<id>``, 10 s TTL) is live."""
    from streams.app import heartbeat_key

    pattern = heartbeat_key(prefix, "*")
    start = len(pattern) - 1
    return sorted(key.decode()[start:] for key in client.scan_iter(match=pattern, count=1000))


def kafka_admin(settings: Settings, timeout_s: float = 10.0) -> Any:
    """An admin client for the settings' Kafka, which has answered a metadata request."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    config: dict[str, Any] = {"bootstrap.servers": settings.kafka_bootstrap, "logger": _kafka_log}
    admin = AdminClient(config)
    try:
        admin.list_topics(timeout=timeout_s)
    except KafkaException:
        raise ServiceNotRunning(
            f"Kafka at {settings.kafka_bootstrap} does not answer (is the stack up? hub stack up)"
        ) from None
    return admin


@dataclass(frozen=True)
class Assignment:
    """The workers' consumer group as Kafka describes it now."""

    members: int
    topics: frozenset[str]  # assigned to a member
    settled: bool  # not rebalancing: every member holds its share


def assignment(admin: Any, group: str, timeout_s: float = 30.0) -> Assignment:
    """How many members the workers' consumer group has, and the topics assigned to them."""
    from confluent_kafka import ConsumerGroupState, KafkaException

    try:
        future = admin.describe_consumer_groups([group], request_timeout=timeout_s)[group]
        description = future.result(timeout=timeout_s)
    except (KafkaException, TimeoutError) as error:
        why = str(error) or "no answer in time"
        raise ServiceNotRunning(f"Kafka cannot describe consumer group {group}: {why}") from None
    topics = frozenset(
        tp.topic
        for member in description.members
        for tp in (member.assignment.topic_partitions if member.assignment else [])
    )
    settled = description.state == ConsumerGroupState.STABLE
    return Assignment(len(description.members), topics, settled)
