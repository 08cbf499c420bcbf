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
    """A function from parsed JSON (what orjson reads) to a value of ``hint``.

    Dataclasses get a function generated for their fields, as :func:`_to_json` does: each
    field present is converted where it must be; a field left out (it was None) comes back
    as its default, or as None when it has none.
    """
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        namespace: dict[str, Any] = {"cls": hint}
        lines = ["def to_dataclass(data):", "    values = {}"]
        for f in dataclasses.fields(hint):
            convert = _from_json(hints[f.name])
            value = f"data[{f.name!r}]"
            if convert is not _as_is:
                namespace[f"convert_{f.name}"] = convert
                value = f"convert_{f.name}({value})"
            lines += [f"    if {f.name!r} in data:", f"        values[{f.name!r}] = {value}"]
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                lines += ["    else:", f"        values[{f.name!r}] = None"]
        lines.append("    return cls(**values)")
        exec("\n".join(lines), namespace)  # noqa: S102 - code made here from field names
        generated: FromJson = namespace["to_dataclass"]
        return generated
    if origin in (frozenset, set, tuple, list):
        convert = _from_json(typing.get_args(hint)[0])
        if convert is _as_is:
            return typing.cast(FromJson, origin)
        return lambda data: origin(convert(v) for v in data)
    if origin is dict:
        _key, item = typing.get_args(hint)
        convert = _from_json(item)
        if convert is _as_is:
            return dict
        return lambda data: {k: convert(v) for k, v in data.items()}
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) == 1:
            return _from_json(options[0])
    if hint is float:
        return float
    return _as_is


def _as_is(data: Any) -> Any:
    return data


def encoder(hint: Any) -> Callable[[Any], bytes]:
    convert = _to_json(hint)
    if convert is None:
        return orjson.dumps
    return lambda value: orjson.dumps(convert(value))


def decoder(hint: Any) -> Callable[[bytes], Any]:
    convert = _from_json(hint)
    return lambda data: convert(orjson.loads(data))


def from_parsed(hint: Any) -> FromJson:
    """Like :func:`decoder`, from JSON already parsed (a part of a larger document)."""
    return _from_json(hint)
