"""Codecs: every event round-trips; the compiled codec writes exactly what fastavro writes;
any bytes at all either decode or raise one CodecError; old schema versions stay readable."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import json
import pickle
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import SCHEMA_DIR
from schemas import topics as t
from schemas.binding import Binding
from schemas.codec import (
    EMPTY,
    MALFORMED,
    NOT_CONFLUENT,
    NOT_SINGLE_OBJECT,
    SINGLE_OBJECT_MAGIC,
    TRAILING_BYTES,
    UNEXPECTED_TYPE,
    UNKNOWN_FINGERPRINT,
    UNKNOWN_SCHEMA_ID,
    CodecError,
    ConfluentCodec,
    ConfluentSerializerCodec,
    SingleObjectCodec,
)
from schemas.compiled import _EPOCH, CompiledSchema, _timestamp
from schemas.events import (
    EVENT_TYPES,
    Event,
    Operation,
    Person,
    PersonChanged,
    Team,
)
from schemas.registry import EmbeddedRegistry, default_registry, load_resolved, schema_fingerprint
from tests.strategies import any_event, events_of

pytestmark = pytest.mark.unit

CODEC = SingleObjectCodec()
TOPICS: dict[type, str] = {
    t.event_type_for(topic): topic  # type: ignore[misc]
    for topic in (
        t.source_persons("housing"),
        t.source_relationships("housing"),
        t.source_properties("property_gazetteer"),
        t.partner("neet"),
        t.CMS_WORKERS,
        t.CMS_TEAMS,
        t.CMS_ALLOCATIONS,
        t.CMS_WORKFLOW_STEPS,
        t.HUB_MATCH_DECISIONS,
        t.HUB_PERSONS,
        t.HUB_PERSON_MERGES,
        t.HUB_PERSON_SPLITS,
        t.HUB_PERSON_REMOVALS,
        t.HUB_HOUSEHOLDS,
        t.HUB_REVIEW_ITEMS,
        t.HUB_JUDGEMENTS,
        t.dead_letter(t.source_persons("housing")),
    )
}
FASTAVRO = {
    event_type: (Binding(writer.schema), parse_schema(writer.schema))
    for event_type, writer in default_registry().current.items()
}
NOW = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)


def a_person_event(**changes: Any) -> PersonChanged:
    values: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "op": Operation.CREATE,
        "source_system": "housing",
        "source_record_id": "H-1",
        "event_ts": NOW,
        "after": Person(first_name="Margaret", last_name="Okafor", dob=dt.date(1984, 3, 7)),
    }
    values.update(changes)
    return PersonChanged(**values)


def test_every_event_type_has_a_topic() -> None:
    assert set(TOPICS) == set(EVENT_TYPES)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(any_event())
def test_every_event_round_trips_through_single_object_encoding(event: Event) -> None:
    data = CODEC.encode(event, TOPICS[type(event)])
    assert data[:2] == SINGLE_OBJECT_MAGIC
    assert data[2:10] == default_registry().current[type(event)].fingerprint
    assert CODEC.decode(data, TOPICS[type(event)]) == event


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(any_event())
def test_compiled_codec_and_fastavro_agree_byte_for_byte(event: Event) -> None:
    binding, parsed = FASTAVRO[type(event)]
    buffer = io.BytesIO()
    schemaless_writer(buffer, parsed, binding.to_dict(event))
    body = CODEC.encode(event)[10:]
    assert body == buffer.getvalue()
    assert binding.from_dict(schemaless_reader(io.BytesIO(body), parsed, None)) == event


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(any_event())
def test_decoded_events_are_ordinary_frozen_dataclasses(event: Event) -> None:
    """Decoding builds records without __init__: they must be indistinguishable."""
    decoded = CODEC.decode(CODEC.encode(event))
    assert type(decoded) is type(event)
    assert pickle.loads(pickle.dumps(decoded)) == decoded == event
    assert dataclasses.replace(decoded, event_id="other").event_id == "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.event_id = "changed"  # type: ignore[misc]


def test_the_compiled_codec_refuses_a_record_that_contains_itself() -> None:
    name = "uk.gov.residentshub.OtherName"
    nested = {"type": "record", "name": name, "fields": [{"name": "kind", "type": ["null", name]}]}
    with pytest.raises(TypeError, match="contains itself"):
        CompiledSchema(nested)


@given(st.integers(-(2**60), 2**60))
def test_fast_timestamp_conversion_is_exact_to_the_millisecond(millis: int) -> None:
    try:
        expected = _EPOCH + dt.timedelta(milliseconds=millis)
    except OverflowError:
        return  # beyond datetime's range: both paths refuse
    assert _timestamp(millis) == expected


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_raise_codec_error(data: bytes) -> None:
    for candidate in (data, SINGLE_OBJECT_MAGIC + data, _header(PersonChanged) + data):
        try:
            CODEC.decode(candidate)
        except CodecError as error:
            assert error.reason in {
                EMPTY,
                NOT_SINGLE_OBJECT,
                UNKNOWN_FINGERPRINT,
                MALFORMED,
                TRAILING_BYTES,
            }


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(any_event(), st.data())
def test_damaged_events_decode_or_raise_codec_error(event: Event, data: st.DataObject) -> None:
    raw = bytearray(CODEC.encode(event))
    cut = data.draw(st.integers(10, len(raw) - 1))
    damaged = [bytes(raw[:cut]), bytes(raw) + b"\x00"]
    raw[cut] = data.draw(st.integers(0, 255))
    damaged.append(bytes(raw))
    for candidate in damaged:
        with contextlib.suppress(CodecError):
            CODEC.decode(candidate)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(any_event(), st.data())
def test_a_truncated_event_never_decodes(event: Event, data: st.DataObject) -> None:
    """Whatever field the cut falls in (a string's length now points past the end, a
    varint stops half-way), the message is refused, never read as a shorter event."""
    raw = CODEC.encode(event)
    cut = data.draw(st.integers(10, len(raw) - 1))
    with pytest.raises(CodecError) as caught:
        CODEC.decode(raw[:cut])
    assert caught.value.reason == MALFORMED


def _header(event_type: type) -> bytes:
    return SINGLE_OBJECT_MAGIC + default_registry().current[event_type].fingerprint


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", EMPTY),
        (b"not avro at all", NOT_SINGLE_OBJECT),
        (b"\xc3\x01" + bytes(8) + b"\x00", UNKNOWN_FINGERPRINT),
        (b"\xc3\x01", NOT_SINGLE_OBJECT),
    ],
)
def test_bytes_that_are_not_events_raise_codec_error_with_a_reason(
    data: bytes, reason: str
) -> None:
    with pytest.raises(CodecError) as caught:
        CODEC.decode(data)
    assert caught.value.reason == reason


def test_truncated_and_padded_bodies_are_malformed_or_trailing() -> None:
    data = CODEC.encode(a_person_event())
    with pytest.raises(CodecError) as caught:
        CODEC.decode(data[:-3])
    assert caught.value.reason == MALFORMED
    assert caught.value.event_type == "uk.gov.residentshub.PersonChanged"
    with pytest.raises(CodecError) as caught:
        CODEC.decode(data + b"\x00\x00")
    assert caught.value.reason == TRAILING_BYTES


def test_an_event_on_another_types_topic_is_unexpected() -> None:
    data = CODEC.encode(a_person_event())
    with pytest.raises(CodecError) as caught:
        CODEC.decode(data, t.CMS_TEAMS)
    assert caught.value.reason == UNEXPECTED_TYPE
    assert isinstance(CODEC.decode(data, "some.other.topic"), PersonChanged)


def test_encoding_a_wrongly_typed_event_raises_codec_error() -> None:
    with pytest.raises(CodecError):
        CODEC.encode(a_person_event(source_record_id=None))
    with pytest.raises(CodecError):
        CODEC.encode(a_person_event(source_version="seven"))


def test_data_written_with_an_older_schema_version_reads_as_the_current_one(
    tmp_path: Path,
) -> None:
    """An earlier PersonChanged without source_version and quality_flags, kept in history/,
    still decodes: the missing fields take their defaults."""
    old_dir = tmp_path / "old"
    shutil.copytree(SCHEMA_DIR, old_dir, ignore=shutil.ignore_patterns("*.py", "history"))
    _drop_field(old_dir / "uk.gov.residentshub.PersonChanged.avsc", "source_version")
    _drop_field(old_dir / "uk.gov.residentshub.Person.avsc", "quality_flags")
    old_schema = load_resolved(old_dir, "uk.gov.residentshub.PersonChanged")
    history = tmp_path / "history"
    history.mkdir()
    (history / "uk.gov.residentshub.PersonChanged.old.json").write_text(json.dumps(old_schema))

    codec = SingleObjectCodec(EmbeddedRegistry(SCHEMA_DIR, history))
    old_record = {
        "event_id": "e-1",
        "op": "UPDATE",
        "source_system": "housing",
        "source_record_id": "H-1",
        "source_ts": None,
        "event_ts": NOW,
        "before": None,
        "after": ("uk.gov.residentshub.Person", {"first_name": "Peggy", "last_name": "Okafor"}),
    }
    buffer = io.BytesIO()
    schemaless_writer(buffer, parse_schema(old_schema), old_record)
    data = SINGLE_OBJECT_MAGIC + schema_fingerprint(old_schema) + buffer.getvalue()

    event = codec.decode(data, t.source_persons("housing"))
    assert isinstance(event, PersonChanged)
    assert event.source_version is None
    assert event.after == Person(first_name="Peggy", last_name="Okafor")
    assert event.op is Operation.UPDATE
    with pytest.raises(CodecError) as caught:
        SingleObjectCodec().decode(data)  # without the old version kept, it is unknown
    assert caught.value.reason == UNKNOWN_FINGERPRINT


def _drop_field(path: Path, name: str) -> None:
    schema = json.loads(path.read_text())
    schema["fields"] = [f for f in schema["fields"] if f["name"] != name]
    path.write_text(json.dumps(schema))


# -- Confluent wire format, with confluent-kafka's in-process mock registry --------------


def a_registry() -> SchemaRegistryClient:
    return SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4().hex}"})


@pytest.fixture(params=[ConfluentCodec, ConfluentSerializerCodec])
def confluent(request: pytest.FixtureRequest) -> ConfluentCodec | ConfluentSerializerCodec:
    """The hub's Confluent codec, and confluent-kafka's serializers it is held to."""
    return request.param(a_registry())  # type: ignore[no-any-return]


Confluent = ConfluentCodec | ConfluentSerializerCodec


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=any_event())
def test_every_event_round_trips_through_the_confluent_wire_format(
    confluent: Confluent, event: Event
) -> None:
    topic = TOPICS[type(event)]
    data = confluent.encode(event, topic)
    assert data[:1] == b"\x00"
    schema_id = int.from_bytes(data[1:5], "big")
    assert confluent.client.get_latest_version(f"{topic}-value").schema_id == schema_id
    assert confluent.decode(data, topic) == event


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(team=events_of(Team))
def test_confluent_and_embedded_bodies_are_the_same_avro(confluent: Confluent, team: Team) -> None:
    assert confluent.encode(team, t.CMS_TEAMS)[5:] == CODEC.encode(team, t.CMS_TEAMS)[10:]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", EMPTY),
        (b"\xc3\x01garbage!", NOT_CONFLUENT),
        (b"\x00\x00\x00\x03\xe7" + b"\x02", UNKNOWN_SCHEMA_ID),
    ],
)
def test_confluent_decode_errors_have_reasons(
    confluent: Confluent, data: bytes, reason: str
) -> None:
    with pytest.raises(CodecError) as caught:
        confluent.decode(data, t.source_persons("housing"))
    assert caught.value.reason == reason


def test_confluent_malformed_body_and_wrong_topic(confluent: Confluent) -> None:
    topic = t.source_persons("housing")
    data = confluent.encode(a_person_event(), topic)
    with pytest.raises(CodecError) as caught:
        confluent.decode(data[:12], topic)
    assert caught.value.reason == MALFORMED
    with pytest.raises(CodecError) as caught:
        confluent.decode(data, t.CMS_TEAMS)
    assert caught.value.reason == UNEXPECTED_TYPE


@pytest.fixture(scope="module")
def both() -> tuple[ConfluentCodec, ConfluentSerializerCodec]:
    client = a_registry()
    return ConfluentCodec(client), ConfluentSerializerCodec(client)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(event=any_event())
def test_the_confluent_codec_writes_exactly_what_confluent_kafkas_serializers_write(
    both: tuple[ConfluentCodec, ConfluentSerializerCodec], event: Event
) -> None:
    """Same registry, same subject, same schema text: the same schema id and the same bytes;
    and each reads what the other wrote."""
    ours, theirs = both
    topic = TOPICS[type(event)]
    data = ours.encode(event, topic)
    assert theirs.encode(event, topic) == data
    assert theirs.decode(data, topic) == event
    assert ours.decode(data, topic) == event


def test_confluent_trailing_bytes_are_refused() -> None:
    codec = ConfluentCodec(a_registry())
    topic = t.source_persons("housing")
    data = codec.encode(a_person_event(), topic)
    with pytest.raises(CodecError) as caught:
        codec.decode(data + b"\x00", topic)
    assert caught.value.reason == TRAILING_BYTES


def test_confluent_reads_an_older_schema_version_from_the_registry(tmp_path: Path) -> None:
    """A PersonChanged written by a producer with an earlier schema (no source_version, no
    quality flags) under its own registry id reads as the current version, as
    confluent-kafka's AvroDeserializer reads it."""
    from confluent_kafka.schema_registry import Schema

    old_dir = tmp_path / "old"
    shutil.copytree(SCHEMA_DIR, old_dir, ignore=shutil.ignore_patterns("*.py", "history"))
    _drop_field(old_dir / "uk.gov.residentshub.PersonChanged.avsc", "source_version")
    _drop_field(old_dir / "uk.gov.residentshub.Person.avsc", "quality_flags")
    old_schema = load_resolved(old_dir, "uk.gov.residentshub.PersonChanged")
    client = a_registry()
    topic = t.source_persons("housing")
    old_id = client.register_schema(f"{topic}-value", Schema(json.dumps(old_schema), "AVRO"))
    old_record = {
        "event_id": "e-1",
        "op": "UPDATE",
        "source_system": "housing",
        "source_record_id": "H-1",
        "source_ts": None,
        "event_ts": NOW,
        "before": None,
        "after": ("uk.gov.residentshub.Person", {"first_name": "Peggy", "last_name": "Okafor"}),
    }
    buffer = io.BytesIO()
    schemaless_writer(buffer, parse_schema(old_schema), old_record)
    data = b"\x00" + old_id.to_bytes(4, "big") + buffer.getvalue()

    ours = ConfluentCodec(client).decode(data, topic)
    assert isinstance(ours, PersonChanged)
    assert ours.source_version is None
    assert ours.after == Person(first_name="Peggy", last_name="Okafor")
    assert ours == ConfluentSerializerCodec(client).decode(data, topic)
    current = ConfluentCodec(client).encode(ours, topic)
    assert int.from_bytes(current[1:5], "big") != old_id  # new data: the current version
