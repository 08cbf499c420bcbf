"""Standardisation: each field's clean form, the flags for dropped values, idempotence."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.names import (
    clean_family_name,
    clean_given_name,
    known_forms,
    name_group,
    one_known_name,
)
from matchers.records import SourceRecord, StandardRecord
from matchers.standardise import (
    check_dob,
    check_email,
    check_phone,
    check_sex,
    check_timestamp,
    check_uprn,
    clean_place,
    standardise,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Zoë", "zoe"),
        ("  MARY  ", "mary"),
        ("Dr. Anne-Marie", "anne-marie"),
        ("Mrs Jane", "jane"),
        ("Mr", None),
        ("jean paul", "jean-paul"),
        ("clifford,", "clifford"),
        ("", None),
    ],
)
def test_given_names(raw: str, expected: str | None) -> None:
    assert clean_given_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("O'Brien", "obrien"),
        ("Smith-Jones", "smith-jones"),
        ("Smith Jones", "smith-jones"),
        ("smith - jones", "smith-jones"),
        ("Ødegård", "odegard"),
        ("Smith Jr.", "smith"),
        ("Junior", "junior"),
    ],
)
def test_family_names(raw: str, expected: str) -> None:
    assert clean_family_name(raw) == expected


@pytest.mark.parametrize(
    ("nickname", "formal"),
    [
        ("bob", "robert"),
        ("robert", "robert"),
        ("peggy", "margaret"),
        ("bill", "william"),
        ("tom", "thomas"),
        ("jack", "john"),
        ("liz", "elizabeth"),
        ("peggy-sue", "margaret"),
        ("rhomas", "rhomas"),
    ],
)
def test_nickname_groups(nickname: str, formal: str) -> None:
    assert name_group(nickname) == formal


@pytest.mark.parametrize(
    ("a", "b", "one"),
    [
        ("bob", "robert", True),  # a nickname of the other
        ("bob", "rob", True),  # two nicknames of one name (VARIANT_GROUPS)
        ("ifeoma-titilayo", "ify", True),  # a double name by its first part
        ("robert", "william", False),  # both known as Bill
        ("john", "nathan", False),  # both forms of Jonathan
        ("mary", "rose", False),  # through Rosemary
    ],
)
def test_one_known_name_is_one_a_form_of_the_other_not_two_sharing_a_third(
    a: str, b: str, one: bool
) -> None:
    assert known_forms(a, b)  # (the looser test, for matching, takes them all for one)
    assert one_known_name(a, b) is one


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1971-06-24", ("1971-06-24", None)),
        ("1971-6-4", ("1971-06-04", None)),
        ("19710624", ("1971-06-24", None)),
        ("24061971", ("1971-06-24", None)),
        ("24/06/1971", ("1971-06-24", None)),
        ("4/6/1971", ("1971-06-04", None)),
        ("24-06-1971", ("1971-06-24", None)),
        ("24.06.1971", ("1971-06-24", None)),
        ("1971/06/24", ("1971-06-24", None)),
        ("1971-06-24T00:00:00Z", ("1971-06-24", None)),
        ("24 June 1971", ("1971-06-24", None)),
        ("June 1971", (None, "dob_format")),
        ("24/06/71", (None, "dob_format")),
        ("not known", (None, "dob_format")),
        ("31/02/1990", (None, "dob_invalid")),
        ("1819-12-55", (None, "dob_invalid")),
        ("0000-00-00", (None, "dob_invalid")),
        ("01/01/1900", (None, "dob_placeholder")),
        ("1900-01-01", (None, "dob_placeholder")),
        ("01/01/1800", (None, "dob_placeholder")),
        ("1901-01-01", (None, "dob_placeholder")),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_dates_of_birth(raw: str | None, expected: tuple[str | None, str | None]) -> None:
    assert check_dob(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("07700 900123", ("+447700900123", None)),
        ("(020) 7946 0018", ("+442079460018", None)),
        ("+44 (0)20 7946 0018", ("+442079460018", None)),
        ("0044 20 7946 0018", ("+442079460018", None)),
        ("447700900123", ("+447700900123", None)),
        ("+1 212-555-0100", ("+12125550100", None)),
        ("12345", (None, "phone_format")),
        ("00000000000", (None, "phone_placeholder")),
        ("ring reception", (None, "phone_format")),
    ],
)
def test_phones(raw: str, expected: tuple[str | None, str | None]) -> None:
    assert check_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Bob.Smith@Example.CO.UK ", ("bob.smith@example.co.uk", None)),
        ("bob@", (None, "email_format")),
        ("noemail@council.gov.uk", (None, "email_placeholder")),
        ("a@none.com", (None, "email_placeholder")),
    ],
)
def test_emails(raw: str, expected: tuple[str | None, str | None]) -> None:
    assert check_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("M", "m"), ("female", "f"), ("2", "f"), ("Unknown", None), ("x", None), (None, None)],
)
def test_sex(raw: str | None, expected: str | None) -> None:
    assert check_sex(raw)[0] == expected


def test_sex_that_is_not_a_sex_is_flagged() -> None:
    assert check_sex("banana") == (None, "sex_format")


def test_uprn() -> None:
    assert check_uprn("000100023") == ("100023", None)
    assert check_uprn("100023.0") == ("100023", None)
    assert check_uprn("12A") == (None, "uprn_format")
    assert check_uprn("0") == (None, "uprn_format")


def test_place() -> None:
    assert clean_place("10, High St.") == "10 high street"
    assert clean_place("St Pancras Way") == "st pancras way"
    assert clean_place("Bristol, City of") == "bristol city of"


def test_whole_record() -> None:
    record = standardise(
        SourceRecord(
            record_id="crm:1",
            first_name="Mr Bob",
            last_name="O'Brien-Smyth",
            dob="01/02/1980",
            sex="Male",
            postcode="nw12db",
            address_line_1="10, High St.",
            nhs_number="943 476 5919",
            ni_number="jg103759a",
            upn="A12345678901B",
            phone="07700 900123",
            email=" Bob@Council.gov.uk ",
        )
    )
    assert (record.first_name, record.first_name_group, record.last_name) == (
        "bob",
        "robert",
        "obrien-smyth",
    )
    assert record.dob == "1980-02-01"
    assert record.sex == "m"
    assert (record.postcode, record.postcode_sector, record.postcode_district) == (
        "NW1 2DB",
        "NW1 2",
        "NW1",
    )
    assert record.address_key == "10 high street|NW1 2DB"
    assert record.nhs_number == "9434765919"
    assert record.ni_number == "JG103759A"
    assert record.upn is None
    assert record.flags == frozenset({"upn_check_letter"})
    assert record.phone == "+447700900123"
    assert record.email == "bob@council.gov.uk"


def test_uprn_is_the_address_key_when_known() -> None:
    record = standardise(
        SourceRecord(record_id="1", uprn="100023", address_line_1="1 A St", postcode="NW1 2DB")
    )
    assert record.address_key == "uprn:100023"


def test_invalid_values_become_none_with_their_reason() -> None:
    record = standardise(
        SourceRecord(
            record_id="1",
            dob="01/01/1900",
            nhs_number="9434765918",
            ni_number="QQ123456C",
            postcode="not a postcode",
            phone="123",
            email="nobody",
        )
    )
    assert (record.dob, record.nhs_number, record.ni_number, record.postcode) == (None,) * 4
    assert record.flags == {
        "dob_placeholder",
        "nhs_number_check_digit",
        "ni_number_format",
        "postcode_format",
        "phone_format",
        "email_format",
    }


# -- idempotence ---------------------------------------------------------------------

_SOURCE_FIELDS = [f.name for f in dataclasses.fields(SourceRecord)]

text = st.one_of(st.none(), st.text(max_size=30))
dates = st.one_of(
    text,
    st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
    st.dates().map(lambda d: d.strftime("%Y%m%d")),
    st.dates().map(str),
)
phones = st.one_of(text, st.from_regex(r"(\+44 ?|0|0044)[1-9]\d{8,9}", fullmatch=True))
identifiers = st.one_of(text, st.from_regex(r"\d{10}", fullmatch=True))
ni_numbers = st.one_of(text, st.from_regex(r"[A-Z]{2}\d{6}[A-D]?", fullmatch=True))
postcodes = st.one_of(text, st.from_regex(r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", fullmatch=True))
records = st.builds(
    SourceRecord,
    record_id=st.text(min_size=1, max_size=10),
    source_system=text,
    first_name=text,
    middle_name=text,
    last_name=text,
    dob=dates,
    sex=st.one_of(text, st.sampled_from(["M", "F", "male", "Female", "U"])),
    address_line_1=text,
    address_line_2=text,
    town=text,
    postcode=postcodes,
    uprn=st.one_of(text, st.integers(0, 10**13).map(str)),
    nhs_number=identifiers,
    ni_number=ni_numbers,
    upn=text,
    phone=phones,
    email=st.one_of(text, st.emails()),
    residence_start=dates,
    residence_end=dates,
    updated_at=text,
)


def _as_source(record: StandardRecord) -> SourceRecord:
    return SourceRecord(**{name: getattr(record, name) for name in _SOURCE_FIELDS})


def _values(record: StandardRecord) -> dict[str, object]:
    values = dataclasses.asdict(record)
    values.pop("flags")
    return values


@settings(max_examples=400)
@given(records)
def test_standardising_is_idempotent(source: SourceRecord) -> None:
    once = standardise(source)
    twice = standardise(_as_source(once))
    assert _values(twice) == _values(once)
    assert twice.flags <= once.flags


@given(st.text(max_size=40))
def test_name_cleaning_is_idempotent(name: str) -> None:
    for clean in (clean_given_name, clean_family_name):
        cleaned = clean(name)
        assert clean(cleaned) == cleaned
        assert cleaned is None or set(cleaned) <= set("abcdefghijklmnopqrstuvwxyz-")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00+00:00"),
        ("2026-11-20 10:00:00", "2026-11-20T10:00:00+00:00"),  # no zone: UTC
        ("2026-11-20T10:30:00+01:00", "2026-11-20T09:30:00+00:00"),
        ("05/11/2026 10:00", "2026-11-05T10:00:00+00:00"),  # UK order: 5 November
        ("2026-11-20T10:00:00.123456Z", "2026-11-20T10:00:00.123000+00:00"),  # to the ms
        ("9999-12-31T23:00:00-05:00", None),  # past the year 9999 in UTC
        ("2026/11/05 10:00", "2026-11-05T10:00:00+00:00"),  # year first: 5 November
        ("2026-11-20 10:00 +24:00", None),  # no such offset
        ("26/11/05 10:00", None),  # 2005 or 1905?
        ("soon", None),
    ],
)
def test_change_times_read_as_the_stream_writes_them(raw: str, expected: str | None) -> None:
    assert check_timestamp(raw)[0] == expected


def test_the_most_recent_address_wins_however_a_source_writes_its_times() -> None:
    """Times were compared as text: 05/11/2026 beat 20/10/2026 but lost to 2026-10-20
    (and 10:30+01:00 beat 10:00 UTC), so the address, and the household, depended on how
    each source wrote its times."""
    from matchers.survivorship import SurvivorshipRules, golden_record

    def at(place: str, postcode: str, updated_at: str) -> StandardRecord:
        source = SourceRecord(
            record_id=f"housing:{postcode}",
            source_system="housing",
            first_name="Ann",
            address_line_1=place,
            postcode=postcode,
            updated_at=updated_at,
        )
        return standardise(source)

    for old, new in [
        ("20/10/2026 10:00", "05/11/2026 10:00"),
        ("2026-11-20T09:00:00Z", "2026-11-20 10:00:00"),
        ("2026-11-20T10:30:00+01:00", "2026-11-20T10:00:00Z"),
    ]:
        records = [at("9 Oak Road", "N7 8UX", old), at("1 Ivy Road", "NW1 2DB", new)]
        assert golden_record(records, SurvivorshipRules()).address_line_1 == "1 ivy road"


def test_a_date_of_birth_written_year_first_with_a_time_is_read_year_first() -> None:
    assert check_dob("1984/03/07 00:00") == ("1984-03-07", None)
    assert check_dob("07/03/1984 00:00") == ("1984-03-07", None)
