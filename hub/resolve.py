"""`hub resolve`: check a file against the live index.

The file's records are published as PersonChanged events to their source systems' topics
(the ``source_system`` column, or ``--source`` for the whole file), exactly as a source
would publish them; the running workers match them like any other event. The command then
waits until the workers have processed every one of them: the workers' consumer group has
committed an offset past each event's offset (a worker acknowledges a batch only after its
effects are in Redis and the store, so a committed offset is an exact "done"). Finally it
reads each record's person and household from the identity state and writes
``record_id,person_id,household_id`` as ``hub link`` does, one row per distinct record id
of the file, in the order the records were published (shuffled with ``--shuffle-seed``).

Rows that cannot be read, that name no source system, or that the workers would
dead-letter (validated here exactly as a worker validates them) are reported by line and
not published. Within the file the last row of a record id wins, as in ``hub link``.
Each event's source version is the row's ``updated_at``, else the time of the run, so a
record the index holds in a newer version keeps that version (the result then shows the
index's answer for it).
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import hashlib
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from hub.console import MAX_WAIT_S, counting_progress, number_from, say
from hub.errors import HubError, ServiceNotRunning, UsageError
from hub.inputs import RejectedRow
from hub.link import (
    Assignment,
    relationship_cells,
    relationship_date,
    relationship_kind,
    relationship_written,
    report_left_out,
    report_rejected,
    system_problem,
    write_assignment,
)
from hub.settings import Settings, load_settings
from matchers.records import SourceRecord

if TYPE_CHECKING:
    from schemas.codec import Codec
    from schemas.events import Operation, RelationshipObserved

POLL_S = 0.25
WORKER_CHECK_S = 5.0
ASSIGNMENT_WAIT_S = 20.0  # how long a consumer group may take to settle its assignment
READ_CHUNK = 10_000


@dataclass(frozen=True, slots=True)
class Planned:
    """One record to publish, already encoded and validated."""

    record_id: str  # in the index: <system>:<the source's id>
    line: int  # the file line it comes from (the last row of its record id)
    topic: str
    key: bytes
    value: bytes
    version: int  # the source version a worker gives it


@dataclass
class Plan:
    rows: int = 0
    file_ids: list[str] = field(default_factory=list)  # distinct, first seen (after a shuffle)
    index_id: dict[str, str] = field(default_factory=dict)  # file id -> index id
    events: dict[str, Planned] = field(default_factory=dict)  # by index id
    rejected: list[RejectedRow] = field(default_factory=list)


def _readable(
    rows: Iterable[tuple[int, SourceRecord | str]], source: str | None, plan: Plan
) -> list[tuple[int, SourceRecord]]:
    """The rows that are records of a source system, in the file's order; the others
    rejected into ``plan``, with a row whose record_id an earlier such row gives with
    another source system (the output names a record by the file's id alone)."""
    readable: list[tuple[int, SourceRecord]] = []
    first: dict[str, tuple[str | None, int]] = {}  # file id -> its first system, and line
    for line, item in rows:
        plan.rows += 1
        if isinstance(item, str):
            plan.rejected.append(RejectedRow(line, item))
            continue
        system = source or item.source_system
        problem = _source_problem(item, system, source)
        if problem is not None:
            plan.rejected.append(RejectedRow(line, problem))
            continue
        seen, at = first.setdefault(item.record_id, (system, line))
        if seen != system:
            why = f"its record_id is given with another source system on line {at}"
            plan.rejected.append(RejectedRow(line, why))
            continue
        readable.append((line, item))
    return readable


def plan_file(
    rows: Iterable[tuple[int, SourceRecord | str]],
    codec: Codec,
    *,
    source: str | None,
    shuffle_seed: int | None,
    now: dt.datetime,
) -> Plan:
    """The events to publish for the file's rows, and the rows rejected (with reasons)."""
    from schemas.conversions import person_changed
    from schemas.events import Operation, PersonChanged
    from schemas.topics import source_persons
    from streams.pipeline import source_version
    from streams.validation import Accepted, RawMessage, validate_message

    plan = Plan()
    readable = _readable(rows, source, plan)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(readable)  # noqa: S311 (an order, not a secret)

    latest: dict[str, tuple[int, SourceRecord, str]] = {}
    for line, record in readable:
        system = source or record.source_system
        assert system is not None  # (checked by _readable)
        index_id = f"{system}:{_own_id(record.record_id, system)}"
        if record.record_id not in plan.index_id:
            plan.file_ids.append(record.record_id)
        plan.index_id[record.record_id] = index_id
        latest.pop(index_id, None)  # keep the publishing order of the last row
        latest[index_id] = (line, record, system)

    today = now.date()
    refused: set[str] = set()
    for index_id, (line, record, system) in latest.items():
        topic = source_persons(system)
        event = person_changed(record, system, Operation.UPDATE, now=now, source_ts=now)
        key = event.record_id.encode()
        value = codec.encode(event, topic)
        checked = validate_message(RawMessage(topic, 0, 0, key, value), codec, today)
        if not isinstance(checked, Accepted):
            plan.rejected.append(RejectedRow(line, checked.detail))
            refused.add(index_id)
            continue
        seen = checked.event  # as a worker decodes it: its version is the worker's
        assert isinstance(seen, PersonChanged)
        version = source_version(seen.source_version, seen.source_ts, checked.message)
        plan.events[index_id] = Planned(index_id, line, topic, key, value, version)
    if refused:
        plan.file_ids = [f for f in plan.file_ids if plan.index_id[f] not in refused]
    plan.rejected.sort(key=lambda r: r.line)
    return plan


def plan_relationships(
    rows: Iterable[tuple[int, Any]],
    codec: Codec,
    *,
    now: dt.datetime,
    op: Operation | None = None,
) -> tuple[list[Planned], list[RejectedRow], list[RejectedRow]]:
    """``RelationshipObserved`` events for a file of relationships (as ``hub link
    --relationships`` reads them, with a ``source_system``; ``relationship_id``, ``kind``,
    ``group_id``, ``role``, ``start``, ``end`` and ``updated_at`` where given), validated as
    a worker validates them, one per relationship (its last row); the rows rejected; and
    the rows published without a part that could not be used (a start or end, a kind; and
    why).
    ``op``: the events' operation (default: a snapshot read)."""
    from schemas.conversions import relationship_key
    from schemas.topics import source_relationships
    from streams.pipeline import source_version
    from streams.validation import Accepted, RawMessage, validate_message

    planned: dict[str, Planned] = {}
    rejected: list[RejectedRow] = []
    unread: list[RejectedRow] = []
    today = now.date()
    for line, row in rows:
        if isinstance(row, str):
            rejected.append(RejectedRow(line, row))
            continue
        made = _relationship_event(row, now, op)
        if isinstance(made, str):
            rejected.append(RejectedRow(line, made))
            continue
        event, left_out = made
        if left_out:
            unread.append(RejectedRow(line, "; ".join(left_out)))
        topic = source_relationships(event.source_system)
        key = relationship_key(event)
        value = codec.encode(event, topic)
        checked = validate_message(RawMessage(topic, 0, 0, key.encode(), value), codec, today)
        if not isinstance(checked, Accepted):
            rejected.append(RejectedRow(line, checked.detail))
            continue
        version = source_version(None, event.source_ts, checked.message)
        planned.pop(key, None)  # (the last row of a relationship wins, published last)
        planned[key] = Planned(f"rel:{key}", line, topic, key.encode(), value, version)
    return list(planned.values()), sorted(rejected, key=lambda r: r.line), unread


def _relationship_event(
    row: Mapping[str, Any], now: dt.datetime, op: Operation | None = None
) -> tuple[RelationshipObserved, list[str]] | str:
    """A row as a ``RelationshipObserved`` with what of it was left out (a start or end
    that is no date, or out of range, or an end before the start; a kind the hub does not
    know, taken as other: the relationship still says the two are two people, as ``hub
    link`` reads it), or why it cannot be one."""
    from schemas.events import Operation, RelationshipObserved

    text = relationship_cells(row)
    if isinstance(text, str):
        return text
    system, record_id, related = text["source_system"], text["record_id"], text["related_record_id"]
    problem = system_problem(system) or _ids_problem(text, system)
    if problem is not None:
        return problem
    written = relationship_written(text["updated_at"], now)
    if isinstance(written, str):
        return written
    start, end = relationship_date(row.get("start")), relationship_date(row.get("end"), "end")
    unread = [value for value in (start, end) if isinstance(value, str)]
    start = start if isinstance(start, dt.date) else None
    end = end if isinstance(end, dt.date) else None
    if start and end and end < start:
        unread.append("end is before start")
        end = None
    kind, unknown = relationship_kind(text["kind"])
    if unknown is not None:
        unread.append(unknown)
    assert system is not None and record_id is not None  # (checked above)
    event = RelationshipObserved(
        event_id=str(uuid.uuid4()),
        op=op or Operation.SNAPSHOT_READ,
        source_system=system,
        source_ts=written,
        event_ts=now,
        relationship_id=text["relationship_id"] or _derived_id(text, system),
        kind=kind,
        subject_record_id=_own_id(record_id, system),
        related_record_id=_own_id(related, system) if related else None,
        group_id=text["group_id"],
        role=text["role"],
        start=start,
        end=end,
    )
    return event, unread


def _ids_problem(text: Mapping[str, str | None], system: str | None) -> str | None:
    """Why a relationship row's record ids cannot be read, as ``hub link`` reads them."""
    record_id, related = text["record_id"], text["related_record_id"]
    if not record_id:
        return "no record_id"
    if not related and not text["group_id"]:
        return "neither a related_record_id nor a group_id"
    for value in (record_id, related):
        named = (value or "").partition(":")[0]
        if value and ":" in value and named != system and system_problem(named) is None:
            return f"a record id of another source system than {system}"
    if related and system and _own_id(related, system) == _own_id(record_id, system):
        return "relates a record to itself"
    return None


def _derived_id(text: dict[str, str | None], system: str) -> str:
    """A relationship's id when the file gives none: the same relationship, the same id,
    whether its record ids are written as the source's own (``H1``) or with the system
    (``housing:H1``; such rows were given other ids before 28 November 2026)."""
    record, related = ((value and _own_id(value, system))
                       for value in (text["record_id"], text["related_record_id"]))  # fmt: skip
    identity = "|".join(map(str, (text["kind"], record, related, text["group_id"])))
    return "file-" + hashlib.sha256(identity.encode()).hexdigest()[:16]


def _own_id(record_id: str, system: str) -> str:
    from schemas.conversions import source_record_id

    return source_record_id(record_id, system)


def _source_problem(record: SourceRecord, system: str | None, given: str | None) -> str | None:
    if not system:
        return "no source_system (give the file's system with --source)"
    if given and record.source_system and record.source_system != given:
        return f"source_system {record.source_system!r} is not {given!r}"
    return system_problem(system)


# -- the running pipeline ------------------------------------------------------------------


def check_workers(settings: Settings) -> list[str]:
    """The running workers' ids; one line and a non-zero exit when there are none."""
    from hub.running import connect_redis, running_workers

    client = connect_redis(settings)
    try:
        workers = running_workers(client, settings.redis_prefix)
    finally:
        client.close()
    if not workers:
        raise ServiceNotRunning(
            f"no worker is running (no heartbeat under {settings.redis_prefix}:workers: in "
            f"Redis at {settings.redis_url_shown}): start one with `hub worker`"
        )
    return workers


def check_consumed(admin: Any, group: str, topics: Sequence[str]) -> None:
    """Every topic is assigned to a member of the workers' consumer group."""
    from hub.running import assignment

    deadline = time.monotonic() + ASSIGNMENT_WAIT_S
    while True:
        group_now = assignment(admin, group)
        missing = sorted(set(topics) - group_now.topics)
        if not missing:
            return
        if time.monotonic() > deadline:
            if not group_now.members:
                raise ServiceNotRunning(
                    f"no worker is consuming: consumer group {group} has no members "
                    "(start one with `hub worker`)"
                )
            raise HubError(
                f"no worker consumes {', '.join(missing[:3])}"
                f"{' and more' if len(missing) > 3 else ''}: workers choose their topics when "
                "they start (name new systems in HUB_SOURCE_SYSTEMS and restart the workers)"
            )
        time.sleep(1.0)


def publish(
    settings: Settings, codec: Codec, events: Sequence[Planned], on_sent: Callable[[], None]
) -> dict[str, tuple[int, int]]:
    """Send every event and wait for Kafka's acknowledgements: index id -> (partition,
    offset). Anything not acknowledged is one line and a non-zero exit."""
    from sources.publisher import Delivery, Message, Publisher

    publisher = Publisher(
        settings.kafka_bootstrap, codec, timeout_s=settings.publish_timeout_s,
        client_id="hub-resolve",
    )  # fmt: skip
    publisher.check_connection()
    placed: dict[str, tuple[int, int]] = {}

    def track(record_id: str) -> Callable[[Delivery], None]:
        def on_delivery(delivery: Delivery) -> None:
            if delivery.ok and delivery.partition is not None and delivery.offset is not None:
                placed[record_id] = (delivery.partition, delivery.offset)

        return on_delivery

    for event in events:
        message = Message(event.topic, event.key, event.value)
        publisher.send_message(message, on_delivery=track(event.record_id))
        on_sent()
    publisher.flush()  # raises PublishError (one line) unless every event was acknowledged
    return placed


@dataclass
class Offsets:
    """The published events' offsets, per topic partition, to compare with commits."""

    by_partition: dict[tuple[str, int], list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, events: Sequence[Planned], placed: dict[str, tuple[int, int]]) -> Offsets:
        offsets = cls()
        for event in events:
            partition, offset = placed[event.record_id]
            offsets.by_partition.setdefault((event.topic, partition), []).append(offset)
        for values in offsets.by_partition.values():
            values.sort()
        return offsets

    def processed(self, committed: dict[tuple[str, int], int]) -> int:
        """How many events lie below their partition's committed offset (the next one the
        group will read): those have been processed."""
        return sum(
            bisect.bisect_left(values, committed.get(tp, -1))
            for tp, values in self.by_partition.items()
        )


def committed_offsets(
    admin: Any, group: str, partitions: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition

    request = ConsumerGroupTopicPartitions(group, [TopicPartition(t, p) for t, p in partitions])
    try:
        answer = admin.list_consumer_group_offsets([request])[group].result(timeout=30)
    except KafkaException as error:
        raise ServiceNotRunning(f"Kafka cannot list the offsets of {group}: {error}") from None
    return {(tp.topic, tp.partition): tp.offset for tp in answer.topic_partitions}


def wait_processed(
    settings: Settings,
    admin: Any,
    offsets: Offsets,
    *,
    total: int,
    timeout_s: float,
    on_progress: Callable[[int], None],
) -> None:
    """Wait until the workers' group has committed past every published event."""
    from hub.running import connect_redis, running_workers

    group = settings.consumer_group
    deadline = time.monotonic() + timeout_s
    next_check = time.monotonic() + WORKER_CHECK_S
    while True:
        done = offsets.processed(committed_offsets(admin, group, offsets.by_partition))
        on_progress(done)
        if done >= total:
            return
        now = time.monotonic()
        if now > deadline:
            raise HubError(
                f"timed out after {timeout_s:.0f}s: the workers processed {done:,} of "
                f"{total:,} events (are they keeping up? give more time with --timeout)"
            )
        if now > next_check:
            client = connect_redis(settings)
            try:
                if not running_workers(client, settings.redis_prefix):
                    raise ServiceNotRunning(
                        f"the workers stopped after processing {done:,} of {total:,} events"
                    )
            finally:
                client.close()
            next_check = now + WORKER_CHECK_S
        time.sleep(POLL_S)


@dataclass
class Found:
    """What the identity state holds for the published records."""

    source_version: dict[str, int] = field(default_factory=dict)
    person_of: dict[str, str] = field(default_factory=dict)
    household_of: dict[str, str | None] = field(default_factory=dict)  # person -> household


async def read_state(settings: Settings, record_ids: Sequence[str]) -> Found:
    """Source versions, persons and their households from the live identity state."""
    from hub.wiring import redis_state
    from matchers.identity_state import PersonEntry
    from sinks.state_codec import decoder

    state = redis_state(settings)
    decode_person = decoder(PersonEntry)
    found = Found()
    try:
        for start in range(0, len(record_ids), READ_CHUNK):
            ids = list(record_ids[start : start + READ_CHUNK])
            versions = await state.client.hmget(state.table_key("source_versions"), ids)
            persons = await state.client.hmget(state.table_key("person_of"), ids)
            for record_id, version, person in zip(ids, versions, persons, strict=True):
                if version is not None:
                    found.source_version[record_id] = int(orjson.loads(version))
                if person is not None:
                    found.person_of[record_id] = orjson.loads(person)
        person_ids = sorted(set(found.person_of.values()))
        for start in range(0, len(person_ids), READ_CHUNK):
            ids = person_ids[start : start + READ_CHUNK]
            entries = await state.client.hmget(state.table_key("persons"), ids)
            for person_id, raw in zip(ids, entries, strict=True):
                entry = decode_person(raw) if raw is not None else None
                found.household_of[person_id] = entry.household_id if entry else None
    finally:
        await state.client.aclose()
    return found


# -- the command ------------------------------------------------------------------------------


def resolve_command(
    *,
    input_path: Annotated[
        Path, typer.Option("--input", help="records: CSV, JSON Lines or Parquet")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="CSV to write record_id,person_id,household_id")
    ],
    mapping: Annotated[
        str | None, typer.Option("--map", help="rename columns: column=field,...")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="source system of every row (default: its source_system)"),
    ] = None,
    shuffle_seed: Annotated[
        int | None, typer.Option("--shuffle-seed", help="publish in a shuffled order")
    ] = None,
    timeout_s: Annotated[
        float,
        typer.Option(
            "--timeout",
            help="seconds to wait for the workers (1 to 86,400)",
            callback=number_from(1, MAX_WAIT_S),
        ),
    ] = 600.0,
    relationships: Annotated[
        Path | None,
        typer.Option(
            "--relationships",
            help="relationships to publish too (source_system,record_id,related_record_id or "
            "group_id[,relationship_id,kind,role,start,end,updated_at]), as `hub link` reads them",
        ),
    ] = None,
) -> None:
    """Resolve a file against the live index: publish its records to the running
    pipeline, wait until the workers have processed them, write each record's person and
    household. Prints a JSON summary."""
    from hub.inputs import check_input, check_output, numbered_records, parse_mapping, read_rows
    from hub.running import kafka_admin
    from schemas.codec import make_codec
    from schemas.topics import check_name

    settings = load_settings()
    columns = parse_mapping(mapping)
    if source is not None:
        check_name(source)
    for path in (input_path, relationships):
        if path is not None:
            check_input(path)
    check_output(out, input_path, *([relationships] if relationships else []), suffix=".csv")
    check_workers(settings)
    admin = kafka_admin(settings)
    codec = make_codec(settings)
    began = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # Avro keeps milliseconds
    plan = plan_file(
        numbered_records(input_path, columns), codec,
        source=source, shuffle_seed=shuffle_seed, now=now,
    )  # fmt: skip
    report_rejected(input_path, plan.rejected)
    if not plan.events:
        raise UsageError(f"{input_path}: no records to resolve")
    related: list[Planned] = []
    refused: list[RejectedRow] = []
    if relationships is not None:
        related, refused, unread = plan_relationships(read_rows(relationships), codec, now=now)
        report_rejected(relationships, refused)
        report_left_out(relationships, unread)
        if not related:
            raise UsageError(f"{relationships}: no relationships to publish")
    events = list(plan.events.values())
    sent = [*related, *events]  # (in any order the persons are the same: the relations first)
    check_consumed(admin, settings.consumer_group, sorted({e.topic for e in sent}))

    with counting_progress() as progress:
        sending = progress.add_task("publishing", total=len(sent))
        placed = publish(settings, codec, sent, lambda: progress.advance(sending))
        published_at = time.perf_counter()
        progress.remove_task(sending)
        waiting = progress.add_task("waiting for the workers", total=len(sent))
        wait_processed(
            settings, admin, Offsets.of(sent, placed), total=len(sent), timeout_s=timeout_s,
            on_progress=lambda done: progress.update(waiting, completed=done),
        )  # fmt: skip
    processed_at = time.perf_counter()
    found = asyncio.run(read_state(settings, [e.record_id for e in events]))
    assignment, not_applied, deleted = _assignment(plan, found)
    write_assignment(out, assignment)
    _report_left_out(input_path, plan, not_applied, deleted)
    seconds = processed_at - began
    summary: dict[str, Any] = {
        "mode": "resolve",
        "records": plan.rows,
        "distinct_records": len(assignment.record_ids),
        "published": len(events),
        "relationships_published": len(related),
        "relationships_rejected": len(refused),
        "persons": len(set(assignment.person_of.values())),
        "households": len({h for h in assignment.household_of.values() if h}),
        "rejected": len(plan.rejected),
        "not_applied": len(not_applied),
        "deleted_since": len(deleted),
        "seconds": round(seconds, 3),
        "wait_seconds": round(processed_at - published_at, 3),
        "records_per_second": round(len(events) / seconds) if seconds else None,
    }
    say(
        f"resolved {len(events):,} records against the live index into {summary['persons']:,} "
        f"persons and {summary['households']:,} households in {seconds:.1f}s; "
        f"{len(plan.rejected):,} rows rejected; wrote {out}"
    )
    typer.echo(orjson.dumps(summary).decode())


def _assignment(plan: Plan, found: Found) -> tuple[Assignment, list[Planned], list[Planned]]:
    """The file's records with their persons; the events no worker applied (dead-lettered
    on the way), and the records the index no longer holds (deleted by a newer event)."""
    not_applied: list[Planned] = []
    deleted: list[Planned] = []
    for event in plan.events.values():
        seen = found.source_version.get(event.record_id)
        if seen is None or seen < event.version:
            not_applied.append(event)
        elif event.record_id not in found.person_of:
            deleted.append(event)
    left_out = {e.record_id for e in (*not_applied, *deleted)}
    record_ids = [f for f in plan.file_ids if plan.index_id[f] not in left_out]
    person_of = {f: found.person_of[plan.index_id[f]] for f in record_ids}
    household_of = {f: found.household_of.get(p) for f, p in person_of.items()}
    return Assignment(record_ids, person_of, household_of), not_applied, deleted


def _report_left_out(
    path: Path, plan: Plan, not_applied: list[Planned], deleted: list[Planned]
) -> None:
    if not_applied:
        report_rejected(
            path,
            [
                RejectedRow(e.line, "not applied by the workers: see the dead-letter topic")
                for e in sorted(not_applied, key=lambda e: e.line)
            ],
        )
    if deleted:
        report_rejected(
            path,
            [
                RejectedRow(e.line, "deleted in the index by a newer event")
                for e in sorted(deleted, key=lambda e: e.line)
            ],
        )
