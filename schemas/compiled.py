"""Avro binary encoding compiled per schema: dataclass -> bytes and bytes -> dataclass.

Why not fastavro here: its union handling costs about half a microsecond per optional
field, and a PersonChanged has some forty of them, so fastavro's schemaless writer and
reader manage about 30-40k events a second per core against a target of 100k. This module
turns each record schema into straight-line Python (one function per event type, every
field and nested record inlined) that reads and writes the dataclasses directly, several
times faster. What it does per field, and why:

- a one-byte long or length (the usual case) is a look-up in a table of 256 (or 64 when
  writing, with a union's branch byte folded in); longer varints go to an unrolled reader;
- a union's branch byte is read once and the value after it addressed as ``p + 1``;
- a record is built without its ``__init__``: a plain "twin" class with the same slots is
  filled as fields are read and then given the dataclass as its class;
- a string's length is not checked against the end of the data: a length beyond it moves
  the position past the end, where the next read fails, or the caller's check does.

It covers exactly the Avro the hub's schemas use: null, boolean, int, long, double,
string, bytes, enum, array, map, record, ``[null, T]`` unions, and the ``date`` and
``timestamp-millis`` logical types. Anything else is refused when compiling. fastavro
stays the reference: property tests check that both write identical bytes and read each
other's output, and fastavro still does schema resolution for older writer schemas.

Decoding untrusted bytes raises ``ValueError``, ``IndexError``, ``struct.error`` or
``OverflowError``, or returns a position past the end of the data (a truncated message);
:mod:`schemas.codec` checks the position and turns all of them into one ``CodecError``.
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


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    """A string's or bytes' length (the slow path: more than 63, or invalid)."""
    size, pos = _read_long(data, pos)
    if size < 0:
        raise ValueError("negative length")
    return size, pos


# A one-byte long as the generated code reads it: the value, or None for "more bytes".
_SHORT_LONG = tuple((n >> 1) ^ -(n & 1) if n < 128 else None for n in range(256))

# A one-byte length as the generated code reads it: the length, or -1 for "not one byte"
# (a varint continuation, or an odd zig-zag code, which is a negative number).
_SHORT_LENGTH = tuple(n >> 1 if n < 128 and not n & 1 else -1 for n in range(256))


_MILLISECOND = dt.timedelta(milliseconds=1)


def epoch_millis(moment: dt.datetime) -> int:
    """Milliseconds since the epoch, in whole numbers (a float product is off by one now
    and then; a time without a zone is UTC): an Avro timestamp as the codec writes it, and
    a source time as the version of a change with no version of its own."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - _EPOCH) // _MILLISECOND


_FAST_MILLIS = 2**42  # about 139 years either side of 1970


def _timestamp(millis: int) -> dt.datetime:
    # fromtimestamp is twice as fast as adding a timedelta, and exact to the millisecond
    # while the float's error stays under half a microsecond, which holds in this range.
    if -_FAST_MILLIS < millis < _FAST_MILLIS:
        return _from_timestamp(millis / 1000, dt.UTC)
    return _EPOCH + dt.timedelta(milliseconds=millis)


def _varint_reader(result: str = "value") -> Callable[[bytes, int], tuple[Any, int]]:
    """``read(data, pos) -> (result, position after it)`` for a zig-zag varint ``value``,
    unrolled (straight-line code per byte, no loop state): a sixth faster than a loop.
    ``result`` is an expression of ``value``: the date or timestamp it stands for, read
    in the same call (every event has dates and timestamps, three and six bytes long)."""
    lines = ["def read(data, pos):", "    byte = data[pos]", "    n = byte & 0x7F"]
    for size in range(1, 11):
        lines += [
            "    if byte < 0x80:",
            "        value = (n >> 1) ^ -(n & 1)",
            f"        return {result}, pos + {size}",
        ]
        if size < 10:
            lines += [f"    byte = data[pos + {size}]", f"    n |= (byte & 0x7F) << {7 * size}"]
    lines.append("    raise ValueError('varint longer than 10 bytes')")
    namespace: dict[str, Any] = {
        "_from_ordinal": dt.date.fromordinal,
        "_EPOCH_ORDINAL": _EPOCH_ORDINAL,
        "_from_timestamp": _from_timestamp,
        "_timestamp": _timestamp,
        "_FAST_MILLIS": _FAST_MILLIS,
        "_UTC": dt.UTC,
    }
    exec(compile("\n".join(lines), "<avro varint>", "exec"), namespace)  # noqa: S102
    read: Callable[[bytes, int], tuple[Any, int]] = namespace["read"]
    return read


_read_long = _varint_reader()
_read_date = _varint_reader("_from_ordinal(value + _EPOCH_ORDINAL)")
_read_timestamp = _varint_reader(
    "_from_timestamp(value / 1000, _UTC) if -_FAST_MILLIS < value < _FAST_MILLIS"
    " else _timestamp(value)"
)


def _read_enum(data: bytes, pos: int, members: tuple[Any, ...]) -> tuple[Any, int]:
    """An enum symbol (the slow path: an index over 63, or invalid)."""
    index, pos = _read_long(data, pos)
    if not 0 <= index < len(members):
        raise ValueError("enum index out of range")
    return members[index], pos


def _bad(what: str) -> ValueError:
    return ValueError(what)


_RUNTIME: dict[str, Any] = {
    "_zigzag": _zigzag,
    "_int": _int,
    "_read_long": _read_long,
    "_read_date": _read_date,
    "_read_timestamp": _read_timestamp,
    "_read_enum": _read_enum,
    "_read_length": _read_length,
    "_SHORT_LENGTH": _SHORT_LENGTH,
    "_SHORT_LONG": _SHORT_LONG,
    "_millis": epoch_millis,
    "_EPOCH_ORDINAL": _EPOCH_ORDINAL,
    "_pack_double": _DOUBLE.pack,
    "_unpack_double": _DOUBLE.unpack_from,
    "_BOOL": {True: b"\x01", False: b"\x00"},
    "_bad": _bad,
    "_new": object.__new__,
}


def _twin(cls: type) -> type:
    """A plain class whose instances can become instances of the frozen, slotted dataclass
    ``cls`` by ``__class__`` assignment, which Python allows between classes with the same
    base and the same slots. Set its attributes, then assign the class."""
    slots = cls.__dict__.get("__slots__")
    if cls.__bases__ != (object,) or not isinstance(slots, tuple):
        raise TypeError(f"{cls.__name__} is not a slotted dataclass without base classes")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has __post_init__, which decoding would skip")
    twin = type(f"{cls.__name__}Twin", (), {"__slots__": slots, "__module__": __name__})
    probe: Any = object.__new__(twin)
    probe.__class__ = cls  # raises TypeError here, not while decoding, if layouts differ
    return twin


_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "double", "string", "bytes"})


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


class CompiledSchema:
    """Encoder and decoder for one top-level record schema (and the types nested in it).

    ``encode(event)`` returns the Avro body; ``decode(data, pos)`` reads one record from
    ``data`` starting at ``pos`` and returns it with the position after it, which the
    caller must compare with ``len(data)``: beyond it, the data was cut short.
    """

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._classes = {cls.__name__: cls for cls in RECORD_TYPES}
        self._enums = {cls.__name__: cls for cls in ENUM_TYPES}
        self._named: dict[str, Any] = {}
        self._names = count()
        self._namespace: dict[str, Any] = dict(_RUNTIME)
        self._inlining: list[str] = []  # the records being generated, outermost first
        top = self._top = self._record(schema)
        encode = [f"def _enc_{top}(o, a):"]
        self._encode_record(schema, "o", encode, 1)
        decode = [f"def _dec_{top}(b, p):"]
        self._decode_record(schema, "o", decode, 1)
        decode.append("    return o, p")
        self.source = "\n".join(encode) + "\n\n" + "\n".join(decode)
        exec(compile(self.source, f"<avro {schema['name']}>", "exec"), self._namespace)  # noqa: S102
        self.decode: Decoder = self._namespace[f"_dec_{top}"]
        self.encode: Encoder = self.encoder()

    def encoder(self, header: bytes = b"") -> Encoder:
        """``encode(event) -> header + Avro body`` (one join: no copy to add a header)."""
        encode_record = self._namespace[f"_enc_{self._top}"]

        def encode(event: Any) -> bytes:
            out = [header]
            encode_record(event, out.append)
            return b"".join(out)

        return encode

    # -- types ---------------------------------------------------------------------------

    def _resolve(self, avro_type: Any) -> Any:
        if isinstance(avro_type, str) and avro_type not in _PRIMITIVES:
            return self._named[avro_type]
        return avro_type

    def _record(self, schema: Mapping[str, Any]) -> str:
        """Register a record type (its class, and the twin its decoding fills) once; return
        its short name."""
        name = _short(schema["name"])
        self._named[schema["name"]] = schema
        if name in self._inlining:
            raise TypeError(f"{name} contains itself: the compiled codec reads no recursion")
        if name not in self._namespace:
            cls = self._classes[name]
            self._namespace[f"_{name}"] = cls
            # Decoding builds the frozen dataclass without its __init__ (the same result:
            # every field is set, none has a factory or post-init): it fills a plain twin
            # with the same slots as it reads, then makes it the dataclass. Three times as
            # fast as __init__ or the slots' own setters.
            self._namespace[f"_{name}_twin"] = _twin(cls)
        return name

    def _encode_record(
        self, schema: Mapping[str, Any], obj: str, lines: list[str], depth: int
    ) -> None:
        """Code that appends the record in ``obj``; nested records inline, as when reading."""
        name = self._record(schema)
        self._inlining.append(name)
        for field in schema["fields"]:
            value = f"v{next(self._names)}"
            lines.append(f"{'    ' * depth}{value} = {obj}.{field['name']}")
            self._encode(field["type"], value, lines, depth)
        self._inlining.pop()

    def _decode_record(
        self, schema: Mapping[str, Any], obj: str, lines: list[str], depth: int
    ) -> None:
        """Code that reads a record into the local ``obj``. Nested records are read inline
        (no call per record)."""
        name = self._record(schema)
        pad = "    " * depth
        self._inlining.append(name)
        lines.append(f"{pad}{obj} = _new(_{name}_twin)")
        for field in schema["fields"]:
            self._decode(field["type"], f"{obj}.{field['name']}", lines, depth)
        lines.append(f"{pad}{obj}.__class__ = _{name}")
        self._inlining.pop()

    # One branch per Avro type reads best as one switch.
    def _encode(
        self, avro_type: Any, var: str, lines: list[str], depth: int, prefix: bytes = b""
    ) -> None:
        """Code that appends ``var`` as ``avro_type`` to the output (``a``), after the bytes
        ``prefix`` (a union's branch index), which a long or a length shares one append
        with."""
        pad = "    " * depth
        t = self._resolve(avro_type)
        if isinstance(t, list):
            if prefix:
                lines.append(f"{pad}a({prefix!r})")
            null, other = self._optional(t)
            lines.append(f"{pad}if {var} is None:")
            lines.append(f"{pad}    a({_long(null)!r})")
            lines.append(f"{pad}else:")
            self._encode(other[1], var, lines, depth + 1, _long(other[0]))
            return
        kind = t["type"] if isinstance(t, dict) else t
        logical = t.get("logicalType") if isinstance(t, dict) else None
        if logical == "date" and kind == "int":
            days = f"d{next(self._names)}"  # always an int: dates are years 1 to 9999
            lines.append(f"{pad}{days} = {var}.toordinal() - _EPOCH_ORDINAL")
            self._append_long(days, "_zigzag", prefix, lines, pad)
        elif logical == "timestamp-millis" and kind == "long":
            millis = f"m{next(self._names)}"
            lines.append(f"{pad}{millis} = _millis({var})")
            self._append_long(millis, "_zigzag", prefix, lines, pad)
        elif kind in ("int", "long"):
            self._append_long(var, "_int" if kind == "int" else "_zigzag", prefix, lines, pad)
        elif kind in ("string", "bytes"):
            raw, size = f"e{next(self._names)}", f"n{next(self._names)}"
            lines.append(
                f"{pad}{raw} = {var}.encode()" if kind == "string" else f"{pad}{raw} = {var}"
            )
            lines.append(f"{pad}{size} = len({raw})")
            self._append_long(size, "_zigzag", prefix, lines, pad)
            lines.append(f"{pad}a({raw})")
        elif kind == "enum":
            lines.append(f"{pad}a({self._enum_table(t, prefix)}[{var}])")
        else:
            if prefix:
                lines.append(f"{pad}a({prefix!r})")
            self._encode_other(t, kind, var, lines, depth)

    def _encode_other(self, t: Any, kind: str, var: str, lines: list[str], depth: int) -> None:
        pad = "    " * depth
        if kind == "null":
            pass
        elif kind == "boolean":
            lines.append(f"{pad}a(_BOOL[{var}])")
        elif kind == "double":
            lines.append(f"{pad}a(_pack_double({var}))")
        elif kind == "record":
            self._encode_record(t, var, lines, depth)
        elif kind in ("array", "map"):
            item, size = f"x{next(self._names)}", f"n{next(self._names)}"
            lines.append(f"{pad}if {var}:")
            lines.append(f"{pad}    {size} = len({var})")
            self._append_long(size, "_zigzag", b"", lines, pad + "    ")
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

    def _append_long(self, var: str, slow: str, prefix: bytes, lines: list[str], pad: str) -> None:
        """Append ``prefix`` and the long ``var``: from a table when it is one byte,
        else by ``slow`` (``_zigzag``, or ``_int`` which also checks the range)."""
        table = f"_SMALL_{prefix.hex()}"
        self._namespace[table] = tuple(prefix + _long(n) for n in range(64))
        rest = f"{prefix!r} + {slow}({var})" if prefix else f"{slow}({var})"
        lines.append(f"{pad}a({table}[{var}] if 0 <= {var} < 64 else {rest})")

    def _decode(  # noqa: PLR0915
        self, avro_type: Any, var: str, lines: list[str], depth: int, skip: int = 0
    ) -> None:
        """Code that reads a value of ``avro_type`` into ``var``; the value starts ``skip``
        bytes after ``p`` (a union's branch index, read already), and ``p`` ends after it."""
        pad = "    " * depth
        at = f"p + {skip}" if skip else "p"
        t = self._resolve(avro_type)
        if isinstance(t, list):
            if skip:
                lines.append(f"{pad}p += {skip}")
            null, other = self._optional(t)
            index = f"u{next(self._names)}"
            lines.append(f"{pad}{index} = b[p]")
            lines.append(f"{pad}if {index} == {_long(other[0])[0]}:")
            self._decode(other[1], var, lines, depth + 1, skip=1)
            lines.append(f"{pad}elif {index} == {_long(null)[0]}:")
            lines.append(f"{pad}    {var} = None")
            lines.append(f"{pad}    p += 1")
            lines.append(f"{pad}else:")
            lines.append(f"{pad}    raise _bad('union index out of range')")
            return
        kind = t["type"] if isinstance(t, dict) else t
        logical = t.get("logicalType") if isinstance(t, dict) else None
        if "." in var and kind in ("boolean", "int", "long", "enum"):
            # worked on in several steps: in a local, then stored in the field once
            local = f"v{next(self._names)}"
            self._decode(t, local, lines, depth, skip)
            lines.append(f"{pad}{var} = {local}")
            return
        if logical == "date" and kind == "int":  # never one byte: read in one call
            lines.append(f"{pad}{var}, p = _read_date(b, {at})")
        elif logical == "timestamp-millis" and kind == "long":
            lines.append(f"{pad}{var}, p = _read_timestamp(b, {at})")
        elif kind == "enum":
            members = self._enum_members(t)
            lines.append(f"{pad}{var} = {members}_BY_BYTE[b[{at}]]")
            lines.append(f"{pad}if {var} is None:")
            lines.append(f"{pad}    {var}, p = _read_enum(b, {at}, {members})")
            lines.append(f"{pad}else:")
            lines.append(f"{pad}    p += {skip + 1}")
        elif kind in ("int", "long"):
            self._decode_long(var, lines, pad, skip)
            if kind == "int":
                lines.append(f"{pad}if not -2147483648 <= {var} <= 2147483647:")
                lines.append(f"{pad}    raise _bad('int out of range')")
        elif kind in ("string", "bytes"):
            size, stop = f"n{next(self._names)}", f"q{next(self._names)}"
            lines.append(f"{pad}{size} = _SHORT_LENGTH[b[{at}]]")
            lines.append(f"{pad}if {size} >= 0:")
            lines.append(f"{pad}    p += {skip + 1}")
            lines.append(f"{pad}else:")
            lines.append(f"{pad}    {size}, p = _read_length(b, {at})")
            # No check against the end here: a length beyond it moves p past the end, and
            # the next read, or the caller's check of the final position, fails.
            lines.append(f"{pad}{stop} = p + {size}")
            value = f"b[p:{stop}].decode()" if kind == "string" else f"b[p:{stop}]"
            lines.append(f"{pad}{var} = {value}")
            lines.append(f"{pad}p = {stop}")
        elif kind == "record":
            self._decode_nested(t, var, lines, depth, skip)
        else:
            if skip:
                lines.append(f"{pad}p += {skip}")
            self._decode_fixed(t, kind, var, lines, depth)

    def _decode_nested(
        self, t: Mapping[str, Any], var: str, lines: list[str], depth: int, skip: int
    ) -> None:
        if skip:
            lines.append(f"{'    ' * depth}p += {skip}")
        record = f"r{next(self._names)}"
        self._decode_record(t, record, lines, depth)
        lines.append(f"{'    ' * depth}{var} = {record}")

    def _decode_fixed(self, t: Any, kind: str, var: str, lines: list[str], depth: int) -> None:
        """Null, boolean, double, arrays and maps, starting at ``p``."""
        pad = "    " * depth
        if kind == "null":
            lines.append(f"{pad}{var} = None")
        elif kind == "boolean":
            lines.append(f"{pad}{var} = b[p]")
            lines.append(f"{pad}p += 1")
            lines.append(f"{pad}if {var} > 1:")
            lines.append(f"{pad}    raise _bad('boolean byte is not 0 or 1')")
            lines.append(f"{pad}{var} = {var} == 1")
        elif kind == "double":
            lines.append(f"{pad}{var} = _unpack_double(b, p)[0]")
            lines.append(f"{pad}p += 8")
        elif kind in ("array", "map"):
            self._decode_blocks(t, kind, var, lines, depth)
        else:
            raise TypeError(f"Avro type {kind!r} is not supported by the compiled codec")

    def _decode_long(self, var: str, lines: list[str], pad: str, skip: int = 0) -> None:
        at = f"p + {skip}" if skip else "p"
        lines.append(f"{pad}{var} = _SHORT_LONG[b[{at}]]")
        lines.append(f"{pad}if {var} is None:")
        lines.append(f"{pad}    {var}, p = _read_long(b, {at})")
        lines.append(f"{pad}else:")
        lines.append(f"{pad}    p += {skip + 1}")

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

    def _enum_table(self, t: Mapping[str, Any], prefix: bytes = b"") -> str:
        self._named[t["name"]] = t
        table = f"_ENC_{_short(t['name'])}_{prefix.hex()}"
        self._namespace[table] = {s: prefix + _long(i) for i, s in enumerate(t["symbols"])}
        return table

    def _enum_members(self, t: Mapping[str, Any]) -> str:
        self._named[t["name"]] = t
        enum = self._enums[_short(t["name"])]
        members = f"_SYMBOLS_{_short(t['name'])}"
        symbols = tuple(enum(s) for s in t["symbols"])
        self._namespace[members] = symbols
        # the symbol a one-byte index stands for (the byte is twice the index), else None
        self._namespace[f"{members}_BY_BYTE"] = tuple(
            symbols[n >> 1] if n < 128 and not n & 1 and n >> 1 < len(symbols) else None
            for n in range(256)
        )
        return members
