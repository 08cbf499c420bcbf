"""The seam for live publishing: hand each event of the stream to a sink, at a given rate.

A sink is any callable taking one event (``Callable[[Event], None]``). The Kafka publisher
provides one that encodes the event with its Avro schema and produces it keyed by
:func:`event_key`; :class:`JsonLinesSink` writes the same stream to a file. ``replay`` paces
the stream with an injectable clock, so tests run without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import BinaryIO

import orjson

from sources.simulator.model import (
    AddressRecord,
    Allocation,
    Event,
    Indicator,
    PersonChange,
    Relationship,
    Team,
    Worker,
    WorkflowStep,
    event_kind,
)

Sink = Callable[[Event], None]
_JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


_KEYS: dict[type, str] = {
    PersonChange: "record_id",
    AddressRecord: "record_id",
    Relationship: "relationship_id",
    Indicator: "indicator_id",
    Team: "team_id",
    Worker: "worker_id",
    Allocation: "allocation_id",
    WorkflowStep: "step_id",
}


def event_key(event: Event) -> str:
    """The natural key of an event (a Kafka message key): the same entity, the same key."""
    key: str = getattr(event, _KEYS[type(event)])
    return key


def event_line(event: Event) -> bytes:
    """One JSON line: ``{"kind": ..., <the event's fields>}``."""
    body = orjson.dumps(event, option=_JSON_OPTIONS)
    return b'{"kind":"' + event_kind(event).encode() + b'",' + body[1:] + b"\n"


class JsonLinesSink:
    """Writes each event as one JSON line."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.count = 0

    def __call__(self, event: Event) -> None:
        self._handle.write(event_line(event))
        self.count += 1


def replay(
    events: Iterable[Event],
    sink: Sink,
    rate: float | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Give every event to ``sink`` in order, no faster than ``rate`` per second (``None``:
    as fast as the sink takes them). Returns how many were given."""
    if rate is not None and rate <= 0:
        raise ValueError("rate must be positive")
    started = clock()
    count = 0
    for event in events:
        if rate is not None:
            wait = started + count / rate - clock()
            if wait > 0:
                sleep(wait)
        sink(event)
        count += 1
    return count
