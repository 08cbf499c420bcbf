"""Running real `hub worker` processes against the test session's stack.

Source topic names are fixed by the contract, so tests share them; each test gets its own
consumer group whose offsets start at the current end of every source topic, its own Redis
key prefix and its own store, and so sees only the events it publishes itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.settings import Settings
from hub.stack.processes import free_port
from matchers.records import SourceRecord
from schemas.codec import make_codec
from sinks import tables
from sinks.store import Store
from sources.publisher import Publisher
from sources.simulated import KafkaSink
from sources.simulator import Event
from sources.simulator.streaming import replay
from streams.topology import ensure_topics

HUB = str(Path(sys.executable).with_name("hub"))


def watermarks(consumer: Any, tp: Any) -> tuple[int, int]:
    """Low and high offsets, retried while a new topic's leader settles."""
    from confluent_kafka import KafkaException

    deadline = time.monotonic() + 30
    while True:
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            return int(low), int(high)
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.2)


@dataclass
class HubUnderTest:
    """One hub (consumer group, Redis prefix, store) on the session's services."""

    settings: Settings
    model_path: Path
    folder: Path
    name: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    metrics_ports: list[int] = field(default_factory=list)  # each worker's, in order
    extra_env: dict[str, str] = field(default_factory=dict)  # more HUB_* settings

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.folder / f'{self.name}.db'}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env.update(
            HUB_KAFKA_BOOTSTRAP=self.settings.kafka_bootstrap,
            HUB_REDIS_URL=self.settings.redis_url,
            HUB_DATABASE_URL=self.database_url,
            HUB_MODEL_PATH=str(self.model_path),
            HUB_CONSUMER_GROUP=self.name,
            HUB_REDIS_PREFIX=self.name,
            HUB_STACK_DIR=str(self.settings.stack_dir),
            HUB_WORKER_BATCH_SIZE="200",
        )
        env.update(self.extra_env)
        return env

    def worker_settings(self) -> Settings:
        return Settings(  # type: ignore[call-arg]
            _env_file=None,
            **{k[4:].lower(): v for k, v in self.env().items() if k.startswith("HUB_")},
        )

    def start_at_end(self) -> None:
        """Commit the group's offsets at the end of every topic a worker will read."""
        from confluent_kafka import Consumer, TopicPartition

        wanted = ensure_topics(self.worker_settings())
        consumer = Consumer(
            {"bootstrap.servers": self.settings.kafka_bootstrap, "group.id": self.name,
             "enable.auto.commit": False}
        )  # fmt: skip
        try:
            offsets = []
            for topic in wanted.inputs:
                metadata = consumer.list_topics(topic, timeout=30).topics[topic]
                for partition in metadata.partitions:
                    _low, high = watermarks(consumer, TopicPartition(topic, partition))
                    offsets.append(TopicPartition(topic, partition, high))
            consumer.commit(offsets=offsets, asynchronous=False)
        finally:
            consumer.close()

    def start_worker(self) -> subprocess.Popen[bytes]:
        index = len(self.workers)
        log = (self.folder / f"{self.name}-worker{index}.log").open("ab")
        port = free_port()
        env = self.env() | {"HUB_METRICS_PORT": str(port)}
        process = subprocess.Popen([HUB, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.workers.append(process)
        self.metrics_ports.append(port)
        return process

    def metric(self, name: str, **labels: str) -> float:
        """The samples of ``name`` whose labels include ``labels``, summed over the
        running workers' /metrics."""
        from urllib.request import urlopen

        from prometheus_client.parser import text_string_to_metric_families

        total = 0.0
        for process, port in zip(self.workers, self.metrics_ports, strict=True):
            if process.poll() is not None:
                continue
            with urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                text = response.read().decode()
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name == name and labels.items() <= sample.labels.items():
                        total += sample.value
        return total

    def wait_for_workers(self, count: int, timeout_s: float = 90.0) -> None:
        import redis

        client = redis.Redis.from_url(self.settings.redis_url)
        try:
            wait_until(
                lambda: len(client.keys(f"{self.name}:workers:*")) >= count,
                timeout_s,
                f"{count} worker(s) to report ready",
            )
        finally:
            client.close()
        for process in self.workers:
            assert process.poll() is None, self.worker_log()

    def publish(self, events: list[Event]) -> int:
        publisher = Publisher(self.settings.kafka_bootstrap, make_codec(self.settings))
        replay(events, KafkaSink(publisher))
        return publisher.flush().acknowledged

    def caught_up(self) -> bool:
        """Every input partition committed to its end, and nothing left in the outbox."""
        import redis
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer(
            {"bootstrap.servers": self.settings.kafka_bootstrap, "group.id": self.name,
             "enable.auto.commit": False}
        )  # fmt: skip
        client = redis.Redis.from_url(self.settings.redis_url)
        try:
            if client.hlen(f"{self.name}:state:outbox"):
                return False
            wanted = ensure_topics(self.worker_settings())
            partitions = [
                TopicPartition(topic, p)
                for topic in wanted.inputs
                for p in consumer.list_topics(topic, timeout=30).topics[topic].partitions
            ]
            for tp in consumer.committed(partitions, timeout=30):
                _low, high = watermarks(consumer, tp)
                if tp.offset < high:
                    return False
            return True
        finally:
            consumer.close()
            client.close()

    def end_offsets(self, topic: str) -> dict[int, int]:
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer(
            {"bootstrap.servers": self.settings.kafka_bootstrap, "group.id": self.name}
        )
        try:
            partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
            return {p: watermarks(consumer, TopicPartition(topic, p))[1] for p in partitions}
        finally:
            consumer.close()

    def publish_raw(self, topic: str, values: list[bytes]) -> None:
        """Messages no codec can read (poison), sent as they are."""
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": self.settings.kafka_bootstrap})
        for value in values:
            producer.produce(topic, value=value, key=b"poison")
        assert producer.flush(30) == 0

    def store(self) -> Store:
        return Store(self.database_url)

    def worker_log(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-3000:]
            for path in sorted(self.folder.glob(f"{self.name}-worker*.log"))
        )

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def applied_records(store: Store) -> list[SourceRecord]:
    """The source records the stream holds now (as the workers received them)."""
    from sinks.state_codec import decoder

    decode = decoder(SourceRecord)
    import orjson

    return [
        decode(orjson.dumps(row["record"]))
        for row in store.rows(tables.source_payloads)
        if row["record"] is not None
    ]


def partition_of(assignment: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for record_id, group in assignment.items():
        groups.setdefault(group, set()).add(record_id)
    return {frozenset(g) for g in groups.values()}
