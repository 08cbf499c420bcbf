"""Read-side queries over the identity state: a person, their household, their groupings.

``person_view`` answers "who is this, where are they known, and who lives with them": the
person's golden record with every source record (system and id) and identifier, every
member of their household with theirs, and each service grouping (family group, claim
unit, council-tax account) their records belong to, with its members resolved to persons.
Old ids (merged away) are followed to the surviving person.
"""

from __future__ import annotations

from dataclasses import dataclass

from matchers.identity_state import IdentityState, PersonEntry
from matchers.survivorship import GoldenRecord


@dataclass(frozen=True, slots=True)
class Member:
    """A person as a view shows them: id and golden record (identifiers, sources)."""

    person_id: str
    golden: GoldenRecord


@dataclass(frozen=True, slots=True)
class HouseholdView:
    household_id: str
    household_key: str
    members: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class ServiceGroupView:
    source_system: str
    kind: str
    group_id: str
    members: tuple[Member, ...]  # the persons of the group's records that are known
    unknown_record_ids: tuple[str, ...]  # the group's records not (or no longer) known


@dataclass(frozen=True, slots=True)
class PersonView:
    person: Member
    household: HouseholdView | None
    service_groups: tuple[ServiceGroupView, ...]


def current_person_id(state: IdentityState, person_id: str) -> str:
    return state.person_aliases([person_id]).get(person_id, person_id)


def person_of_record(state: IdentityState, record_id: str) -> str | None:
    return state.person_of([record_id]).get(record_id)


def _members(entries: dict[str, PersonEntry], ids: set[str]) -> tuple[Member, ...]:
    return tuple(Member(p, entries[p].golden) for p in sorted(ids) if p in entries)


def person_view(state: IdentityState, person_id: str) -> PersonView | None:
    """Everything the hub knows about one person (None for an unknown id)."""
    current = current_person_id(state, person_id)
    entry = state.persons([current]).get(current)
    if entry is None:
        return None
    household = None
    housemates: set[str] = set()
    household_entry = None
    if entry.household_id:
        household_entry = state.households([entry.household_id]).get(entry.household_id)
        if household_entry is not None:
            housemates = set(household_entry.person_ids)
    group_keys = set().union(*state.record_groups(entry.record_ids).values())
    groups = sorted(state.service_groups(group_keys).values(), key=lambda g: g.key)
    group_records = {r for g in groups for r in g.record_ids}
    persons_of_records = state.person_of(group_records)
    entries = state.persons(housemates | set(persons_of_records.values()) | {current})
    if household_entry is not None:
        household = HouseholdView(
            household_entry.household_id,
            household_entry.household_key,
            _members(entries, housemates),
        )
    views = tuple(
        ServiceGroupView(
            g.source_system,
            g.kind,
            g.group_id,
            _members(
                entries, {persons_of_records[r] for r in g.record_ids if r in persons_of_records}
            ),
            tuple(sorted(r for r in g.record_ids if r not in persons_of_records)),
        )
        for g in groups
    )
    return PersonView(Member(current, entry.golden), household, views)
