"""What `hub resolve` publishes for a file: one validated event per record, the last row
of a record winning, rejected rows kept with their lines, versions as a worker sees them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.resolve import Offsets, Planned, plan_file, plan_relationships
from matchers.records import SourceRecord
from schemas.codec import SingleObjectCodec
from schemas.events import PersonChanged, RelationshipKind, RelationshipObserved
from streams.validation import Accepted, RawMessage, validate_message

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 27, 9, 30, 15, 123000, tzinfo=dt.UTC)
CODEC = SingleObjectCodec()


def person(record_id: str, system: str | None = "housing", **values: str) -> SourceRecord:
    return SourceRecord(
        record_id, system, **({"first_name": "Ada", "last_name": "Lovelace"} | values)
    )


def test_the_last_row_of_a_record_wins_and_rows_keep_their_lines() -> None:
    rows = [
        (2, person("housing:1", updated_at="2024-01-02T03:04:05Z")),
        (3, "expected 21 columns"),
        (4, person("housing:2")),
        (5, person("housing:1", last_name="King", updated_at="2025-01-02T03:04:05Z")),
        (6, SourceRecord("housing:3", "housing")),  # nothing to match on
        (7, person("9", None)),  # no system
        (8, person("libraries:4", "libraries")),
    ]
    plan = plan_file(rows, CODEC, source=None, shuffle_seed=None, now=NOW)
    assert plan.rows == 7
    assert [(r.line, r.reason) for r in plan.rejected] == [
        (3, "expected 21 columns"),
        (6, "the person has no name, date of birth or identifier"),
        (7, "no source_system (give the file's system with --source)"),
    ]
    assert plan.file_ids == ["housing:1", "housing:2", "libraries:4"]
    assert [e.record_id for e in plan.events.values()] == ["housing:2", "housing:1", "libraries:4"]
    first = plan.events["housing:1"]
    assert (first.line, first.topic) == (5, "src.housing.persons")
    event = CODEC.decode(first.value, first.topic)
    assert isinstance(event, PersonChanged) and event.after is not None
    assert event.after.last_name == "King"
    # the row's own change time is its version; without one, the time of the run
    assert first.version == int(dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC).timestamp() * 1000)
    assert plan.events["housing:2"].version == int(NOW.timestamp() * 1000)


def test_source_names_the_system_of_rows_without_one_and_refuses_others() -> None:
    rows = [
        (2, person("7", None)),
        (3, person("housing:8")),
        (4, person("council_tax:9", "council_tax")),
    ]
    plan = plan_file(rows, CODEC, source="housing", shuffle_seed=None, now=NOW)
    assert plan.index_id == {"7": "housing:7", "housing:8": "housing:8"}
    assert [(r.line, r.reason) for r in plan.rejected] == [
        (4, "source_system 'council_tax' is not 'housing'")
    ]


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_a_file_id_under_a_second_system_is_rejected_whatever_the_order(seed: int | None) -> None:
    # (both were published; the output, keyed by the file's id, held one of them)
    rows = [(2, person("77", "housing")), (3, person("77", "libraries")),
            (4, person("77", "housing"))]  # fmt: skip
    plan = plan_file(rows, CODEC, source=None, shuffle_seed=seed, now=NOW)
    assert plan.index_id == {"77": "housing:77"} and list(plan.events) == ["housing:77"]
    assert [(r.line, r.reason) for r in plan.rejected] == [
        (3, "its record_id is given with another source system on line 2")
    ]
    # a row rejected for its own source system holds no id against a later one
    rows = [(2, person("77", "Housing")), (3, person("77", "housing"))]
    plan = plan_file(rows, CODEC, source=None, shuffle_seed=seed, now=NOW)
    assert list(plan.events) == ["housing:77"] and [r.line for r in plan.rejected] == [2]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=30), st.integers(0, 2**32))
def test_a_shuffle_publishes_the_same_records_once_each(ids: list[int], seed: int) -> None:
    rows = [(n + 2, person(f"housing:{i}", phone=str(n))) for n, i in enumerate(ids)]
    plain = plan_file(rows, CODEC, source=None, shuffle_seed=None, now=NOW)
    shuffled = plan_file(rows, CODEC, source=None, shuffle_seed=seed, now=NOW)
    assert (
        sorted(plain.file_ids) == sorted(shuffled.file_ids) == sorted({f"housing:{i}" for i in ids})
    )
    assert len(shuffled.events) == len(set(ids))
    for event in shuffled.events.values():
        message = RawMessage(event.topic, 0, 0, event.key, event.value)
        assert isinstance(validate_message(message, CODEC, NOW.date()), Accepted)


def test_events_below_the_committed_offset_are_processed() -> None:
    events = [Planned(f"housing:{n}", n, "src.housing.persons", b"", b"", 1) for n in range(5)]
    placed = {"housing:0": (0, 10), "housing:1": (0, 11), "housing:2": (1, 3),
              "housing:3": (0, 12), "housing:4": (1, 4)}  # fmt: skip
    offsets = Offsets.of(events, placed)
    topic = "src.housing.persons"
    assert offsets.processed({}) == 0
    assert offsets.processed({(topic, 0): 12, (topic, 1): 3}) == 2  # offsets 10 and 11
    assert offsets.processed({(topic, 0): 13, (topic, 1): 5}) == 5


def test_relationships_are_planned_as_a_source_publishes_them() -> None:
    rows = [
        (1, {"relationship_id": "rel-1", "source_system": "education", "kind": "parent",
             "record_id": "education:EDU1", "related_record_id": "education:EDU2",
             "start": "27/06/2009", "updated_at": "2025-04-21T15:23:16Z"}),
        (2, {"source_system": "housing", "kind": "claim_unit", "record_id": "H1",
             "group_id": "CU9", "role": "claimant"}),
        (3, {"source_system": "housing", "kind": "Partner", "record_id": "H1",
             "related_record_id": "H2"}),
        (4, "not valid JSON"),
        (5, {"record_id": "H1", "related_record_id": "H2"}),
        (6, {"source_system": "housing", "record_id": "H1"}),
        (7, {"source_system": "housing", "kind": "carer", "record_id": "H1",
             "related_record_id": "H2", "start": "31/06/2009"}),
        (8, {"source_system": "housing", "record_id": "H1", "related_record_id": "H2",
             "start": "2020-01-01", "end": "2019-01-01"}),
        (9, {"source_system": "Housing!", "record_id": "H1", "related_record_id": "H2"}),
        (10, {"source_system": "housing", "kind": "sibling", "record_id": ["H1"],
              "related_record_id": "H2"}),
        (11, {"relationship_id": "rel-11", "source_system": "housing", "kind": "partner",
              "record_id": "H1", "related_record_id": "H2", "start": "1753-01-01"}),
        (12, {"source_system": "housing", "record_id": "H1", "related_record_id": "H3",
              "updated_at": "2099-01-01T00:00:00Z"}),
        # as hub link reads them: a record related to itself, an id of another system
        (13, {"source_system": "housing", "record_id": "housing:H1", "related_record_id": "H1"}),
        (14, {"source_system": "housing", "record_id": "libraries:T1",
              "related_record_id": "H2"}),
        (15, {"source_system": "housing", "kind": "prent", "record_id": "H5",
              "related_record_id": "H6"}),
    ]  # fmt: skip
    planned, rejected, unread = plan_relationships(rows, CODEC, now=NOW)
    assert [(r.line, r.reason) for r in rejected] == [
        (4, "not valid JSON"),
        (5, "no source_system"),
        (6, "neither a related_record_id nor a group_id"),
        (9, "source_system 'Housing!' is not a system name"),
        (10, "a value that is not text or a number"),
        (12, "updated_at is in the future"),  # (a worker would dead-letter it)
        (13, "relates a record to itself"),
        (14, "a record id of another source system than housing"),
    ]
    # a date that cannot be used is left out, as hub link leaves it out: the relationship
    # still says the two are two people (and no value is shown: a start may be a dob)
    assert [(r.line, r.reason) for r in unread] == [
        (7, "start is not a date"),
        (8, "end is before start"),
        (11, "start is out of range"),
        (15, "kind 'prent' is not one the hub knows: other"),  # (published as other)
    ]
    events = {}
    for plan in planned:
        checked = validate_message(RawMessage(plan.topic, 0, 0, plan.key, plan.value), CODEC,
                                   NOW.date())  # fmt: skip
        assert isinstance(checked, Accepted)
        assert isinstance(checked.event, RelationshipObserved)
        events[plan.line] = (plan.topic, plan.key, plan.record_id, checked.event)
    topic, key, record_id, parent = events[1]
    assert (topic, key, record_id) == (
        "src.education.relationships",
        b"education:rel-1",
        "rel:education:rel-1",
    )
    assert (parent.kind, parent.subject_record_id, parent.related_record_id, parent.start) == (
        RelationshipKind.PARENT,
        "EDU1",
        "EDU2",
        dt.date(2009, 6, 27),
    )
    assert parent.source_ts == dt.datetime(2025, 4, 21, 15, 23, 16, tzinfo=dt.UTC)
    grouping, partner = events[2][3], events[3][3]
    assert (grouping.kind, grouping.group_id, grouping.role) == (
        RelationshipKind.BENEFIT_CLAIM_UNIT,
        "CU9",
        "claimant",
    )
    assert partner.kind is RelationshipKind.PARTNER
    assert (events[7][3].start, events[11][3].start) == (None, None)
    assert (events[8][3].start, events[8][3].end) == (dt.date(2020, 1, 1), None)
    # without an id, the same row gets the same one every time
    again, _, _ = plan_relationships(rows[2:3], CODEC, now=NOW)
    assert again[0].key == events[3][1] and events[3][1].startswith(b"housing:file-")


def test_a_relationship_without_an_id_is_one_relationship_however_its_ids_are_written() -> None:
    # a nightly extract writing "H1" and a later one writing "housing:H1" describe one
    # relationship: its next row replaces the first, not a second
    written = [
        {"source_system": "housing", "kind": "partner", "record_id": "H1",
         "related_record_id": "H2"},
        {"source_system": "housing", "kind": "partner", "record_id": "housing:H1",
         "related_record_id": " housing:H2"},
    ]  # fmt: skip
    planned, rejected, _ = plan_relationships(list(enumerate(written, 1)), CODEC, now=NOW)
    assert rejected == [] and len({plan.key for plan in planned}) == 1
    # (the id a file without prefixes was given before stays the same)
    assert planned[0].key == b"housing:file-dec9f6cd9e14d512"
    other, _, _ = plan_relationships([(1, {**written[0], "related_record_id": "H3"})], CODEC,
                                     now=NOW)  # fmt: skip
    assert other[0].key != planned[0].key
