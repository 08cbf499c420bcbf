"""Between flat source records and the event payload: dates, flags, ids, digests."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.inputs import numbered_records
from matchers.records import SourceRecord
from matchers.standardise import PLACEHOLDER_DOBS, check_dob, standardise
from schemas.conversions import (
    content_hash,
    parse_date,
    parse_timestamp,
    person_changed,
    person_from_record,
    record_from_person,
    source_record_id,
)
from schemas.events import Operation
from streams.validation import held_by_a_worker
from tests.support.messy import write_messy_rows

pytestmark = pytest.mark.unit

NOW = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1984-03-07", (dt.date(1984, 3, 7), False)),
        ("07/03/1984", (dt.date(1984, 3, 7), False)),  # UK order: 7 March
        ("7/3/1984", (dt.date(1984, 3, 7), False)),
        ("07-03-1984", (dt.date(1984, 3, 7), False)),
        ("1984-03-07T00:00:00", (dt.date(1984, 3, 7), False)),
        ("1984-03-07 00:00:00", (dt.date(1984, 3, 7), False)),
        ("7 March 1984", (dt.date(1984, 3, 7), False)),
        ("1984/03/07", (dt.date(1984, 3, 7), False)),  # year first: month before day
        ("1984-3-7", (dt.date(1984, 3, 7), False)),
        ("19840307", (dt.date(1984, 3, 7), False)),
        ("07031984", (dt.date(1984, 3, 7), False)),
        ("07/03/84", (None, True)),  # 1984 or 1884? (`hub link` cannot tell either)
        ("31/31/1984", (None, True)),
        ("1984", (None, True)),  # a year alone is not a date of birth
        ("March 1984", (None, True)),
        ("not a date", (None, True)),
        ("", (None, False)),
        (None, (None, False)),
    ],
)
def test_parse_date(text: str | None, expected: tuple[dt.date | None, bool]) -> None:
    assert parse_date(text) == expected


def test_parse_timestamp() -> None:
    assert parse_timestamp("2024-05-01T10:00:00Z") == (
        dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC),
        False,
    )
    assert parse_timestamp("2024-05-01T11:00:00+01:00")[0] == dt.datetime(
        2024, 5, 1, 10, tzinfo=dt.UTC
    )
    assert parse_timestamp("2024-05-01 10:00:00.123456")[0] == dt.datetime(
        2024, 5, 1, 10, 0, 0, 123000, tzinfo=dt.UTC
    )
    assert parse_timestamp("yesterday-ish") == (None, True)


def test_unreadable_values_are_flagged_and_the_person_kept() -> None:
    record = SourceRecord(
        record_id="H-1", last_name="Okafor", dob="31/31/1984", updated_at="sometime"
    )
    event = person_changed(record, "housing", Operation.CREATE, now=NOW)
    assert event.after is not None
    assert event.after.last_name == "Okafor"
    assert event.after.dob is None
    assert event.after.quality_flags == ("dob_unreadable", "updated_at_unreadable")


def test_record_ids_lose_a_leading_system_prefix_only() -> None:
    assert source_record_id("housing:H-1", "housing") == "H-1"
    assert source_record_id("H-1", "housing") == "H-1"
    assert source_record_id("council_tax:H-1", "housing") == "council_tax:H-1"
    event = person_changed(
        SourceRecord(record_id="housing:H-1"), "housing", Operation.DELETE, now=NOW
    )
    assert (event.source_record_id, event.record_id, event.after) == ("H-1", "housing:H-1", None)


_text = st.one_of(st.none(), st.text(min_size=1, max_size=12).filter(str.strip))
_iso_date = st.one_of(st.none(), st.dates().map(dt.date.isoformat))


@given(
    st.builds(
        SourceRecord,
        record_id=st.text(min_size=1, max_size=8),
        first_name=_text,
        middle_name=_text,
        last_name=_text,
        dob=_iso_date,
        sex=_text,
        address_line_1=st.text(min_size=1, max_size=12),
        address_line_2=_text,
        town=_text,
        postcode=_text,
        uprn=_text,
        nhs_number=_text,
        ni_number=_text,
        upn=_text,
        phone=_text,
        email=_text,
        residence_start=_iso_date,
        residence_end=_iso_date,
    )
)
def test_a_record_survives_the_trip_through_the_event_payload(record: SourceRecord) -> None:
    person = person_from_record(record)
    assert person.quality_flags == ()
    back = record_from_person("housing", record.record_id, person)
    assert back == dataclasses.replace(
        record, record_id=f"housing:{record.record_id}", source_system="housing"
    )


def test_content_hash_sees_values_not_ids() -> None:
    a = SourceRecord(record_id="1", source_system="housing", last_name="Okafor")
    assert content_hash(a) == content_hash(
        dataclasses.replace(a, record_id="2", source_system=None)
    )
    assert content_hash(a) != content_hash(dataclasses.replace(a, last_name="Okafor-Smith"))
    assert content_hash(a) != content_hash(
        dataclasses.replace(a, first_name="Okafor", last_name=None)
    )


@given(
    st.dates(min_value=dt.date(1900, 1, 2), max_value=dt.date(2020, 12, 31)).filter(
        lambda day: day.isoformat() not in PLACEHOLDER_DOBS  # (read, then dropped as one)
    ),
    st.sampled_from(["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%d/%m/%Y", "%d-%m-%Y",
                     "%d.%m.%Y", "%d%m%Y", "%d %B %Y", "%d %b %Y", "{d}/{m}/%Y", "%Y-{m}-{d}"]),
)  # fmt: skip
def test_the_stream_reads_a_date_of_birth_as_hub_link_does(day: dt.date, form: str) -> None:
    text = day.strftime(form.format(d=day.day, m=day.month))
    assert parse_date(text) == (day, False)
    assert check_dob(text) == (day.isoformat(), None)


def test_a_worker_and_hub_link_read_every_row_alike(tmp_path: Path) -> None:
    """Row by row, the standard record the matching core makes from a file's row (`hub
    link`) is the one it makes from the record a worker holds once `hub publish` sent the
    row (`hub resolve`): every date, identifier, address and residence the same, so the
    two give the same persons and households. (The flags differ: a worker drops a bad
    value before the core sees it.)"""
    today = dt.datetime.now(dt.UTC).date()
    compared = 0
    for _line, record in numbered_records(write_messy_rows(tmp_path / "a.csv", 3000, seed=5)):
        assert isinstance(record, SourceRecord)
        held = held_by_a_worker(record, "a", today)
        if isinstance(held, str):  # (a worker dead-letters it; `hub link` keeps it: README)
            continue
        ours, theirs = standardise(record), standardise(held)
        assert dataclasses.replace(ours, flags=frozenset()) == dataclasses.replace(
            theirs, flags=frozenset()
        ), record
        compared += 1
    assert compared > 2000
