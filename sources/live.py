"""The council simulator streamed live: its events published to Kafka at a steady rate.

``hub simulate --rate R`` hands the simulator's time-ordered stream to :func:`stream`, which
maps each event into the contract (:mod:`sources.simulated`: topic, key, event), publishes
it through the idempotent :class:`~sources.publisher.Publisher` and paces the stream with
:func:`~sources.simulator.streaming.replay`. The stream stops after ``limit`` events, at the
first event Kafka does not acknowledge, or on Ctrl-C; whatever was sent is then flushed, so
the report says exactly what Kafka acknowledged.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.codec import CodecError
from sources.publisher import Publisher, PublishError
from sources.simulated import KafkaSink, Outgoing, to_contract
from sources.simulator.model import Event
from sources.simulator.streaming import replay


@dataclass
class StreamReport:
    """What a live run did. Every event it took from the stream is in exactly one of
    ``acknowledged``, ``failed`` (sent, not acknowledged) or ``rejected`` (never sent)."""

    planned: int  # events the run set out to publish: the stream, or the first --limit
    rate: float
    acknowledged: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)
    rejected: Counter[str] = field(default_factory=Counter)  # reason -> events not encodable
    failed: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    error: PublishError | None = None

    @property
    def streamed(self) -> int:
        return self.acknowledged + self.failed + sum(self.rejected.values())

    def summary(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "planned": self.planned,
            "streamed": self.streamed,
            "published": self.acknowledged,
            "rejected": sum(self.rejected.values()),
            "failed": self.failed,
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 3),
            "by_topic": dict(sorted(self.by_topic.items())),
            "rejected_by_reason": dict(sorted(self.rejected.items())),
        }


class _Refused(Exception):
    """Kafka did not acknowledge an event: sending more would only pile up failures."""


def stream(
    events: Sequence[Event],
    publisher: Publisher,
    *,
    rate: float,
    limit: int | None = None,
    on_event: Callable[[int], None] = lambda _count: None,
    mapping: Callable[[Event], Outgoing] = to_contract,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> StreamReport:
    """Publish ``events`` (the first ``limit`` of them) at ``rate`` a second and wait for
    Kafka's acknowledgements. Ctrl-C stops the stream (the report says ``interrupted``);
    an event that cannot be encoded is counted as rejected and the stream goes on."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    chosen = events if limit is None else events[:limit]
    report = StreamReport(planned=len(chosen), rate=rate)
    kafka = KafkaSink(publisher, mapping=mapping)
    taken = 0

    def sink(event: Event) -> None:
        nonlocal taken
        try:
            kafka(event)
        except CodecError as error:
            report.rejected[error.reason] += 1
        taken += 1
        on_event(taken)
        if publisher.totals.failed:
            raise _Refused

    started = clock()
    try:
        replay(chosen, sink, rate, clock=clock, sleep=sleep)
    except _Refused:
        pass
    except KeyboardInterrupt:
        report.interrupted = True
    try:
        publisher.flush()
    except PublishError as error:
        report.error = error
    totals = publisher.totals
    report.acknowledged = totals.acknowledged
    report.failed = totals.failed
    report.by_topic = dict(totals.by_topic)
    report.seconds = clock() - started
    return report
