"""Apply the ledger's intents in time order: change events, and the records as they stand.

The snapshot of a day is exactly the records left after applying every intent up to the
end of that day, so the event stream and the snapshot files always agree. Each record's
:class:`Life` (created, residence ended, deleted) is what the relationships, indicators
and case work that hang off records are timed against.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sources.simulator.ledger import Intent
from sources.simulator.model import PersonChange, PersonRecord

_NAMESPACE = uuid.UUID("6f1d8a52-0b7e-4c55-9a57-3c1f6f0e2a11")


@dataclass(slots=True)
class Life:
    """When a source record was created, when its residence ended, when it was deleted."""

    created: datetime
    ended: tuple[datetime, date] | None = None  # when residence_end was set, and its value
    deleted: datetime | None = None

    def alive_at(self, moment: datetime) -> bool:
        return self.created <= moment and (self.deleted is None or moment < self.deleted)


@dataclass(frozen=True, slots=True)
class Timeline:
    events: list[PersonChange]  # in time order
    records: dict[str, PersonRecord]  # the live records at the end
    lives: dict[str, Life]  # every record created, live or not


def timestamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def apply(intents: Iterable[Intent], until: datetime, seed: int) -> Timeline:
    """Events for every intent before ``until`` that changes something, and the outcome."""
    live: dict[str, PersonRecord] = {}
    lives: dict[str, Life] = {}
    versions: dict[str, int] = {}
    events: list[PersonChange] = []
    for intent in sorted((i for i in intents if i.at < until), key=lambda i: (i.at, i.seq)):
        record_id = intent.record_id
        system, _, source_id = record_id.partition(":")
        before = live.get(record_id)
        after: PersonRecord | None
        if intent.op == "create":
            if record_id in versions:
                continue
            after = PersonRecord(
                record_id=record_id,
                source_system=system,
                source_record_id=source_id,
                updated_at=timestamp(intent.at),
                **(intent.fields or {}),
            )
            lives[record_id] = Life(intent.at)
        elif before is None:
            continue  # the record is gone (or not yet made): nothing to change
        elif intent.op == "delete":
            after = None
            lives[record_id].deleted = intent.at
        else:
            patch = intent.patch(before) if intent.patch else dict(intent.fields or {})
            changed: dict[str, Any] = {k: v for k, v in patch.items() if getattr(before, k) != v}
            if not changed:
                continue
            changed["updated_at"] = timestamp(intent.at)
            after = replace(before, **changed)
            life = lives[record_id]
            if after.residence_end and life.ended is None:
                life.ended = (intent.at, date.fromisoformat(after.residence_end))
        if after is None:
            del live[record_id]
        else:
            live[record_id] = after
        version = versions.get(record_id, 0) + 1
        versions[record_id] = version
        events.append(
            PersonChange(
                event_id=str(uuid.uuid5(_NAMESPACE, f"{seed}:{record_id}:{version}")),
                at=intent.at,
                op=intent.op,
                source_system=system,
                source_record_id=source_id,
                record_id=record_id,
                version=version,
                before=before,
                after=after,
                reason=intent.reason,
            )
        )
    return Timeline(events, live, lives)
