"""Relationships the source systems record between their own person records.

Groups: council-tax accounts (the liable people), housing tenancies, housing-benefit claim
units, Mosaic family groups. Pairs: parent and child (education and early-years contacts,
social care, Mosaic, housing, benefits), partners, and carers (adult social care). A system
records a relation only between records it holds; duplicate records take part in none.

A relationship is observed when its last record is created, and observed again, with an
end date, when a record's residence ends; the snapshot holds the latest observation of
every relationship whose records are all still there. A relationship never ends before it
starts: records whose residence had already ended (as the source knew) before the
relationship would begin are never related, and an end learnt later but dated earlier
(a backdated move-out) is taken as the start day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime

from sources.simulator.ledger import Tracked
from sources.simulator.model import Person, PersonRecord, Relationship, RelationshipTruth
from sources.simulator.timeline import Life

GROUP_KINDS = {
    "council_tax": "council_tax_account",
    "housing": "tenancy",
    "housing_benefits": "claim_unit",
    "mosaic": "family_group",
}
PARENT_SYSTEMS = frozenset(
    {"education", "early_years", "child_social_care", "mosaic", "housing", "housing_benefits"}
)
COUPLE_SYSTEMS = frozenset(
    {"housing", "housing_benefits", "mosaic", "council_tax", "adult_social_care"}
)


def _relationship_id(*parts: str) -> str:
    digest = hashlib.blake2b(":".join(parts).encode(), digest_size=8).hexdigest()
    return f"rel-{digest}"


class _Observer:
    def __init__(self, lives: Mapping[str, Life]) -> None:
        self.lives = lives
        self.events: list[Relationship] = []
        self.truths: list[RelationshipTruth] = []

    def observe(
        self,
        kind: str,
        one: Tracked,
        *,
        other: Tracked | None = None,
        group: str | None = None,
        role: str | None = None,
        start: date | None = None,
    ) -> None:
        lives = [self.lives[one.record_id]]
        if other is not None:
            lives.append(self.lives[other.record_id])
        seen = max(life.created for life in lives)
        gone = [life.deleted for life in lives if life.deleted is not None]
        if gone and min(gone) <= seen:
            return  # the records never existed together
        start = start or seen.date()
        ends = [life.ended for life in lives if life.ended is not None]
        end = min(ends) if ends else None
        if end is not None and end[0] <= seen and end[1] < start:
            return  # a residence had already ended, as the source knew, before it began
        key = other.record_id if other else group or ""
        relationship = Relationship(
            relationship_id=_relationship_id(one.system, kind, one.record_id, key),
            source_system=one.system,
            kind=kind,
            record_id=one.record_id,
            related_record_id=other.record_id if other else None,
            group_id=f"{one.system}:{group}" if group else None,
            role=role,
            start=start,
            end=None,
            updated_at=seen,
        )
        self.events.append(relationship)
        if end is not None:
            # An end learnt later but dated before the start (a backdated move-out) closes
            # the relationship on the day it began: no source holds an end before a start.
            at, day = end
            self.events.append(replace(relationship, end=max(day, start), updated_at=max(at, seen)))
        self.truths.append(
            RelationshipTruth(
                relationship_id=relationship.relationship_id,
                person_id=one.person_id,
                related_person_id=other.person_id if other else None,
                household_id=one.household_id,
            )
        )


def build_relationships(
    tracked: Mapping[str, Tracked],
    lives: Mapping[str, Life],
    persons: Mapping[str, Person],
) -> tuple[list[Relationship], list[RelationshipTruth]]:
    """Every observation of a relationship between records that existed (any time order),
    and the true people behind each relationship."""
    observer = _Observer(lives)
    held: dict[tuple[str, str], list[Tracked]] = {}  # (system, person) -> primary records
    for t in tracked.values():
        if t.record_id not in lives:
            continue
        if t.group and t.system in GROUP_KINDS:
            observer.observe(GROUP_KINDS[t.system], t, group=t.group, role=t.role)
        if not t.duplicate:
            held.setdefault((t.system, t.person_id), []).append(t)
    for (_, person_id), records in held.items():
        for record in records:
            _pairs(observer, held, persons[person_id], record)
    return observer.events, observer.truths


def _pairs(
    observer: _Observer,
    held: Mapping[tuple[str, str], list[Tracked]],
    person: Person,
    record: Tracked,
) -> None:
    """The pair relations ``record`` has with the records of the person's family."""
    system = record.system

    def records_of(person_id: str | None) -> list[Tracked]:
        return held.get((system, person_id or ""), [])

    if system in PARENT_SYSTEMS:
        for parent_id, role in ((person.mother_id, "mother"), (person.father_id, "father")):
            for parent in records_of(parent_id):
                observer.observe("parent", parent, other=record, role=role, start=person.dob)
    partner_id = person.partner_id
    if system in COUPLE_SYSTEMS and partner_id and person.person_id < partner_id:
        for partner in records_of(partner_id):
            observer.observe("partner", record, other=partner)
    if system == "adult_social_care" and record.role == "carer":
        for cared_for in (person.partner_id, person.mother_id, person.father_id):
            for client in records_of(cared_for):
                if client.role == "client":
                    observer.observe("carer", record, other=client, role="carer")


def current_relationships(
    events: list[Relationship], records: Mapping[str, PersonRecord], until: datetime
) -> list[Relationship]:
    """The latest observation of each relationship before ``until`` whose records all exist."""
    latest: dict[str, Relationship] = {}
    for relationship in events:
        if relationship.updated_at < until:
            latest[relationship.relationship_id] = relationship
    return [
        r
        for r in latest.values()
        if r.record_id in records
        and (r.related_record_id is None or r.related_record_id in records)
    ]
