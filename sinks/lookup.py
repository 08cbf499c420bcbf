"""Who a resident is, read from the store: the query `hub person` answers.

Given a person id (one merged away is followed to the person it joined) or a source
record id, :func:`person_in` returns the person's golden record and identifiers, every
source record that is theirs (by source system), their household with each member's the
same, and the service groupings their records are in, as the store holds them now (on
PostgreSQL, as of one moment: the reads share a snapshot). It is the store's side of
:func:`matchers.views.person_view`, which answers it from the identity state; a test holds
the two to the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, select

from hub.errors import HubError
from sinks import tables

GOLDEN = (
    "first_name", "middle_name", "last_name", "dob", "sex",
    "address_line_1", "address_line_2", "town", "postcode", "uprn",
)  # fmt: skip
_MOST_HOPS = 1000  # an alias chain longer than any merge history: a loop, not a chain


class NoOneNow(HubError):
    """The id names a source record its source deleted, or a person all of whose records
    were deleted: it is no one's now."""


def person_in(db: Connection, wanted: str) -> dict[str, Any] | None:
    """The person ``wanted`` names (a person id, current or merged away, or a live source
    record id) with their household and service groupings, or None when the store knows
    no such id. Raises :class:`NoOneNow` for a record or person no longer live."""
    records = tables.source_records
    linked = db.execute(select(records.c.person_id).where(records.c.record_id == wanted)).first()
    if linked is not None and linked.person_id is None:
        raise NoOneNow(f"{wanted!r} was deleted by its source: no one's now")
    person_id = _current(db, tables.person_aliases, "person_id",
                         linked.person_id if linked else wanted)  # fmt: skip
    row = _rows_by_id(db, tables.persons, "person_id", [person_id]).get(person_id)
    if row is None:
        return None
    if row["removed"]:
        raise NoOneNow(f"{person_id} is no one's now: its sources deleted each of its records")
    household = None
    if row["household_id"] is not None:
        household_id = _current(db, tables.household_aliases, "household_id", row["household_id"])
        home = _rows_by_id(db, tables.households, "household_id", [household_id]).get(household_id)
        if home is not None:
            household = {
                "household_id": household_id,
                "household_key": home["household_key"],
                "members": _people(db, home["member_ids"]),
            }
    own = _people(db, [person_id])[0]
    groups = [_group(db, *key) for key in _groupings(db, own["records"])]
    return {"asked": wanted, **own, "household": household, "service_groups": groups}


def _current(db: Connection, aliases: Table, column: str, wanted: str) -> str:
    """``wanted`` followed through ``aliases`` to the id that absorbed it (itself if none)."""
    seen = wanted
    for _ in range(_MOST_HOPS):
        row = db.execute(select(aliases.c[column]).where(aliases.c.alias_id == seen)).first()
        if row is None:
            return seen
        seen = row[0]
    raise HubError(f"the store's {aliases.name} run in a circle from {wanted}")


def _rows_by_id(db: Connection, table: Table, key: str, ids: Iterable[str]) -> dict[str, Any]:
    query = select(table).where(table.c[key].in_(sorted(set(ids))))
    return {row._mapping[key]: dict(row._mapping) for row in db.execute(query)}


def _people(db: Connection, person_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The live persons the store holds of ``person_ids``, by id, each with their golden
    record, identifiers and live source records by system."""
    found = _rows_by_id(db, tables.persons, "person_id", person_ids)
    rows = {p: row for p, row in found.items() if not row["removed"]}
    records = tables.source_records
    query = select(records.c.person_id, records.c.source_system, records.c.record_id).where(
        records.c.person_id.in_(sorted(rows))
    )
    by_system: dict[str, dict[str, list[str]]] = {p: {} for p in rows}
    for record in sorted(db.execute(query), key=lambda r: r.record_id):
        by_system[record.person_id].setdefault(record.source_system, []).append(record.record_id)
    return [
        {
            "person_id": person_id,
            **{name: rows[person_id][name] for name in GOLDEN},
            "identifiers": rows[person_id]["identifiers"],
            "records": by_system[person_id],
        }
        for person_id in sorted(rows)
    ]


_GROUPINGS = tables.relationships
_IN_GROUP = (
    _GROUPINGS.c.kind.in_(sorted(tables.GROUP_KINDS)),
    _GROUPINGS.c.group_id != "",  # (also leaves NULL out)
    _GROUPINGS.c.removed.is_(False),
)


def _groupings(db: Connection, records: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """The service groupings (source system, kind, group id) the records are in, in the
    order of their keys (as the identity state orders them)."""
    ids = sorted(r for of_system in records.values() for r in of_system)
    query = (
        select(_GROUPINGS.c.source_system, _GROUPINGS.c.kind, _GROUPINGS.c.group_id)
        .where(_GROUPINGS.c.record_id.in_(ids), *_IN_GROUP)
        .distinct()
    )
    keys = {(row.source_system, row.kind.lower(), row.group_id) for row in db.execute(query)}
    return sorted(keys, key=":".join)


def _group(db: Connection, system: str, kind: str, group_id: str) -> dict[str, Any]:
    """One service grouping: its members resolved to persons, and the records of it the
    store holds no live record of (as ``streams.pipeline`` keeps them in the state)."""
    query = select(_GROUPINGS.c.record_id).where(
        _GROUPINGS.c.source_system == system,
        _GROUPINGS.c.kind == kind.upper(),
        _GROUPINGS.c.group_id == group_id,
        _GROUPINGS.c.removed.is_(False),
    )
    members = {row.record_id for row in db.execute(query)}
    records = tables.source_records
    person_of = {
        row.record_id: row.person_id
        for row in db.execute(
            select(records.c.record_id, records.c.person_id).where(
                records.c.record_id.in_(sorted(members)), records.c.person_id.is_not(None)
            )
        )
    }
    return {
        "source_system": system,
        "kind": kind,
        "group_id": group_id,
        "members": _people(db, person_of.values()),
        "unknown_record_ids": sorted(members - person_of.keys()),
    }
