"""How far the workers are behind: what `hub run` and tests wait on.

The backlog is the number of messages on the workers' input topics that their consumer
group has not committed yet, plus the batches committed to the identity state but not yet
stored and published (the outbox). Zero means every published event has its effect.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from hub.errors import ServiceNotRunning
from hub.settings import Settings
from streams.topology import ensure_topics

_quiet = logging.getLogger("hub.progress.kafka")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


def _watermark(consumer: Any, tp: Any, timeout_s: float) -> int:
    from confluent_kafka import KafkaException

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return int(consumer.get_watermark_offsets(tp, timeout=timeout_s)[1])
        except KafkaException:  # a new topic's leader is still settling
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def backlog(settings: Settings, timeout_s: float = 30.0) -> int:
    """Messages and batches the workers still have to finish."""
    import redis
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    wanted = ensure_topics(settings, timeout_s)
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=timeout_s)
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": settings.consumer_group,
            "enable.auto.commit": False,
            "logger": _quiet,
        }
    )
    try:
        pending = int(client.hlen(f"{settings.redis_prefix}:state:outbox"))
        metadata = consumer.list_topics(timeout=timeout_s).topics
        partitions = [
            TopicPartition(topic, p) for topic in wanted.inputs for p in metadata[topic].partitions
        ]
        for tp in consumer.committed(partitions, timeout=timeout_s):
            high = _watermark(consumer, tp, timeout_s)
            pending += max(0, high - max(tp.offset, 0))
        return pending
    except (KafkaException, redis.RedisError) as error:
        raise ServiceNotRunning(
            f"cannot read the workers' progress: {type(error).__name__}"
        ) from None
    finally:
        consumer.close()
        client.close()
