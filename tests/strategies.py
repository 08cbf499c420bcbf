"""Hypothesis strategies for the hub's events, derived from the Avro schemas themselves.

Walking the schema (not the dataclasses) means a new field or event type is covered by
every property test without anyone writing a strategy for it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from schemas import SCHEMA_DIR
from schemas.events import ENUM_TYPES, RECORD_TYPES, Event, full_name
from schemas.registry import default_registry, load_resolved

_CLASSES = {cls.__name__: cls for cls in RECORD_TYPES}
_ENUMS = {cls.__name__: cls for cls in ENUM_TYPES}

_timestamps = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
).map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))

_PRIMITIVES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**63), 2**63 - 1),
    "double": st.floats(allow_nan=False),
    "string": st.text(max_size=40),
    "bytes": st.binary(max_size=40),
}


class _Builder:
    def __init__(self) -> None:
        self.named: dict[str, Any] = {}

    def of(self, avro_type: Any) -> st.SearchStrategy[Any]:  # noqa: PLR0911
        if isinstance(avro_type, list):
            return st.one_of(*(self.of(branch) for branch in avro_type))
        if isinstance(avro_type, str):
            if avro_type in _PRIMITIVES:
                return _PRIMITIVES[avro_type]
            return self.of(self.named[avro_type])
        kind = avro_type["type"]
        logical = avro_type.get("logicalType")
        if logical == "date":
            return st.dates()
        if logical == "timestamp-millis":
            return _timestamps
        if kind in _PRIMITIVES:
            return _PRIMITIVES[kind]
        if kind == "enum":
            self.named[avro_type["name"]] = avro_type
            return st.sampled_from(list(_ENUMS[avro_type["name"].rsplit(".", 1)[-1]]))
        if kind == "array":
            return st.lists(self.of(avro_type["items"]), max_size=3).map(tuple)
        if kind == "map":
            return st.dictionaries(st.text(max_size=10), self.of(avro_type["values"]), max_size=3)
        if kind == "record":
            self.named[avro_type["name"]] = avro_type
            cls = _CLASSES[avro_type["name"].rsplit(".", 1)[-1]]
            fields = {f["name"]: self.of(f["type"]) for f in avro_type["fields"]}
            return st.builds(cls, **fields)
        raise TypeError(f"no strategy for {avro_type}")


def events_of(event_type: type[Event]) -> st.SearchStrategy[Any]:
    """Any valid instance of one event type, nested records and all."""
    schema = default_registry().current[event_type].schema
    return _Builder().of(schema)


def records_of(record_type: type) -> st.SearchStrategy[Any]:
    """Any valid instance of a shared record type such as Person or Address."""
    return _Builder().of(load_resolved(SCHEMA_DIR, full_name(record_type)))


def any_event() -> st.SearchStrategy[Any]:
    return st.one_of(*(events_of(t) for t in default_registry().current))
