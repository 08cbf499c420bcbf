"""`hub state expire`: end the relationships whose end date has passed.

A worker ends a relationship when it applies a version whose end date is past: it takes
the record out of the service group (a tenancy, a claim unit, a council-tax account) in
the identity state and marks the store's row removed. A source that wrote the end in
advance sends nothing when the day comes, so the membership would stay until its next
change. This sends every relationship the store holds as current but whose end has
passed again, as the source last sent it (its own version: workers apply an equal
version again), to the source's relationships topic; the workers then end it as they end
any other. A newer version already on its way wins, as always. Run it once a day.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from schemas.conversions import relationship_key, source_record_id
from schemas.events import Operation, RelationshipKind, RelationshipObserved
from schemas.topics import source_relationships
from sinks import tables
from sinks.store import Store
from sources.publisher import Publisher, PublishError


def ended_rows(store: Store, today: dt.date) -> list[Any]:
    """The store's current relationships whose end date is before ``today``, by id."""
    rows = tables.relationships.c
    query = (
        select(tables.relationships)
        .where(~rows.removed, rows.end.is_not(None), rows.end < today.isoformat())
        .order_by(rows.relationship_id)
    )
    with store.engine.connect() as db:
        return list(db.execute(query))


def as_sent(row: Any, now: dt.datetime) -> RelationshipObserved:
    """A stored relationship as its source last sent it, with the version the store holds."""
    system = row.source_system

    def own(record_id: str | None) -> str | None:
        return source_record_id(record_id, system) if record_id else None

    def day(text: str | None) -> dt.date | None:
        return dt.date.fromisoformat(text) if text else None

    return RelationshipObserved(
        event_id=str(uuid.uuid4()),
        op=Operation.UPDATE,
        source_system=system,
        source_version=row.version,
        event_ts=now,
        relationship_id=source_record_id(row.relationship_id, system),
        kind=RelationshipKind(row.kind),
        subject_record_id=source_record_id(row.record_id, system),
        related_record_id=own(row.related_record_id),
        group_id=row.group_id,
        role=row.role,
        start=day(row.start),
        end=day(row.end),
    )


def sendable(rows: Iterable[Any], now: dt.datetime) -> tuple[list[RelationshipObserved], list[str]]:
    """Each row as :func:`as_sent` makes it, and the ids of the rows it cannot make one of
    (a kind or a date this release does not read: a store written by another release), so
    that one such row holds up none of the others."""
    events: list[RelationshipObserved] = []
    unreadable: list[str] = []
    for row in rows:
        try:
            events.append(as_sent(row, now))
        except ValueError:
            unreadable.append(row.relationship_id)
    return events, unreadable


@dataclass
class ExpireReport:
    by_source: Counter[str] = field(default_factory=Counter)  # relationships sent again
    error: PublishError | None = None  # Kafka did not acknowledge every one

    @property
    def sent(self) -> int:
        return sum(self.by_source.values())


def expire(events: Iterable[RelationshipObserved], publisher: Publisher) -> ExpireReport:
    """Send each event (:func:`sendable`) to its source's relationships topic, keyed as
    `hub publish --relationships` keys it, and wait for Kafka's answers."""
    report = ExpireReport()
    for event in events:
        publisher.send(source_relationships(event.source_system), relationship_key(event), event)
        report.by_source[event.source_system] += 1
    try:
        publisher.flush()
    except PublishError as error:
        report.error = error
    return report
