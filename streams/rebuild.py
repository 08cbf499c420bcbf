"""The identity state rebuilt from the durable store (`hub state rebuild`).

Redis holds the identity state for fast matching; the store holds what it is made of:

- the newest version of every source record (``source_payloads``; deleted records too, so
  their source versions keep stale events stale),
- the judgements, people's and those sources state with a relationship between two
  records (``judgements``: the outbox of every batch carries the judgements that took
  effect, and the drain stores them),
- the service groupings (``relationships`` of a grouping kind with a group id),
- the ids the hub handed out: each record's person (``source_records``), the persons and
  households with their own versions (``revision``), and the aliases of merged ids.

A rebuild re-runs the matching core in batch over the live records
(:func:`matchers.batch.resolve_batch`, the definition the stream reproduces), so the
partition is the stream's for the same model, thresholds and judgements. It keeps the
ids by the stream's own rule (:func:`matchers.stable_ids.assign_ids`), with the store's
persons as the old groups: the new person holding most of an old person's records takes
its id; when several old persons end up in one new person the oldest id survives and the
others become its aliases; any other new person gets a fresh id, numbered after every id
the store has seen. Households likewise, over the persons. So when the partition is what
the store says (the normal case: Redis lost, model unchanged) every person and household
keeps its id and its version, and the state equals the one the stream had built.

The state is written under the state lock: into staging keys first, then switched in one
MULTI/EXEC (renames), with a state version above every version the store or Redis has
seen, so the workers' replicas reload and the store's versioned upserts keep applying.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, select

from hub.link import Matcher
from matchers.batch import BatchResult, judgements_by_record, latest_judgements, resolve_batch
from matchers.decisions import Judgement, Thresholds
from matchers.households import ServiceGroup
from matchers.identity_state import HouseholdEntry, PersonEntry, StateChanges
from matchers.ports import PairScorer
from matchers.records import SourceRecord, StandardRecord
from matchers.stable_ids import IdAssignment, assign_ids, format_id, id_age
from matchers.survivorship import SurvivorshipRules
from sinks import tables
from sinks.redis_state import (
    TABLES,
    RedisState,
    ReplicatedState,
    StateConflict,
    encoded_fields,
    holder_key,
)
from sinks.state_bulk import Lease
from sinks.state_codec import decoder
from sinks.store import Store, judgements_in, newest_state_version

PERSON, HOUSEHOLD = "person", "household"
WRITE_CHUNK = 5000  # fields per HSET while staging


@dataclass(frozen=True, slots=True)
class KnownPerson:
    revision: int
    record_ids: frozenset[str]  # its live records
    household_id: str | None


@dataclass(frozen=True, slots=True)
class KnownHousehold:
    revision: int
    person_ids: frozenset[str]


@dataclass
class Durable:
    """Everything the store holds that the identity state is made of."""

    records: list[SourceRecord] = field(default_factory=list)  # live records
    source_versions: dict[str, int] = field(default_factory=dict)  # records and rel: keys
    judgements: list[Judgement] = field(default_factory=list)
    service_groups: list[ServiceGroup] = field(default_factory=list)
    memberships: dict[str, tuple[str, str]] = field(default_factory=dict)  # rel: key -> held
    persons: dict[str, KnownPerson] = field(default_factory=dict)
    person_aliases: dict[str, str] = field(default_factory=dict)  # alias -> id it went to
    households: dict[str, KnownHousehold] = field(default_factory=dict)
    household_aliases: dict[str, str] = field(default_factory=dict)
    issued: dict[str, int] = field(default_factory=dict)  # kind -> largest number seen
    state_version: int = 0  # the newest state version in the store


def _number(identifier: str) -> int:
    return id_age(identifier)[0]


def read_durable(store: Store) -> Durable:
    """Read what the identity state is made of from the store (one connection)."""
    durable = Durable()
    with store.engine.connect() as db:
        _read_records(db, durable)
        durable.judgements = judgements_in(db)
        durable.service_groups = _service_groups(db.execute(select(tables.relationships)), durable)
        _read_persons(db, durable)
        _read_households(db, durable)
        durable.state_version = newest_state_version(db)
    return durable


def read_groupings(store: Store) -> Durable:
    """Only what the store's relationships make of the state: the service groupings, the
    memberships and the relationships' versions (``hub bootstrap --replace`` keeps the
    relationships and loads these beside the snapshot)."""
    durable = Durable()
    with store.engine.connect() as db:
        durable.service_groups = _service_groups(db.execute(select(tables.relationships)), durable)
    return durable


def grouping_tables(durable: Durable) -> dict[str, dict[str, Any]]:
    """The state's tables the groupings fill (``service_groups``, ``record_groups``,
    ``memberships``, ``membership_holders``), as the replica holds them."""
    record_groups: dict[str, set[str]] = {}
    for group in durable.service_groups:
        for record_id in group.record_ids:
            record_groups.setdefault(record_id, set()).add(group.key)
    holders: dict[str, set[str]] = {}
    for key, (group_key, record_id) in durable.memberships.items():
        holders.setdefault(holder_key(group_key, record_id), set()).add(key)
    return {
        "service_groups": {group.key: group for group in durable.service_groups},
        "record_groups": {r: frozenset(keys) for r, keys in record_groups.items()},
        "memberships": dict(durable.memberships),
        "membership_holders": {k: frozenset(keys) for k, keys in holders.items()},
    }


def _read_records(db: Connection, durable: Durable) -> None:
    decode_record = decoder(SourceRecord)
    payloads = tables.source_payloads.c
    for row in db.execute(select(payloads.record_id, payloads.source_version, payloads.record)):
        durable.source_versions[row.record_id] = row.source_version
        if row.record is not None:
            durable.records.append(decode_record(orjson.dumps(row.record)))


def _read_persons(db: Connection, durable: Durable) -> None:
    """Persons that still have live records, their revisions, and every id ever issued."""
    live = {r.record_id for r in durable.records}
    seen: list[str] = []
    records_of: dict[str, set[str]] = {}
    links = tables.source_records.c
    for link in db.execute(select(links.record_id, links.person_id)):
        if link.person_id is not None:
            seen.append(link.person_id)
            if link.record_id in live:
                records_of.setdefault(link.person_id, set()).add(link.record_id)
    people = tables.persons.c
    query = select(people.person_id, people.revision, people.household_id, people.removed)
    for person in db.execute(query):
        seen.append(person.person_id)
        if not person.removed and person.person_id in records_of:
            durable.persons[person.person_id] = KnownPerson(
                person.revision or 1, frozenset(records_of[person.person_id]), person.household_id
            )
    for alias in db.execute(select(tables.person_aliases)):
        durable.person_aliases[alias.alias_id] = alias.person_id
        seen += (alias.alias_id, alias.person_id)
    durable.issued[PERSON] = max((_number(i) for i in seen), default=0)


def _read_households(db: Connection, durable: Durable) -> None:
    """Live households (a household merged into another keeps its last row in the store,
    members and all: its alias row says it is gone), and every id ever issued."""
    seen: list[str] = []
    for alias in db.execute(select(tables.household_aliases)):
        durable.household_aliases[alias.alias_id] = alias.household_id
        seen += (alias.alias_id, alias.household_id)
    for household in db.execute(select(tables.households)):
        seen.append(household.household_id)
        if household.member_ids and household.household_id not in durable.household_aliases:
            durable.households[household.household_id] = KnownHousehold(
                household.revision or 1, frozenset(household.member_ids)
            )
    durable.issued[HOUSEHOLD] = max((_number(i) for i in seen), default=0)


def _service_groups(rows: Iterable[Any], durable: Durable) -> list[ServiceGroup]:
    """The groupings as the stream keeps them (see ``streams.pipeline.relationships``)."""
    members: dict[tuple[str, str, str], set[str]] = {}
    for row in rows:
        durable.source_versions[f"rel:{row.relationship_id}"] = row.version
        if row.kind not in tables.GROUP_KINDS or not row.group_id:  # (holds no group)
            continue
        group = members.setdefault((row.source_system, row.kind.lower(), row.group_id), set())
        if not row.removed:
            group.add(row.record_id)
            key = ServiceGroup(row.source_system, row.kind.lower(), row.group_id, frozenset()).key
            durable.memberships[f"rel:{row.relationship_id}"] = (key, row.record_id)
    return [
        ServiceGroup(system, kind, group_id, frozenset(records))
        for (system, kind, group_id), records in sorted(members.items())
        if records
    ]


class RecordingScorer:
    """A scorer that keeps the pairs it scored at or above ``keep``: the batch run's
    stored pairs, which the identity state holds as ``edges``."""

    def __init__(self, scorer: PairScorer, keep: float) -> None:
        self.scorer = scorer
        self.keep = keep
        self.edges: dict[str, dict[str, float]] = {}

    @property
    def version(self) -> str:
        return self.scorer.version

    def score(self, a: StandardRecord, b: StandardRecord) -> float:
        return self.score_many(a, [b])[0]

    def score_many(self, record: StandardRecord, others: Sequence[StandardRecord]) -> list[float]:
        weights = self.scorer.score_many(record, others)
        rid = record.record_id
        for other, weight in zip(others, weights, strict=True):
            if weight >= self.keep:
                self.edges.setdefault(rid, {})[other.record_id] = weight
                self.edges.setdefault(other.record_id, {})[rid] = weight
        return weights


def final_targets(aliases: dict[str, str]) -> dict[str, str]:
    """Each alias -> the id it ended up in (an alias of an id later merged follows it)."""
    resolved: dict[str, str] = {}
    for alias, first in aliases.items():
        seen = {alias}
        target = first
        while target in aliases and target not in seen:
            seen.add(target)
            target = aliases[target]
        resolved[alias] = target
    return resolved


@dataclass
class RebuildReport:
    records: int = 0
    persons: int = 0
    households: int = 0
    judgements: int = 0
    service_groups: int = 0
    pairs_scored: int = 0
    persons_kept: int = 0  # persons that kept the id the store knew them by
    persons_new: int = 0  # fresh ids (the store had no person with most of their records)
    persons_merged: int = 0  # ids the store had that became aliases in this rebuild
    households_kept: int = 0
    households_new: int = 0
    records_moved: int = 0  # live records whose person id differs from the store's
    version: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Rebuilt:
    state: ReplicatedState
    report: RebuildReport


class _Numbers:
    def __init__(self, issued: dict[str, int]) -> None:
        self.last = dict(issued)

    def allocator(self, kind: str, prefix: str) -> Callable[[int], list[str]]:
        def allocate(count: int) -> list[str]:
            start = self.last.get(kind, 0)
            self.last[kind] = start + count
            return [format_id(prefix, n) for n in range(start + 1, start + count + 1)]

        return allocate


def build_state(
    durable: Durable,
    matcher: Matcher,
    thresholds: Thresholds,
    survivorship: SurvivorshipRules,
    *,
    version: int,
) -> Rebuilt:
    """The identity state the stream would hold for the durable records (pure: no I/O)."""
    standard = {r.record_id: matcher.standardise(r) for r in durable.records}
    scorer = RecordingScorer(matcher.scorer, thresholds.stored)
    result = resolve_batch(
        standard.values(),
        matcher.rules,
        scorer,
        thresholds,
        judgements=durable.judgements,
        survivorship=survivorship,
    )
    report = RebuildReport(records=len(standard), pairs_scored=result.pairs_scored)
    changes = StateChanges(records=dict(standard), edges_set=scorer.edges)
    # blocking keys and buckets (over-common ones too: the stream keeps their members)
    for record_id, record in standard.items():
        keys = frozenset(matcher.rules.keys(record))
        changes.record_keys[record_id] = keys
        for key in keys:
            changes.bucket_added.setdefault(key, set()).add(record_id)
    judged = latest_judgements(durable.judgements).values()
    changes.judgements_set = judgements_by_record(judged)
    report.judgements = len(judged)
    numbers = _Numbers(durable.issued)
    _name_persons_and_households(durable, result, numbers, changes, report)
    groupings = grouping_tables(durable)
    changes.service_groups.update(groupings["service_groups"])
    for record_id, keys in groupings["record_groups"].items():
        changes.record_groups_added[record_id] = set(keys)
    report.service_groups = len(durable.service_groups)

    state = ReplicatedState()
    state.apply(changes)
    state.discard_writes()
    state.source_versions.update(durable.source_versions)
    state.memberships.update(groupings["memberships"])
    state.membership_holders.update(groupings["membership_holders"])
    state.counters.update({k: v for k, v in numbers.last.items() if v})
    state.version = report.version = version
    return Rebuilt(state, report)


def _name_persons_and_households(
    durable: Durable,
    result: BatchResult,
    numbers: _Numbers,
    changes: StateChanges,
    report: RebuildReport,
) -> None:
    """Persons and households of the batch result, named by the ids the store knows."""
    known = durable.persons
    persons = assign_ids(
        {pid: p.record_ids for pid, p in known.items()},
        result.clustering.clusters,
        numbers.allocator(PERSON, "P"),
    )
    person_aliases = _aliases(durable.person_aliases, persons)
    stable = {result.person_of[min(g)]: pid for g, pid in persons.ids.items()}
    goldens = {stable[fresh]: golden for fresh, golden in result.goldens.items()}

    groups: dict[str, set[str]] = {}
    for fresh_person, fresh_household in result.household_of.items():
        groups.setdefault(fresh_household, set()).add(stable[fresh_person])
    old_households = {
        hid: frozenset(person_aliases.get(p, p) for p in h.person_ids)
        for hid, h in durable.households.items()
    }
    households = assign_ids(
        old_households,
        sorted((frozenset(g) for g in groups.values()), key=min),
        numbers.allocator(HOUSEHOLD, "H"),
    )
    household_aliases = _aliases(durable.household_aliases, households)
    household_of = {p: hid for group, hid in households.ids.items() for p in group}

    aliases_of = _inverse(person_aliases)
    for group, pid in persons.ids.items():
        old = known.get(pid)
        household_id = household_of.get(pid)
        same = old is not None and old.record_ids == group and old.household_id == household_id
        revision = _revision(old.revision if old else None, same)
        changes.persons[pid] = PersonEntry(
            pid, group, goldens[pid], household_id, aliases_of.get(pid, frozenset()), revision
        )
        changes.person_of.update(dict.fromkeys(group, pid))
        key = goldens[pid].household_key
        if key:
            changes.residents_added.setdefault(key, set()).add(pid)
    changes.person_aliases = person_aliases

    aliases_of = _inverse(household_aliases)
    for group, hid in households.ids.items():
        before = durable.households.get(hid)
        revision = _revision(before.revision if before else None, old_households.get(hid) == group)
        key = goldens[min(group)].household_key or ""  # only persons with an address are housed
        changes.households[hid] = HouseholdEntry(
            hid, key, group, aliases_of.get(hid, frozenset()), revision
        )
    changes.household_aliases = household_aliases

    report.persons, report.households = len(persons.ids), len(households.ids)
    report.persons_new = len(persons.created)
    report.persons_kept = report.persons - report.persons_new
    report.persons_merged = sum(len(a) for a in persons.merged.values())
    report.households_new = len(households.created)
    report.households_kept = report.households - report.households_new
    was = {r: pid for pid, p in known.items() for r in p.record_ids}
    report.records_moved = sum(1 for r, pid in changes.person_of.items() if was.get(r) != pid)


def _revision(stored: int | None, unchanged: bool) -> int:
    """A person's or household's own version: kept when unchanged, else one more."""
    if stored is None:
        return 1
    return stored if unchanged else stored + 1


def _aliases(stored: dict[str, str], assignment: IdAssignment) -> dict[str, str]:
    """The stored aliases plus this rebuild's merges, each pointing at its final id."""
    aliases = dict(stored)
    for survivor, absorbed in assignment.merged.items():
        for old_id in absorbed:
            aliases[old_id] = survivor
    return final_targets(aliases)


def _inverse(aliases: dict[str, str]) -> dict[str, frozenset[str]]:
    of: dict[str, set[str]] = {}
    for alias, target in aliases.items():
        of.setdefault(target, set()).add(alias)
    return {target: frozenset(ids) for target, ids in of.items()}


# -- writing the state ----------------------------------------------------------------------


def staging_key(state: RedisState, table: str) -> str:
    return f"{state.prefix}:rebuild:t:{table}"


def _chunks(items: Iterable[tuple[str, Any]], size: int) -> Iterator[list[tuple[str, Any]]]:
    chunk: list[tuple[str, Any]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def replace_state(
    state: RedisState,
    replica: ReplicatedState,
    lease: Lease,
    configuration: Mapping[str, Any],
    on_written: Callable[[int], None] = lambda _n: None,
) -> int:
    """Write ``replica`` as the whole identity state, at ``replica.version``, built under
    ``configuration`` (see :attr:`matchers.resolver.Resolver.configuration`); returns the
    number of fields written (``on_written`` is told the keys, as they are). Staged under
    ``<prefix>:rebuild:*``, then switched in at once (the change log and outbox go: every
    replica reloads)."""
    client = state.client
    staged = {t.name: staging_key(state, t.name) for t in TABLES}
    await client.delete(*staged.values())
    written = 0
    filled: set[str] = set()
    for table in TABLES:
        values: dict[str, Any] = getattr(replica, table.attr)
        for chunk in _chunks(values.items(), WRITE_CHUNK):
            fields = dict(encoded_fields(table, chunk))
            if fields:
                await client.hset(staged[table.name], mapping=fields)
                filled.add(table.name)
            written += len(fields)
            on_written(len(chunk))
    await lease.settle()
    async with client.pipeline(transaction=True) as pipe:
        await pipe.watch(state.lock_key)
        held = await pipe.get(state.lock_key)
        if lease.lost or held is None or held.decode() != lease.token:
            raise StateConflict("the identity state lock was lost during the rebuild")
        pipe.multi()
        for table in TABLES:
            if table.name in filled:
                pipe.rename(staged[table.name], state.table_key(table.name))
            else:
                pipe.delete(state.table_key(table.name))
        pipe.delete(state.log_key, state.outbox_key)
        pipe.set(state.version_key, replica.version)
        pipe.set(state.configuration_key, orjson.dumps(configuration))
        await pipe.execute()
    return written
