"""Avro binary encoding compiled per schema: dataclass -> bytes and bytes -> dataclass.

Why not fastavro here: its union handling costs about half a microsecond per optional
field, and a PersonChanged has some forty of them, so fastavro's schemaless writer and
reader manage about 30-40k events a second per core against a target of 100k. This module
turns each record schema into straight-line Python (one function per record type, every
field inlined) that reads and writes the dataclasses directly, several times faster.

It covers exactly the Avro the hub's schemas use: null, boolean, int, long, double,
string, bytes, enum, array, map, record, ``[null, T]`` unions, and the ``date`` and
``timestamp-millis`` logical types. Anything else is refused when compiling. fastavro
stays the reference: property tests check that both write identical bytes and read each
other's output, and fastavro still does schema resolution for older writer schemas.

Decoding untrusted bytes raises ``ValueError``, ``IndexError``, ``struct.error`` or
``OverflowError``; :mod:`schemas.codec` turns them into one ``CodecError``.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable, Mapping
from itertools import count
from typing import Any

from schemas.events import ENUM_TYPES, RECORD_TYPES

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_MILLISECOND = dt.timedelta(milliseconds=1)
_from_timestamp = dt.datetime.fromtimestamp
_DOUBLE = struct.Struct("<d")

Encoder = Callable[[Any], bytes]
Decoder = Callable[[bytes, int], tuple[Any, int]]


# -- runtime helpers the generated code calls -------------------------------------------


def _zigzag(n: int) -> bytes:
    """A long as Avro writes it: zig-zag, then base-128 varint."""
    if not -(2**63) <= n < 2**63:
        raise ValueError(f"{n} does not fit in an Avro long")
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


_SMALL = tuple(_zigzag(n) for n in range(64))  # one byte each: the common case


def _long(n: int) -> bytes:
    return _SMALL[n] if 0 <= n < 64 else _zigzag(n)


def _int(n: int) -> bytes:
    if not -(2**31) <= n < 2**31:
        raise ValueError(f"{n} does not fit in an Avro int")
    return _SMALL[n] if 0 <= n < 64 else _zigzag(n)


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    byte = data[pos]
    result = byte & 0x7F
    shift = 7
    pos += 1
    while byte & 0x80:
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
    return (result >> 1) ^ -(result & 1), pos


def _millis(value: dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)  # naive times are taken as UTC
    return (value - _EPOCH) // _MILLISECOND


_FAST_MILLIS = 2**42  # about 139 years either side of 1970


def _timestamp(millis: int) -> dt.datetime:
    # fromtimestamp is twice as fast as adding a timedelta, and exact to the millisecond
    # while the float's error stays under half a microsecond, which holds in this range.
    if -_FAST_MILLIS < millis < _FAST_MILLIS:
        return _from_timestamp(millis / 1000, dt.UTC)
    return _EPOCH + dt.timedelta(milliseconds=millis)


def _bad(what: str) -> ValueError:
    return ValueError(what)


_RUNTIME: dict[str, Any] = {
    "_long": _long,
    "_int": _int,
    "_read_long": _read_long,
    "_millis": _millis,
    "_timestamp": _timestamp,
    "_from_ordinal": dt.date.fromordinal,
    "_from_timestamp": _from_timestamp,
    "_FAST_MILLIS": _FAST_MILLIS,
    "_UTC": dt.UTC,
    "_EPOCH_ORDINAL": _EPOCH_ORDINAL,
    "_pack_double": _DOUBLE.pack,
    "_unpack_double": _DOUBLE.unpack_from,
    "_BOOL": {True: b"\x01", False: b"\x00"},
    "_bad": _bad,
    "_new": object.__new__,
}

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "double", "string", "bytes"})


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


class CompiledSchema:
    """Encoder and decoder for one top-level record schema (and the types nested in it).

    ``encode(event)`` returns the Avro body; ``decode(data, pos)`` reads one record from
    ``data`` starting at ``pos`` and returns it with the position after it.
    """

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._classes = {cls.__name__: cls for cls in RECORD_TYPES}
        self._enums = {cls.__name__: cls for cls in ENUM_TYPES}
        self._named: dict[str, Any] = {}
        self._compiled: set[str] = set()
        self._names = count()
        self._namespace: dict[str, Any] = dict(_RUNTIME)
        self._functions: list[str] = []
        top = self._record(schema)
        self.source = "\n\n".join(self._functions)
        exec(compile(self.source, f"<avro {schema['name']}>", "exec"), self._namespace)  # noqa: S102
        encode_record = self._namespace[f"_enc_{top}"]
        self.decode: Decoder = self._namespace[f"_dec_{top}"]

        def encode(event: Any) -> bytes:
            out: list[bytes] = []
            encode_record(event, out.append)
            return b"".join(out)

        self.encode: Encoder = encode

    # -- types ---------------------------------------------------------------------------

    def _resolve(self, avro_type: Any) -> Any:
        if isinstance(avro_type, str) and avro_type not in _PRIMITIVES:
            return self._named[avro_type]
        return avro_type

    def _record(self, schema: Mapping[str, Any]) -> str:
        """Generate the functions of a record type once; return its short name."""
        name = _short(schema["name"])
        self._named[schema["name"]] = schema
        if name in self._compiled:
            return name
        self._compiled.add(name)
        cls = self._classes[name]
        self._namespace[f"_{name}"] = cls
        enc = [f"def _enc_{name}(o, a):"]
        dec = [f"def _dec_{name}(b, p):", "    end = len(b)"]
        names = []
        for field in schema["fields"]:
            local = f"f_{field['name']}"
            names.append((field["name"], local))
            enc.append(f"    v = o.{field['name']}")
            self._encode(field["type"], "v", enc, 1)
            self._decode(field["type"], local, dec, 1)
        if len(enc) == 1:
            enc.append("    pass")
        # Build the frozen dataclass by its slot setters rather than __init__: the same
        # result (every field is set, none has a factory or post-init), twice as fast.
        if hasattr(cls, "__post_init__"):
            raise TypeError(f"{name} has __post_init__, which decoding would skip")
        dec.append(f"    o = _new(_{name})")
        for field_name, local in names:
            setter = f"_set_{name}_{field_name}"
            self._namespace[setter] = getattr(cls, field_name).__set__
            dec.append(f"    {setter}(o, {local})")
        dec.append("    return o, p")
        self._functions += ["\n".join(enc), "\n".join(dec)]
        return name

    # One branch per Avro type reads best as one switch.
    def _encode(self, avro_type: Any, var: str, lines: list[str], depth: int) -> None:  # noqa: PLR0912
        pad = "    " * depth
        t = self._resolve(avro_type)
        if isinstance(t, list):
            null, other = self._optional(t)
            lines.append(f"{pad}if {var} is None:")
            lines.append(f"{pad}    a({_long(null)!r})")
            lines.append(f"{pad}else:")
            lines.append(f"{pad}    a({_long(other[0])!r})")
            self._encode(other[1], var, lines, depth + 1)
            return
        kind = t["type"] if isinstance(t, dict) else t
        logical = t.get("logicalType") if isinstance(t, dict) else None
        if logical == "date" and kind == "int":
            lines.append(f"{pad}a(_int({var}.toordinal() - _EPOCH_ORDINAL))")
        elif logical == "timestamp-millis" and kind == "long":
            lines.append(f"{pad}a(_long(_millis({var})))")
        elif kind == "null":
            pass
        elif kind == "boolean":
            lines.append(f"{pad}a(_BOOL[{var}])")
        elif kind in ("int", "long"):
            lines.append(f"{pad}a(_{kind}({var}))")
        elif kind == "double":
            lines.append(f"{pad}a(_pack_double({var}))")
        elif kind in ("string", "bytes"):
            raw = f"e{next(self._names)}"
            value = f"{var}.encode()" if kind == "string" else var
            lines.append(f"{pad}{raw} = {value}")
            lines.append(f"{pad}a(_long(len({raw})))")
            lines.append(f"{pad}a({raw})")
        elif kind == "enum":
            table = self._enum_table(t)
            lines.append(f"{pad}a({table}[{var}])")
        elif kind == "record":
            lines.append(f"{pad}_enc_{self._record(t)}({var}, a)")
        elif kind in ("array", "map"):
            item = f"x{next(self._names)}"
            lines.append(f"{pad}if {var}:")
            lines.append(f"{pad}    a(_long(len({var})))")
            if kind == "array":
                lines.append(f"{pad}    for {item} in {var}:")
                self._encode(t["items"], item, lines, depth + 2)
            else:
                key = f"k{next(self._names)}"
                lines.append(f"{pad}    for {key}, {item} in {var}.items():")
                self._encode("string", key, lines, depth + 2)
                self._encode(t["values"], item, lines, depth + 2)
            lines.append(f"{pad}a(b'\\x00')")
        else:
            raise TypeError(f"Avro type {kind!r} is not supported by the compiled codec")

    def _decode(self, avro_type: Any, var: str, lines: list[str], depth: int) -> None:  # noqa: PLR0912, PLR0915
        pad = "    " * depth
        t = self._resolve(avro_type)
        if isinstance(t, list):
            null, other = self._optional(t)
            index = f"u{next(self._names)}"
            lines.append(f"{pad}{index} = b[p]")
            lines.append(f"{pad}p += 1")
            lines.append(f"{pad}if {index} == {_long(null)[0]}:")
            lines.append(f"{pad}    {var} = None")
            lines.append(f"{pad}elif {index} == {_long(other[0])[0]}:")
            self._decode(other[1], var, lines, depth + 1)
            lines.append(f"{pad}else:")
            lines.append(f"{pad}    raise _bad('union index out of range')")
            return
        kind = t["type"] if isinstance(t, dict) else t
        logical = t.get("logicalType") if isinstance(t, dict) else None
        if kind == "null":
            lines.append(f"{pad}{var} = None")
        elif kind == "boolean":
            lines.append(f"{pad}{var} = b[p]")
            lines.append(f"{pad}p += 1")
            lines.append(f"{pad}if {var} > 1:")
            lines.append(f"{pad}    raise _bad('boolean byte is not 0 or 1')")
            lines.append(f"{pad}{var} = {var} == 1")
        elif kind in ("int", "long", "enum"):
            self._decode_long(var, lines, pad)
            if logical == "date" and kind == "int":
                lines.append(f"{pad}{var} = _from_ordinal({var} + _EPOCH_ORDINAL)")
            elif logical == "timestamp-millis" and kind == "long":
                lines.append(f"{pad}if -_FAST_MILLIS < {var} < _FAST_MILLIS:")
                lines.append(f"{pad}    {var} = _from_timestamp({var} / 1000, _UTC)")
                lines.append(f"{pad}else:")
                lines.append(f"{pad}    {var} = _timestamp({var})")
            elif kind == "int":
                lines.append(f"{pad}if not -2147483648 <= {var} <= 2147483647:")
                lines.append(f"{pad}    raise _bad('int out of range')")
            elif kind == "enum":
                members = self._enum_members(t)
                lines.append(f"{pad}if not 0 <= {var} < {len(t['symbols'])}:")
                lines.append(f"{pad}    raise _bad('enum index out of range')")
                lines.append(f"{pad}{var} = {members}[{var}]")
        elif kind == "double":
            lines.append(f"{pad}{var} = _unpack_double(b, p)[0]")
            lines.append(f"{pad}p += 8")
        elif kind in ("string", "bytes"):
            size, stop = f"n{next(self._names)}", f"q{next(self._names)}"
            lines.append(f"{pad}{size} = b[p]")
            lines.append(f"{pad}if {size} < 128 and not {size} & 1:  # a short length: one byte")
            lines.append(f"{pad}    {size} >>= 1")
            lines.append(f"{pad}    p += 1")
            lines.append(f"{pad}else:")
            lines.append(f"{pad}    {size}, p = _read_long(b, p)")
            lines.append(f"{pad}{stop} = p + {size}")
            lines.append(f"{pad}if {size} < 0 or {stop} > end:")
            lines.append(f"{pad}    raise _bad('length beyond the end of the message')")
            value = f"b[p:{stop}].decode()" if kind == "string" else f"b[p:{stop}]"
            lines.append(f"{pad}{var} = {value}")
            lines.append(f"{pad}p = {stop}")
        elif kind == "record":
            lines.append(f"{pad}{var}, p = _dec_{self._record(t)}(b, p)")
        elif kind in ("array", "map"):
            self._decode_blocks(t, kind, var, lines, depth)
        else:
            raise TypeError(f"Avro type {kind!r} is not supported by the compiled codec")

    def _decode_long(self, var: str, lines: list[str], pad: str) -> None:
        lines.append(f"{pad}{var} = b[p]")
        lines.append(f"{pad}if {var} < 128:")
        lines.append(f"{pad}    {var} = ({var} >> 1) ^ -({var} & 1)")
        lines.append(f"{pad}    p += 1")
        lines.append(f"{pad}else:")
        lines.append(f"{pad}    {var}, p = _read_long(b, p)")

    def _decode_blocks(
        self, t: Mapping[str, Any], kind: str, var: str, lines: list[str], depth: int
    ) -> None:
        """Arrays and maps: blocks of items, ended by a zero count; a negative count is
        followed by the block's size in bytes (which we do not need)."""
        pad = "    " * depth
        items, block, item = (f"{c}{next(self._names)}" for c in ("i", "c", "x"))
        lines.append(f"{pad}if b[p] == 0:  # empty: the usual case")
        lines.append(f"{pad}    p += 1")
        lines.append(f"{pad}    {var} = {'()' if kind == 'array' else '{}'}")
        lines.append(f"{pad}else:")
        pad += "    "
        depth += 1
        lines.append(f"{pad}{items} = {'[]' if kind == 'array' else '{}'}")
        lines.append(f"{pad}while True:")
        self._decode_long(block, lines, pad + "    ")
        lines.append(f"{pad}    if {block} == 0:")
        lines.append(f"{pad}        break")
        lines.append(f"{pad}    if {block} < 0:")
        lines.append(f"{pad}        {block} = -{block}")
        self._decode_long("_", lines, pad + "        ")
        lines.append(f"{pad}    for _ in range({block}):")
        if kind == "array":
            self._decode(t["items"], item, lines, depth + 2)
            lines.append(f"{pad}        {items}.append({item})")
            lines.append(f"{pad}{var} = tuple({items})")
        else:
            key = f"k{next(self._names)}"
            self._decode("string", key, lines, depth + 2)
            self._decode(t["values"], item, lines, depth + 2)
            lines.append(f"{pad}        {items}[{key}] = {item}")
            lines.append(f"{pad}{var} = {items}")

    def _optional(self, union: list[Any]) -> tuple[int, tuple[int, Any]]:
        if len(union) != 2 or "null" not in union:
            raise TypeError(f"only [null, T] unions are supported, not {union}")
        null = union.index("null")
        return null, (1 - null, union[1 - null])

    def _enum_table(self, t: Mapping[str, Any]) -> str:
        self._named[t["name"]] = t
        table = f"_ENC_{_short(t['name'])}"
        self._namespace[table] = {s: _long(i) for i, s in enumerate(t["symbols"])}
        return table

    def _enum_members(self, t: Mapping[str, Any]) -> str:
        self._named[t["name"]] = t
        enum = self._enums[_short(t["name"])]
        members = f"_SYMBOLS_{_short(t['name'])}"
        self._namespace[members] = tuple(enum(s) for s in t["symbols"])
        return members
