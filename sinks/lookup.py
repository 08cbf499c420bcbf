"""Who a resident is, read from the store: the query `hub person` answers.

Given a person id (one merged away is followed to the person it joined) or a source
record id, :func:`person_in` returns the person's golden record and identifiers, every
source record that is theirs (by source system), their household with each member's the
same, and the service groupings their records are in, as the store holds them now. It is
the store's side of :func:`matchers.views.person_view`, which answers it from the identity
state; a test holds the two to the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, select

from sinks import tables

GOLDEN = (
    "first_name", "middle_name", "last_name", "dob", "sex",
    "address_line_1", "address_line_2", "town", "postcode", "uprn",
)  # fmt: skip
_MOST_HOPS = 1000  # an alias chain longer than any merge history: a loop, not a chain


class RecordDeleted(LookupError):
    """The id is a source record its source deleted: it is no one's now."""


def person_in(db: Connection, wanted: str) -> dict[str, Any] | None:
    """The person ``wanted`` names (a person id, current or merged away, or a live source
    record id) with their household, or None when the store knows no such id. Raises
    :class:`RecordDeleted` for a record its source deleted."""
    records = tables.source_records
    linked = db.execute(select(records.c.person_id).where(records.c.record_id == wanted)).first()
    if linked is not None and linked.person_id is None:
        raise RecordDeleted(wanted)
    person_id = _current(db, tables.person_aliases, "person_id",
                         linked.person_id if linked else wanted)  # fmt: skip
    row = _rows_by_id(db, tables.persons, "person_id", [person_id]).get(person_id)
    if row is None:
        return None
    household = None
    if row["household_id"] is not None:
        household_id = _current(db, tables.household_aliases, "household_id", row["household_id"])
        found = _rows_by_id(db, tables.households, "household_id", [household_id])
        if household_id in found:
            home = found[household_id]
            members = _rows_by_id(db, tables.persons, "person_id", home["member_ids"])
            of = _records_of(db, members)
            household = {
                "household_id": household_id,
                "household_key": home["household_key"],
                "members": [_person(members[p], of) for p in sorted(members)],
            }
    records_of = _records_of(db, {person_id: row})
    own = _person(row, records_of)
    groups = _service_groups(db, [r for _, r in records_of[person_id]])
    return {"asked": wanted, **own, "household": household, "service_groups": groups}


def _service_groups(db: Connection, record_ids: list[str]) -> list[dict[str, Any]]:
    """The service groupings (family groups, claim units, council-tax accounts...) the
    records are in, each with its members resolved to persons and the records of it the
    store holds no live record for (as ``streams.pipeline`` keeps them in the state)."""
    rel = tables.relationships
    grouping = (rel.c.kind.in_(sorted(tables.GROUP_KINDS)), rel.c.group_id.is_not(None),
                rel.c.removed.is_(False))  # fmt: skip
    keys = db.execute(
        select(rel.c.source_system, rel.c.kind, rel.c.group_id)
        .where(rel.c.record_id.in_(sorted(record_ids)), *grouping)
        .distinct()
    ).all()
    groups = []
    for system, kind, group_id in sorted(keys):
        query = select(rel.c.record_id).where(
            rel.c.source_system == system, rel.c.kind == kind, rel.c.group_id == group_id, *grouping
        )
        members = {row.record_id for row in db.execute(query)}
        linked = tables.source_records
        persons_of = {
            row.record_id: row.person_id
            for row in db.execute(
                select(linked.c.record_id, linked.c.person_id).where(
                    linked.c.record_id.in_(sorted(members)), linked.c.person_id.is_not(None)
                )
            )
        }
        people = _rows_by_id(db, tables.persons, "person_id", persons_of.values())
        their_records = _records_of(db, people)
        groups.append({
            "source_system": system, "kind": kind.lower(), "group_id": group_id,
            "members": [_person(people[p], their_records) for p in sorted(people)],
            "unknown_record_ids": sorted(members - persons_of.keys()),
        })  # fmt: skip
    return groups


def _current(db: Connection, aliases: Table, column: str, wanted: str) -> str:
    """``wanted`` followed through ``aliases`` to the id that absorbed it (itself if none)."""
    seen = wanted
    for _ in range(_MOST_HOPS):
        row = db.execute(select(aliases.c[column]).where(aliases.c.alias_id == seen)).first()
        if row is None:
            return seen
        seen = row[0]
    raise RuntimeError(f"the store's {aliases.name} run in a circle")


def _rows_by_id(db: Connection, table: Table, key: str, ids: Iterable[str]) -> dict[str, Any]:
    wanted = sorted(set(ids))
    query = select(table).where(table.c[key].in_(wanted))
    return {row._mapping[key]: dict(row._mapping) for row in db.execute(query)}


def _records_of(db: Connection, persons: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """person id -> its live source records (source system, record id), sorted."""
    records = tables.source_records
    query = (
        select(records.c.person_id, records.c.source_system, records.c.record_id)
        .where(records.c.person_id.in_(sorted(persons)))
        .order_by(records.c.record_id)
    )
    found: dict[str, list[tuple[str, str]]] = {p: [] for p in persons}
    for row in db.execute(query):
        found[row.person_id].append((row.source_system, row.record_id))
    return found


def _person(row: dict[str, Any], records_of: dict[str, list[tuple[str, str]]]) -> dict[str, Any]:
    by_system: dict[str, list[str]] = {}
    for system, record_id in records_of[row["person_id"]]:
        by_system.setdefault(system, []).append(record_id)
    return {
        "person_id": row["person_id"],
        "removed": row["removed"],
        **{name: row[name] for name in GOLDEN},
        "identifiers": row["identifiers"],
        "records": by_system,
    }
