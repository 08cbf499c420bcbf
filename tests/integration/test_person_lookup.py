"""`hub person`: who a resident is, from the store, on real SQLite and PostgreSQL.

A small simulated borough is resolved (creates, updates that merge and part persons,
deletes) and drained into the store batch by batch as the pipeline drains it; then the
store's answer for every person, every merged-away id and every record equals the identity
state's own :func:`matchers.views.person_view`.
"""

from __future__ import annotations

import dataclasses
import random
import subprocess
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from matchers.households import ServiceGroup
from matchers.identity_state import MemoryIdAllocator, MemoryIdentityState
from matchers.records import SourceRecord
from matchers.survivorship import GoldenRecord
from matchers.views import Member, person_view
from sinks import tables
from sinks.lookup import GOLDEN, NoOneNow
from sinks.store import Store
from sources.simulator import SimulationConfig, simulate
from streams.identity import Outbox, RecordChange
from streams.outputs import store_rows
from tests.support.pipeline import HUB
from tests.support.resolving import toy_resolver

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def resolve_into(store: Store) -> tuple[MemoryIdentityState, list[str]]:
    """Resolve a borough in batches of 25 operations, each drained into the store; the
    state, and the ids of the records deleted."""
    simulation = simulate(SimulationConfig(residents=150, seed=3), day=1)
    records = [r.to_source_record() for r in simulation.records.values()]
    rng = random.Random(4)
    rng.shuffle(records)
    changed = [  # a new name and no address: some persons merge, some part
        dataclasses.replace(r, last_name=f"{r.last_name or 'x'}s", uprn=None, postcode=None)
        for r in rng.sample(records, 20)
    ]
    deleted = [r.record_id for r in rng.sample(records, 10)]
    grouped = rng.sample(records, 40) + [r for r in records if r.record_id in deleted][:3]
    operations: list[tuple[str, SourceRecord | None]] = [(r.record_id, r) for r in records]
    operations += [(r.record_id, r) for r in changed] + [(rid, None) for rid in deleted]
    state = MemoryIdentityState()
    resolver = toy_resolver(state, MemoryIdAllocator())
    for version, start in enumerate(range(0, len(operations), 25), start=1):
        outbox = Outbox()
        for record_id, record in operations[start : start + 25]:
            happened = resolver.upsert(record) if record else resolver.delete(record_id)
            outbox.events.extend(happened)
            outbox.records.append(RecordChange(record_id, version, record))
        outbox.records = [
            dataclasses.replace(c, person_id=state.person_of([c.record_id]).get(c.record_id))
            for c in outbox.records
        ]
        store.apply(store_rows(outbox, version, NOW))
    # service groupings: records of one system in groups of about five, some left again
    groups: dict[tuple[str, str], set[str]] = {}
    rows = []
    for n, record in enumerate(grouped):
        system, group_id, present = record.source_system or "", f"G{n % 9}", n % 7 != 0
        members = groups.setdefault((system, group_id), set())
        (members.add if present else members.discard)(record.record_id)
        rows.append({
            "relationship_id": f"{system}:m{n}", "source_system": system, "kind": "FAMILY_GROUP",
            "record_id": record.record_id, "related_record_id": None, "group_id": group_id,
            "role": None, "start": None, "end": None, "removed": not present, "version": 1,
            "updated_at": NOW,
        })  # fmt: skip
    for (system, group_id), members in groups.items():
        resolver.set_service_group(
            ServiceGroup(system, "family_group", group_id, frozenset(members))
        )
    store.apply({tables.relationships: rows})
    return state, deleted


def member(person: Member) -> dict[str, Any]:
    """A person as the store's answer shows them, from the identity state."""
    golden: GoldenRecord = person.golden
    records: dict[str, list[str]] = {}
    for source in golden.sources:
        records.setdefault(source.source_system, []).append(source.record_id)
    return {
        "person_id": person.person_id,
        **{name: getattr(golden, name) for name in GOLDEN},
        "identifiers": {
            "nhs_numbers": list(golden.nhs_numbers), "ni_numbers": list(golden.ni_numbers),
            "upns": list(golden.upns), "phones": list(golden.phones), "emails": list(golden.emails),
        },
        "records": {system: sorted(ids) for system, ids in sorted(records.items())},
    }  # fmt: skip


def expected(state: MemoryIdentityState, person_id: str, asked: str) -> dict[str, Any]:
    view = person_view(state, person_id)
    assert view is not None
    household = view.household
    return {
        "asked": asked,
        **member(view.person),
        "household": None if household is None else {
            "household_id": household.household_id,
            "household_key": household.household_key,
            "members": [member(m) for m in household.members],
        },
        "service_groups": [
            {"source_system": g.source_system, "kind": g.kind, "group_id": g.group_id,
             "members": [member(m) for m in g.members],
             "unknown_record_ids": list(g.unknown_record_ids)}
            for g in view.service_groups
        ],
    }  # fmt: skip


def test_the_store_answers_who_a_resident_is_as_the_identity_state_does(store: Store) -> None:
    state, deleted = resolve_into(store)
    everyone = state.persons(set(state.person_of(list(state._records)).values()))
    merged_away = {alias: p for p, entry in everyone.items() for alias in entry.aliases}
    assert merged_away, "the borough should merge some persons"
    assert any(len(e.record_ids) > 1 for e in everyone.values())

    for person_id, entry in everyone.items():
        assert store.person(person_id) == expected(state, person_id, person_id)
        some_record = min(entry.record_ids)
        assert store.person(some_record) == expected(state, person_id, some_record)
    for alias, survivor in merged_away.items():
        assert store.person(alias) == expected(state, survivor, alias)
    groups = [g for p in everyone for g in expected(state, p, p)["service_groups"]]
    assert any(len(g["members"]) > 1 for g in groups)
    assert any(g["unknown_record_ids"] for g in groups)  # a deleted record's grouping
    housed = [e for e in everyone.values() if e.household_id]
    assert any(len(state.households([e.household_id])[e.household_id].person_ids) > 1
               for e in housed if e.household_id)  # fmt: skip

    assert store.person("nobody:1") is None
    aliases = {row["alias_id"] for row in store.rows(tables.person_aliases)}
    removed = [r["person_id"] for r in store.rows(tables.persons, removed=True)]
    emptied = [p for p in removed if p not in aliases]
    assert emptied, "some person should lose every record"
    with pytest.raises(NoOneNow, match="no one's now"):
        store.person(emptied[0])
    gone = next(r for r in deleted if r not in state.person_of([r]))
    with pytest.raises(NoOneNow, match="deleted by its source"):
        store.person(gone)


def test_hub_person_prints_the_answer_or_says_in_one_line_why_not(store: Store) -> None:
    state, deleted = resolve_into(store)
    record_id = min(state.person_of(list(state._records)))
    env = {"HUB_DATABASE_URL": store.url, "PATH": "/usr/bin:/bin"}

    def hub_person(wanted: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([HUB, "person", wanted], env=env, capture_output=True, text=True,
                              check=False, timeout=120)  # fmt: skip

    shown = hub_person(record_id)
    assert shown.returncode == 0, shown.stderr
    found = orjson.loads(shown.stdout)
    assert found["asked"] == record_id
    assert found["person_id"] == state.person_of([record_id])[record_id]

    unknown = hub_person("nobody:1")
    assert unknown.returncode == 1
    assert unknown.stderr.strip().splitlines() == [
        "error: the store holds no person or source record 'nobody:1'"
    ]
    gone = next(r for r in deleted if r not in state.person_of([r]))
    removed = hub_person(gone)
    assert removed.returncode == 1
    assert removed.stderr.strip() == f"error: {gone!r} was deleted by its source: no one's now"
