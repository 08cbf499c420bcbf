"""Event codecs: dataclasses in, bytes out, and back. Serialise at the edge, nowhere else.

Two wire formats, chosen by settings (:func:`make_codec`):

- embedded (default): Avro single-object encoding, ``C3 01`` + the writer schema's 8-byte
  CRC-64-AVRO fingerprint (little-endian) + the Avro body; schemas come from ``schemas/``.
- Confluent (``HUB_SCHEMA_REGISTRY_URL`` set): ``00`` + 4-byte big-endian schema id + body,
  subjects ``<topic>-value``. Schema ids are registered and looked up with confluent-kafka's
  ``SchemaRegistryClient`` exactly as its ``AvroSerializer`` does; the body is written and
  read by the compiled codec, about five times faster to write and ten to read than the
  serializer classes. :class:`ConfluentSerializerCodec` goes through confluent-kafka's
  ``AvroSerializer`` and ``AvroDeserializer`` themselves and stays as the reference: tests
  hold the two byte-identical, and each reads what the other writes.

Whatever goes wrong while decoding, the caller meets one exception, :class:`CodecError`,
whose ``reason`` is a short code fit for a dead-letter record and a metric label.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from fastavro import parse_schema, schemaless_reader
from fastavro.read import SchemaResolutionError
from fastavro.schema import SchemaParseException, UnknownType

from hub.errors import HubError
from schemas.binding import Binding
from schemas.compiled import CompiledSchema
from schemas.events import Event, full_name
from schemas.registry import EmbeddedRegistry, default_registry, schema_fingerprint
from schemas.topics import event_type_for

if TYPE_CHECKING:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    from hub.settings import Settings

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"

# The reasons a message cannot be decoded (dead-letter reasons and metric label values).
EMPTY = "empty"
NOT_SINGLE_OBJECT = "not_single_object"
NOT_CONFLUENT = "not_confluent_framing"
UNKNOWN_FINGERPRINT = "unknown_fingerprint"
UNKNOWN_SCHEMA_ID = "unknown_schema_id"
MALFORMED = "malformed"
TRAILING_BYTES = "trailing_bytes"
UNEXPECTED_TYPE = "unexpected_type"
UNENCODABLE = "unencodable"

# What decoding arbitrary bytes with fastavro can raise: truncated input, a bad varint,
# an enum or union index out of range, invalid UTF-8, a length too large to allocate,
# a date out of Python's range.
_DECODE_ERRORS = (
    EOFError,
    ValueError,
    IndexError,
    KeyError,
    TypeError,
    OverflowError,
    MemoryError,
    struct.error,
)


class CodecError(HubError):
    """Bytes that are not a hub event (or an event that cannot be written)."""

    def __init__(
        self,
        reason: str,
        detail: str,
        *,
        fingerprint: str | None = None,
        event_type: str | None = None,
    ) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.fingerprint = fingerprint
        self.event_type = event_type


class RegistryUnavailable(HubError):
    """The schema registry could not answer: not the message's fault, so never a dead letter."""


class Codec(Protocol):
    def encode(self, event: Event, topic: str) -> bytes:
        """The message value for ``event`` on ``topic``."""
        ...

    def decode(self, data: bytes, topic: str) -> Event:
        """The event in a message value read from ``topic``; raises :class:`CodecError`."""
        ...


class SingleObjectCodec:
    """Avro single-object encoding with schemas from the embedded registry."""

    def __init__(self, registry: EmbeddedRegistry | None = None) -> None:
        self.registry = registry or default_registry()
        self._writers: dict[type, Callable[[Any], bytes]] = {}
        # keyed by the whole header (C3 01 + fingerprint): one slice, one look-up per message
        self._readers: dict[bytes, tuple[type[Event], Callable[[bytes, int], Any]]] = {}
        for event_type, writer in self.registry.current.items():
            compiled = CompiledSchema(writer.schema)
            header = SINGLE_OBJECT_MAGIC + writer.fingerprint
            self._writers[event_type] = compiled.encoder(header)
            self._readers[header] = (event_type, compiled.decode)
        for fp in self.registry.fingerprints():
            header = SINGLE_OBJECT_MAGIC + fp
            if header in self._readers:
                continue
            resolved = self.registry.resolve(fp)
            assert resolved is not None
            old, parsed_writer, parsed_reader = resolved
            from_dict = Binding(self.registry.current[old.event_type].schema).from_dict
            self._readers[header] = (
                old.event_type,
                _resolving_reader(parsed_writer, parsed_reader, from_dict),
            )

    def encode(self, event: Event, topic: str | None = None) -> bytes:
        encode = self._writers.get(type(event))
        if encode is None:
            raise CodecError(UNENCODABLE, f"{type(event).__name__} is not an event type")
        try:
            return encode(event)
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as error:
            raise CodecError(UNENCODABLE, f"{type(event).__name__}: {error!r}") from None

    def decode(self, data: bytes, topic: str | None = None) -> Event:
        found = self._readers.get(data[:10])
        if found is None:
            raise _unreadable_single_object(data)
        event_type, decode = found
        if topic is not None:
            expected = event_type_for(topic)
            if expected is not None and expected is not event_type:
                raise _unexpected(event_type, expected, fingerprint=data[2:10].hex())
        try:
            event, end = decode(data, 10)
        except _DECODE_ERRORS as error:
            raise _malformed(event_type, error, fingerprint=data[2:10].hex()) from None
        if end != len(data):
            raise _wrong_size(event_type, data, 10, end, fingerprint=data[2:10].hex())
        return event  # type: ignore[no-any-return]


def _unreadable_single_object(data: bytes) -> CodecError:
    """Why a message without a known single-object header cannot be read."""
    if not data:
        return CodecError(EMPTY, "empty message value")
    if len(data) < 10 or data[:2] != SINGLE_OBJECT_MAGIC:
        return CodecError(NOT_SINGLE_OBJECT, "no Avro single-object header (C3 01)")
    fp = data[2:10].hex()
    return CodecError(UNKNOWN_FINGERPRINT, "no schema with this fingerprint", fingerprint=fp)


def _unexpected(event_type: type[Event], expected: type[Event], **context: str) -> CodecError:
    return CodecError(
        UNEXPECTED_TYPE,
        f"{event_type.__name__} on a {expected.__name__} topic",
        event_type=full_name(event_type),
        **context,
    )


def _malformed(event_type: type[Event], error: Exception, **context: str) -> CodecError:
    return CodecError(
        MALFORMED,
        f"body is not a valid {event_type.__name__} ({type(error).__name__})",
        event_type=full_name(event_type),
        **context,
    )


def _wrong_size(
    event_type: type[Event], data: bytes, start: int, end: int, **context: str
) -> CodecError:
    """The body ended before the message did (trailing bytes), or after it."""
    return CodecError(
        TRAILING_BYTES if end < len(data) else MALFORMED,
        f"{event_type.__name__} body is {end - start} bytes, message has {len(data) - start}",
        event_type=full_name(event_type),
        **context,
    )


def _resolving_reader(
    writer: Any, reader: Any, from_dict: Callable[[Any], Any]
) -> Callable[[bytes, int], tuple[Any, int]]:
    """Read data written with an older schema version, as the current version (fastavro)."""

    def decode(data: bytes, pos: int) -> tuple[Any, int]:
        buffer = io.BytesIO(data)
        buffer.seek(pos)
        try:
            record = schemaless_reader(buffer, writer, reader)
        except SchemaResolutionError as error:  # data the current schema cannot take in
            raise ValueError(str(error)) from None
        return from_dict(record), buffer.tell()

    return decode


class ConfluentCodec:
    """Confluent wire format: schema ids from the registry, bodies by the compiled codec.

    Writing registers the event type's schema under ``<topic>-value`` the first time it
    goes to that topic, as confluent-kafka's ``AvroSerializer`` does with
    ``auto.register.schemas`` and the topic name strategy (the same schema text, not
    normalised), then frames the compiled Avro body. Reading asks the registry once per
    schema id which record it is; data written with the current schema (same canonical
    form) is read by the compiled codec, data written with another version of the record
    is resolved to the current one by fastavro, as ``AvroDeserializer`` would.
    """

    def __init__(
        self, client: SchemaRegistryClient, registry: EmbeddedRegistry | None = None
    ) -> None:
        from confluent_kafka.schema_registry import Schema

        self.client = client
        self.registry = registry or default_registry()
        self._schemas: dict[type, tuple[Schema, CompiledSchema]] = {}
        self._current: dict[str, tuple[type[Event], bytes, Callable[[bytes, int], Any]]] = {}
        for event_type, writer in self.registry.current.items():
            compiled = CompiledSchema(writer.schema)
            # The text AvroSerializer registers for a schema given as a string.
            schema = Schema(json.dumps(writer.schema).strip(), schema_type="AVRO")
            self._schemas[event_type] = (schema, compiled)
            self._current[writer.full_name] = (event_type, writer.fingerprint, compiled.decode)
        # topic -> event type -> encode (with the 00 + schema id header of that subject)
        self._writers: dict[str, dict[type, Callable[[Any], bytes]]] = {}
        # keyed by the whole header (00 + schema id): one slice, one look-up per message
        self._readers: dict[bytes, tuple[type[Event], Callable[[bytes, int], Any]]] = {}

    def encode(self, event: Event, topic: str) -> bytes:
        event_type = type(event)
        encode = self._writers.get(topic, {}).get(event_type) or self._register(event_type, topic)
        try:
            return encode(event)
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as error:
            raise CodecError(UNENCODABLE, f"{event_type.__name__}: {error!r}") from None

    def _register(self, event_type: type, topic: str) -> Callable[[Any], bytes]:
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        found = self._schemas.get(event_type)
        if found is None:
            raise CodecError(UNENCODABLE, f"{event_type.__name__} is not an event type")
        schema, compiled = found
        try:
            registered = self.client.register_schema_full_response(
                f"{topic}-value", schema, normalize_schemas=False
            )
        except SchemaRegistryError as error:
            raise RegistryUnavailable(f"schema registry refused {topic}-value: {error}") from None
        if registered.schema_id is None:
            raise RegistryUnavailable(f"schema registry gave no schema id for {topic}-value")
        encode = compiled.encoder(CONFLUENT_MAGIC + registered.schema_id.to_bytes(4, "big"))
        self._writers.setdefault(topic, {})[event_type] = encode
        return encode

    def decode(self, data: bytes, topic: str) -> Event:
        found = self._readers.get(data[:5]) or self._reader(data)
        event_type, decode = found
        expected = event_type_for(topic)
        if expected is not None and expected is not event_type:
            raise _unexpected(event_type, expected)
        try:
            event, end = decode(data, 5)
        except _DECODE_ERRORS as error:
            raise _malformed(event_type, error) from None
        if end != len(data):
            raise _wrong_size(event_type, data, 5, end)
        return event  # type: ignore[no-any-return]

    def _reader(self, data: bytes) -> tuple[type[Event], Callable[[bytes, int], Any]]:
        """How to read data written with its schema id (asked of the registry once per id)."""
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        if not data:
            raise CodecError(EMPTY, "empty message value")
        if len(data) < 6 or data[0] != 0:
            raise CodecError(NOT_CONFLUENT, "no Confluent wire-format header (00 + schema id)")
        schema_id = int.from_bytes(data[1:5], "big")
        try:
            text = self.client.get_schema(schema_id).schema_str or "{}"
        except SchemaRegistryError as error:
            if error.http_status_code == 404:
                raise CodecError(
                    UNKNOWN_SCHEMA_ID, f"schema id {schema_id} is not registered"
                ) from None
            raise RegistryUnavailable(f"schema registry: {error}") from None
        writer = json.loads(text)
        name = writer.get("name") if isinstance(writer, dict) else None
        current = self._current.get(name or "")
        if current is None:
            raise CodecError(UNKNOWN_SCHEMA_ID, f"schema id {schema_id} is not a hub event")
        event_type, fingerprint, compiled = current
        if schema_fingerprint(writer) == fingerprint:
            decode = compiled
        else:  # another version of the record: resolve it to the current one
            try:
                parsed = parse_schema(writer)
            except (SchemaParseException, UnknownType, ValueError, TypeError, KeyError):
                raise CodecError(
                    UNKNOWN_SCHEMA_ID, f"schema id {schema_id} is not a readable {name}"
                ) from None
            reader = self.registry.writer(event_type)[1]
            from_dict = Binding(self.registry.current[event_type].schema).from_dict
            decode = _resolving_reader(parsed, reader, from_dict)
        self._readers[data[:5]] = (event_type, decode)
        return event_type, decode


class ConfluentSerializerCodec:
    """Confluent wire format through confluent-kafka's ``AvroSerializer`` and
    ``AvroDeserializer`` (the reference :class:`ConfluentCodec` is held to).

    Subjects follow the topic name strategy (``<topic>-value``); schemas are registered
    fully resolved (no references) the first time an event type is written to a topic.
    """

    def __init__(
        self, client: SchemaRegistryClient, registry: EmbeddedRegistry | None = None
    ) -> None:
        from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer

        self.client = client
        self.registry = registry or default_registry()
        conf = {"auto.register.schemas": True, "subject.name.strategy.type": "TOPIC"}
        self._serializers: dict[type, AvroSerializer] = {}
        self._deserializers: dict[str, tuple[type[Event], AvroDeserializer]] = {}
        for event_type, writer in self.registry.current.items():
            binding = Binding(writer.schema)
            text = json.dumps(writer.schema)
            self._serializers[event_type] = AvroSerializer(
                client, text, to_dict=_ctx_ignored(binding.to_dict), conf=conf
            )
            deserializer = AvroDeserializer(
                client,
                text,
                from_dict=_ctx_ignored(binding.from_dict),
                conf={"subject.name.strategy.type": "TOPIC"},
            )
            self._deserializers[writer.full_name] = (event_type, deserializer)
        self._names: dict[int, str | None] = {}  # schema id -> record full name

    def encode(self, event: Event, topic: str) -> bytes:
        from confluent_kafka.schema_registry.error import SchemaRegistryError
        from confluent_kafka.serialization import MessageField, SerializationContext

        serializer = self._serializers.get(type(event))
        if serializer is None:
            raise CodecError(UNENCODABLE, f"{type(event).__name__} is not an event type")
        try:
            data = serializer(event, SerializationContext(topic, MessageField.VALUE))
        except (ValueError, TypeError, AttributeError, OverflowError) as error:
            raise CodecError(UNENCODABLE, f"{type(event).__name__}: {error}") from None
        except SchemaRegistryError as error:
            raise RegistryUnavailable(f"schema registry refused {topic}-value: {error}") from None
        assert data is not None
        return data

    def _name_of(self, schema_id: int) -> str | None:
        """The record name a schema id stands for (asked of the registry once per id)."""
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        if schema_id not in self._names:
            try:
                text = self.client.get_schema(schema_id).schema_str or "{}"
            except SchemaRegistryError as error:
                if error.http_status_code == 404:
                    raise CodecError(
                        UNKNOWN_SCHEMA_ID, f"schema id {schema_id} is not registered"
                    ) from None
                raise RegistryUnavailable(f"schema registry: {error}") from None
            self._names[schema_id] = json.loads(text).get("name")
        return self._names[schema_id]

    def decode(self, data: bytes, topic: str) -> Event:
        from confluent_kafka.serialization import (
            MessageField,
            SerializationContext,
            SerializationError,
        )

        if not data:
            raise CodecError(EMPTY, "empty message value")
        if len(data) < 6 or data[:1] != CONFLUENT_MAGIC:
            raise CodecError(NOT_CONFLUENT, "no Confluent wire-format header (00 + schema id)")
        schema_id = int.from_bytes(data[1:5], "big")
        found = self._deserializers.get(self._name_of(schema_id) or "")
        if found is None:
            raise CodecError(UNKNOWN_SCHEMA_ID, f"schema id {schema_id} is not a hub event")
        event_type, deserializer = found
        expected = event_type_for(topic)
        if expected is not None and expected is not event_type:
            raise _unexpected(event_type, expected)
        try:
            event = deserializer(data, SerializationContext(topic, MessageField.VALUE))
        except (SerializationError, *_DECODE_ERRORS) as error:
            raise _malformed(event_type, error) from None
        return event  # type: ignore[return-value]


def _ctx_ignored(convert: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda value, _ctx: convert(value)


def make_codec(settings: Settings) -> Codec:
    """The codec the settings ask for: Confluent with a registry URL, else embedded."""
    if settings.schema_registry_url:
        from confluent_kafka.schema_registry import SchemaRegistryClient

        return ConfluentCodec(
            SchemaRegistryClient.new_client({"url": settings.schema_registry_url})
        )
    return SingleObjectCodec()
