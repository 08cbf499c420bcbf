"""JSON for the identity state's values, so Redis holds plain, inspectable data.

The values are frozen dataclasses, sets, tuples and maps of them (see
``matchers.identity_state``). :func:`encoder` and :func:`decoder` build, once per type, a
function between such a value and JSON bytes, driven by the type hints; ``None`` fields are
left out and come back as their default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

import orjson

ToJson = Callable[[Any], Any]
FromJson = Callable[[Any], Any]


@cache
def _to_json(hint: Any) -> ToJson | None:  # noqa: PLR0911 - one return per kind of type
    """A function from a value of ``hint`` to what orjson writes as its JSON, or None when
    orjson writes the value as it is (text, numbers, and tuples, lists and maps of them).

    Dataclasses get a function generated for their fields (it runs for every value a
    worker commits): each field that is set, in field order, converted where it must be.
    """
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        namespace: dict[str, Any] = {}
        lines = ["def from_dataclass(value):", "    out = {}"]
        for f in dataclasses.fields(hint):
            convert = _to_json(hints[f.name])
            lines += [f"    v = value.{f.name}", "    if v is not None:"]
            if convert is None:
                lines.append(f"        out[{f.name!r}] = v")
            else:
                namespace[f"convert_{f.name}"] = convert
                lines.append(f"        out[{f.name!r}] = convert_{f.name}(v)")
        lines.append("    return out")
        exec("\n".join(lines), namespace)  # noqa: S102 - code made here from field names
        generated: ToJson = namespace["from_dataclass"]
        return generated
    if origin in (frozenset, set):
        (item,) = typing.get_args(hint)
        convert = _to_json(item)
        if convert is None:
            return sorted
        each: ToJson = convert
        return lambda value: sorted(each(v) for v in value)
    if origin in (tuple, list):
        item = typing.get_args(hint)[0]
        convert = _to_json(item)
        if convert is None:
            return None
        element: ToJson = convert
        return lambda value: [element(v) for v in value]
    if origin is dict:
        _key, item = typing.get_args(hint)
        convert = _to_json(item)
        if convert is None:
            return None
        entry: ToJson = convert
        return lambda value: {k: entry(v) for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) == 1:
            return _to_json(options[0])
    return None  # str, int, float, bool


@cache
def _from_json(hint: Any) -> FromJson:  # noqa: PLR0911 - one return per kind of type
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        parts = [(f.name, _from_json(hints[f.name])) for f in dataclasses.fields(hint)]
        # A None field is left out of the JSON; one without a default must come back as None.
        no_default = [
            f.name
            for f in dataclasses.fields(hint)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        cls: Any = hint

        def to_dataclass(data: Any) -> Any:
            values = {name: convert(data[name]) for name, convert in parts if name in data}
            for name in no_default:
                values.setdefault(name, None)
            return cls(**values)

        return to_dataclass
    if origin in (frozenset, set):
        (item,) = typing.get_args(hint)
        convert = _from_json(item)
        return lambda data: origin(convert(v) for v in data)
    if origin in (tuple, list):
        item = typing.get_args(hint)[0]
        convert = _from_json(item)
        return lambda data: origin(convert(v) for v in data)
    if origin is dict:
        _key, item = typing.get_args(hint)
        convert = _from_json(item)
        return lambda data: {k: convert(v) for k, v in data.items()}
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) == 1:
            return _from_json(options[0])
    if hint is float:
        return float
    return lambda data: data


def encoder(hint: Any) -> Callable[[Any], bytes]:
    convert = _to_json(hint)
    if convert is None:
        return orjson.dumps
    return lambda value: orjson.dumps(convert(value))


def decoder(hint: Any) -> Callable[[bytes], Any]:
    convert = _from_json(hint)
    return lambda data: convert(orjson.loads(data))
