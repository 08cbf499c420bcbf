"""The resolve stage without Faust: apply a batch of operations to the shared identity state.

One batch runs under the state lock: catch up with other workers' commits, apply each
operation through the matching core's :class:`~matchers.resolver.Resolver`, and commit
the batch's writes and its output events (the outbox) in one Redis transaction. Stale or
repeated source events are recognised by their source version and change nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from hub.errors import HubError
from matchers import events as domain
from matchers.decisions import Judgement
from matchers.households import ServiceGroup
from matchers.identity_state import IdAllocator, IdentityState
from matchers.records import SourceRecord
from matchers.resolver import Resolver
from sinks.redis_state import RedisState, ReplicatedState, StateWentBack, holder_key
from sinks.state_codec import encoder, from_parsed

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Upsert:
    record: SourceRecord
    source_version: int


@dataclass(frozen=True, slots=True)
class Delete:
    record_id: str
    source_version: int


@dataclass(frozen=True, slots=True)
class Judge:
    judgement: Judgement


@dataclass(frozen=True, slots=True)
class Membership:
    """A record joins (``present``) or leaves a service's grouping (a council-tax account,
    a benefit claim unit, a case-management family group); ``key`` identifies the source's
    relationship, whose ``source_version`` orders its changes. Every relationship event is
    one: a version that is no grouping (another kind, no group) holds nothing."""

    key: str
    source_version: int
    source_system: str
    kind: str
    group_id: str
    record_id: str
    present: bool


Operation = Upsert | Delete | Judge | Membership

EVENT_TYPES: dict[str, type] = {
    t.__name__: t
    for t in (
        domain.MatchDecided,
        domain.ReviewItemRaised,
        domain.PersonUpserted,
        domain.PersonsMerged,
        domain.PersonSplit,
        domain.PersonRemoved,
        domain.HouseholdChanged,
    )
}
_ENCODE = {name: encoder(t) for name, t in EVENT_TYPES.items()}
_FROM_PARSED = {name: from_parsed(t) for name, t in EVENT_TYPES.items()}


def encode_events(events: Sequence[domain.Event]) -> bytes:
    """The batch's events as JSON: ``[[type name, event], ...]`` in order."""
    parts = [
        b'["' + type(e).__name__.encode() + b'",' + _ENCODE[type(e).__name__](e) + b"]"
        for e in events
    ]
    return b"[" + b",".join(parts) + b"]"


def _events_from(parsed: list[list[Any]]) -> list[domain.Event]:
    return [_FROM_PARSED[name](body) for name, body in parsed]


@dataclass(frozen=True, slots=True)
class RecordChange:
    """A source record as a batch left it: its content (None: deleted) and its person."""

    record_id: str
    source_version: int
    record: SourceRecord | None
    person_id: str | None = None


_ENCODE_CHANGES = encoder(list[RecordChange])
_CHANGES_FROM = from_parsed(list[RecordChange])
_ENCODE_JUDGEMENTS = encoder(list[Judgement])
_JUDGEMENTS_FROM = from_parsed(list[Judgement])


@dataclass
class Outbox:
    """One committed batch's effects, parked in Redis until published and stored."""

    events: list[domain.Event] = field(default_factory=list)
    records: list[RecordChange] = field(default_factory=list)  # in the order applied
    judgements: list[Judgement] = field(default_factory=list)  # those that took effect

    def encode(self) -> bytes:
        return (
            b'{"events":' + encode_events(self.events)
            + b',"records":' + _ENCODE_CHANGES(self.records)
            + b',"judgements":' + _ENCODE_JUDGEMENTS(self.judgements) + b"}"
        )  # fmt: skip

    @classmethod
    def decode(cls, data: bytes) -> Outbox:
        parsed = orjson.loads(data)
        return cls(
            events=_events_from(parsed["events"]),
            records=_CHANGES_FROM(parsed["records"]),
            judgements=_JUDGEMENTS_FROM(parsed.get("judgements", [])),
        )


@dataclass
class Applied:
    """What one batch did: its outbox entry (also parked in Redis) and counts."""

    version: int | None  # the state version committed (None: nothing changed)
    outbox: Outbox = field(default_factory=Outbox)
    applied: int = 0
    stale: Counter[str] = field(default_factory=Counter)  # by source system

    @property
    def events(self) -> list[domain.Event]:
        return self.outbox.events


ResolverFactory = Callable[[IdentityState, IdAllocator], Resolver]

# The settings behind each part of a resolver's configuration (matchers.resolver).
CONFIGURED_BY = {
    "model_version": "the model (HUB_MODEL_PATH)",
    "link": "HUB_LINK_THRESHOLD",
    "review": "HUB_REVIEW_THRESHOLD",
    "group": "HUB_GROUP_THRESHOLD",
    "floor": "HUB_PAIR_FLOOR",
    "block_cap": "HUB_BLOCK_CAP (else the model's)",
    "dob_years": "HUB_DOB_CONFLICT_YEARS",
    "ambiguity": "HUB_AMBIGUITY_MARGIN",
    "adult_sources": "HUB_ADULT_SOURCES",
    "contact_sources": "HUB_CONTACT_SOURCES",
    "trusted_address_sources": "HUB_TRUSTED_ADDRESS_SOURCES",
}


class ConfigurationMismatch(HubError):
    """The state was built under another model or other thresholds than this worker's:
    carrying on would give persons neither configuration gives (nor any arrival order)."""

    def __init__(self, built_under: dict[str, Any], mine: dict[str, Any]) -> None:
        differences = "; ".join(
            f"{CONFIGURED_BY.get(name, name)} {_shown(mine.get(name))} here, "
            f"{_shown(built_under.get(name))} in the state"
            for name in [
                *CONFIGURED_BY,
                *sorted((built_under | mine).keys() - CONFIGURED_BY.keys()),
            ]
            if built_under.get(name) != mine.get(name)
        )
        super().__init__(
            f"the identity state was built under another configuration: {differences}. "
            "Start the worker with the state's, or rebuild the state under this one (`hub "
            "state rebuild`, with the workers stopped)"
        )


def _shown(value: Any) -> str:
    """A configuration value as its setting is written: lists comma separated, pairs
    ``name:value`` (``HUB_ADULT_SOURCES``); a part the state does not hold is ``None``."""
    if isinstance(value, list | tuple):
        return (
            ",".join(
                ":".join(map(str, item)) if isinstance(item, list | tuple) else str(item)
                for item in value
            )
            or "(none)"
        )
    return str(value)


class IdentityWorker:
    """A worker's hold on the identity state: a local replica kept in step with Redis."""

    def __init__(self, redis_state: RedisState, make_resolver: ResolverFactory) -> None:
        self.redis = redis_state
        self.replica = ReplicatedState()
        self.resolver = make_resolver(self.replica, self.replica)
        self.configuration: dict[str, Any] = orjson.loads(orjson.dumps(self.resolver.configuration))
        self._configuration_json = orjson.dumps(self.configuration)
        # The newest state version this worker has seen. The replica's own version can go
        # back (reloaded after a failed batch, from a Redis that restarted empty): this not.
        self.newest_seen = 0

    async def start(self, stored_version: int = 0) -> None:
        """Load the state. Refuses, before loading, a Redis that evicts keys, a state older
        than ``stored_version`` (the newest version the store holds, read before this
        call: the state can only have moved on since) and one built under another
        configuration; a state that names none is claimed for this worker's."""
        await self.redis.check_keeps_keys()
        held = await self.redis.acquire_seeing_version()
        try:
            if held.version < stored_version:
                raise StateWentBack(stored_version, held.version, "the store holds")
            built_under = await self.redis.claim_configuration(self.configuration)
            if built_under != self.configuration:
                raise ConfigurationMismatch(built_under, self.configuration)
            await self.redis.load(self.replica)
        finally:
            await self.redis.release(held.token)
        self.newest_seen = max(self.newest_seen, self.replica.version)
        held_now = self.replica.size()
        if held_now["service_groups"] and not held_now["memberships"]:
            log.warning(
                "this identity state was written before workers kept each group membership: "
                "a membership a source moves to another group leaves its record in the first "
                "too, until `hub state rebuild` (with the workers stopped)"
            )

    async def apply(self, operations: Sequence[Operation]) -> Applied:
        """Apply the operations in order, as one commit. Refuses, writing nothing, a state
        older than one this worker has seen, or under another configuration (a rebuild
        with --force under new settings while it ran)."""
        held = await self.redis.acquire_seeing_version()
        token, version = held.token, held.version
        released = False
        try:
            if version < self.newest_seen:
                raise StateWentBack(self.newest_seen, version, "this worker had already seen")
            if held.configuration not in (None, self._configuration_json):
                built_under = orjson.loads(held.configuration)
                if built_under != self.configuration:
                    raise ConfigurationMismatch(built_under, self.configuration)
            await self.redis.catch_up(self.replica, version)
            self.newest_seen = version
            result = Applied(version=None)
            try:
                for operation in operations:
                    self._apply_one(operation, result)
                changes = result.outbox.records
                person_of = self.replica.person_of([c.record_id for c in changes])
                result.outbox.records = [
                    replace(c, person_id=person_of.get(c.record_id) if c.record else None)
                    for c in changes
                ]
                if self.replica.dirty:
                    result.version = await self.redis.commit(
                        self.replica, token, result.outbox.encode(), release=True
                    )
                    released = True
                    self.newest_seen = result.version
            except BaseException:
                # The replica may hold writes that never reached Redis: start again from it.
                await self.redis.load(self.replica)
                raise
            return result
        finally:
            if not released:
                await self.redis.release(token)

    def _apply_one(self, operation: Operation, result: Applied) -> None:
        if isinstance(operation, Upsert | Delete):
            record_id = (
                operation.record.record_id if isinstance(operation, Upsert) else operation.record_id
            )
            seen = self.replica.source_versions.get(record_id)
            if seen is not None and seen >= operation.source_version:
                result.stale[record_id.partition(":")[0]] += 1
                return
            self.replica.set_source_version(record_id, operation.source_version)
            if isinstance(operation, Upsert):
                result.events.extend(self.resolver.upsert(operation.record))
                change = RecordChange(record_id, operation.source_version, operation.record)
                result.outbox.records.append(change)
            else:
                result.events.extend(self.resolver.delete(record_id))
                change = RecordChange(record_id, operation.source_version, None)
                result.outbox.records.append(change)
        elif isinstance(operation, Judge):
            events = self.resolver.judge(operation.judgement)
            if events:  # it changed what the pair keeps (Judgement.merged_with): so does the store
                a, b = operation.judgement.pair
                result.events.extend(events)
                result.outbox.judgements.append(self.replica.judgements([a])[a][b])
        else:
            # An equal version applies again (the store takes it too, and the last of a
            # batch's equal versions is the one stored): a redelivery after an end date
            # passed ends the membership, and a redelivery of the same changes nothing.
            seen = self.replica.source_versions.get(operation.key)
            if seen is not None and seen > operation.source_version:
                result.stale[operation.source_system] += 1
                return
            self.replica.set_source_version(operation.key, operation.source_version)
            self._set_membership(operation)
        result.applied += 1

    def _set_membership(self, change: Membership) -> None:
        """Put the membership's record in its group, or take it out. A source's
        relationship id is stable across updates: one that moves to another group (or
        names another record) takes the record it held out of the group it held it in,
        unless another membership still holds it there, as the store and a rebuild from
        it have it; so does one whose new version names no group. (A state from before
        memberships were kept knows none: there, an ending membership takes its record
        out of the group it names.)"""
        group = ServiceGroup(change.source_system, change.kind, change.group_id, frozenset())
        now = (group.key, change.record_id) if change.present else None
        before = self.replica.memberships.get(change.key)
        if before is None and not change.present and change.group_id:
            before = (group.key, change.record_id)
        if before == now:
            return
        if before is not None:
            self._hold(before, change.key, group=None)
        if now is not None:
            self._hold(now, change.key, group=group)
        self.replica.set_membership(change.key, now)

    def _hold(self, held: tuple[str, str], key: str, *, group: ServiceGroup | None) -> None:
        """Membership ``key`` now holds ``held`` (group key, record id) when ``group`` is
        given (that group), else no longer does."""
        group_key, record_id = held
        replica = self.replica
        holders = set(replica.membership_holders.get(holder_key(group_key, record_id), ()))
        if group is not None:
            holders.add(key)
        else:
            holders.discard(key)
        replica.set_membership_holders(group_key, record_id, frozenset(holders))
        current = replica.service_groups([group_key]).get(group_key) or group
        if current is None:
            return
        members = set(current.record_ids)
        if holders:
            members.add(record_id)
        else:
            members.discard(record_id)
        if members != current.record_ids:
            self.resolver.set_service_group(replace(current, record_ids=frozenset(members)))
