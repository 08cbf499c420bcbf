"""The stack's services carry real traffic: Kafka, Redis, PostgreSQL and SQLite."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis
from confluent_kafka import Consumer, Producer
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

from hub.settings import Settings
from hub.smoke import round_trip

pytestmark = pytest.mark.integration


def test_kafka_produces_and_consumes_through_the_broker(kafka_bootstrap: str) -> None:
    topic = f"test.roundtrip.{uuid.uuid4().hex[:8]}"
    sent = [f"event-{i}".encode() for i in range(50)]
    producer = Producer(
        {"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "acks": "all"}
    )
    acknowledged: list[bytes] = []
    for value in sent:
        producer.produce(
            topic,
            value=value,
            key=b"one-key",
            on_delivery=lambda error, msg: (
                acknowledged.append(msg.value()) if error is None else None
            ),
        )
    assert producer.flush(30) == 0
    assert acknowledged == sent

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"test-{topic}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    received: list[bytes] = []
    try:
        for _ in range(120):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                received.append(message.value())
            if len(received) == len(sent):
                break
    finally:
        consumer.close()
    assert received == sent  # one key, one partition: order kept


def test_smoke_round_trip_reads_back_its_own_event(stack_settings: Settings) -> None:
    assert round_trip(stack_settings, timeout_s=30) > 0


def test_redis_writes_and_reads(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    key = f"test:{uuid.uuid4().hex}"
    try:
        client.hset(key, mapping={"given": "Margaret", "family": "Okafor"})
        assert client.hgetall(key) == {b"given": b"Margaret", b"family": b"Okafor"}
        assert client.config_get("appendonly") == {"appendonly": "yes"}
    finally:
        client.delete(key)
        client.close()


def _write_and_read(url: str) -> list[tuple[int, str]]:
    engine = create_engine(url)
    metadata = MetaData()
    table = Table(
        f"t_{uuid.uuid4().hex[:8]}",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(50), nullable=False),
    )
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(table), [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bo"}])
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(select(table).order_by(table.c.id))]
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def test_postgres_writes_and_reads_through_sqlalchemy(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+psycopg://")
    assert _write_and_read(postgres_url) == [(1, "Ada"), (2, "Bo")]


def test_sqlite_writes_and_reads_through_sqlalchemy(tmp_path: Path) -> None:
    assert _write_and_read(f"sqlite:///{tmp_path / 'hub.db'}") == [(1, "Ada"), (2, "Bo")]
