"""Relationships the source systems record between their own person records.

Groups: council-tax accounts (the liable people), housing tenancies, housing-benefit claim
units, Mosaic family groups. Pairs: parent and child (education and early-years contacts,
social care, Mosaic, housing, benefits), partners, and carers (adult social care). A system
records a relation only between records it holds; duplicate records take part in none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date

from sources.simulator.ledger import Tracked
from sources.simulator.model import Person, PersonRecord, Relationship, RelationshipTruth

GROUP_KINDS = {
    "council_tax": "council_tax_account",
    "housing": "tenancy",
    "housing_benefits": "claim_unit",
    "mosaic": "family_group",
}
PARENT_SYSTEMS = frozenset(
    {"education", "early_years", "child_social_care", "mosaic", "housing", "housing_benefits"}
)
PARTNER_SYSTEMS = frozenset(
    {"housing", "housing_benefits", "mosaic", "council_tax", "adult_social_care"}
)


def _relationship_id(*parts: str) -> str:
    digest = hashlib.blake2b(":".join(parts).encode(), digest_size=8).hexdigest()
    return f"rel-{digest}"


def build_relationships(
    tracked: Mapping[str, Tracked],
    live: Mapping[str, PersonRecord],
    persons: Mapping[str, Person],
) -> tuple[list[Relationship], list[RelationshipTruth]]:
    """Every relationship among the live records, and the true people behind each."""
    relationships: list[Relationship] = []
    truths: list[RelationshipTruth] = []

    def add(
        kind: str,
        one: Tracked,
        *,
        other: Tracked | None,
        group: str | None,
        role: str | None,
        start: date | None = None,
    ) -> None:
        key = other.record_id if other else group or ""
        rel = Relationship(
            relationship_id=_relationship_id(one.system, kind, one.record_id, key),
            source_system=one.system,
            kind=kind,
            record_id=one.record_id,
            related_record_id=other.record_id if other else None,
            group_id=f"{one.system}:{group}" if group else None,
            role=role,
            start=start or one.created.date(),
            end=_end(live[one.record_id]),
            updated_at=max(one.created, other.created) if other else one.created,
        )
        relationships.append(rel)
        truths.append(
            RelationshipTruth(
                relationship_id=rel.relationship_id,
                person_id=one.person_id,
                related_person_id=other.person_id if other else None,
                household_id=one.household_id,
            )
        )

    records = [t for t in tracked.values() if t.record_id in live]
    main: dict[tuple[str, str], Tracked] = {}  # (system, person) -> the latest primary record
    for t in records:
        if t.group and t.system in GROUP_KINDS:
            add(GROUP_KINDS[t.system], t, other=None, group=t.group, role=t.role)
        if not t.duplicate:
            main[(t.system, t.person_id)] = t
    for (system, person_id), record in main.items():
        person = persons[person_id]
        if system in PARENT_SYSTEMS:
            for parent_id, role in ((person.mother_id, "mother"), (person.father_id, "father")):
                parent = main.get((system, parent_id or ""))
                if parent is not None and parent.household_id == record.household_id:
                    add("parent", parent, other=record, group=None, role=role, start=person.dob)
        if system in PARTNER_SYSTEMS and person.partner_id and person_id < person.partner_id:
            partner = main.get((system, person.partner_id))
            if partner is not None:
                add("partner", record, other=partner, group=None, role=None)
        if system == "adult_social_care" and record.role == "carer":
            for other_id in (person.partner_id, person.mother_id, person.father_id):
                client = main.get((system, other_id or ""))
                if client is not None and client.role == "client":
                    add("carer", record, other=client, group=None, role="carer")
                    break
    return relationships, truths


def _end(record: PersonRecord) -> date | None:
    return date.fromisoformat(record.residence_end) if record.residence_end else None
