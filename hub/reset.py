"""`hub stack reset`: wipe the hub's data for a fresh start.

Removes, from the services the HUB_* settings name (this machine's `hub stack`, or
external Kafka, Redis and database alike):

- Kafka: every hub topic (``src.*``, ``partner.*``, ``cms.*``, ``hub.*``, the ``*.dlq``
  dead letters, and the Faust topics of the workers' app, ``<consumer group>-*``) and the
  workers' consumer group with its committed offsets;
- Redis: every key under ``<HUB_REDIS_PREFIX>:`` (identity state, outbox, heartbeats);
- the store: its tables (and Alembic's version table), so the next start migrates afresh;
- the snapshot state of `hub cdc` in the stack folder.

The stack's own workers (those `hub run` started, tracked by pid files) are stopped first;
while other workers run on the prefix it refuses (they would write again at once). Asks
first unless ``--yes``. The services keep running; `hub stack down` stops them.
"""

from __future__ import annotations

import fcntl
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.console import say
from hub.errors import HubError, StackError
from hub.settings import Settings, load_settings

HUB_TOPIC = re.compile(r"^(src|partner|cms|hub)\.|\.dlq$")
REDIS_BATCH = 1000


def hub_topics(names: set[str], consumer_group: str) -> list[str]:
    """The topics a reset deletes: the hub's own, and the workers' Faust app topics."""
    return sorted(t for t in names if HUB_TOPIC.search(t) or t.startswith(f"{consumer_group}-"))


@dataclass
class Survey:
    """What there is to remove."""

    workers: list[str] = field(default_factory=list)  # the stack's own, stopped first
    topics: list[str] = field(default_factory=list)
    group: str | None = None  # the workers' consumer group, when Kafka knows it
    redis_keys: int = 0
    store_tables: list[str] = field(default_factory=list)
    cdc_files: list[Path] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.workers or self.topics or self.group or self.redis_keys or self.store_tables
            or self.cdc_files
        )  # fmt: skip


def _group_exists(admin: Any, group: str) -> tuple[bool, int]:
    """Whether Kafka knows the consumer group, and how many members it has now."""
    from confluent_kafka import KafkaException

    try:
        listed = admin.list_consumer_groups().result(timeout=30)
        if group not in {g.group_id for g in listed.valid}:
            return False, 0
        description = admin.describe_consumer_groups([group])[group].result(timeout=30)
    except KafkaException as error:
        raise StackError(f"Kafka cannot describe consumer group {group}: {error}") from None
    return True, len(description.members)


def _store_tables(settings: Settings) -> list[str]:
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from sinks import tables
    from sinks.store import Store, store_url

    url = store_url(settings.database_url)
    file = url.database if url.get_backend_name() == "sqlite" else None
    if file and file != ":memory:" and not Path(file).exists():
        return []  # nothing to look in (opening it would create it)
    store = Store(settings.database_url)
    try:
        present = set(inspect(store.engine).get_table_names())
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        raise StackError(f"the store at {store.safe_url} does not answer: {cause}") from None
    finally:
        store.dispose()
    ours = {*tables.metadata.tables, "alembic_version"}
    return sorted(present & ours)


def _cdc_files(settings: Settings) -> list[Path]:
    from sources.cdc import state_path

    path = state_path(settings.stack_dir)
    candidates = [path, *(path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm"))]
    return [p for p in candidates if p.exists()]


def local_workers(settings: Settings) -> dict[str, int]:
    """This machine's stack's own workers (`hub run` starts them): name -> pid."""
    from hub.stack.workers import Workers

    workers = Workers(settings, say)
    running = {name: workers.pid_file(name).live_pid() for name in workers.names()}
    return {name: pid for name, pid in running.items() if pid is not None}


def survey(settings: Settings, admin: Any, redis_client: Any, local: dict[str, int]) -> Survey:
    """What there is to remove; refuses while workers other than the stack's own run."""
    from hub.running import running_workers

    ours = {f"{socket.gethostname()}-{pid}" for pid in local.values()}
    others = [w for w in running_workers(redis_client, settings.redis_prefix) if w not in ours]
    if others:
        raise HubError(
            f"{len(others)} worker(s) not started by this stack are running on prefix "
            f"{settings.redis_prefix!r} ({', '.join(others[:3])}): stop them before a reset "
            "(a stopped worker's heartbeat lasts 10 s)"
        )
    group = settings.consumer_group
    exists, members = _group_exists(admin, group)
    if members and not local:
        raise HubError(
            f"consumer group {group} has {members} member(s) (workers still consuming): "
            "stop them before a reset"
        )
    found = Survey(workers=sorted(local))
    found.topics = hub_topics(set(admin.list_topics(timeout=30).topics), group)
    found.group = group if exists else None
    found.redis_keys = sum(
        1 for _ in redis_client.scan_iter(match=_pattern(settings), count=REDIS_BATCH)
    )
    found.store_tables = _store_tables(settings)
    found.cdc_files = _cdc_files(settings)
    return found


def stop_local_workers(settings: Settings, admin: Any, timeout_s: float = 60.0) -> None:
    """Stop the stack's own workers and wait until they have left the consumer group."""
    from hub.stack.workers import Workers

    Workers(settings, say).stop_all()
    group = settings.consumer_group
    deadline = time.monotonic() + timeout_s
    while _group_exists(admin, group)[1]:
        if time.monotonic() > deadline:
            raise StackError(f"consumer group {group} still has members {timeout_s:.0f}s later")
        time.sleep(0.5)


def _pattern(settings: Settings) -> str:
    prefix = re.sub(r"([*?\[\]\\])", r"\\\1", settings.redis_prefix)
    return f"{prefix}:*"


def describe(settings: Settings, found: Survey) -> list[str]:
    from sinks.store import Store

    lines = []
    if found.workers:
        lines.append(f"this stack's workers {', '.join(found.workers)} (stopped first)")
    if found.topics or found.group:
        group = f" and consumer group {found.group} (its offsets)" if found.group else ""
        lines.append(f"Kafka {settings.kafka_bootstrap}: {len(found.topics)} topics{group}")
    if found.redis_keys:
        lines.append(
            f"Redis {settings.redis_url_shown}: {found.redis_keys:,} keys "
            f"under {settings.redis_prefix}:"
        )
    if found.store_tables:
        safe = Store(settings.database_url)
        lines.append(f"store {safe.safe_url}: {len(found.store_tables)} tables")
        safe.dispose()
    if found.cdc_files:
        lines.append(f"CDC snapshot state {found.cdc_files[0]}")
    return lines


def remove(settings: Settings, admin: Any, redis_client: Any, found: Survey) -> list[str]:
    """Remove what the survey found; returns one line per thing removed."""
    done: list[str] = []
    if found.workers:
        stop_local_workers(settings, admin)
    if found.group:
        _delete_group(admin, found.group)
        done.append(f"removed consumer group {found.group} and its committed offsets")
    if found.topics:
        _delete_topics(admin, found.topics)
        done.append(f"removed {len(found.topics)} topics from Kafka {settings.kafka_bootstrap}")
    if found.redis_keys:
        removed = _delete_keys(redis_client, _pattern(settings))
        done.append(f"removed {removed:,} Redis keys under {settings.redis_prefix}:")
    if found.store_tables:
        from sinks.store import Store

        store = Store(settings.database_url)
        try:
            store.drop_all()
        finally:
            store.dispose()
        done.append(f"dropped {len(found.store_tables)} tables from the store {store.safe_url}")
    if found.cdc_files:
        _remove_cdc(found.cdc_files)
        done.append(f"removed the CDC snapshot state {found.cdc_files[0]}")
    return done


def _delete_group(admin: Any, group: str) -> None:
    from confluent_kafka import KafkaException

    try:
        admin.delete_consumer_groups([group])[group].result(timeout=30)
    except KafkaException as error:
        if "GROUP_ID_NOT_FOUND" not in str(error):
            raise StackError(f"Kafka did not delete consumer group {group}: {error}") from None


def _delete_topics(admin: Any, topics: list[str]) -> None:
    from confluent_kafka import KafkaException

    for topic, future in admin.delete_topics(topics, operation_timeout=60).items():
        try:
            future.result(timeout=90)
        except KafkaException as error:
            if "UNKNOWN_TOPIC" not in str(error):
                raise StackError(f"Kafka did not delete topic {topic}: {error}") from None


def _delete_keys(client: Any, pattern: str) -> int:
    removed = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=pattern, count=REDIS_BATCH):
        batch.append(key)
        if len(batch) >= REDIS_BATCH:
            removed += client.unlink(*batch)
            batch = []
    if batch:
        removed += client.unlink(*batch)
    return int(removed)


def _remove_cdc(files: list[Path]) -> None:
    """Delete the snapshot state under its lock, so no `hub cdc` run is using it."""
    lock_path = files[0].with_name(files[0].name + ".lock")
    with lock_path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise HubError(f"a hub cdc run is using {files[0]}; try again when it ends") from None
        for path in files:
            path.unlink(missing_ok=True)
        lock_path.unlink(missing_ok=True)


def _confirmed() -> bool:
    import click

    try:
        return typer.confirm("remove it all?", default=False, err=True)
    except click.exceptions.Abort:  # no answer (end of input)
        return False


def reset_command(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Wipe the hub's data for a fresh start: topics and consumer offsets, Redis state,
    store tables, CDC state. Services keep running. Asks first unless --yes."""
    from hub.running import connect_redis, kafka_admin

    settings = load_settings()
    admin = kafka_admin(settings)
    client = connect_redis(settings)
    try:
        found = survey(settings, admin, client, local_workers(settings))
        if found.empty:
            say("nothing to remove: the hub holds no data")
            return
        say("this removes the hub's data:")
        for line in describe(settings, found):
            say(f"  {line}")
        if not yes and not _confirmed():
            raise HubError("reset cancelled: nothing was removed")
        for line in remove(settings, admin, client, found):
            say(line)
    finally:
        client.close()
