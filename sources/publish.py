"""Publishing a file of person records as PersonChanged events, or of relationships as
RelationshipObserved events (``hub publish``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.errors import UsageError
from hub.inputs import RejectedRow, cell_text, numbered_records
from matchers.records import SourceRecord
from schemas.conversions import UNREADABLE_VERSION, person_changed
from schemas.events import Operation
from schemas.topics import source_persons, source_relationships
from sources.publisher import Delivery, Message, OnDelivery, Publisher, PublishError
from streams.validation import why_invalid


@dataclass
class PublishReport:
    topic: str
    rows: int = 0
    sent: int = 0
    published: int = 0  # acknowledged by Kafka
    rejected: list[RejectedRow] = field(default_factory=list)
    failed: list[RejectedRow] = field(default_factory=list)  # sent, not acknowledged
    superseded: int = 0  # rows a later row of the same relationship replaced
    left_out: list[RejectedRow] = field(default_factory=list)  # published without a date
    unversioned: list[RejectedRow] = field(default_factory=list)  # published, no time
    error: PublishError | None = None  # Kafka did not acknowledge everything
    read_error: UsageError | None = None  # the file broke part-way through


def source_problem(record: SourceRecord, system: str) -> str | None:
    """Why a record from a file cannot be published as ``system``'s, or None."""
    if record.source_system and record.source_system != system:
        return f"source_system {record.source_system!r} is not {system!r}"
    return None


def publish_rows(
    rows: Iterable[tuple[int, SourceRecord | str]],
    system: str,
    publisher: Publisher,
    *,
    op: Operation = Operation.SNAPSHOT_READ,
    now: dt.datetime,
    on_row: Callable[[], None] = lambda: None,
) -> PublishReport:
    """Send every good row and wait for Kafka's answers; rows that cannot be events are
    rejected with their line. A failed delivery is reported, not raised, so the caller can
    show the whole picture first."""
    topic = source_persons(system)
    report = PublishReport(topic)

    track = _tracker(report)
    try:
        for line, record in rows:
            on_row()
            report.rows += 1
            if isinstance(record, str):
                report.rejected.append(RejectedRow(line, record))
                continue
            problem = source_problem(record, system)
            if problem:
                report.rejected.append(RejectedRow(line, problem))
                continue
            event = person_changed(record, system, op, now=now)
            invalid = why_invalid(event, topic, now.date())
            if invalid:  # (as a worker would dead-letter it)
                report.rejected.append(RejectedRow(line, invalid))
                continue
            if event.after is not None and UNREADABLE_VERSION in event.after.quality_flags:
                report.unversioned.append(RejectedRow(line, "updated_at cannot be read"))
            publisher.send(topic, event.record_id, event, on_delivery=track(line))
            report.sent += 1
    except UsageError as error:
        report.read_error = error
    finally:
        try:
            publisher.flush()
        except PublishError as error:
            report.error = error
        unsent = {row.line for row in report.failed}
        report.unversioned = [row for row in report.unversioned if row.line not in unsent]
    return report


def _tracker(report: PublishReport) -> Callable[[int], OnDelivery]:
    """Delivery callbacks that count Kafka's answers into ``report`` by file line."""

    def track(line: int) -> OnDelivery:
        def on_delivery(delivery: Delivery) -> None:
            if delivery.ok:
                report.published += 1
            else:
                report.failed.append(RejectedRow(line, delivery.error or "not acknowledged"))

        return on_delivery

    return track


def publish_relationships(
    rows: Iterable[tuple[int, Mapping[str, Any] | str]],
    system: str,
    publisher: Publisher,
    *,
    op: Operation = Operation.SNAPSHOT_READ,
    now: dt.datetime,
    on_row: Callable[[], None] = lambda: None,
) -> PublishReport:
    """``system``'s relationships (the columns ``hub link --relationships`` reads; a row
    without ``source_system`` is the system's, one naming another is rejected) as
    RelationshipObserved events on its relationships topic, validated as a worker validates
    them, the last row of a relationship winning; then Kafka's answers are waited for. The
    whole file is read first: one that breaks part-way raises, and nothing is sent."""
    from hub.resolve import plan_relationships

    report = PublishReport(source_relationships(system))
    own: list[tuple[int, Mapping[str, Any] | str]] = []
    for line, row in rows:
        on_row()
        report.rows += 1
        if isinstance(row, str):
            own.append((line, row))
            continue
        named = cell_text(row.get("source_system"))
        if named and named != system:
            report.rejected.append(RejectedRow(line, f"source_system {named!r} is not {system!r}"))
            continue
        own.append((line, {**row, "source_system": system}))
    planned, refused, report.left_out = plan_relationships(own, publisher.codec, now=now, op=op)
    report.rejected = sorted([*report.rejected, *refused], key=lambda r: r.line)
    report.superseded = report.rows - len(report.rejected) - len(planned)
    track = _tracker(report)
    for event in planned:
        message = Message(event.topic, event.key, event.value)
        publisher.send_message(message, on_delivery=track(event.line))
        report.sent += 1
    try:
        publisher.flush()
    except PublishError as error:
        report.error = error
    return report


def publish_file(
    path: Path,
    system: str,
    mapping: Mapping[str, str],
    publisher: Publisher,
    *,
    op: Operation = Operation.SNAPSHOT_READ,
    now: dt.datetime,
    on_row: Callable[[], None] = lambda: None,
) -> PublishReport:
    return publish_rows(
        numbered_records(path, mapping), system, publisher, op=op, now=now, on_row=on_row
    )
