"""A worker's own consumer lag: the end offsets of its partitions, read from Kafka every
few seconds, against what it has committed, and when they were last read."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka.errors import KafkaError

from monitoring.metrics import HubMetrics

READ_WAIT_S = 4.0  # how long a report waits for a read (under the worker's 5 s timer)


class LagReport:
    """Sets ``hub_consumer_lag``, ``hub_committed_offset`` and
    ``hub_consumer_lag_read_timestamp_seconds`` from ``consumer()`` (Faust's consumer).

    A read is never given up on. Faust runs it on the consumer's thread, whose two
    workers also fetch and commit: a read abandoned at a timeout would hold one of them
    until the broker request times out (90 s), and a new read at every report would
    soon hold both and stop consumption. A read that takes longer than ``wait_s`` is
    waited on again at the next report. The read time is set at the start and then only
    when a read succeeds, so it stands still while Kafka is away, or while the worker has
    no partitions (a rebalance that does not end): the HubKafkaUnreachable alert."""

    def __init__(
        self, consumer: Callable[[], Any], metrics: HubMetrics, wait_s: float = READ_WAIT_S
    ) -> None:
        self.consumer = consumer
        self.metrics = metrics
        self.wait_s = wait_s
        self._reading: tuple[list[Any], asyncio.Future[Any]] | None = None
        metrics.lag_read_at.set_to_current_time()

    async def report(self) -> None:
        consumer = self.consumer()
        if self._reading is None:
            assigned = sorted(consumer.assignment())
            if not assigned:
                return
            self._reading = (assigned, asyncio.ensure_future(consumer.highwaters(*assigned)))
        assigned, read = self._reading
        done, _ = await asyncio.wait({read}, timeout=self.wait_s)
        if not done:
            return
        self._reading = None
        try:
            highwaters = read.result()
        except KafkaError:
            return
        metrics = self.metrics
        metrics.lag_read_at.set_to_current_time()
        current = consumer.assignment()
        for tp in assigned:
            if tp not in current:
                continue  # (revoked while it was read)
            committed = consumer._committed_offset.get(tp)  # the last offset acknowledged
            next_offset = committed + 1 if committed is not None else 0
            labels = {"topic": tp.topic, "partition": str(tp.partition)}
            metrics.consumer_lag.labels(**labels).set(max(0, highwaters[tp] - next_offset))
            if committed is not None:
                metrics.committed_offset.labels(**labels).set(committed)
