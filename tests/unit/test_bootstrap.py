"""`hub bootstrap`'s pure parts: which version each record gets, which row wins, and that
the persons and households it builds are the ones the incremental resolver reaches."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.bench_bootstrap import snapshot_rows, write_snapshot
from hub.bootstrap import (
    UNVERSIONED,
    hub_scores,
    over_common_keys,
    read_snapshot,
    state_parts,
)
from hub.errors import UsageError
from hub.inputs import numbered_records
from matchers.batch import resolve_scored
from matchers.identity_state import (
    HouseholdEntry,
    MemoryIdAllocator,
    MemoryIdentityState,
    PersonEntry,
)
from matchers.records import SourceRecord
from matchers.resolver import Resolver
from matchers.standardise import standardise
from matchers.survivorship import GoldenRecord
from schemas.codec import SingleObjectCodec
from schemas.conversions import record_from_person
from schemas.events import PersonChanged
from sinks.state_codec import encoder
from sources.publish import publish_rows
from sources.simulator import SimulationConfig, simulate
from streams.outputs import _record_json
from streams.pipeline import source_version
from streams.validation import Accepted, RawMessage, validate_message
from tests.support.messy import write_messy_rows
from tests.support.resolving import THRESHOLDS
from tests.support.toy_model import ToyKeyRules, ToyScorer

pytestmark = pytest.mark.unit

HEADER = "record_id,first_name,last_name,updated_at,source_version\n"


def write(path: Path, *lines: str) -> Path:
    path.write_text(HEADER + "".join(line + "\n" for line in lines))
    return path


def test_versions_come_from_the_version_column_else_updated_at_in_ms_else_none(
    tmp_path: Path,
) -> None:
    snapshot = read_snapshot(
        [
            write(
                tmp_path / "a.csv",
                "a:1,Ann,Lee,2024-01-02T03:04:05Z,7",
                "a:2,Bob,Lee,2024-01-02T03:04:05.250+00:00,",
                "a:3,Cat,Lee,2024-01-02T03:04:05,",  # naive: UTC
                "a:4,Dan,Lee,,",
                "a:5,Eve,Lee,not a time,",
                "a:6,Fay,Lee,02/01/2024 03:04:05,",  # UK order, as the stream reads it
            )
        ],
        None,
    )
    assert [r.record_id for r in snapshot.records] == ["a:1", "a:2", "a:3", "a:4", "a:5", "a:6"]
    # none: below a partition's first offset, 0, so a worker applies any later event
    assert snapshot.versions == [7, 1704164645250, 1704164645000, -1, -1, 1704164645000]
    assert snapshot.unversioned == 2


def test_of_two_rows_without_a_version_the_later_wins_as_hub_publish_sends_them(
    tmp_path: Path,
) -> None:
    snapshot = read_snapshot([write(tmp_path / "a.csv", "a:1,Old,Lee,,", "a:1,New,Lee,,")], None)
    assert [r.first_name for r in snapshot.records] == ["New"]


def test_unversioned_records_are_counted_once_as_loaded(tmp_path: Path) -> None:
    """Rows were counted: a record of two rows without a version was two unversioned
    records, and one a versioned row replaced was one too."""
    snapshot = read_snapshot(
        [
            write(
                tmp_path / "a.csv", "a:1,Ann,Lee,,", "a:1,Ann,Lea,,", "a:2,Bo,Lee,,", "a:2,Bo,Li,,3"
            )
        ],
        None,
    )
    assert snapshot.versions == [UNVERSIONED, 3]
    assert snapshot.unversioned == 1


def test_the_newest_version_of_a_record_wins_and_the_first_on_a_tie(tmp_path: Path) -> None:
    first = write(tmp_path / "a.csv", "a:1,Old,Lee,,3", "a:2,First,Lee,,5")
    second = write(tmp_path / "b.csv", "a:1,New,Lee,,4", "a:2,Second,Lee,,5", "a:1,Older,Lee,,2")
    snapshot = read_snapshot([first, second], None)
    names = {r.record_id: r.first_name for r in snapshot.records}
    assert names == {"a:1": "New", "a:2": "First"}
    assert snapshot.versions == [4, 5]
    assert snapshot.duplicates == 3


def test_rows_without_an_id_or_with_a_bad_version_are_rejected_with_a_reason(
    tmp_path: Path,
) -> None:
    snapshot = read_snapshot(
        [write(tmp_path / "a.csv", ",Ann,Lee,,1", "a:2,Bob,Lee,,two", "a:3,Cy,Lee,,-1")], None
    )
    assert not snapshot.records
    assert snapshot.rejected == {
        "no record_id": 1,
        "source_version is not a whole number from 0 to 9,223,372,036,854,775,807": 2,
    }


def test_the_version_column_can_be_named(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("record_id,last_name,rev\na:1,Lee,12\n")
    assert read_snapshot([path], None, version_column="rev").versions == [12]


def test_a_version_column_named_that_no_row_has_is_refused(tmp_path: Path) -> None:
    """It was ignored: every row went by updated_at, as if unversioned."""
    path = tmp_path / "a.csv"
    path.write_text("record_id,last_name,rev\na:1,Lee,12\n")
    with pytest.raises(UsageError, match="--version-column 'nosuch' is not a column of it"):
        read_snapshot([path], None, version_column="nosuch")
    assert read_snapshot([path], None).versions == [UNVERSIONED]  # (the default may be absent)


def test_versions_are_read_exactly_however_large(tmp_path: Path) -> None:
    """Through a float, 1700000000000000001 and ...002 were one version: a tie, so the
    older row won."""
    lines = tmp_path / "a.jsonl"
    lines.write_text(
        '{"record_id": "a:1", "last_name": "Old", "source_version": 1700000000000000001}\n'
        '{"record_id": "a:1", "last_name": "New", "source_version": 1700000000000000002}\n'
        '{"record_id": "a:2", "last_name": "Lee", "source_version": "7.0"}\n'
        '{"record_id": "a:3", "last_name": "Lee", "source_version": true}\n'
        '{"record_id": "a:4", "last_name": "Lee", "source_version": 99999999999999999999999}\n'
        '{"record_id": "a:5", "last_name": "Lee", "source_version": "9223372036854775808"}\n'
    )
    snapshot = read_snapshot([lines], None)
    assert [r.last_name for r in snapshot.records] == ["New", "Lee"]
    assert snapshot.versions == [1700000000000000002, 7]
    # (past 64 bits the store could not keep it: bootstrap failed part-way, store emptied)
    assert snapshot.rejected == {
        "source_version is not a whole number from 0 to 9,223,372,036,854,775,807": 3
    }


def test_a_version_column_map_makes_a_field_is_not_read_as_a_version(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("record_id,last_name,source_version\na:1,Lee,2024-01-02T03:04:05Z\n")
    snapshot = read_snapshot([path], "source_version=updated_at")
    assert (snapshot.versions, snapshot.rejected) == ([1704164645000], {})


def test_rows_a_worker_would_dead_letter_are_rejected_as_it_would(tmp_path: Path) -> None:
    snapshot = read_snapshot(
        [
            write(
                tmp_path / "a.csv",
                "a:1,,,,1",  # nothing to match on
                "a:2,Ann,Lee,9999-12-31T00:00:00Z,",  # (its version: held for ever)
                "a:3,Ann,Lee,9999-12-31T00:00:00Z,4",  # (a worker refuses it, version or not)
                "a:4,Ann,Lee,2024-01-02T03:04:05Z,",
            )
        ],
        None,
    )
    assert [r.record_id for r in snapshot.records] == ["a:4"]
    assert snapshot.rejected == {
        "the person has no name, date of birth or identifier": 1,
        "PersonChanged.source_ts is in the future": 2,  # (its updated_at)
    }
    path = tmp_path / "b.csv"
    path.write_text("record_id,dob\nb:1,1980-02-03\nb:2,not a date\n")
    assert [r.record_id for r in read_snapshot([path], None).records] == ["b:1"]


class Captured:
    """Where `hub publish` sends its events here: kept, encoded, as Kafka would keep them."""

    def __init__(self) -> None:
        self.codec = SingleObjectCodec()
        self.messages: list[RawMessage] = []

    def send(self, topic: str, key: str, event: Any, **_options: Any) -> None:
        value = self.codec.encode(event, topic)
        self.messages.append(RawMessage(topic, 0, len(self.messages), key.encode(), value))

    def flush(self) -> None:
        pass


def test_bootstrap_holds_each_row_as_a_worker_holds_it_after_hub_publish(tmp_path: Path) -> None:
    """Row by row, the record bootstrap loads is the one a worker holds once `hub publish`
    sent the row and the worker decoded, validated and flattened it (a date of birth read
    and checked, identifiers in canonical form or dropped, an e-mail that is none dropped,
    residence dates checked, the change time in UTC), and a row a worker would
    dead-letter is rejected with the worker's reason."""
    path = write_messy_rows(tmp_path / "a.csv", 600, seed=3)
    now = dt.datetime.now(dt.UTC)

    snapshot = read_snapshot([path], None, source="a")
    captured = Captured()
    report = publish_rows(numbered_records(path), "a", captured, now=now)  # type: ignore[arg-type]
    held: dict[str, SourceRecord] = {}
    versions: dict[str, int] = {}
    for message in captured.messages:
        accepted = validate_message(message, captured.codec, now.date())
        assert isinstance(accepted, Accepted)
        event = accepted.event
        assert isinstance(event, PersonChanged) and event.after is not None
        record = record_from_person("a", event.source_record_id, event.after, event.source_ts)
        held[record.record_id] = record
        if event.source_ts is not None:
            versions[record.record_id] = source_version(None, event.source_ts, message)

    assert {r.record_id: r for r in snapshot.records} == held
    assert snapshot.rejected == Counter(row.reason for row in report.rejected)
    assert snapshot.rejected  # (the cells make some rows a worker refuses)
    loaded = dict(zip((r.record_id for r in snapshot.records), snapshot.versions, strict=True))
    assert {r: v for r, v in loaded.items() if v != UNVERSIONED} == versions


@pytest.mark.slow
def test_bootstrap_persons_and_households_are_what_the_resolver_reaches(tmp_path: Path) -> None:
    """The batch state (bootstrap's) against records streamed one at a time, in a random
    order: the same persons with the same golden records, the same households at the
    same places."""
    path = write_snapshot(
        snapshot_rows(simulate(SimulationConfig(residents=300, seed=4), day=1)),
        tmp_path / "persons.parquet",
    )
    snapshot = read_snapshot([path], None)
    rules, scorer = ToyKeyRules(), ToyScorer()
    standard = [standardise(r) for r in snapshot.records]
    keys = [rules.keys(r) for r in standard]
    over_common = over_common_keys(keys, THRESHOLDS.block_cap)

    left, right, weights = hub_scores(scorer, standard, keys, over_common)
    ids = [r.record_id for r in standard]
    scored: dict[str, dict[str, float]] = {}
    for a, b, w in zip(left.tolist(), right.tolist(), weights.tolist(), strict=True):
        if w >= THRESHOLDS.stored:
            scored.setdefault(ids[a], {})[ids[b]] = w
            scored.setdefault(ids[b], {})[ids[a]] = w
    parts = state_parts(resolve_scored(dict(zip(ids, standard, strict=True)), scored, THRESHOLDS))

    state = MemoryIdentityState()
    resolver = Resolver(
        state, MemoryIdAllocator(), standardise=standardise, rules=rules, scorer=scorer,
        thresholds=THRESHOLDS,
    )  # fmt: skip
    order = list(snapshot.records)
    random.Random(9).shuffle(order)
    for record in order:
        resolver.upsert(record)

    def persons(entries: dict[str, PersonEntry]) -> dict[frozenset[str], GoldenRecord]:
        return {e.record_ids: e.golden for e in entries.values()}

    def households(
        people: dict[str, PersonEntry], entries: dict[str, HouseholdEntry]
    ) -> set[tuple[str, frozenset[frozenset[str]]]]:
        return {
            (e.household_key, frozenset(people[p].record_ids for p in e.person_ids))
            for e in entries.values()
        }

    assert persons(parts.persons) == persons(state._persons)
    assert households(parts.persons, parts.households) == households(
        state._persons, state._households
    )
    assert len(parts.households) > 50


@given(st.builds(SourceRecord, record_id=st.text(min_size=1), first_name=st.none() | st.text(),
                 last_name=st.none() | st.text(), postcode=st.none() | st.text(),
                 updated_at=st.none() | st.text()))  # fmt: skip
def test_a_payload_is_the_record_as_the_state_codec_writes_it(record: SourceRecord) -> None:
    assert _record_json(record) == orjson.loads(encoder(SourceRecord)(record))


def test_records_are_named_as_the_stream_names_them(tmp_path: Path) -> None:
    """``1`` in a housing file and ``1`` in a council-tax file were one record (the second
    counted a duplicate); the workers, given them by `hub publish`, hold two."""
    path = tmp_path / "two.csv"
    path.write_text(
        "record_id,source_system,last_name\n"
        "1,housing,Lee\n"
        "1,council_tax,Lee\n"
        "housing:2,housing,Lee\n"
        "housing:3,,Lee\n"
        "4,,Lee\n"
        "Housing:5,,Lee\n"
    )
    snapshot = read_snapshot([path], None)
    assert [(r.record_id, r.source_system) for r in snapshot.records] == [
        ("council_tax:1", "council_tax"),
        ("housing:1", "housing"),
        ("housing:2", "housing"),
        ("housing:3", "housing"),
    ]
    assert snapshot.duplicates == 0
    assert snapshot.rejected == {
        "no source system: add source_system, give --source, or write <system>:<id>": 1,
        "the source system is not lower-case letters, digits and underscores": 1,
    }


def test_one_system_s_extract_with_bare_ids_is_named_by_source(tmp_path: Path) -> None:
    path = tmp_path / "housing.csv"
    path.write_text("record_id,last_name\n1,Lee\nhousing:2,Lee\n")
    snapshot = read_snapshot([path], None, source="housing")
    assert [r.record_id for r in snapshot.records] == ["housing:1", "housing:2"]
    other = tmp_path / "mixed.csv"
    other.write_text("record_id,source_system,last_name\n1,housing,Lee\n2,council_tax,Lee\n")
    refused = read_snapshot([other], None, source="housing")
    assert [r.record_id for r in refused.records] == ["housing:1"]
    assert refused.rejected == {"source_system 'council_tax' is not 'housing'": 1}
