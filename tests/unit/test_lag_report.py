"""The worker's lag report over a stand-in for Faust's consumer: what it sets, and that a
slow read is waited on, never abandoned and started again."""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

from aiokafka.errors import KafkaConnectionError

from monitoring.metrics import build_metrics
from streams.lag import LagReport


class TP(NamedTuple):
    topic: str
    partition: int


A, B = TP("src.housing.persons", 0), TP("src.housing.persons", 1)


class Consumer:
    """Faust's consumer as the report uses it: its assignment, committed offsets, and
    end offsets that come back when ``answer`` is set."""

    def __init__(self, assigned: set[TP]) -> None:
        self.assigned = assigned
        self._committed_offset = {A: 9, B: 19}  # (last offsets acknowledged)
        self.reads = 0
        self.answer: asyncio.Future[dict[TP, int]] | None = None

    def assignment(self) -> set[TP]:
        return self.assigned

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        self.reads += 1
        assert self.answer is not None
        return await self.answer


def reporting(assigned: set[TP]) -> tuple[Any, Consumer, LagReport]:
    """Fresh metrics, a consumer with ``assigned``, and a report on them."""
    metrics, consumer = build_metrics(), Consumer(assigned)
    return metrics, consumer, LagReport(lambda: consumer, metrics, wait_s=0.01)


def sample(metrics: Any, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels or None)


def test_a_read_sets_the_lag_and_its_time_and_a_slow_one_is_waited_for_not_restarted() -> None:
    async def scenario() -> None:
        metrics, consumer, report = reporting({A, B})
        started = sample(metrics, "hub_consumer_lag_read_timestamp_seconds")
        assert started is not None and started > 0  # counts from the worker's start

        consumer.answer = asyncio.get_running_loop().create_future()
        await report.report()  # Kafka does not answer in time
        await report.report()  # nor by the next report: the same read is waited on
        assert consumer.reads == 1
        assert sample(metrics, "hub_consumer_lag_read_timestamp_seconds") == started
        assert sample(metrics, "hub_consumer_lag", topic=A.topic, partition="0") is None

        consumer.answer.set_result({A: 15, B: 20})
        await report.report()
        assert consumer.reads == 1
        assert sample(metrics, "hub_consumer_lag", topic=A.topic, partition="0") == 5
        assert sample(metrics, "hub_consumer_lag", topic=B.topic, partition="1") == 0
        assert sample(metrics, "hub_committed_offset", topic=A.topic, partition="0") == 9
        read_at = sample(metrics, "hub_consumer_lag_read_timestamp_seconds")
        assert read_at is not None and read_at >= started

        consumer.answer = asyncio.get_running_loop().create_future()
        consumer.answer.set_exception(KafkaConnectionError())
        await report.report()  # a failed read: a new one, nothing set
        assert consumer.reads == 2
        assert sample(metrics, "hub_consumer_lag_read_timestamp_seconds") == read_at

    asyncio.run(scenario())


def test_a_worker_without_partitions_reads_nothing_and_its_read_time_stands_still() -> None:
    async def scenario() -> None:
        metrics, consumer, report = reporting(set())
        started = sample(metrics, "hub_consumer_lag_read_timestamp_seconds")
        await report.report()
        assert consumer.reads == 0
        assert sample(metrics, "hub_consumer_lag_read_timestamp_seconds") == started

    asyncio.run(scenario())


def test_a_partition_revoked_while_it_was_read_is_left_out() -> None:
    async def scenario() -> None:
        metrics, consumer, report = reporting({A, B})
        consumer.answer = asyncio.get_running_loop().create_future()
        await report.report()
        consumer.assigned = {A}  # a rebalance took B away meanwhile
        consumer.answer.set_result({A: 10, B: 99})
        await report.report()
        assert sample(metrics, "hub_consumer_lag", topic=A.topic, partition="0") == 0
        assert sample(metrics, "hub_consumer_lag", topic=B.topic, partition="1") is None

    asyncio.run(scenario())
