"""The embedded schema registry: the ``schemas/`` folder, addressed by fingerprint.

Each event type's writer schema is its ``.avsc`` file with every named type it uses
resolved from the sibling files (``<full name>.avsc``). A message framed with Avro
single-object encoding names its writer schema by CRC-64-AVRO fingerprint; the registry
resolves the fingerprint to the current schema or to an earlier version kept in
``schemas/history/`` (``hub schemas freeze`` writes them), and the codec reads old data with
the current schema as reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastavro.schema import (
    fingerprint,
    load_schema,
    parse_schema,
    to_parsing_canonical_form,
)

from schemas import SCHEMA_DIR
from schemas.events import EVENT_TYPES, Event, full_name

HISTORY_DIR = SCHEMA_DIR / "history"


@dataclass(frozen=True, slots=True)
class WriterSchema:
    """One version of one event type's schema, as a writer used it."""

    event_type: type[Event]
    schema: dict[str, Any]  # fully resolved JSON (named types inlined at first use)
    fingerprint: bytes  # 8 bytes, CRC-64-AVRO, in the order single-object framing uses

    @property
    def full_name(self) -> str:
        return full_name(self.event_type)

    @property
    def canonical_form(self) -> str:
        return to_parsing_canonical_form(self.schema)


def schema_fingerprint(schema: dict[str, Any]) -> bytes:
    """CRC-64-AVRO fingerprint of a schema's parsing canonical form, little-endian bytes."""
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))


def load_resolved(schema_dir: Path, name: str) -> dict[str, Any]:
    """The schema of ``name`` from ``schema_dir`` with sibling named types resolved inline."""
    schema = load_schema(str(schema_dir / f"{name}.avsc"), _write_hint=False)
    if not isinstance(schema, dict):
        raise TypeError(f"{name}.avsc is not a named schema")
    return schema


def current_schemas(
    schema_dir: Path = SCHEMA_DIR, event_types: Iterable[type[Event]] = EVENT_TYPES
) -> dict[type[Event], WriterSchema]:
    """The schema of every event type as the folder holds it now."""
    found: dict[type[Event], WriterSchema] = {}
    for event_type in event_types:
        schema = load_resolved(schema_dir, full_name(event_type))
        found[event_type] = WriterSchema(event_type, schema, schema_fingerprint(schema))
    return found


def history_schemas(history_dir: Path = HISTORY_DIR) -> Iterator[WriterSchema]:
    """Every earlier version kept in ``history/`` (files ``<full name>.<fingerprint>.json``)."""
    by_name = {full_name(event_type): event_type for event_type in EVENT_TYPES}
    for path in sorted(history_dir.glob("*.json")):
        schema = json.loads(path.read_text())
        event_type = by_name.get(schema.get("name", ""))
        if event_type is None:
            continue  # an event type that no longer exists cannot be read as one
        yield WriterSchema(event_type, schema, schema_fingerprint(schema))


def history_file(writer: WriterSchema, history_dir: Path = HISTORY_DIR) -> Path:
    return history_dir / f"{writer.full_name}.{writer.fingerprint.hex()}.json"


def freeze(
    schemas: Mapping[type[Event], WriterSchema], history_dir: Path = HISTORY_DIR
) -> list[Path]:
    """Keep each given schema version in ``history/`` (if not already there); return new files."""
    written: list[Path] = []
    history_dir.mkdir(exist_ok=True)
    for writer in schemas.values():
        path = history_file(writer, history_dir)
        if not path.exists():
            path.write_text(json.dumps(writer.schema, indent=2, ensure_ascii=False) + "\n")
            written.append(path)
    return written


class EmbeddedRegistry:
    """Writer schemas by fingerprint; reader schemas (the current ones) by event type."""

    def __init__(self, schema_dir: Path = SCHEMA_DIR, history_dir: Path | None = None) -> None:
        self.current = current_schemas(schema_dir)
        self._parsed_current = {t: parse_schema(w.schema) for t, w in self.current.items()}
        self._writers: dict[bytes, tuple[WriterSchema, Any]] = {}
        history = history_dir if history_dir is not None else schema_dir / "history"
        for writer in history_schemas(history):
            self._writers[writer.fingerprint] = (writer, parse_schema(writer.schema))
        for event_type, writer in self.current.items():
            self._writers[writer.fingerprint] = (writer, self._parsed_current[event_type])

    def writer(self, event_type: type[Event]) -> tuple[bytes, Any]:
        """(fingerprint, parsed schema) to encode an event of this type with."""
        return self.current[event_type].fingerprint, self._parsed_current[event_type]

    def resolve(self, fp: bytes) -> tuple[WriterSchema, Any, Any] | None:
        """(writer, parsed writer schema, parsed reader schema) for a fingerprint, or None."""
        found = self._writers.get(fp)
        if found is None:
            return None
        writer, parsed = found
        return writer, parsed, self._parsed_current[writer.event_type]

    def fingerprints(self) -> frozenset[bytes]:
        return frozenset(self._writers)


@cache
def default_registry() -> EmbeddedRegistry:
    """The registry of the installed ``schemas/`` folder (loaded once per process)."""
    return EmbeddedRegistry()
