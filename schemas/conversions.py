"""Between the matcher's flat records and the event contract.

Files and the matching core speak :class:`matchers.records.SourceRecord` (flat strings,
canonical field names); topics speak :class:`schemas.events.Person` inside a
:class:`PersonChanged`. These functions convert both ways. A value that cannot be read
(a date of birth like ``31/31/1980``) is left out and named in ``quality_flags``, so the
person is still published.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid

import orjson

from matchers.records import SourceRecord
from matchers.standardise import read_date, read_timestamp
from schemas.events import Address, Operation, Person, PersonChanged, RelationshipObserved


def parse_date(value: str | None) -> tuple[dt.date | None, bool]:
    """(date, False) for a readable date; (None, True) for one that is present but unreadable.

    Read as the matching core reads a date of birth (:func:`matchers.standardise.read_date`:
    ISO, with or without a time; year first when the year comes first, else day first as
    UK systems write it, ``07/03/1984`` being 7 March; a two-digit year, or an ISO week date
    such as ``1984-W10-3``, is unreadable), so a file gives the same dates through the
    stream as in `hub link`.
    """
    if value is None or not value.strip():
        return None, False
    parsed = read_date(value)
    return (parsed, False) if parsed else (None, True)


def parse_timestamp(value: str | None) -> tuple[dt.datetime | None, bool]:
    """(UTC datetime, False) for a readable timestamp; (None, True) if present but unreadable.
    Read as the matching core reads ``updated_at`` (:func:`matchers.standardise.read_timestamp`:
    a time without a zone is UTC; kept to the millisecond, as Avro keeps it)."""
    if value is None or not value.strip():
        return None, False
    moment = read_timestamp(value)
    return (moment, False) if moment else (None, True)


def source_record_id(record_id: str, system: str) -> str:
    """The source's own id: ``record_id`` without a leading ``"<system>:"`` if it has one."""
    prefix = f"{system}:"
    return record_id[len(prefix) :] if record_id.startswith(prefix) else record_id


def relationship_key(event: RelationshipObserved) -> str:
    """A relationship's Kafka key and its id in the store: ``<system>:<relationship id>``."""
    return f"{event.source_system}:{event.relationship_id}"


def person_from_record(record: SourceRecord) -> Person:
    """The event payload for one flat record; unreadable dates are flagged and left out."""
    flags: list[str] = []

    def date_of(name: str, value: str | None) -> dt.date | None:
        parsed, unreadable = parse_date(value)
        if unreadable:
            flags.append(f"{name}_unreadable")
        return parsed

    dob = date_of("dob", record.dob)
    start = date_of("residence_start", record.residence_start)
    end = date_of("residence_end", record.residence_end)
    address = None
    if any(
        (record.address_line_1, record.address_line_2, record.town, record.postcode, record.uprn)
    ):
        address = Address(
            line_1=record.address_line_1,
            line_2=record.address_line_2,
            town=record.town,
            postcode=record.postcode,
            uprn=record.uprn,
            residence_start=start,
            residence_end=end,
        )
    return Person(
        first_name=record.first_name,
        middle_name=record.middle_name,
        last_name=record.last_name,
        dob=dob,
        sex=record.sex,
        address=address,
        nhs_number=record.nhs_number,
        ni_number=record.ni_number,
        upn=record.upn,
        phone=record.phone,
        email=record.email,
        quality_flags=tuple(flags),
    )


# the quality flag of a record whose updated_at was written but cannot be read: its event
# carries no source time (a worker then orders it by its Kafka offset)
UNREADABLE_VERSION = "updated_at_unreadable"


def person_changed(
    record: SourceRecord,
    system: str,
    op: Operation,
    *,
    now: dt.datetime,
    source_ts: dt.datetime | None = None,
    event_id: str | None = None,
    record_id: str | None = None,
) -> PersonChanged:
    """A PersonChanged event for one flat record (``op`` DELETE carries no payload).

    ``record_id`` is the source's own id; by default the record's id without a leading
    ``"<system>:"``. ``source_ts`` stands in when the record has no ``updated_at``.
    """
    after = None if op is Operation.DELETE else person_from_record(record)
    ts, unreadable = parse_timestamp(record.updated_at)
    if unreadable and after is not None:
        after = dataclasses.replace(after, quality_flags=(*after.quality_flags, UNREADABLE_VERSION))
    return PersonChanged(
        event_id=event_id or str(uuid.uuid4()),
        op=op,
        source_system=system,
        source_record_id=record_id or source_record_id(record.record_id, system),
        source_ts=ts or source_ts,
        event_ts=now,
        after=after,
    )


def record_from_person(
    source_system: str,
    source_record_id: str,
    person: Person,
    source_ts: dt.datetime | None = None,
) -> SourceRecord:
    """The matcher's flat record for one person payload (current address only)."""
    address = person.address or Address()
    line_2 = ", ".join(part for part in (address.line_2, address.line_3) if part) or None
    return SourceRecord(
        record_id=f"{source_system}:{source_record_id}",
        source_system=source_system,
        first_name=person.first_name,
        middle_name=person.middle_name,
        last_name=person.last_name,
        dob=person.dob.isoformat() if person.dob else None,
        sex=person.sex,
        address_line_1=address.line_1,
        address_line_2=line_2,
        town=address.town,
        postcode=address.postcode,
        uprn=address.uprn,
        nhs_number=person.nhs_number,
        ni_number=person.ni_number,
        upn=person.upn,
        phone=person.phone,
        email=person.email,
        residence_start=address.residence_start.isoformat() if address.residence_start else None,
        residence_end=address.residence_end.isoformat() if address.residence_end else None,
        updated_at=source_ts.isoformat() if source_ts else None,
    )


def content_hash(record: SourceRecord) -> str:
    """A digest of a record's values (not its id or source), stable across releases:
    fields added to SourceRecord later do not change the digest while they are empty."""
    values = {
        f.name: getattr(record, f.name)
        for f in dataclasses.fields(record)
        if f.name not in ("record_id", "source_system") and getattr(record, f.name) is not None
    }
    return hashlib.blake2b(
        orjson.dumps(values, option=orjson.OPT_SORT_KEYS), digest_size=16
    ).hexdigest()
