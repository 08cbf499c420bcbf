"""`hub stack reset` as a user runs it: on a private `hub stack` (Kafka, Redis, a SQLite
store in the stack folder), and on services this machine's stack did not start, named only
by the settings (that Kafka and Redis seen from another folder, the test session's
PostgreSQL). The session's own Kafka is left alone: a reset deletes every hub topic."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import create_engine, inspect, text

from hub.settings import Settings
from hub.stack.processes import free_port, process_start_time
from hub.stack.workers import Workers
from sinks.store import Store
from streams.topology import ensure_topics
from tests.conftest import world_readable_tempdir
from tests.support.pipeline import HUB

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def hub(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HUB, *args], env=env, capture_output=True, text=True, input=stdin, check=False,
        timeout=300,
    )  # fmt: skip


def settings_of(env: dict[str, str]) -> Settings:
    values = {k[4:].lower(): v for k, v in env.items() if k.startswith("HUB_")}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def admin(settings: Settings) -> Any:
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": settings.kafka_bootstrap})


def topics(settings: Settings) -> set[str]:
    return set(admin(settings).list_topics(timeout=30).topics)


def groups(settings: Settings) -> set[str]:
    listed = admin(settings).list_consumer_groups().result(timeout=30)
    return {g.group_id for g in listed.valid}


def fill(env: dict[str, str], folder: Path) -> None:
    """Data everywhere a reset must reach, and some it must leave alone."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    settings = settings_of(env)
    ensure_topics(settings)  # the hub's topics, as a worker creates them
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    for topic in ("cms.workers", "not.the.hubs", f"{settings.consumer_group}-__assignor-__leader"):
        producer.produce(topic, value=b"x")
    assert producer.flush(30) == 0
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": settings.consumer_group}
    )
    consumer.commit(offsets=[TopicPartition("cms.workers", 0, 1)], asynchronous=False)
    consumer.close()
    client = redis.Redis.from_url(settings.redis_url)
    client.hset(f"{settings.redis_prefix}:t:records", "housing:1", "{}")
    client.set(f"{settings.redis_prefix}:state:version", 3)
    client.set("someone-else:key", "keep")
    client.close()
    store = Store(settings.database_url)
    store.upgrade()
    store.dispose()
    snapshot = folder / "snapshot.csv"
    snapshot.write_text("record_id,first_name,last_name\nhousing:1,Ada,Lovelace\n")
    cdc = hub(env, "cdc", "--source", "housing", "--snapshot", str(snapshot))
    assert cdc.returncode == 0, cdc.stderr


def assert_reset(env: dict[str, str]) -> None:
    settings = settings_of(env)
    left = topics(settings)
    assert "not.the.hubs" in left
    assert not {t for t in left if t.startswith(("src.", "partner.", "cms.", "hub."))}
    assert not {t for t in left if t.endswith(".dlq") or t.startswith(settings.consumer_group)}
    assert settings.consumer_group not in groups(settings)
    client = redis.Redis.from_url(settings.redis_url)
    assert list(client.scan_iter(match=f"{settings.redis_prefix}:*")) == []
    assert client.get("someone-else:key") == b"keep"
    client.close()
    engine = create_engine(settings.database_url)
    assert inspect(engine).get_table_names() == []
    engine.dispose()
    assert not (settings.stack_dir / "cdc-state.db").exists()


@pytest.fixture(scope="module")
def private_stack() -> Iterator[dict[str, str]]:
    folder = world_readable_tempdir("hub-reset-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_STACK_DIR=str(folder),
        HUB_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}",
        HUB_KAFKA_CONTROLLER_PORT=str(free_port()),
        HUB_KAFKA_HEAP_MB="384",
        HUB_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        HUB_DATABASE_URL=f"sqlite:///{folder / 'hub.db'}",
        HUB_START_TIMEOUT_S="120",
    )
    started = hub(env, "stack", "up")
    assert started.returncode == 0, started.stderr
    yield env
    hub(env, "stack", "down")
    shutil.rmtree(folder, ignore_errors=True)


def test_reset_wipes_the_local_stacks_data_after_asking(
    private_stack: dict[str, str], borough_model: Path
) -> None:
    env = private_stack | {
        "HUB_MODEL_PATH": str(borough_model),
        "HUB_METRICS_PORT": str(free_port()),
    }
    fill(env, Path(env["HUB_STACK_DIR"]))
    settings = settings_of(env)
    workers = Workers(settings, report=lambda _line: None)
    workers.start(1, env)  # as `hub run` does
    (pid,) = [workers.pid_file(name).live_pid() for name in workers.names()]
    assert pid is not None

    declined = hub(env, "stack", "reset", stdin="n\n")
    assert declined.returncode != 0 and "nothing was removed" in declined.stderr
    assert "cms.workers" in topics(settings)
    assert (settings.stack_dir / "cdc-state.db").exists()

    client = redis.Redis.from_url(settings.redis_url)
    client.set(f"{settings.redis_prefix}:workers:w1", "1", ex=60)
    busy = hub(env, "stack", "reset", "--yes")
    assert busy.returncode != 0 and "not started by this stack" in busy.stderr
    client.delete(f"{settings.redis_prefix}:workers:w1")
    client.close()

    done = hub(env, "stack", "reset", stdin="y\n")
    assert done.returncode == 0, done.stderr
    assert f"worker-1  stopped (pid {pid})" in done.stderr
    assert workers.names() == [] and process_start_time(pid) is None
    assert f"removed consumer group {settings.consumer_group}" in done.stderr
    assert "Redis keys under hub:" in done.stderr and "tables from the store" in done.stderr
    assert "CDC snapshot state" in done.stderr
    assert_reset(env)
    again = hub(env, "stack", "reset", "--yes")
    assert again.returncode == 0 and "nothing to remove" in again.stderr
    # A fresh start: the stack still runs and the store migrates afresh.
    assert hub(env, "stack", "status").returncode == 0
    store = Store(settings.database_url)
    store.upgrade()
    store.dispose()


def test_reset_wipes_configured_external_services(
    private_stack: dict[str, str], postgres_url: str, tmp_path: Path
) -> None:
    name = f"t_{uuid.uuid4().hex[:10]}"
    server = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    env = private_stack | dict(  # another folder: no service of its own
        HUB_STACK_DIR=str(tmp_path),
        HUB_DATABASE_URL=postgres_url.rsplit("/", 1)[0] + f"/{name}",
        HUB_REDIS_PREFIX=name,
        HUB_CONSUMER_GROUP=name,
    )
    try:
        fill(env, tmp_path)
        done = hub(env, "stack", "reset", "--yes")
        assert done.returncode == 0, done.stderr
        assert_reset(env)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        server.dispose()
