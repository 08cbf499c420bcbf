"""Conversion between the event dataclasses and the dicts fastavro reads and writes.

Converters are built once per record type from its Avro schema, doing only the work a
field needs: plain values pass through, nested records and arrays of records convert,
enums become their StrEnum member, arrays become tuples. The schema decides; the
dataclass must agree (a test checks that they do).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from operator import attrgetter
from typing import Any

from schemas.events import ENUM_TYPES, RECORD_TYPES

Convert = Callable[[Any], Any]

_RECORDS: dict[str, type] = {cls.__name__: cls for cls in RECORD_TYPES}
_ENUMS: dict[str, type[StrEnum]] = {cls.__name__: cls for cls in ENUM_TYPES}


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


class Binding:
    """``to_dict`` and ``from_dict`` for one top-level record schema and its nested types."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._named: dict[str, Any] = {}
        self._to: dict[str, Convert] = {}
        self._from: dict[str, Convert] = {}
        self.to_dict, self.from_dict = self._record(schema)

    def _record(self, schema: Mapping[str, Any]) -> tuple[Convert, Convert]:
        name = _short(schema["name"])
        if name in self._to:
            return self._to[name], self._from[name]
        cls = _RECORDS[name]
        names = tuple(f["name"] for f in schema["fields"])
        getter = attrgetter(*names)
        converted = [(f["name"], *self._field(f["type"])) for f in schema["fields"]]
        to_fields = tuple((n, c) for n, c, _ in converted if c is not None)
        from_fields = tuple((n, c) for n, _, c in converted if c is not None)
        single = len(names) == 1

        def to_dict(obj: Any) -> dict[str, Any]:
            values = (getter(obj),) if single else getter(obj)
            data = dict(zip(names, values, strict=True))
            for field_name, convert in to_fields:
                data[field_name] = convert(data[field_name])
            return data

        def from_dict(data: dict[str, Any]) -> Any:
            for field_name, convert in from_fields:
                data[field_name] = convert(data[field_name])
            return cls(**data)

        self._to[name], self._from[name] = to_dict, from_dict
        return to_dict, from_dict

    def _record_name(self, avro_type: Any) -> str | None:
        if isinstance(avro_type, str):
            avro_type = self._named.get(avro_type)
        if isinstance(avro_type, dict) and avro_type.get("type") == "record":
            return str(avro_type["name"])
        return None

    def _field(self, avro_type: Any) -> tuple[Convert | None, Convert | None]:  # noqa: PLR0911
        """(to converter, from converter) for one Avro type; None means pass through."""
        if isinstance(avro_type, list):
            branches = [t for t in avro_type if t != "null"]
            if len(branches) != 1:
                raise TypeError(f"only [null, T] unions are bound, not {avro_type}")
            to_c, from_c = self._field(branches[0])
            record = self._record_name(branches[0])
            if record is not None and to_c is not None:
                # fastavro's tuple notation names the union branch, which spares it from
                # validating the whole nested record to find the branch.
                to_record = to_c
                return (lambda v: None if v is None else (record, to_record(v))), _optional(from_c)
            return _optional(to_c), _optional(from_c)
        if isinstance(avro_type, str):
            if avro_type in self._named:
                return self._field(self._named[avro_type])
            return None, None  # a primitive
        kind = avro_type["type"]
        if kind == "record":
            self._named[avro_type["name"]] = avro_type
            return self._record(avro_type)
        if kind == "enum":
            self._named[avro_type["name"]] = avro_type
            members = _ENUMS[_short(avro_type["name"])]._value2member_map_
            return None, members.__getitem__
        if kind == "array":
            to_item, from_item = self._field(avro_type["items"])
            to_list = None if to_item is None else (lambda v: [to_item(x) for x in v])
            from_list: Convert = (
                tuple if from_item is None else (lambda v: tuple(map(from_item, v)))
            )
            return to_list, from_list
        return None, None  # map of strings, or a primitive with a logical type


def _optional(convert: Convert | None) -> Convert | None:
    if convert is None:
        return None
    return lambda value: None if value is None else convert(value)
