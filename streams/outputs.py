"""What a committed batch becomes outside Redis: hub.* events on Kafka and rows in the store.

Both are derived from the batch's outbox entry (the matching core's domain events, the
source records it upserted and deleted) and the state version of the commit, so a batch
drained twice produces the same events (same ids) and the same rows (same versions).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from matchers import events as domain
from matchers.decisions import probability
from matchers.records import SourceRecord, StandardRecord
from matchers.survivorship import GoldenRecord
from schemas import events as contract
from schemas import topics
from sinks import tables
from streams.identity import Outbox

_ID_SPACE = uuid.UUID("1b0f8f63-27a7-4c52-9d1e-7f3c3f2e9a10")
_ID_SPACE_BYTES = _ID_SPACE.bytes
_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(SourceRecord))


def _record_json(record: SourceRecord) -> dict[str, str]:
    """The record as :mod:`sinks.state_codec` writes it (its fields are all text: the ones
    set, in field order), made directly: a payload is written for every record."""
    return {name: value for name in _RECORD_FIELDS if (value := getattr(record, name)) is not None}


@dataclass(frozen=True, slots=True)
class Output:
    topic: str
    key: str
    event: contract.Event


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _system(record_id: str) -> str:
    return record_id.split(":", 1)[0]


def golden_person(golden: GoldenRecord) -> contract.Person:
    address = None
    if any(
        (golden.address_line_1, golden.address_line_2, golden.town, golden.postcode, golden.uprn)
    ):
        address = contract.Address(
            line_1=golden.address_line_1,
            line_2=golden.address_line_2,
            town=golden.town,
            postcode=golden.postcode,
            uprn=golden.uprn,
            residence_start=_date(golden.residence_start),
            residence_end=_date(golden.residence_end),
        )
    return contract.Person(
        first_name=golden.first_name,
        middle_name=golden.middle_name,
        last_name=golden.last_name,
        dob=_date(golden.dob),
        sex=golden.sex,
        address=address,
        nhs_number=golden.nhs_numbers[0] if golden.nhs_numbers else None,
        ni_number=golden.ni_numbers[0] if golden.ni_numbers else None,
        upn=golden.upns[0] if golden.upns else None,
        phone=golden.phones[0] if golden.phones else None,
        email=golden.emails[0] if golden.emails else None,
        source_ids={ref.source_system: ref.record_id for ref in golden.sources},
    )


def standard_person(record: StandardRecord) -> contract.Person:
    address = None
    if any((record.address_line_1, record.town, record.postcode, record.uprn)):
        address = contract.Address(
            line_1=record.address_line_1,
            line_2=record.address_line_2,
            town=record.town,
            postcode=record.postcode,
            uprn=record.uprn,
            residence_start=_date(record.residence_start),
            residence_end=_date(record.residence_end),
        )
    return contract.Person(
        first_name=record.first_name,
        middle_name=record.middle_name,
        last_name=record.last_name,
        dob=_date(record.dob),
        sex=record.sex,
        address=address,
        nhs_number=record.nhs_number,
        ni_number=record.ni_number,
        upn=record.upn,
        phone=record.phone,
        email=record.email,
        quality_flags=tuple(sorted(record.flags)),
    )


def _evidence(lines: Iterable[domain.FieldWeight]) -> tuple[contract.FieldEvidence, ...]:
    return tuple(
        contract.FieldEvidence(comparison=x.comparison, level=x.level, match_weight=x.match_weight)
        for x in lines
    )


def _household_basis(key: str) -> contract.HouseholdBasis:
    return (
        contract.HouseholdBasis.UPRN if key.startswith("uprn:") else contract.HouseholdBasis.ADDRESS
    )


Common = dict[str, Any]  # event_id and event_ts


def _person_upserted(event: domain.PersonUpserted, common: Common) -> Output:
    golden = event.golden
    return Output(
        topics.HUB_PERSONS,
        event.person_id,
        contract.PersonUpserted(
            **common,
            person_id=event.person_id,
            version=event.version,
            golden=golden_person(golden),
            record_ids=event.record_ids,
            alias_ids=event.alias_ids,
            household_id=event.household_id,
            nhs_numbers=golden.nhs_numbers,
            ni_numbers=golden.ni_numbers,
            upns=golden.upns,
            phones=golden.phones,
            emails=golden.emails,
            address_record_id=golden.address_record_id,
        ),
    )


def _persons_merged(event: domain.PersonsMerged, common: Common) -> Output:
    merged = contract.PersonsMerged(
        **common,
        person_id=event.person_id,
        merged_person_ids=event.merged_person_ids,
        record_ids=event.record_ids,
    )
    return Output(topics.HUB_PERSON_MERGES, event.person_id, merged)


def _person_split(event: domain.PersonSplit, common: Common) -> Output:
    parts = tuple(
        contract.PersonPart(person_id=p.person_id, record_ids=p.record_ids) for p in event.parts
    )
    split = contract.PersonSplit(**common, person_id=event.person_id, parts=parts)
    return Output(topics.HUB_PERSON_SPLITS, event.person_id, split)


def _person_removed(event: domain.PersonRemoved, common: Common) -> Output:
    removed = contract.PersonRemoved(**common, person_id=event.person_id)
    return Output(topics.HUB_PERSON_REMOVALS, event.person_id, removed)


def _household_changed(event: domain.HouseholdChanged, common: Common) -> Output:
    members = tuple(
        contract.HouseholdMember(person_id=m.person_id, start=_date(m.start), end=_date(m.end))
        for m in event.members
    )
    changed = contract.HouseholdChanged(
        **common,
        op=contract.Operation.UPDATE if members else contract.Operation.DELETE,
        household_id=event.household_id,
        version=event.version,
        basis=_household_basis(event.household_key),
        members=members,
        household_key=event.household_key,
        moved_in=event.moved_in,
        moved_out=event.moved_out,
        merged_from=event.merged_from,
    )
    return Output(topics.HUB_HOUSEHOLDS, event.household_id, changed)


def _match_decided(event: domain.MatchDecided, common: Common) -> Output:
    weight = event.match_weight
    decided = contract.MatchDecided(
        **common,
        record_id=event.record_id,
        candidate_record_id=event.candidate_record_id,
        decision=contract.MatchOutcome(event.decision.upper()),
        decided_by=contract.DecisionSource(event.decided_by.upper()),
        match_weight=weight,
        match_probability=probability(weight) if weight is not None else None,
        model_version=event.model_version,
        person_id=event.person_id,
        candidates=event.candidates,
    )
    return Output(topics.HUB_MATCH_DECISIONS, event.record_id, decided)


def _review_item_raised(event: domain.ReviewItemRaised, common: Common) -> Output:
    raised = contract.ReviewItemRaised(
        **common,
        review_id=review_id(event.record_id, event.other_record_id),
        record_id=event.record_id,
        candidate_record_id=event.other_record_id,
        match_weight=event.match_weight,
        match_probability=probability(event.match_weight),
        model_version=event.model_version,
        evidence=_evidence(event.explanation),
        reason=event.reason,
        record=standard_person(event.record),
        candidate_record=standard_person(event.other_record),
    )
    return Output(topics.HUB_REVIEW_ITEMS, event.record_id, raised)


_TO_CONTRACT: dict[type, Callable[[Any, Common], Output]] = {
    domain.PersonUpserted: _person_upserted,
    domain.PersonsMerged: _persons_merged,
    domain.PersonSplit: _person_split,
    domain.PersonRemoved: _person_removed,
    domain.HouseholdChanged: _household_changed,
    domain.MatchDecided: _match_decided,
    domain.ReviewItemRaised: _review_item_raised,
}


def to_contract(event: domain.Event, *, event_id: str, now: dt.datetime) -> Output:
    """The hub.* event, topic and key for one domain event."""
    return _TO_CONTRACT[type(event)](event, {"event_id": event_id, "event_ts": now})


def name_id(name: str) -> str:
    """``str(uuid.uuid5(_ID_SPACE, name))`` without the UUID object, in a third of the
    time: a drainer makes one for every output event and two for every review item."""
    data = _ID_SPACE_BYTES + name.encode()
    digest = bytearray(hashlib.sha1(data, usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def review_id(a: str, b: str) -> str:
    first, second = sorted((a, b))
    return name_id(f"review|{first}|{second}")


def outputs(outbox: Outbox, version: int, now: dt.datetime) -> list[Output]:
    """Every hub.* event of a batch, with ids fixed by the state version and position."""
    return [
        to_contract(event, event_id=name_id(f"{version}|{i}"), now=now)
        for i, event in enumerate(outbox.events)
    ]


def _identifiers(golden: GoldenRecord) -> dict[str, list[str]]:
    return {
        "nhs_numbers": list(golden.nhs_numbers),
        "ni_numbers": list(golden.ni_numbers),
        "upns": list(golden.upns),
        "phones": list(golden.phones),
        "emails": list(golden.emails),
    }


class _Rows:
    """Rows per table, keyed by natural key: a later write to a key replaces an earlier one."""

    def __init__(self, version: int, now: dt.datetime) -> None:
        self.version = version
        self.now = now
        self.by_table: dict[Table, dict[Any, dict[str, Any]]] = {}

    def put(self, table: Table, key: Any, row: dict[str, Any]) -> None:
        """Keep ``row`` (a dict made for this call; it gets the batch's version)."""
        row["version"] = self.version
        self.by_table.setdefault(table, {})[key] = row

    def link(self, record_id: str, person_id: str | None) -> None:
        self.put(tables.source_records, record_id, {
            "record_id": record_id, "source_system": _system(record_id),
            "person_id": person_id, "updated_at": self.now,
        })  # fmt: skip

    def payload(self, record_id: str, source_version: int, record: SourceRecord | None) -> None:
        self.put(tables.source_payloads, record_id, {
            "record_id": record_id, "source_system": _system(record_id),
            "source_version": source_version,
            "record": _record_json(record) if record else None,
            "updated_at": self.now,
        })  # fmt: skip

    def retire(self, person_id: str) -> None:
        empty: dict[str, list[str]] = {key: [] for key in _identifiers(GoldenRecord())}
        self.put(tables.persons, person_id, {
            "person_id": person_id, "removed": True, "first_name": None, "middle_name": None,
            "last_name": None, "dob": None, "sex": None, "address_line_1": None,
            "address_line_2": None, "town": None, "postcode": None, "uprn": None,
            "household_id": None, "identifiers": empty, "record_count": 0, "updated_at": self.now,
            "revision": None,
        })  # fmt: skip


def _rows_person_upserted(rows: _Rows, event: domain.PersonUpserted) -> None:
    golden = event.golden
    rows.put(tables.persons, event.person_id, {
        "person_id": event.person_id, "removed": False,
        "first_name": golden.first_name, "middle_name": golden.middle_name,
        "last_name": golden.last_name, "dob": golden.dob, "sex": golden.sex,
        "address_line_1": golden.address_line_1, "address_line_2": golden.address_line_2,
        "town": golden.town, "postcode": golden.postcode, "uprn": golden.uprn,
        "household_id": event.household_id, "identifiers": _identifiers(golden),
        "record_count": len(event.record_ids), "updated_at": rows.now,
        "revision": event.version,
    })  # fmt: skip
    for record_id in event.record_ids:
        rows.link(record_id, event.person_id)


def _rows_persons_merged(rows: _Rows, event: domain.PersonsMerged) -> None:
    for merged in event.merged_person_ids:
        rows.put(tables.person_aliases, merged, {"alias_id": merged, "person_id": event.person_id})
        rows.retire(merged)


def _rows_person_removed(rows: _Rows, event: domain.PersonRemoved) -> None:
    rows.retire(event.person_id)


def _rows_household_changed(rows: _Rows, event: domain.HouseholdChanged) -> None:
    rows.put(tables.households, event.household_id, {
        "household_id": event.household_id, "household_key": event.household_key,
        "member_ids": [m.person_id for m in event.members], "updated_at": rows.now,
        "revision": event.version,
    })  # fmt: skip
    for merged in event.merged_from:
        alias = {"alias_id": merged, "household_id": event.household_id}
        rows.put(tables.household_aliases, merged, alias)


def _rows_match_decided(rows: _Rows, event: domain.MatchDecided) -> None:
    if event.candidate_record_id is None or event.match_weight is None:
        return
    rows.put(tables.match_decisions, (event.record_id, event.candidate_record_id), {
        "record_id": event.record_id, "other_record_id": event.candidate_record_id,
        "decision": event.decision, "match_weight": event.match_weight,
        "model_version": event.model_version, "decided_at": rows.now,
    })  # fmt: skip


def _rows_review_item_raised(rows: _Rows, event: domain.ReviewItemRaised) -> None:
    first, second = sorted((event.record_id, event.other_record_id))
    rows.put(tables.review_items, (first, second), {
        "record_id": first, "other_record_id": second, "reason": event.reason,
        "match_weight": event.match_weight,
        "explanation": [[x.comparison, x.level, x.match_weight] for x in event.explanation],
        "model_version": event.model_version, "status": "open", "raised_at": rows.now,
    })  # fmt: skip


def _no_rows(_rows: _Rows, _event: Any) -> None:
    """A split is told by the PersonUpserted events of its parts."""


_TO_ROWS: dict[type, Callable[[_Rows, Any], None]] = {
    domain.PersonUpserted: _rows_person_upserted,
    domain.PersonsMerged: _rows_persons_merged,
    domain.PersonSplit: _no_rows,
    domain.PersonRemoved: _rows_person_removed,
    domain.HouseholdChanged: _rows_household_changed,
    domain.MatchDecided: _rows_match_decided,
    domain.ReviewItemRaised: _rows_review_item_raised,
}


def store_rows(outbox: Outbox, version: int, now: dt.datetime) -> dict[Table, list[dict[str, Any]]]:
    """The store's rows for a batch, each at the batch's state version (the newest wins).

    Events apply in order; the records' final contents and persons are written last.
    """
    rows = _Rows(version, now)
    for event in outbox.events:
        _TO_ROWS[type(event)](rows, event)
    for change in outbox.records:
        rows.payload(change.record_id, change.source_version, change.record)
        rows.link(change.record_id, change.person_id)
    for judgement in outbox.judgements:
        rows.put(tables.judgements, judgement.pair, {
            "record_a": judgement.record_a, "record_b": judgement.record_b,
            "same": judgement.same, "judged_by": judgement.by, "judged_at": judgement.at,
            "parent_record_id": judgement.parent, "parent_since": judgement.since,
        })  # fmt: skip
    return {table: list(by_key.values()) for table, by_key in rows.by_table.items()}
