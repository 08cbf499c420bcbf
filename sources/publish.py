"""Publishing a file of person records as PersonChanged events (``hub publish``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hub.errors import UsageError
from hub.inputs import RejectedRow, numbered_records
from matchers.records import SourceRecord
from schemas.conversions import person_changed
from schemas.events import Operation
from schemas.topics import source_persons
from sources.publisher import Delivery, OnDelivery, Publisher, PublishError


@dataclass
class PublishReport:
    topic: str
    rows: int = 0
    sent: int = 0
    published: int = 0  # acknowledged by Kafka
    rejected: list[RejectedRow] = field(default_factory=list)
    failed: list[RejectedRow] = field(default_factory=list)  # sent, not acknowledged
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

    def track(line: int) -> OnDelivery:
        def on_delivery(delivery: Delivery) -> None:
            if delivery.ok:
                report.published += 1
            else:
                report.failed.append(RejectedRow(line, delivery.error or "not acknowledged"))

        return on_delivery

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
            publisher.send(topic, event.record_id, event, on_delivery=track(line))
            report.sent += 1
    except UsageError as error:
        report.read_error = error
    finally:
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
