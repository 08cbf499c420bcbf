"""Identity state: what the resolver remembers between records, behind a small port.

The state is plain data, table by table (each keyed by a string):

=================  =====================================  ===========================
table              key -> value                           written as
=================  =====================================  ===========================
records            record id -> StandardRecord            value (None deletes)
record_keys        record id -> its blocking keys          value
buckets            blocking key -> record ids             set deltas (added/removed)
edges              record id -> {other record: weight}    map deltas (both directions)
judgements         record id -> {other record: Judgement} map deltas (both directions)
person_of          record id -> person id                 value
persons            person id -> PersonEntry               value
person_aliases     old person id -> surviving person id   value
residents          household key -> person ids            set deltas
households         household id -> HouseholdEntry         value
household_aliases  old household id -> surviving id       value
service_groups     group key -> ServiceGroup              value
record_groups      record id -> group keys                set deltas
=================  =====================================  ===========================

``edges`` holds every candidate pair (see :mod:`matchers.resolver`) that scored at or above
``Thresholds.stored`` (the lower of the review threshold and the floor), under each of its
two records. Every read takes many keys at once and every operation's writes arrive as
one :class:`StateChanges`, so a Redis implementation can pipeline reads and apply the
writes in one MULTI/EXEC. :class:`StagedState` is the per-operation unit of work: it reads
through to the port, caches, and collects the writes. Sets and maps a read returns are
treated as read-only (StagedState copies before it changes one), so an implementation may
hand out its own objects.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from matchers.decisions import Judgement
from matchers.households import ServiceGroup
from matchers.records import StandardRecord
from matchers.survivorship import GoldenRecord


@dataclass(frozen=True, slots=True)
class PersonEntry:
    """A master person: its records, golden record, household and the ids merged into it."""

    person_id: str
    record_ids: frozenset[str]
    golden: GoldenRecord
    household_id: str | None = None
    aliases: frozenset[str] = frozenset()
    version: int = 1  # goes up by one at every change, for idempotent sinks

    @property
    def household_key(self) -> str | None:
        return self.golden.household_key


@dataclass(frozen=True, slots=True)
class HouseholdEntry:
    household_id: str
    household_key: str
    person_ids: frozenset[str]
    aliases: frozenset[str] = frozenset()
    version: int = 1


@dataclass
class StateChanges:
    """The writes of one operation, applied together (atomically where the store can)."""

    records: dict[str, StandardRecord | None] = field(default_factory=dict)
    record_keys: dict[str, frozenset[str] | None] = field(default_factory=dict)
    bucket_added: dict[str, set[str]] = field(default_factory=dict)
    bucket_removed: dict[str, set[str]] = field(default_factory=dict)
    edges_set: dict[str, dict[str, float]] = field(default_factory=dict)
    edges_removed: dict[str, set[str]] = field(default_factory=dict)
    judgements_set: dict[str, dict[str, Judgement]] = field(default_factory=dict)
    person_of: dict[str, str | None] = field(default_factory=dict)
    persons: dict[str, PersonEntry | None] = field(default_factory=dict)
    person_aliases: dict[str, str] = field(default_factory=dict)
    residents_added: dict[str, set[str]] = field(default_factory=dict)
    residents_removed: dict[str, set[str]] = field(default_factory=dict)
    households: dict[str, HouseholdEntry | None] = field(default_factory=dict)
    household_aliases: dict[str, str] = field(default_factory=dict)
    service_groups: dict[str, ServiceGroup | None] = field(default_factory=dict)
    record_groups_added: dict[str, set[str]] = field(default_factory=dict)
    record_groups_removed: dict[str, set[str]] = field(default_factory=dict)


class IdentityState(Protocol):
    """Bulk reads by key (missing keys are left out of the answer) and one bulk write."""

    def records(self, ids: Collection[str]) -> dict[str, StandardRecord]: ...
    def record_keys(self, ids: Collection[str]) -> dict[str, frozenset[str]]: ...
    def bucket_sizes(self, keys: Collection[str]) -> dict[str, int]: ...
    def bucket_members(self, keys: Collection[str]) -> dict[str, AbstractSet[str]]: ...
    def edges(self, ids: Collection[str]) -> dict[str, dict[str, float]]: ...
    def judgements(self, ids: Collection[str]) -> dict[str, dict[str, Judgement]]: ...
    def person_of(self, ids: Collection[str]) -> dict[str, str]: ...
    def persons(self, ids: Collection[str]) -> dict[str, PersonEntry]: ...
    def person_aliases(self, ids: Collection[str]) -> dict[str, str]: ...
    def residents(self, keys: Collection[str]) -> dict[str, AbstractSet[str]]: ...
    def households(self, ids: Collection[str]) -> dict[str, HouseholdEntry]: ...
    def household_aliases(self, ids: Collection[str]) -> dict[str, str]: ...
    def service_groups(self, keys: Collection[str]) -> dict[str, ServiceGroup]: ...
    def record_groups(self, ids: Collection[str]) -> dict[str, AbstractSet[str]]: ...
    def apply(self, changes: StateChanges) -> None: ...


class IdAllocator(Protocol):
    def allocate(self, kind: str, count: int) -> list[int]:
        """``count`` new numbers for ``kind`` ("person", "household"), each greater than
        every number handed out before (Redis: INCRBY)."""
        ...


class MemoryIdAllocator:
    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def allocate(self, kind: str, count: int) -> list[int]:
        start = self.last.get(kind, 0)
        self.last[kind] = start + count
        return list(range(start + 1, start + count + 1))


V = TypeVar("V")


def _pick(table: Mapping[str, V], ids: Iterable[str]) -> dict[str, V]:
    # (values are never None: None deletes)
    if type(ids) is tuple and len(ids) == 1:  # one key, as StagedState's ``one`` asks
        value = table.get(ids[0])
        return {} if value is None else {ids[0]: value}
    get = table.get
    return {i: value for i in ids if (value := get(i)) is not None}


def _set_values(table: dict[str, V], values: dict[str, V | None]) -> None:
    for key, value in values.items():
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value


def _set_deltas(
    table: dict[str, set[str]], added: dict[str, set[str]], removed: dict[str, set[str]]
) -> None:
    for key, members in removed.items():
        current = table.get(key)
        if current is not None:
            current.difference_update(members)
            if not current:
                del table[key]
    for key, members in added.items():
        table.setdefault(key, set()).update(members)


class MemoryIdentityState:
    """The identity state in dictionaries: for tests and for ``hub link`` without services."""

    def __init__(self) -> None:
        self._records: dict[str, StandardRecord] = {}
        self._record_keys: dict[str, frozenset[str]] = {}
        self._buckets: dict[str, set[str]] = {}
        self._edges: dict[str, dict[str, float]] = {}
        self._judgements: dict[str, dict[str, Judgement]] = {}
        self._person_of: dict[str, str] = {}
        self._persons: dict[str, PersonEntry] = {}
        self._person_aliases: dict[str, str] = {}
        self._residents: dict[str, set[str]] = {}
        self._households: dict[str, HouseholdEntry] = {}
        self._household_aliases: dict[str, str] = {}
        self._service_groups: dict[str, ServiceGroup] = {}
        self._record_groups: dict[str, set[str]] = {}

    def records(self, ids: Collection[str]) -> dict[str, StandardRecord]:
        return _pick(self._records, ids)

    def record_keys(self, ids: Collection[str]) -> dict[str, frozenset[str]]:
        return _pick(self._record_keys, ids)

    def bucket_sizes(self, keys: Collection[str]) -> dict[str, int]:
        return {k: len(self._buckets[k]) for k in keys if k in self._buckets}

    # Sets and maps are handed out as read-only views (StagedState never changes them).
    def bucket_members(self, keys: Collection[str]) -> dict[str, AbstractSet[str]]:
        return _pick(self._buckets, keys)

    def edges(self, ids: Collection[str]) -> dict[str, dict[str, float]]:
        return _pick(self._edges, ids)

    def judgements(self, ids: Collection[str]) -> dict[str, dict[str, Judgement]]:
        return _pick(self._judgements, ids)

    def person_of(self, ids: Collection[str]) -> dict[str, str]:
        return _pick(self._person_of, ids)

    def persons(self, ids: Collection[str]) -> dict[str, PersonEntry]:
        return _pick(self._persons, ids)

    def person_aliases(self, ids: Collection[str]) -> dict[str, str]:
        return _pick(self._person_aliases, ids)

    def residents(self, keys: Collection[str]) -> dict[str, AbstractSet[str]]:
        return _pick(self._residents, keys)

    def households(self, ids: Collection[str]) -> dict[str, HouseholdEntry]:
        return _pick(self._households, ids)

    def household_aliases(self, ids: Collection[str]) -> dict[str, str]:
        return _pick(self._household_aliases, ids)

    def service_groups(self, keys: Collection[str]) -> dict[str, ServiceGroup]:
        return _pick(self._service_groups, keys)

    def record_groups(self, ids: Collection[str]) -> dict[str, AbstractSet[str]]:
        return _pick(self._record_groups, ids)

    def apply(self, changes: StateChanges) -> None:
        _set_values(self._records, changes.records)
        _set_values(self._record_keys, changes.record_keys)
        _set_deltas(self._buckets, changes.bucket_added, changes.bucket_removed)
        for record_id, others in changes.edges_removed.items():
            edges = self._edges.get(record_id)
            if edges is not None:
                for other in others:
                    edges.pop(other, None)
                if not edges:
                    del self._edges[record_id]
        for record_id, weights in changes.edges_set.items():
            self._edges.setdefault(record_id, {}).update(weights)
        for record_id, judged in changes.judgements_set.items():
            self._judgements.setdefault(record_id, {}).update(judged)
        _set_values(self._person_of, changes.person_of)
        _set_values(self._persons, changes.persons)
        self._person_aliases.update(changes.person_aliases)
        _set_deltas(self._residents, changes.residents_added, changes.residents_removed)
        _set_values(self._households, changes.households)
        self._household_aliases.update(changes.household_aliases)
        _set_values(self._service_groups, changes.service_groups)
        _set_deltas(self._record_groups, changes.record_groups_added, changes.record_groups_removed)

    # -- whole-state views, for tests and `hub link` output ---------------------------
    def all_record_ids(self) -> list[str]:
        return sorted(self._records)

    def partition(self) -> set[frozenset[str]]:
        """The current persons as sets of record ids."""
        return {entry.record_ids for entry in self._persons.values()}

    def household_partition(self) -> set[frozenset[str]]:
        """The current households as sets of record ids (the members' records)."""
        return {
            frozenset(r for p in entry.person_ids for r in self._persons[p].record_ids)
            for entry in self._households.values()
        }


class _ValueTable(Generic[V]):
    """One table seen through an operation: cached reads, staged writes."""

    def __init__(self, fetch: Callable[[Collection[str]], dict[str, V]]) -> None:
        self._fetch = fetch
        self._cache: dict[str, V | None] = {}
        self.staged: dict[str, V | None] = {}

    def get(self, ids: Iterable[str]) -> dict[str, V]:
        cache = self._cache
        wanted = ids if isinstance(ids, set | frozenset) else set(ids)
        missing = [i for i in wanted if i not in cache]
        if missing:
            found = self._fetch(missing)
            for i in missing:
                cache[i] = found.get(i)
        return {i: v for i in wanted if (v := cache[i]) is not None}

    def each(self, ids: Sequence[str]) -> list[V | None]:
        """The values of ``ids`` in their order (None: absent)."""
        cache = self._cache
        missing = [i for i in ids if i not in cache]
        if missing:
            found = self._fetch(missing)
            for i in missing:
                cache[i] = found.get(i)
        return [cache[i] for i in ids]

    def one(self, key: str) -> V | None:
        cache = self._cache
        if key not in cache:
            cache[key] = self._fetch((key,)).get(key)
        return cache[key]

    def put(self, key: str, value: V | None) -> None:
        self._cache[key] = value
        self.staged[key] = value


class _MapTable(Generic[V]):
    """A table of small maps (record -> {other record: value}) with staged field writes.

    Maps read from the store are treated as read-only and copied on the first write.
    """

    def __init__(self, fetch: Callable[[Collection[str]], dict[str, dict[str, V]]]) -> None:
        self._fetch = fetch
        self._cache: dict[str, dict[str, V]] = {}
        self._owned: set[str] = set()
        self.staged_set: dict[str, dict[str, V]] = {}
        self.staged_removed: dict[str, set[str]] = {}

    def get(self, ids: Iterable[str]) -> dict[str, dict[str, V]]:
        cache = self._cache
        missing = [i for i in ids if i not in cache]
        if missing:
            found = self._fetch(missing)
            for i in missing:
                current = found.get(i, {})
                if i in self.staged_set or i in self.staged_removed:
                    current = dict(current)
                    self._owned.add(i)
                    for other in self.staged_removed.get(i, ()):
                        current.pop(other, None)
                    current.update(self.staged_set.get(i, {}))
                cache[i] = current
        return {i: cache[i] for i in ids}

    def one(self, key: str) -> dict[str, V]:
        cached = self._cache.get(key)
        return cached if cached is not None else self.get((key,))[key]

    def _writable(self, key: str) -> dict[str, V] | None:
        current = self._cache.get(key)
        if current is not None and key not in self._owned:
            current = self._cache[key] = dict(current)
            self._owned.add(key)
        return current

    def put(self, key: str, other: str, value: V) -> None:
        self.staged_set.setdefault(key, {})[other] = value
        removed = self.staged_removed.get(key)
        if removed:
            removed.discard(other)
        current = self._writable(key)
        if current is not None:
            current[other] = value

    def remove(self, key: str, other: str) -> None:
        self.staged_removed.setdefault(key, set()).add(other)
        staged = self.staged_set.get(key)
        if staged:
            staged.pop(other, None)
        current = self._writable(key)
        if current is not None:
            current.pop(other, None)


class _SetTable:
    """A table of sets (key -> members) with staged adds and removes and cheap sizes.

    Adds are of absent members and removes of present ones (the resolver's bookkeeping
    guarantees it), so a size is the stored size plus the staged difference.
    """

    def __init__(
        self,
        fetch: Callable[[Collection[str]], dict[str, AbstractSet[str]]],
        fetch_sizes: Callable[[Collection[str]], dict[str, int]] | None = None,
    ) -> None:
        self._fetch = fetch
        self._fetch_sizes = fetch_sizes
        self._members: dict[str, AbstractSet[str]] = {}
        self._sizes: dict[str, int] = {}
        self.added: dict[str, set[str]] = {}
        self.removed: dict[str, set[str]] = {}

    def _view(self, key: str, base: AbstractSet[str]) -> AbstractSet[str]:
        added, removed = self.added.get(key), self.removed.get(key)
        if not added and not removed:
            return base
        return (set(base) | (added or set())) - (removed or set())

    def stored_members(self, keys: Iterable[str]) -> dict[str, AbstractSet[str]]:
        """Members as stored, without this operation's staged changes."""
        cache = self._members
        missing = [k for k in keys if k not in cache]
        if missing:
            found = self._fetch(missing)
            for k in missing:
                cache[k] = found.get(k, frozenset())
        return {k: cache[k] for k in keys}

    def members(self, keys: Iterable[str]) -> dict[str, AbstractSet[str]]:
        return {k: self._view(k, v) for k, v in self.stored_members(keys).items()}

    def union(self, keys: Collection[str]) -> set[str]:
        """Everyone in any of the buckets ``keys``, staged changes included."""
        stored = self.stored_members(keys).values()
        removed = self.removed
        if removed and any(k in removed for k in keys):
            return set().union(*self.members(keys).values())
        found = set().union(*stored)
        added = self.added
        for key in keys:
            more = added.get(key)
            if more:
                found |= more
        return found

    def sizes(self, keys: Iterable[str]) -> dict[str, int]:
        wanted = set(keys)
        if self._fetch_sizes is None:
            return {k: len(v) for k, v in self.members(wanted).items()}
        missing = [k for k in wanted if k not in self._sizes and k not in self._members]
        if missing:
            found = self._fetch_sizes(missing)
            for k in missing:
                self._sizes[k] = found.get(k, 0)
        sizes = {}
        for k in wanted:
            if k in self._members:
                sizes[k] = len(self._view(k, self._members[k]))
            else:
                delta = len(self.added.get(k, ())) - len(self.removed.get(k, ()))
                sizes[k] = self._sizes[k] + delta
        return sizes

    def add(self, key: str, member: str) -> None:
        removed = self.removed.get(key)
        if removed and member in removed:
            removed.discard(member)
        else:
            self.added.setdefault(key, set()).add(member)

    def remove(self, key: str, member: str) -> None:
        added = self.added.get(key)
        if added and member in added:
            added.discard(member)
        else:
            self.removed.setdefault(key, set()).add(member)


class StagedState:
    """One operation's view of the identity state: reads go through to the store (cached,
    in bulk), writes are staged and leave together as :meth:`changes`."""

    def __init__(self, state: IdentityState) -> None:
        self.records = _ValueTable(state.records)
        self.record_keys = _ValueTable(state.record_keys)
        self.buckets = _SetTable(state.bucket_members, state.bucket_sizes)
        self.edges = _MapTable(state.edges)
        self.judgements = _MapTable(state.judgements)
        self.person_of = _ValueTable(state.person_of)
        self.persons = _ValueTable(state.persons)
        self.person_aliases = _ValueTable(state.person_aliases)
        self.residents = _SetTable(state.residents)
        self.households = _ValueTable(state.households)
        self.household_aliases = _ValueTable(state.household_aliases)
        self.service_groups = _ValueTable(state.service_groups)
        self.record_groups = _SetTable(state.record_groups)

    def set_edge(self, a: str, b: str, weight: float) -> None:
        self.edges.put(a, b, weight)
        self.edges.put(b, a, weight)

    def remove_edge(self, a: str, b: str) -> None:
        self.edges.remove(a, b)
        self.edges.remove(b, a)

    def changes(self) -> StateChanges:
        return StateChanges(
            records=self.records.staged,
            record_keys=self.record_keys.staged,
            bucket_added=self.buckets.added,
            bucket_removed=self.buckets.removed,
            edges_set=self.edges.staged_set,
            edges_removed=self.edges.staged_removed,
            judgements_set=self.judgements.staged_set,
            person_of=self.person_of.staged,
            persons=self.persons.staged,
            person_aliases={k: v for k, v in self.person_aliases.staged.items() if v},
            residents_added=self.residents.added,
            residents_removed=self.residents.removed,
            households=self.households.staged,
            household_aliases={k: v for k, v in self.household_aliases.staged.items() if v},
            service_groups=self.service_groups.staged,
            record_groups_added=self.record_groups.added,
            record_groups_removed=self.record_groups.removed,
        )
