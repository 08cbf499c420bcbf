"""Validation at ingest: bad identifiers are dropped and flagged (the person is kept);
undecodable or structurally invalid messages are rejected with a reason; nothing raises."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchers.identifiers import check_nhs_number, check_ni_number, check_postcode, check_upn
from matchers.standardise import check_uprn
from monitoring.metrics import build_metrics
from schemas.codec import SINGLE_OBJECT_MAGIC, SingleObjectCodec
from schemas.events import (
    Address,
    DeadLettered,
    JudgementRecorded,
    NameKind,
    Operation,
    OtherName,
    PartnerIndicator,
    Person,
    PersonChanged,
    PropertyChanged,
    RelationshipKind,
    RelationshipObserved,
)
from schemas.topics import (
    HUB_JUDGEMENTS,
    dead_letter,
    partner,
    source_persons,
    source_properties,
    source_relationships,
)
from streams.dead_letters import HEADER_PREFIX, dead_letter_headers, dead_letter_message
from streams.validation import (
    Accepted,
    RawMessage,
    Rejected,
    clean_person,
    validate_message,
    why_invalid,
)
from tests.strategies import any_event, records_of

pytestmark = pytest.mark.unit

CODEC = SingleObjectCodec()
TODAY = dt.date(2025, 3, 1)
NOW = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
TOPIC = source_persons("housing")

MARGARET = Person(
    first_name="Margaret",
    last_name="Okafor",
    dob=dt.date(1984, 3, 7),
    address=Address(line_1="12 Acacia Avenue", town="London", postcode="nw1 2db", uprn="5023741"),
    nhs_number="943 476 5919",
    ni_number="ab 12 34 56 c",
    upn="u202123456789",
    email="margaret@example.org",
)


def person_event(person: Person | None = MARGARET, **changes: Any) -> PersonChanged:
    values: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "op": Operation.CREATE if person is not None else Operation.DELETE,
        "source_system": "housing",
        "source_record_id": "H-1",
        "event_ts": NOW,
        "after": person,
    }
    values.update(changes)
    return PersonChanged(**values)


def message(value: bytes | None, topic: str = TOPIC, offset: int = 7) -> RawMessage:
    return RawMessage(topic=topic, partition=2, offset=offset, key=b"housing:H-1", value=value)


def validate(event: Any, topic: str = TOPIC) -> Accepted | Rejected:
    return validate_message(message(CODEC.encode(event), topic), CODEC, TODAY)


def accepted_person(event: PersonChanged) -> Person:
    result = validate(event)
    assert isinstance(result, Accepted), result
    assert isinstance(result.event, PersonChanged) and result.event.after is not None
    return result.event.after


def test_a_valid_person_is_accepted_with_identifiers_in_canonical_form() -> None:
    person = accepted_person(person_event())
    assert person.nhs_number == "9434765919"
    assert person.ni_number == "AB123456C"
    assert person.upn == "U202123456789"
    assert person.address is not None and person.address.postcode == "NW1 2DB"
    assert person.quality_flags == ()
    assert person.first_name == "Margaret"


@pytest.mark.parametrize(
    ("event", "topic", "where"),
    [
        (person_event(dataclasses.replace(MARGARET, first_name="Marg\x00aret")), TOPIC,
         "PersonChanged.after.first_name"),
        (person_event(source_record_id="H-\x001"), TOPIC, "PersonChanged.source_record_id"),
        (person_event(dataclasses.replace(MARGARET, address=Address(line_1="12\x00 Acacia"))),
         TOPIC, "PersonChanged.after.address.line_1"),
        (person_event(dataclasses.replace(MARGARET, other_names=(
            OtherName(kind=NameKind.ALIAS, first_name="Maggie"),
            OtherName(kind=NameKind.PREVIOUS, last_name="Ok\x00")))), TOPIC,
         "PersonChanged.after.other_names.last_name"),
        (person_event(dataclasses.replace(MARGARET, source_ids={"nhs": "9\x00"})), TOPIC,
         "PersonChanged.after.source_ids[]"),
    ],
)  # fmt: skip
def test_a_nul_character_anywhere_dead_letters_the_event_naming_the_field_not_the_value(
    event: PersonChanged, topic: str, where: str
) -> None:
    # (PostgreSQL cannot store a NUL: accepted, it would stop the store write of its batch)
    result = validate(event, topic)
    assert isinstance(result, Rejected) and result.reason == "nul_character"
    assert result.detail == f"{where} holds a NUL character"
    relation = validate(_relationship(related_record_id="R\x00"), source_relationships("housing"))
    assert isinstance(relation, Rejected) and relation.reason == "nul_character"
    assert isinstance(validate(person_event()), Accepted)


def test_a_judgement_names_two_different_records_and_a_person() -> None:
    def judgement(**changes: Any) -> JudgementRecorded:
        values: dict[str, Any] = {
            "event_id": str(uuid.uuid4()), "judged_at": dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
            "record_id": "housing:H1", "other_record_id": "libraries:L7", "same": False,
            "judged_by": "officer-17",
        }  # fmt: skip
        return JudgementRecorded(**{**values, **changes})

    assert isinstance(validate(judgement(), HUB_JUDGEMENTS), Accepted)
    rejected = {
        "housing:H1": "same_record",  # the same record twice
        "L7": "record_id_format",  # no source system
        "libraries:": "record_id_format",
        "Libraries:L7": "record_id_format",  # not a system's name
        " libraries:L7": "record_id_format",  # (the same record as a person reads it)
    }
    for other, reason in rejected.items():
        result = validate(judgement(other_record_id=other), HUB_JUDGEMENTS)
        assert isinstance(result, Rejected) and result.reason == reason, other
    result = validate(judgement(judged_by="source:housing"), HUB_JUDGEMENTS)
    assert isinstance(result, Rejected) and result.reason == "reserved_name"
    result = validate(judgement(judged_by=" "), HUB_JUDGEMENTS)
    assert isinstance(result, Rejected) and result.reason == "missing_field"
    for by in ("officer\x1b[2J", "officer\n17", "officer\u202e71", "officer\u2028"):
        result = validate(judgement(judged_by=by), HUB_JUDGEMENTS)
        assert isinstance(result, Rejected) and result.reason == "name_format", repr(by)
    for by in ("Siân O'Brien", "Mehr\u200cdad"):  # (a Persian name's zero-width non-joiner)
        assert isinstance(validate(judgement(judged_by=by), HUB_JUDGEMENTS), Accepted), by
    # a judgement dated ahead would win over every later one
    ahead = judgement(judged_at=dt.datetime(2025, 3, 3, tzinfo=dt.UTC))  # (today: 1 March)
    result = validate(ahead, HUB_JUDGEMENTS)
    assert isinstance(result, Rejected) and result.reason == "date_out_of_range"
    # what `hub review judge` asks before it publishes
    assert why_invalid(judgement(), HUB_JUDGEMENTS, TODAY) is None
    assert why_invalid(judgement(record_id="libraries:L7"), HUB_JUDGEMENTS, TODAY) == (
        "a judgement needs two different records"
    )


def test_a_text_longer_than_the_store_or_kafka_takes_dead_letters_the_event() -> None:
    # ("housing:" and 192 characters is a record id of 200, the store's longest)
    assert isinstance(validate(person_event(source_record_id="H" * 192)), Accepted)
    too_long = {
        "PersonChanged.source_record_id makes a record id of 201 characters (at most 200)":
            validate(person_event(source_record_id="H" * 193)),
        "PersonChanged.after.address.line_1 is longer than 10,000 characters": validate(
            person_event(dataclasses.replace(MARGARET, address=Address(line_1="x" * 10_001)))
        ),
        "RelationshipObserved.role is 64 characters (at most 63)":
            validate(_relationship(role="r" * 64), source_relationships("housing")),
        "PartnerIndicator.indicator is 64 characters (at most 63)":
            validate(_indicator(indicator="i" * 64), partner("school_attendance")),
    }  # fmt: skip
    for detail, result in too_long.items():
        assert isinstance(result, Rejected) and result.reason == "too_long"
        assert result.detail == detail


@pytest.mark.parametrize(
    ("changes", "field", "flag"),
    [
        ({"nhs_number": "9434765918"}, "nhs_number", "nhs_number_check_digit"),
        ({"nhs_number": "12345"}, "nhs_number", "nhs_number_format"),
        ({"ni_number": "AB12345"}, "ni_number", "ni_number_format"),
        ({"ni_number": "GB123456A"}, "ni_number", "ni_number_format"),
        ({"upn": "B202123456789"}, "upn", "upn_check_letter"),
        ({"dob": dt.date(2031, 1, 1)}, "dob", "dob_in_future"),
        ({"dob": dt.date(999, 12, 31)}, "dob", "dob_invalid"),  # (the core's bound, 1000)
        ({"email": "not an email"}, "email", "email_format"),
    ],
)
def test_an_invalid_value_is_dropped_and_flagged_and_the_person_kept(
    changes: dict[str, Any], field: str, flag: str
) -> None:
    person = accepted_person(person_event(dataclasses.replace(MARGARET, **changes)))
    assert getattr(person, field) is None
    assert flag in person.quality_flags
    assert person.last_name == "Okafor"  # the rest of the person is untouched
    assert person.nhs_number == ("9434765919" if field != "nhs_number" else None)


def test_address_problems_are_dropped_and_flagged() -> None:
    address = Address(
        line_1="1 High St",
        postcode="NOT A POSTCODE",
        uprn="UPRN-12",
        residence_start=dt.date(2020, 1, 1),
        residence_end=dt.date(2019, 1, 1),
    )
    person = accepted_person(person_event(dataclasses.replace(MARGARET, address=address)))
    assert person.address == Address(
        line_1="1 High St", residence_start=dt.date(2020, 1, 1), residence_end=None
    )
    assert {"postcode_format", "uprn_format", "residence_dates_inverted"} <= set(
        person.quality_flags
    )


def test_a_historical_date_of_birth_is_kept_as_the_matching_core_keeps_it() -> None:
    person = accepted_person(person_event(dataclasses.replace(MARGARET, dob=dt.date(1630, 8, 1))))
    assert person.dob == dt.date(1630, 8, 1)


def test_flags_already_on_the_person_are_kept() -> None:
    person = dataclasses.replace(MARGARET, nhs_number="1", quality_flags=("dob_unreadable",))
    assert accepted_person(person_event(person)).quality_flags == (
        "dob_unreadable",
        "nhs_number_format",
    )


@pytest.mark.parametrize(
    ("event", "topic", "reason"),
    [
        (person_event(source_record_id=" "), TOPIC, "missing_field"),
        (person_event(event_id=""), TOPIC, "missing_field"),
        (person_event(op=Operation.DELETE), TOPIC, "op_mismatch"),
        (person_event(None, op=Operation.UPDATE), TOPIC, "op_mismatch"),
        (person_event(source_system="council_tax"), TOPIC, "source_mismatch"),
        (person_event(Person(sex="F", phone="020 7946 0000")), TOPIC, "person_empty"),
        # nothing left once cleaning drops a date in the future or a bad NHS number
        (person_event(Person(dob=dt.date(2090, 1, 1))), TOPIC, "person_empty"),
        (person_event(Person(nhs_number="1234567890", sex="F")), TOPIC, "person_empty"),
        # a source time ahead (its version): every real change after it would be stale
        (person_event(source_ts=NOW + dt.timedelta(days=2)), TOPIC, "date_out_of_range"),
        (
            person_event(source_ts=dt.datetime(9999, 12, 31, tzinfo=dt.UTC)),
            TOPIC,
            "date_out_of_range",
        ),
        (person_event(), partner("neet"), "unexpected_type"),
    ],
)
def test_structurally_invalid_person_events_are_rejected(
    event: PersonChanged, topic: str, reason: str
) -> None:
    result = validate(event, topic)
    assert isinstance(result, Rejected)
    assert result.reason == reason
    assert result.event_type == "uk.gov.residentshub.PersonChanged"


def test_a_delete_without_payload_is_accepted() -> None:
    result = validate(person_event(None))
    assert isinstance(result, Accepted)
    assert result.flags == ()


def _relationship(**changes: Any) -> RelationshipObserved:
    values: dict[str, Any] = {
        "event_id": "r-1",
        "op": Operation.CREATE,
        "source_system": "housing",
        "event_ts": NOW,
        "relationship_id": "rel-1",
        "kind": RelationshipKind.PARENT,
        "subject_record_id": "H-1",
        "related_record_id": "H-2",
    }
    values.update(changes)
    return RelationshipObserved(**values)


def _indicator(**changes: Any) -> PartnerIndicator:
    values: dict[str, Any] = {
        "event_id": "i-1",
        "op": Operation.CREATE,
        "dataset": "school_attendance",
        "indicator_id": "ind-1",
        "source_record_id": "P-9",
        "indicator": "attendance_pct",
        "period_start": dt.date(2024, 9, 1),
        "period_end": dt.date(2024, 12, 20),
        "value": 86.5,
        "unit": "percent",
        "event_ts": NOW,
    }
    values.update(changes)
    return PartnerIndicator(**values)


@pytest.mark.parametrize(
    ("event", "topic", "reason"),
    [
        (_relationship(), source_relationships("housing"), None),
        (_relationship(related_record_id=None), source_relationships("housing"), "missing_field"),
        (
            _relationship(kind=RelationshipKind.FAMILY_GROUP, related_record_id=None),
            source_relationships("housing"),
            "missing_field",
        ),
        (
            _relationship(start=dt.date(1700, 1, 1)),
            source_relationships("housing"),
            "date_out_of_range",
        ),
        (
            _relationship(start=dt.date(2020, 1, 1), end=dt.date(2019, 1, 1)),
            source_relationships("housing"),
            "dates_inverted",
        ),
        (_indicator(), partner("school_attendance"), None),
        (_indicator(), partner("neet"), "source_mismatch"),
        (_indicator(value=None), partner("school_attendance"), "no_value"),
        (
            _indicator(period_end=dt.date(2024, 1, 1)),
            partner("school_attendance"),
            "dates_inverted",
        ),
    ],
)
def test_other_events_are_checked_for_structure(event: Any, topic: str, reason: str | None) -> None:
    result = validate(event, topic)
    if reason is None:
        assert isinstance(result, Accepted)
    else:
        assert isinstance(result, Rejected) and result.reason == reason


def _property(**changes: Any) -> PropertyChanged:
    values: dict[str, Any] = {
        "event_id": "p-1",
        "op": Operation.CREATE,
        "source_system": "property_gazetteer",
        "event_ts": NOW,
        "uprn": "5023741",
        "street": "Acacia Avenue",
        "postcode": "nw1 2db",
    }
    values.update(changes)
    return PropertyChanged(**values)


def test_a_gazetteer_property_needs_a_uprn_and_gets_a_canonical_postcode() -> None:
    topic = source_properties("property_gazetteer")
    result = validate(_property(), topic)
    assert isinstance(result, Accepted) and isinstance(result.event, PropertyChanged)
    assert result.event.postcode == "NW1 2DB"
    for bad in (_property(uprn="UPRN-1"), _property(uprn="1234567890123")):
        rejected = validate(bad, topic)
        assert isinstance(rejected, Rejected) and rejected.reason == "uprn_format"
    foreign = validate(_property(source_system="housing"), topic)
    assert isinstance(foreign, Rejected) and foreign.reason == "source_mismatch"


def test_a_partner_indicators_person_is_cleaned_too() -> None:
    person = Person(last_name="Okafor", nhs_number="9434765918")
    result = validate(_indicator(person=person), partner("school_attendance"))
    assert isinstance(result, Accepted)
    assert isinstance(result.event, PartnerIndicator) and result.event.person is not None
    assert result.event.person.nhs_number is None
    assert result.flags == ("nhs_number_check_digit",)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty"),
        (b"", "empty"),
        (b"garbage bytes", "not_single_object"),
        (SINGLE_OBJECT_MAGIC + b"\x01" * 8 + b"\x00", "unknown_fingerprint"),
    ],
)
def test_undecodable_messages_are_rejected_with_the_codecs_reason(
    value: bytes | None, reason: str
) -> None:
    result = validate_message(message(value), CODEC, TODAY)
    assert isinstance(result, Rejected)
    assert result.reason == reason


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_validation_never_raises_on_any_bytes(value: bytes) -> None:
    for candidate in (value, SINGLE_OBJECT_MAGIC + value):
        assert isinstance(validate_message(message(candidate), CODEC, TODAY), Accepted | Rejected)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(any_event())
def test_validation_of_any_decodable_event_accepts_or_rejects(event: Any) -> None:
    result = validate_message(message(CODEC.encode(event), "any.topic"), CODEC, TODAY)
    assert isinstance(result, Accepted | Rejected)


_nhs = st.sampled_from(["9434765919", "943 476 5919", "9434765918", "0000000000", "12", None])
_ni = st.sampled_from(["AB123456C", "ab123456", "BG123456A", "QQ123456C", "A1234", None])
_upn = st.sampled_from(["U202123456789", "u 202 123 456 789", "B202123456789", "A12", None])
_postcode = st.sampled_from(["NW1 2DB", "nw12db", "SW1A 1AA", "99999", "", None])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(person=records_of(Person), nhs=_nhs, ni=_ni, upn=_upn, postcode=_postcode, dob=st.dates())
def test_cleaning_leaves_only_valid_identifiers_and_is_idempotent(
    *,
    person: Person,
    nhs: str | None,
    ni: str | None,
    upn: str | None,
    postcode: str | None,
    dob: dt.date,
) -> None:
    address = dataclasses.replace(person.address or Address(), postcode=postcode)
    person = dataclasses.replace(
        person, nhs_number=nhs, ni_number=ni, upn=upn, dob=dob, address=address, first_name="A"
    )
    cleaned, _flags = clean_person(person, TODAY)
    for value, check in (
        (cleaned.nhs_number, check_nhs_number),
        (cleaned.ni_number, check_ni_number),
        (cleaned.upn, check_upn),
        (cleaned.address.postcode if cleaned.address else None, check_postcode),
    ):
        assert value is None or check(value) == (value, None)
    assert cleaned.dob is None or dt.date(1000, 1, 1) <= cleaned.dob <= TODAY
    again, more_flags = clean_person(cleaned, TODAY)
    assert again == cleaned
    assert more_flags == ()


# -- dead letters -------------------------------------------------------------------------


def test_a_dead_letter_keeps_the_original_bytes_and_says_why_in_headers() -> None:
    original = CODEC.encode(person_event(op=Operation.DELETE))
    rejected = validate_message(message(original, offset=41), CODEC, TODAY)
    assert isinstance(rejected, Rejected)
    out = dead_letter_message(rejected, CODEC, now=NOW)
    assert out.topic == dead_letter(TOPIC) == "src.housing.persons.dlq"
    assert out.key == b"housing:H-1"
    headers = dict(out.headers)
    assert headers[HEADER_PREFIX + "reason"] == b"op_mismatch"
    assert headers[HEADER_PREFIX + "source_topic"] == TOPIC.encode()
    assert headers[HEADER_PREFIX + "source_partition"] == b"2"
    assert headers[HEADER_PREFIX + "source_offset"] == b"41"
    letter = CODEC.decode(out.value, out.topic)
    assert isinstance(letter, DeadLettered)
    assert letter.payload == original
    assert (letter.reason, letter.source_offset, letter.stage) == ("op_mismatch", 41, "validate")


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(records_of(Person))
def test_dead_letter_headers_and_details_never_carry_personal_data(person: Person) -> None:
    """Whatever the person holds, what a dead letter exposes outside its payload is the
    same as for a person holding nothing: it cannot contain any of their values."""

    def exposed(who: Person) -> bytes:
        event = person_event(who, op=Operation.DELETE, event_id="e-1")  # invalid: op_mismatch
        rejected = validate(event)
        assert isinstance(rejected, Rejected)
        headers = b"|".join(v for _, v in dead_letter_headers(rejected))
        return headers + rejected.detail.encode()

    assert exposed(person) == exposed(Person())


def test_metrics_are_built_from_one_registry_with_hub_names() -> None:
    metrics = build_metrics()
    metrics.dead_letters.labels(topic=TOPIC, reason="malformed").inc()
    names = {m.name for m in metrics.registry.collect()}
    assert names and all(name.startswith("hub_") for name in names)
    assert (
        metrics.registry.get_sample_value(
            "hub_dead_letters_total", {"topic": TOPIC, "reason": "malformed"}
        )
        == 1.0
    )


def test_a_uprn_is_read_as_the_matching_core_reads_it() -> None:
    """A UPRN that went through a spreadsheet (``100021234567.0``) was dropped by the stream
    while `hub link` and `hub bootstrap` kept it: households differed."""
    for written, kept in (("100021234567.0", "100021234567"), ("005023741", "5023741")):
        address = Address(line_1="1 High St", postcode="NW1 2DB", uprn=written)
        person = accepted_person(person_event(dataclasses.replace(MARGARET, address=address)))
        assert person.address is not None
        assert person.address.uprn == kept == check_uprn(written)[0]
        assert "uprn_format" not in person.quality_flags
