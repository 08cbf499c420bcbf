"""The worker's stages for one batch of messages, independent of Faust.

validate -> (dead-letter the rejects) -> match, cluster, household (one commit of the
identity state and the batch's outbox entry, see :mod:`streams.identity`) -> ack; the
outbox entry is drained (stored and published) here, or by the worker's drainer process
(:mod:`streams.drainer`) while the next batch resolves.

Every effect is idempotent: a batch that is redelivered finds its source versions already
applied and changes nothing; an outbox entry drained twice writes the same rows (same
versions) and publishes the same events (same ids). A batch is acknowledged only after its
effects are durable (the outbox entry is, in Redis), so a worker killed at any point loses
nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from matchers import events as domain
from matchers.decisions import Judgement, judged_at, parent_of, stated_apart
from matchers.resolver import Explainer
from monitoring.metrics import HubMetrics
from schemas import topics
from schemas.compiled import epoch_millis
from schemas.conversions import record_from_person, relationship_key
from schemas.events import (
    JudgementRecorded,
    Operation,
    PartnerIndicator,
    PersonChanged,
    RelationshipObserved,
)
from sinks import tables
from sinks.redis_state import RedisState, StateConflict
from sinks.store import Store, StoreError
from sources.publisher import Publisher
from streams.dead_letters import DeadLetterWriter, utc_now
from streams.identity import Delete, IdentityWorker, Judge, Membership, Outbox, Upsert
from streams.identity import Operation as StateOperation
from streams.outputs import outputs, store_rows
from streams.validation import Accepted, RawMessage, validate_message

if TYPE_CHECKING:
    from streams.drainer import DrainProcess

Clock = Callable[[], dt.datetime]
log = logging.getLogger(__name__)

_SOURCE_OF = {topics.HUB_JUDGEMENTS: "people"}  # the metrics' source of hub's own inputs


RELATIONSHIP_KEY = ("relationship_id",)
INDICATOR_KEY = ("dataset", "record_id", "indicator", "period_start")


def source_version(version: int | None, source_ts: dt.datetime | None, message: RawMessage) -> int:
    """What orders a source record's changes: its own version, else its change time in
    milliseconds, else the Kafka offset (one record's events share a partition)."""
    if version is not None:
        return version
    if source_ts is not None:
        return epoch_millis(source_ts)
    return message.offset


@dataclass(frozen=True)
class Drained:
    """What draining one batch took, and when its rows were committed."""

    version: int
    committed_at: float  # seconds since the epoch
    store_s: float
    publish_s: float
    published: dict[str, int] = field(default_factory=dict)  # events per topic (drainer)
    publish_failed: dict[str, int] = field(default_factory=dict)  # sends refused, per topic

    def count(self, metrics: HubMetrics, sent_at: Sequence[dt.datetime]) -> None:
        """Stage times, and each event's latency from its publication to the commit."""
        metrics.batch_seconds.labels(stage="store").observe(self.store_s)
        metrics.batch_seconds.labels(stage="publish").observe(self.publish_s)
        observe_latency(metrics, self.committed_at, sent_at)


def failure_kind(error: BaseException | None) -> str | None:
    """The error counter a failed operation counts in: "redis", "store" or none."""
    if isinstance(error, RedisError | StateConflict):
        return "redis"
    if isinstance(error, StoreError):
        return "store"
    return None


def count_failures(metrics: HubMetrics, failures: Mapping[str, int]) -> None:
    """Count failed operations, by :func:`failure_kind`, in the error counters."""
    for kind, count in failures.items():
        if kind == "redis":
            metrics.redis_errors.inc(count)
        elif kind == "store":
            metrics.store_errors.inc(count)


def observe_latency(metrics: HubMetrics, at: float, sent_at: Sequence[dt.datetime]) -> None:
    """Each event's end-to-end latency: from its publication (its Kafka timestamp) to
    ``at`` (its commit)."""
    for sent in sent_at:
        metrics.end_to_end_latency.observe(max(0.0, at - sent.timestamp()))


@dataclass
class BatchReport:
    consumed: int = 0
    dead_lettered: int = 0
    applied: int = 0
    stale: int = 0
    version: int | None = None
    decisions: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Explanations:
    """Review items' per-comparison waterfalls, added as a batch is drained.

    The worker resolves without them (a waterfall for every review item was about an
    eighth of its work, and only the person reviewing the pair reads it); the drain adds
    them before the items are stored and published, from the same model: an item of
    another model version (a batch left by a worker running an older model) keeps none."""

    explain: Explainer
    model_version: str

    def fill(self, outbox: Outbox) -> Outbox:
        events = [
            self._explained(e)
            if isinstance(e, domain.ReviewItemRaised) and not e.explanation
            else e
            for e in outbox.events
        ]
        return replace(outbox, events=events)

    def _explained(self, item: domain.ReviewItemRaised) -> domain.ReviewItemRaised:
        if item.model_version != self.model_version:
            log.warning(
                "a review item of model %s left without its explanation (this worker runs %s)",
                item.model_version,
                self.model_version,
            )
            return item
        return replace(item, explanation=tuple(self.explain(item.record, item.other_record)))


class Drain:
    """Takes a committed batch out of the outbox: rows into the store, events onto Kafka."""

    def __init__(
        self,
        redis_state: RedisState,
        store: Store,
        publisher: Publisher,
        clock: Clock = utc_now,
        explanations: Explanations | None = None,
    ) -> None:
        self.redis = redis_state
        self.store = store
        self.publisher = publisher
        self.clock = clock
        self.explanations = explanations
        self._one_at_a_time = asyncio.Lock()
        self._pending_at_last_sweep: set[int] = set()

    async def drain(self, version: int, outbox: Outbox) -> Drained:
        """Store the batch's rows, then publish its events (review items explained first).
        Each event's Kafka timestamp is the time the store transaction committed: when its
        effect became visible."""
        async with self._one_at_a_time:
            began = time.perf_counter()
            if self.explanations is not None:
                outbox = self.explanations.fill(outbox)
            now = self.clock()
            await asyncio.to_thread(self.store.apply, store_rows(outbox, version, now))
            committed = self.clock()
            stored = time.perf_counter()
            committed_ms = int(committed.timestamp() * 1000)
            for out in outputs(outbox, version, now):
                self.publisher.send(out.topic, out.key, out.event, timestamp_ms=committed_ms)
            await asyncio.to_thread(self.publisher.flush)
            await self.redis.clear_outbox([version])
            return Drained(
                version, committed.timestamp(), stored - began, time.perf_counter() - stored
            )

    async def sweep(self) -> int:
        """Drain the outbox entries that were pending at the last sweep too: left by a
        worker that stopped between its commit and its drain while the others carried on
        (a running worker drains its batch within seconds, and a batch drained twice
        writes the same rows and events again). Run it every so often; returns how many."""
        pending = await self.redis.pending_outbox()
        seen = self._pending_at_last_sweep
        self._pending_at_last_sweep = {version for version, _ in pending if version not in seen}
        left = [(version, data) for version, data in pending if version in seen]
        for version, data in left:
            await self.drain(version, Outbox.decode(data))
        return len(left)

    async def recover(self) -> int:
        """Drain what a stopped worker left in the outbox; returns how many batches."""
        pending = await self.redis.pending_outbox()
        for version, data in pending:
            await self.drain(version, Outbox.decode(data))
        return len(pending)


class Pipeline:
    def __init__(
        self,
        identity: IdentityWorker,
        drain: Drain,
        dead_letters: DeadLetterWriter,
        metrics: HubMetrics,
        *,
        clock: Clock = utc_now,
        drainer: DrainProcess | None = None,
    ) -> None:
        self.identity = identity
        self.drain = drain
        self.drainer = drainer
        self.dead_letters = dead_letters
        self.codec = dead_letters.publisher.codec
        self.metrics = metrics
        self.clock = clock
        self._skips_counted: Counter[str] = Counter()

    def _validate(self, messages: Sequence[RawMessage], report: BatchReport) -> list[Accepted]:
        today = self.clock().date()
        accepted = []
        for message in messages:
            source = topics.source_of(message.topic) or _SOURCE_OF.get(message.topic, "unknown")
            self.metrics.events_consumed.labels(topic=message.topic, source=source).inc()
            report.consumed += 1
            result = validate_message(message, self.codec, today)
            outcome = "accepted" if isinstance(result, Accepted) else "dead_lettered"
            self.metrics.events_validated.labels(topic=message.topic, outcome=outcome).inc()
            if isinstance(result, Accepted):
                for flag in result.flags:
                    self.metrics.quality_flags.labels(topic=message.topic, flag=flag).inc()
                accepted.append(result)
            else:
                self.dead_letters.write(result)
                report.dead_lettered += 1
        return accepted

    async def _apply(
        self,
        operations: Sequence[StateOperation],
        report: BatchReport,
        sent_at: Sequence[dt.datetime] = (),
    ) -> None:
        """Resolve and commit the batch, then drain it: here, or (with a drainer process)
        hand it over and return; ``sent_at``: its events' Kafka timestamps, for the latency."""
        with self.metrics.batch_seconds.labels(stage="resolve").time():
            applied = await self.identity.apply(operations)
        report.applied, report.stale, report.version = (
            applied.applied,
            applied.stale.total(),
            applied.version,
        )
        for source, stale in applied.stale.items():
            self.metrics.stale_events.labels(source=source).inc(stale)
        self._count_skips()
        self._count(applied.outbox.events, report)
        if applied.version is None:
            observe_latency(self.metrics, self.clock().timestamp(), sent_at)
        elif self.drainer is not None:
            await self.drainer.hand_over(applied.version, sent_at)
        else:
            drained = await self.drain.drain(applied.version, applied.outbox)
            drained.count(self.metrics, sent_at)

    def _count_skips(self) -> None:
        """Over-common blocking keys skipped since the last count, by rule."""
        skips = self.identity.resolver.stats.over_common_skips
        for rule, count in (skips - self._skips_counted).items():
            self.metrics.over_common_keys.labels(rule=rule).inc(count)
        self._skips_counted = skips.copy()

    def _count(self, events: Sequence[domain.Event], report: BatchReport) -> None:
        for event in events:
            if isinstance(event, domain.MatchDecided) and event.decided_by == "model":
                report.decisions[event.decision] += 1
                self.metrics.match_decisions.labels(outcome=event.decision).inc()
                self.metrics.candidate_set_size.observe(event.candidates)
            elif isinstance(event, domain.PersonsMerged):
                self.metrics.person_merges.inc(len(event.merged_person_ids))
            elif isinstance(event, domain.PersonSplit):
                self.metrics.person_splits.inc()

    async def persons(self, messages: Sequence[RawMessage]) -> BatchReport:
        """A batch from the ``src.<system>.persons`` topics."""
        report = BatchReport()
        operations: list[StateOperation] = []
        sent_at: list[dt.datetime] = []
        for accepted in self._validate(messages, report):
            event = accepted.event
            if not isinstance(event, PersonChanged):
                continue
            version = source_version(event.source_version, event.source_ts, accepted.message)
            record_id = f"{event.source_system}:{event.source_record_id}"
            if event.op is Operation.DELETE or event.after is None:
                operations.append(Delete(record_id, version))
            else:
                record = record_from_person(
                    event.source_system, event.source_record_id, event.after, event.source_ts
                )
                operations.append(Upsert(record, version))
            if accepted.message.timestamp is not None:
                sent_at.append(accepted.message.timestamp)
        await self._apply(operations, report, sent_at)
        await asyncio.to_thread(self.dead_letters.flush)
        return report

    async def relationships(self, messages: Sequence[RawMessage]) -> BatchReport:
        """A batch from the ``src.<system>.relationships`` topics: stored; service
        groupings kept in the identity state beside the households; and a relationship
        between two records (a parent, a partner, a carer...) a statement that they are two
        people (:func:`~matchers.decisions.stated_apart`)."""
        report = BatchReport()
        operations: list[StateOperation] = []
        rows: list[dict[str, Any]] = []
        now = self.clock()
        for accepted in self._validate(messages, report):
            event = accepted.event
            if not isinstance(event, RelationshipObserved):
                continue
            system = event.source_system
            key = relationship_key(event)
            version = source_version(event.source_version, event.source_ts, accepted.message)
            record_id = f"{system}:{event.subject_record_id}"
            removed = event.op is Operation.DELETE or (
                event.end is not None and event.end < now.date()
            )
            rows.append({
                "relationship_id": key, "source_system": system, "kind": event.kind.value,
                "record_id": record_id,
                "related_record_id": f"{system}:{event.related_record_id}"
                if event.related_record_id else None,
                "group_id": event.group_id, "role": event.role,
                "start": event.start.isoformat() if event.start else None,
                "end": event.end.isoformat() if event.end else None,
                "removed": removed, "version": version, "updated_at": now,
            })  # fmt: skip
            grouping = event.kind.value in tables.GROUP_KINDS and bool(event.group_id)
            operations.append(Membership(
                key=f"rel:{key}", source_version=version, source_system=system,
                kind=event.kind.value.lower(), group_id=(event.group_id or "") if grouping else "",
                record_id=record_id, present=grouping and not removed,
            ))  # fmt: skip
            if event.related_record_id and event.related_record_id != event.subject_record_id:
                related = f"{system}:{event.related_record_id}"
                parent = parent_of(event.kind.value, record_id, related)
                operations.append(Judge(stated_apart(
                    record_id, related, system, parent=parent, since=event.start
                )))  # fmt: skip
        await self._apply(operations, report)
        await asyncio.to_thread(
            self.drain.store.apply, {tables.relationships: _latest(rows, RELATIONSHIP_KEY)}
        )
        await asyncio.to_thread(self.dead_letters.flush)
        return report

    async def judgements(self, messages: Sequence[RawMessage]) -> BatchReport:
        """A batch from ``hub.judgements``: people's judgements of two records, each a hard
        constraint from now on (the latest of a pair wins, whatever the order they come
        in); stored with the others by the drain."""
        report = BatchReport()
        operations: list[StateOperation] = []
        for accepted in self._validate(messages, report):
            event = accepted.event
            if not isinstance(event, JudgementRecorded):
                continue
            at = judged_at(event.judged_at)
            judgement = Judgement(
                event.record_id, event.other_record_id, event.same, event.judged_by, at
            )
            operations.append(Judge(judgement))
        await self._apply(operations, report)
        await asyncio.to_thread(self.dead_letters.flush)
        return report

    async def indicators(self, messages: Sequence[RawMessage]) -> BatchReport:
        """A batch from the ``partner.<dataset>`` topics: stored against the partner's
        record, which links to a person through the source records."""
        report = BatchReport()
        rows: list[dict[str, Any]] = []
        now = self.clock()
        for accepted in self._validate(messages, report):
            event = accepted.event
            if not isinstance(event, PartnerIndicator):
                continue
            system = event.source_system or event.dataset
            rows.append({
                "dataset": event.dataset,
                "record_id": f"{system}:{event.source_record_id}",
                "indicator": event.indicator,
                "period_start": event.period_start.isoformat() if event.period_start else "",
                "period_end": event.period_end.isoformat() if event.period_end else None,
                "value": event.value, "value_text": event.category,
                "version": source_version(None, event.source_ts, accepted.message),
                "received_at": now,
            })  # fmt: skip
        report.applied = len(rows)
        await asyncio.to_thread(
            self.drain.store.apply, {tables.partner_indicators: _latest(rows, INDICATOR_KEY)}
        )
        await asyncio.to_thread(self.dead_letters.flush)
        return report


def _latest(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per natural key (the newest version): one upsert statement needs that."""
    newest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        held = newest.get(k := tuple(row[c] for c in key))
        if held is None or row["version"] >= held["version"]:
            newest[k] = row
    return list(newest.values())
