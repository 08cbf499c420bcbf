"""The identity state in Redis, shared by every worker, with a local replica in each.

Redis is the shared truth: one hash per table (``<prefix>:t:<table>``), a version counter,
and a change log (a stream whose entry ids are the versions, each listing the fields a
commit wrote). Most tables hold one field per key, its value JSON. The tables whose values
grow one member at a time are held member by member instead, so that a commit writes what
changed rather than the whole set or map again (a new record adds a member to each of its
blocking keys' buckets and a pair to each partner's stored pairs):

- sets (``residents``, ``record_groups``): one field ``[key, member]`` (JSON) per member,
  the value ``1``;
- ``edges``: one field ``[a, b]`` per scored pair, ``a < b``, the value its weight; the
  replica holds it under both records.

``buckets`` (each blocking key's records) is not in Redis at all: it is the inverse of
``record_keys``, which the replica keeps it in step with as it reads that table.

Every worker keeps the whole state in memory (a :class:`ReplicatedState`) so that
matching never waits on the network, and changes it only while it holds the state lock:

1. take the lock and read the version (one round trip); catch up by reading the keys the
   log lists since the replica's version;
2. run the pure core against the replica (it records which keys it wrote);
3. commit, in one script (one round trip): check that the lock is still ours and the
   version unchanged, write those keys, bump the version, append the log entry, park the
   batch's outputs in the outbox and release the lock;
4. publish and store the outbox entry, then delete it.

Each round trip costs a batch more than the network's time: under load the worker's main
thread waits for a core after each one (two cores shared with the drainer, Kafka and
Redis).

A commit that finds the lock or version changed (the lock expired) writes nothing and
the replica is reloaded, so two workers never interleave half-batches, and two records of
one person arriving at two workers at once are matched one after the other.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from hub.errors import HubError
from matchers.decisions import Judgement
from matchers.households import ServiceGroup
from matchers.identity_state import (
    HouseholdEntry,
    MemoryIdentityState,
    PersonEntry,
    StateChanges,
)
from matchers.records import StandardRecord
from sinks.state_codec import decoder, encoder


class StateConflict(HubError):
    """The state lock was lost or the state moved on during a commit: nothing was written."""


class OlderStateLayout(HubError):
    """Redis holds an identity state written by an earlier version of the hub."""

    def __init__(self) -> None:
        super().__init__(
            "Redis holds the identity state in an older layout (whole buckets and partner "
            "maps): rebuild it with `hub state rebuild`, or start afresh with `hub bootstrap "
            "--replace` or `hub stack reset`"
        )


class StateWentBack(HubError):
    """The identity state in Redis is older than what was built on it: Redis lost data.

    Going on from it would resolve new events against an index that misses people, hand
    out person ids again, and have the store ignore its older-versioned rows."""

    def __init__(self, seen: int, now: int, where: str) -> None:
        super().__init__(
            f"the identity state in Redis is at version {now}, but {where} version {seen}: "
            "Redis has lost data (it restarted empty, or from an older copy), or a bootstrap "
            "did not finish. Stop the workers, run `hub state rebuild`, then start them again"
        )


class EvictingRedis(HubError):
    """Redis is set to evict keys when its memory is full: it would drop parts of the state."""

    def __init__(self, policy: str) -> None:
        super().__init__(
            f"Redis evicts keys when its memory is full (maxmemory-policy {policy}): it would "
            "silently drop parts of the identity state. Set maxmemory-policy to noeviction "
            "(a full Redis then refuses writes with an error, and nothing is lost)"
        )


def older_layout_key(prefix: str) -> str:
    """A key only the older layout has (each blocking key's whole bucket, until stop 9)."""
    return f"{prefix}:t:buckets"


# how a table is held in Redis (see the module's docstring)
VALUE, MEMBERS, PAIRS, DERIVED = "value", "members", "pairs", "derived"


@dataclass(frozen=True)
class Table:
    name: str
    attr: str  # the dictionary on the replica
    hint: Any  # type of one value
    # StateChanges fields whose keys it writes; member-wise: (added, removed)
    touched_by: tuple[str, ...]
    layout: str = VALUE  # VALUE: field key; MEMBERS: field [key, member]; PAIRS: [a, b]
    # (DERIVED: not in Redis, the replica derives it from the table it is an index of)
    merged: bool = False  # the changes are merged into the value (not the value itself)


TABLES: tuple[Table, ...] = (
    Table("records", "_records", StandardRecord, ("records",)),
    Table("record_keys", "_record_keys", frozenset[str], ("record_keys",)),
    # every blocking key's records: the inverse of record_keys
    Table("buckets", "_buckets", frozenset[str], (), layout=DERIVED),
    Table("edges", "_edges", dict[str, float], ("edges_set", "edges_removed"), layout=PAIRS),
    Table("judgements", "_judgements", dict[str, Judgement], ("judgements_set",), merged=True),
    Table("person_of", "_person_of", str, ("person_of",)),
    Table("persons", "_persons", PersonEntry, ("persons",)),
    Table("person_aliases", "_person_aliases", str, ("person_aliases",)),
    Table(
        "residents",
        "_residents",
        frozenset[str],
        ("residents_added", "residents_removed"),
        layout=MEMBERS,
    ),
    Table("households", "_households", HouseholdEntry, ("households",)),
    Table("household_aliases", "_household_aliases", str, ("household_aliases",)),
    Table("service_groups", "_service_groups", ServiceGroup, ("service_groups",)),
    Table(
        "record_groups",
        "_record_groups",
        frozenset[str],
        ("record_groups_added", "record_groups_removed"),
        layout=MEMBERS,
    ),
    # Not part of the matching core: the newest source version applied per record, so a
    # redelivered or stale event is recognised and ignored.
    Table("source_versions", "source_versions", int, ()),
    # The group and record each of a source's group memberships (its relationship id, as
    # a ``rel:`` key) holds, and the memberships holding a record in a group (by
    # :func:`holder_key`): one that moves to another group, or ends, takes its record out
    # of the group it held it in, unless another still holds it there.
    Table("memberships", "memberships", tuple[str, str], ()),
    Table("membership_holders", "membership_holders", frozenset[str], ()),
    # The last person and household numbers handed out (ids are allocated under the lock).
    Table("counters", "counters", int, ()),
)
TABLE_BY_NAME = {t.name: t for t in TABLES}
_ENCODE = {t.name: encoder(t.hint) for t in TABLES}
_DECODE = {t.name: decoder(t.hint) for t in TABLES}
_PRESENT = b"1"  # the value of a set member's field
_LOOK_UP = object()


def _as_bytes(field: str | bytes) -> bytes:
    return field.encode() if isinstance(field, str) else field


def holder_key(group_key: str, record_id: str) -> str:
    """The key of the memberships holding a record in a group."""
    return orjson.dumps((group_key, record_id)).decode()


def member_field(key: str, member: str) -> bytes:
    """The field of one set member or one pair (``key < member``) of a member-wise table:
    ``orjson.dumps((key, member))``, made by formatting when neither needs escaping.

    (A commit makes thousands of these. Each orjson result starts as a 1 KiB buffer cut to
    size, and keeping thousands of them alive until the commit cost ~2 us apiece in the
    allocator, ten times the formatting.)"""
    if (
        '"' in key
        or "\\" in key
        or '"' in member
        or "\\" in member
        or not key.isprintable()
        or not member.isprintable()
    ):
        return orjson.dumps((key, member))
    return f'["{key}","{member}"]'.encode()


def _weight(value: float) -> bytes:
    return repr(value).encode()  # (for the allocator, as above)


def encoded_fields(table: Table, rows: Iterable[tuple[str, Any]]) -> Iterator[tuple[bytes, bytes]]:
    """A table's rows (key, value as the replica holds it) as Redis fields and values."""
    if table.layout == DERIVED:
        for _row in rows:  # (read, for a caller counting rows)
            pass
    elif table.layout == MEMBERS:
        for key, members in rows:
            for member in members:
                yield member_field(key, member), _PRESENT
    elif table.layout == PAIRS:
        for key, partners in rows:
            for other, weight in partners.items():
                if key < other:
                    yield member_field(key, other), _weight(weight)
    else:
        encode = _ENCODE[table.name]
        for key, value in rows:
            yield key.encode(), encode(value)


# A member-wise table's changes as fields and values, as the in-memory state applies them:
# the removals, then the additions.
def _mark_members(
    dirty: dict[bytes, bytes | None], added: dict[str, set[str]], removed: dict[str, set[str]]
) -> None:
    for key, members in removed.items():
        for member in members:
            dirty[member_field(key, member)] = None
    for key, members in added.items():
        for member in members:
            dirty[member_field(key, member)] = _PRESENT


def _mark_pairs(
    dirty: dict[bytes, bytes | None],
    added: dict[str, dict[str, float]],
    removed: dict[str, set[str]],
) -> None:
    # a pair is listed under both of its records; its field names the smaller first
    for key, others in removed.items():
        for o in others:
            dirty[member_field(key, o) if key < o else member_field(o, key)] = None
    for key, weights in added.items():
        for o, weight in weights.items():
            dirty[member_field(key, o) if key < o else member_field(o, key)] = _weight(weight)


class ReplicatedState(MemoryIdentityState):
    """The whole identity state in memory, remembering which keys changed since the last
    commit. Reads are the in-memory state's; :meth:`apply` also marks keys dirty."""

    def __init__(self) -> None:
        super().__init__()
        self.source_versions: dict[str, int] = {}
        self.memberships: dict[str, tuple[str, str]] = {}  # rel: key -> (group key, record)
        self.membership_holders: dict[str, frozenset[str]] = {}  # holder_key -> rel: keys
        self.counters: dict[str, int] = {}
        self.version = 0
        # What changed since the last commit, table by table: the keys and their values as
        # written (``_LOOK_UP``: read it at the commit), or for a member-wise table the
        # fields and their encoded values (None: delete). Taken from the changes while
        # they are at hand, so a commit does not look thousands of keys up again.
        self._dirty: dict[str, dict[Any, Any]] = {t.name: {} for t in TABLES}

    def _table(self, name: str) -> dict[str, Any]:
        table: dict[str, Any] = getattr(self, TABLE_BY_NAME[name].attr)
        return table

    def apply(self, changes: StateChanges) -> None:
        super().apply(changes)
        for table in TABLES:
            dirty = self._dirty[table.name]
            if table.layout == DERIVED:
                continue
            if table.layout == VALUE:
                for field_name in table.touched_by:
                    written: dict[str, Any] = getattr(changes, field_name)
                    dirty.update(dict.fromkeys(written, _LOOK_UP) if table.merged else written)
                continue
            added_name, removed_name = table.touched_by
            mark = _mark_members if table.layout == MEMBERS else _mark_pairs
            mark(dirty, getattr(changes, added_name), getattr(changes, removed_name))

    def set_source_version(self, record_id: str, version: int) -> None:
        self._put("source_versions", record_id, version)

    def set_membership(self, key: str, held: tuple[str, str] | None) -> None:
        """What the membership ``key`` holds now: (group key, record id), or None."""
        self._put("memberships", key, held)

    def set_membership_holders(self, group_key: str, record_id: str, keys: frozenset[str]) -> None:
        self._put("membership_holders", holder_key(group_key, record_id), keys or None)

    def _put(self, name: str, key: str, value: Any) -> None:
        """Write one value of a worker's own table (None: delete it); writing what it holds
        already changes nothing (and so commits nothing)."""
        table = self._table(name)
        if table.get(key) == value:
            return
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
        self._dirty[name][key] = value

    def allocate(self, kind: str, count: int) -> list[int]:
        """New id numbers (the ``IdAllocator`` port): safe because commits are serialised."""
        start = self.counters.get(kind, 0)
        self.counters[kind] = start + count
        self._dirty["counters"][kind] = start + count
        return list(range(start + 1, start + count + 1))

    @property
    def dirty(self) -> bool:
        return any(self._dirty.values())

    def take_writes(self) -> dict[str, dict[str | bytes, bytes | None]]:
        """The fields written since the last commit, with their values encoded (None:
        delete), and forget them."""
        writes: dict[str, dict[str | bytes, bytes | None]] = {}
        for table in TABLES:
            dirty = self._dirty[table.name]
            if not dirty:
                continue
            if table.layout == VALUE:
                encode, values = _ENCODE[table.name], self._table(table.name)
                out: dict[str | bytes, bytes | None] = {}
                for k, written in dirty.items():
                    v = values.get(k) if written is _LOOK_UP else written
                    out[k] = None if v is None else encode(v)
                writes[table.name] = out
            else:
                writes[table.name] = dirty
            self._dirty[table.name] = {}
        return writes

    def discard_writes(self) -> None:
        for dirty in self._dirty.values():
            dirty.clear()

    def put_encoded(self, name: str, values: Mapping[str | bytes, bytes | None]) -> None:
        """Set fields read from Redis (None: the field is gone)."""
        layout = TABLE_BY_NAME[name].layout
        if layout == MEMBERS:
            self._put_members(self._table(name), values)
            return
        if layout == PAIRS:
            self._put_pairs(self._table(name), values)
            return
        if layout == DERIVED:
            return
        table, decode = self._table(name), _DECODE[name]
        index = name == "record_keys"
        for field, raw in values.items():
            key = field.decode() if isinstance(field, bytes) else field
            value = decode(raw) if raw is not None else None
            if index:
                self._rebucket(key, value or frozenset())
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value

    def _rebucket(self, record_id: str, keys: frozenset[str]) -> None:
        """Move a record between buckets as its blocking keys are read from Redis."""
        buckets = self._buckets
        old = self._record_keys.get(record_id, frozenset())
        for key in old - keys:
            members = buckets.get(key)
            if members is not None:
                members.discard(record_id)
                if not members:
                    del buckets[key]
        for key in keys - old:
            members = buckets.get(key)
            if members is None:
                buckets[key] = {record_id}
            else:
                members.add(record_id)

    @staticmethod
    def _put_members(
        table: dict[str, set[str]], values: Mapping[str | bytes, bytes | None]
    ) -> None:
        # the fields parsed at once: [[key, member], ...]
        fields = orjson.loads(b"[" + b",".join(map(_as_bytes, values)) + b"]")
        get = table.get
        for (key, member), raw in zip(fields, values.values(), strict=True):
            current = get(key)
            if raw is not None:
                if current is None:
                    table[key] = {member}
                else:
                    current.add(member)
            elif current is not None:
                current.discard(member)
                if not current:
                    del table[key]

    @staticmethod
    def _put_pairs(
        table: dict[str, dict[str, float]], values: Mapping[str | bytes, bytes | None]
    ) -> None:
        fields = orjson.loads(b"[" + b",".join(map(_as_bytes, values)) + b"]")
        get = table.get
        for (a, b), raw in zip(fields, values.values(), strict=True):
            if raw is not None:
                weight = float(raw)
                partners = get(a)
                if partners is None:
                    table[a] = {b: weight}
                else:
                    partners[b] = weight
                partners = get(b)
                if partners is None:
                    table[b] = {a: weight}
                else:
                    partners[a] = weight
            else:
                for x, y in ((a, b), (b, a)):
                    partners = get(x)
                    if partners is not None:
                        partners.pop(y, None)
                        if not partners:
                            del table[x]

    def clear(self) -> None:
        for table in TABLES:
            self._table(table.name).clear()
        self.discard_writes()
        self.version = 0

    def size(self) -> dict[str, int]:
        return {t.name: len(self._table(t.name)) for t in TABLES}


_LOCK_LOST, _MOVED_ON = -1, -2
# The commit. KEYS: the lock, the version, the change log, the outbox, then each table
# written. ARGV: the token, the version the replica read, the new version, its change-log
# entry, the log's length, 1 to release the lock, the outbox entry (empty for none), then
# for each table the number of fields set and of fields removed, the (field, value) pairs
# set and the fields removed. Written in chunks: Lua's unpack takes at most ~8,000 values.
_COMMIT = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return -1 end
if tonumber(redis.call('get', KEYS[2]) or '0') ~= tonumber(ARGV[2]) then return -2 end
local at = 8
for t = 5, #KEYS do
  local set, gone = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
  at = at + 2
  local last = at + 2 * set - 1
  for first = at, last, 1000 do
    redis.call('hset', KEYS[t], unpack(ARGV, first, math.min(first + 999, last)))
  end
  at = last + 1
  last = at + gone - 1
  for first = at, last, 1000 do
    redis.call('hdel', KEYS[t], unpack(ARGV, first, math.min(first + 999, last)))
  end
  at = last + 1
end
redis.call('set', KEYS[2], ARGV[3])
redis.call('xadd', KEYS[3], 'MAXLEN', '~', ARGV[5], ARGV[3] .. '-1', 'keys', ARGV[4])
if ARGV[7] ~= '' then redis.call('hset', KEYS[4], ARGV[3], ARGV[7]) end
if ARGV[6] == '1' then redis.call('del', KEYS[1]) end
return 1
"""


@dataclass(frozen=True, slots=True)
class Held:
    """The state lock, held: its token, and the state's version and configuration (as
    stored: JSON, None if it names none) when it was taken."""

    token: str
    version: int
    configuration: bytes | None


class RedisState:
    """The Redis side: load, catch up, lock, commit, outbox."""

    LOG_MAXLEN = 20_000  # change-log entries kept; a replica further behind reloads

    def __init__(self, client: aioredis.Redis, prefix: str = "hub") -> None:
        # redis-py types every reply as bytes | str | list | ...; we always get bytes.
        self.client: Any = client
        self.prefix = prefix
        self.version_key = f"{prefix}:state:version"
        self.log_key = f"{prefix}:state:log"
        self.lock_key = f"{prefix}:state:lock"
        self.outbox_key = f"{prefix}:state:outbox"
        self.configuration_key = f"{prefix}:state:configuration"
        self._commit = self.client.register_script(_COMMIT)

    def table_key(self, name: str) -> str:
        return f"{self.prefix}:t:{name}"

    async def current_version(self) -> int:
        return int(await self.client.get(self.version_key) or 0)

    async def check_keeps_keys(self) -> None:
        """Refuse a Redis that evicts any key when full (``allkeys-*``). The ``volatile-*``
        policies evict only keys with a lifetime: the lock (a commit then finds it lost
        and writes nothing) and heartbeats. Where CONFIG is disabled (managed services)
        there is nothing to check here."""
        try:
            config = await self.client.config_get("maxmemory-policy")
        except ResponseError:
            return
        policy = next(iter(config.values()), b"")
        policy = policy.decode() if isinstance(policy, bytes) else policy
        if policy.startswith("allkeys-"):
            raise EvictingRedis(policy)

    # -- reading ---------------------------------------------------------------------------
    async def load(self, replica: ReplicatedState | None = None) -> ReplicatedState:
        """The whole state. Call it while holding the lock, so no commit interleaves."""
        if await self.client.exists(older_layout_key(self.prefix)):
            raise OlderStateLayout()
        replica = replica or ReplicatedState()
        replica.clear()
        replica.version = await self.current_version()
        # The state is millions of long-lived objects without reference cycles: the cyclic
        # collector is kept out while they are made (its collections would walk them all
        # again and again: a third of the load), then they are taken out of its sight, so
        # that its full collections stop walking them (they are still freed by reference
        # counting when replaced).
        collecting = gc.isenabled()
        gc.disable()
        try:
            for table in TABLES:
                if table.layout != DERIVED:
                    await self._load_table(replica, table)
        finally:
            if collecting:
                gc.enable()
        gc.freeze()
        return replica

    async def _load_table(self, replica: ReplicatedState, table: Table) -> None:
        key = self.table_key(table.name)
        count = 5000 if table.layout == VALUE else 20_000  # member fields are small
        cursor = 0
        while True:
            cursor, chunk = await self.client.hscan(key, cursor, count=count)
            replica.put_encoded(table.name, chunk)
            if cursor == 0:
                return

    async def catch_up(self, replica: ReplicatedState, target: int | None = None) -> int:
        """Apply every commit after the replica's version, up to ``target`` (the current
        version, read if not given); returns how many. Under the lock."""
        if target is None:
            target = await self.current_version()
        if target == replica.version:
            return 0
        entries = await self.client.xrange(self.log_key, min=f"{replica.version + 1}-0", max="+")
        versions = [int(entry_id.decode().split("-")[0]) for entry_id, _ in entries]
        if not versions or versions[0] != replica.version + 1 or versions[-1] != target:
            await self.load(replica)  # the log no longer reaches back far enough
            return target
        touched: dict[str, set[str | bytes]] = {}
        for _entry_id, fields in entries:
            for name, listed in orjson.loads(fields[b"keys"]).items():
                keys = touched.setdefault(name, set())
                if TABLE_BY_NAME[name].layout == VALUE:
                    keys.update(listed)
                else:  # listed as [key, member]
                    keys.update(member_field(*k) for k in listed)
        async with self.client.pipeline(transaction=False) as pipe:
            order = [(name, list(keys)) for name, keys in touched.items()]
            for name, fields_of in order:
                pipe.hmget(self.table_key(name), fields_of)
            results = await pipe.execute()
        for (name, fields_of), values in zip(order, results, strict=True):
            replica.put_encoded(name, dict(zip(fields_of, values, strict=True)))
        replica.version = target
        return len(entries)

    async def claim_configuration(self, configuration: Mapping[str, Any]) -> dict[str, Any]:
        """The configuration the state was built under; ``configuration`` becomes it if the
        state names none yet (a new state, or one written before the hub kept it)."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(self.configuration_key, orjson.dumps(configuration), nx=True)
            pipe.get(self.configuration_key)
            _set, stored = await pipe.execute()
        claimed: dict[str, Any] = orjson.loads(stored)
        return claimed

    # -- the lock --------------------------------------------------------------------------
    async def acquire(self, ttl_s: float = 30.0, wait_s: float = 120.0) -> str:
        return (await self.acquire_seeing_version(ttl_s, wait_s)).token

    async def acquire_seeing_version(self, ttl_s: float = 30.0, wait_s: float = 120.0) -> Held:
        """The lock, with the state's version and configuration once it is held, in one
        round trip a try. (No commit can come between: every commit checks the lock.)"""
        token = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        delay = 0.001
        while True:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.set(self.lock_key, token, nx=True, px=int(ttl_s * 1000))
                pipe.get(self.version_key)
                pipe.get(self.configuration_key)
                taken, version, configuration = await pipe.execute()
            if taken:
                return Held(token, int(version or 0), configuration)
            if loop.time() > deadline:
                raise StateConflict(f"the identity state lock was not free within {wait_s:.0f}s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def release(self, token: str) -> None:
        # Delete only our own lock (compare-and-delete in one step).
        await self.client.eval(
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"
            " return 0",
            1,
            self.lock_key,
            token,
        )

    # -- writing ---------------------------------------------------------------------------
    async def commit(
        self,
        replica: ReplicatedState,
        token: str,
        outbox: bytes | None = None,
        *,
        release: bool = False,
    ) -> int:
        """Write the replica's dirty keys as one new version (and park ``outbox``), if this
        token still holds the lock and nobody committed since the replica's version; with
        ``release``, give the lock up in the same step. One round trip: the check and the
        writes are one script."""
        writes = replica.take_writes()
        new_version = replica.version + 1
        tables: list[str] = []
        fields: list[Any] = []
        for name, values in writes.items():
            present = [(k, v) for k, v in values.items() if v is not None]
            gone = [k for k, v in values.items() if v is None]
            tables.append(self.table_key(name))
            fields += [len(present), len(gone)]
            for pair in present:
                fields += pair
            fields += gone
        keys = {
            name: [orjson.Fragment(k) if isinstance(k, bytes) else k for k in values]
            for name, values in writes.items()
        }
        outcome = await self._commit(
            keys=[self.lock_key, self.version_key, self.log_key, self.outbox_key, *tables],
            args=[
                token,
                replica.version,
                new_version,
                orjson.dumps(keys),
                self.LOG_MAXLEN,
                int(release),
                b"" if outbox is None else outbox,
                *fields,
            ],
        )
        if outcome == _LOCK_LOST:
            raise StateConflict("the identity state lock expired during a batch")
        if outcome == _MOVED_ON:
            raise StateConflict("the identity state changed during a batch")
        replica.version = new_version
        return new_version

    async def pending_outbox(self) -> list[tuple[int, bytes]]:
        entries = await self.client.hgetall(self.outbox_key)
        return sorted((int(k), v) for k, v in entries.items())

    async def clear_outbox(self, versions: Iterable[int]) -> None:
        fields = [str(v) for v in versions]
        if fields:
            await self.client.hdel(self.outbox_key, *fields)

    async def wipe(self) -> None:
        """Remove every key of this state (for `hub stack reset` and tests)."""
        keys = [self.version_key, self.log_key, self.lock_key, self.outbox_key]
        keys += [self.configuration_key]
        keys += [self.table_key(t.name) for t in TABLES]
        await self.client.delete(*keys)
