"""The identity state's JSON: values written as compact, plain JSON and read back equal."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matchers.identity_state import HouseholdEntry, PersonEntry
from matchers.records import StandardRecord
from matchers.survivorship import GoldenRecord, SourceRef
from sinks.redis_state import TABLES
from sinks.state_codec import decoder, encoder

pytestmark = pytest.mark.unit

names = st.none() | st.text(max_size=8)
ids = st.text(min_size=1, max_size=8)
standard_records = st.builds(
    StandardRecord, record_id=ids, first_name=names, last_name=names, dob=names,
    postcode=names, flags=st.frozensets(st.text(max_size=5), max_size=3),
)  # fmt: skip
goldens = st.builds(
    GoldenRecord, first_name=names, last_name=names, postcode=names,
    nhs_numbers=st.lists(ids, max_size=2).map(lambda v: tuple(sorted(v))),
    sources=st.lists(st.builds(SourceRef, ids, ids), max_size=3).map(lambda v: tuple(sorted(v))),
)  # fmt: skip
persons = st.builds(
    PersonEntry, person_id=ids, record_ids=st.frozensets(ids, min_size=1, max_size=4),
    golden=goldens, household_id=st.none() | ids, aliases=st.frozensets(ids, max_size=2),
    version=st.integers(1, 10),
)  # fmt: skip


@given(standard_records)
def test_a_record_is_written_without_its_empty_fields_and_read_back_equal(
    record: StandardRecord,
) -> None:
    data = encoder(StandardRecord)(record)
    written = orjson.loads(data)
    assert None not in written.values()
    assert written["flags"] == sorted(record.flags)
    assert list(written) == [k for k in StandardRecord.__slots__ if k in written]
    assert decoder(StandardRecord)(data) == record


@given(persons)
def test_a_person_is_read_back_equal(person: PersonEntry) -> None:
    assert decoder(PersonEntry)(encoder(PersonEntry)(person)) == person


@given(st.dictionaries(ids, st.floats(allow_nan=False, allow_infinity=False), max_size=5))
def test_stored_pairs_are_a_plain_map(edges: dict[str, float]) -> None:
    assert encoder(dict[str, float])(edges) == orjson.dumps(edges)


def test_every_table_has_a_codec() -> None:
    household = HouseholdEntry("H1", "uprn:1", frozenset({"P2", "P1"}))
    assert orjson.loads(encoder(HouseholdEntry)(household))["person_ids"] == ["P1", "P2"]
    for table in TABLES:
        assert callable(encoder(table.hint)) and callable(decoder(table.hint))
