"""The resolve stage without Faust: apply a batch of operations to the shared identity state.

One batch runs under the state lock: catch up with other workers' commits, apply each
operation through the matching core's :class:`~matchers.resolver.Resolver`, and commit
the batch's writes and its output events (the outbox) in one Redis transaction. Stale or
repeated source events are recognised by their source version and change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson

from matchers import events as domain
from matchers.decisions import Judgement
from matchers.households import ServiceGroup
from matchers.identity_state import IdAllocator, IdentityState
from matchers.records import SourceRecord
from matchers.resolver import Resolver
from sinks.redis_state import RedisState, ReplicatedState
from sinks.state_codec import decoder, encoder


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
class Group:
    group: ServiceGroup


Operation = Upsert | Delete | Judge | Group

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
_DECODE = {name: decoder(t) for name, t in EVENT_TYPES.items()}


def encode_outbox(events: Sequence[domain.Event]) -> bytes:
    """The batch's events as JSON: ``[[type name, event], ...]`` in order."""
    parts = [
        b'["' + type(e).__name__.encode() + b'",' + _ENCODE[type(e).__name__](e) + b"]"
        for e in events
    ]
    return b"[" + b",".join(parts) + b"]"


def decode_outbox(data: bytes) -> list[domain.Event]:
    return [_DECODE[name](orjson.dumps(body)) for name, body in orjson.loads(data)]


@dataclass
class Applied:
    """What one batch did."""

    version: int | None  # the state version committed (None: nothing changed)
    events: list[domain.Event] = field(default_factory=list)
    applied: int = 0
    stale: int = 0


ResolverFactory = Callable[[IdentityState, IdAllocator], Resolver]


class IdentityWorker:
    """A worker's hold on the identity state: a local replica kept in step with Redis."""

    def __init__(self, redis_state: RedisState, make_resolver: ResolverFactory) -> None:
        self.redis = redis_state
        self.replica = ReplicatedState()
        self.resolver = make_resolver(self.replica, self.replica)

    async def start(self) -> None:
        token = await self.redis.acquire()
        try:
            await self.redis.load(self.replica)
        finally:
            await self.redis.release(token)

    async def apply(self, operations: Sequence[Operation]) -> Applied:
        """Apply the operations in order, as one commit."""
        token = await self.redis.acquire()
        try:
            await self.redis.catch_up(self.replica)
            result = Applied(version=None)
            try:
                for operation in operations:
                    self._apply_one(operation, result)
                if self.replica.dirty:
                    result.version = await self.redis.commit(
                        self.replica, token, encode_outbox(result.events)
                    )
            except BaseException:
                # The replica may hold writes that never reached Redis: start again from it.
                await self.redis.load(self.replica)
                raise
            return result
        finally:
            await self.redis.release(token)

    def _apply_one(self, operation: Operation, result: Applied) -> None:
        if isinstance(operation, Upsert | Delete):
            record_id = (
                operation.record.record_id if isinstance(operation, Upsert) else operation.record_id
            )
            if self.replica.source_versions.get(record_id, -1) >= operation.source_version:
                result.stale += 1
                return
            self.replica.set_source_version(record_id, operation.source_version)
            if isinstance(operation, Upsert):
                result.events.extend(self.resolver.upsert(operation.record))
            else:
                result.events.extend(self.resolver.delete(record_id))
        elif isinstance(operation, Judge):
            result.events.extend(self.resolver.judge(operation.judgement))
        else:
            self.resolver.set_service_group(operation.group)
        result.applied += 1
