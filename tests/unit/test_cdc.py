"""Snapshot diffing (pure) and its durable state (a SQLite file)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.bootstrap import read_snapshot
from hub.errors import UsageError
from hub.inputs import RejectedRow, numbered_records
from matchers.records import SourceRecord
from schemas.conversions import content_hash
from schemas.events import Operation
from sources.cdc import (
    Change,
    Choice,
    SnapshotDiff,
    SnapshotState,
    choose_rows,
    is_mass_delete,
    mark_loaded,
    unversioned_notice,
)

pytestmark = pytest.mark.unit


def rec(record_id: str, last_name: str = "Okafor", **values: str) -> SourceRecord:
    return SourceRecord(record_id=record_id, last_name=last_name, **values)  # type: ignore[arg-type]


def rows(*records: SourceRecord | str) -> list[tuple[int, SourceRecord | str]]:
    return [(line, r) for line, r in enumerate(records, start=2)]


def test_diff_finds_creates_updates_unchanged_and_deletes() -> None:
    previous = {
        "1": content_hash(rec("1")),
        "2": content_hash(rec("2")),
        "3": content_hash(rec("3")),
    }
    diff = SnapshotDiff(previous, "housing")
    out = list(diff.feed(rows(rec("1"), rec("2", "Okafor-Smith"), rec("4"))))
    assert [(c.op, c.record_id, c.line) for c in out if isinstance(c, Change)] == [
        (Operation.UPDATE, "2", 3),
        (Operation.CREATE, "4", 4),
    ]
    assert diff.unchanged == 1
    assert [(c.op, c.record_id) for c in diff.deletes()] == [(Operation.DELETE, "3")]


def test_malformed_duplicate_and_foreign_rows_are_rejected_by_line_and_not_deleted() -> None:
    previous = {"1": content_hash(rec("1")), "2": content_hash(rec("2"))}
    diff = SnapshotDiff(previous, "housing")
    out = list(
        diff.feed(
            rows(
                "expected 5 columns",
                rec("1"),
                rec("1", "Other"),
                SourceRecord(record_id="2", source_system="council_tax", last_name="X"),
            )
        )
    )
    rejected = [r for r in out if isinstance(r, RejectedRow)]
    assert [(r.line, r.reason) for r in rejected] == [
        (2, "expected 5 columns"),
        (4, "duplicate record_id (first on line 3)"),
        (5, "source_system 'council_tax' is not 'housing'"),
    ]
    assert diff.deletes() == []  # record 2's row was bad, which is not a delete
    assert diff.unreadable == 1  # (the first row: its record id is unknown)


def test_prefixed_ids_are_the_same_record() -> None:
    diff = SnapshotDiff({"1": content_hash(rec("1"))}, "housing")
    assert list(diff.feed(rows(rec("housing:1")))) == []
    assert diff.unchanged == 1


_snapshots = st.dictionaries(
    st.sampled_from([str(i) for i in range(12)]),
    st.sampled_from(["Okafor", "Smith", "Khan"]),
    max_size=12,
)


@given(_snapshots, _snapshots)
def test_applying_the_changes_gives_the_new_snapshot_and_a_rerun_changes_nothing(
    day1: dict[str, str], day2: dict[str, str]
) -> None:
    state = {rid: content_hash(rec(rid, name)) for rid, name in day1.items()}
    diff = SnapshotDiff(state, "housing")
    changes = [c for c in diff.feed(rows(*(rec(i, n) for i, n in day2.items())))]
    for change in [*changes, *diff.deletes()]:
        assert isinstance(change, Change)
        if change.op is Operation.DELETE:
            del state[change.record_id]
        else:
            assert change.content_hash is not None
            state[change.record_id] = change.content_hash
    assert state == {rid: content_hash(rec(rid, name)) for rid, name in day2.items()}
    again = SnapshotDiff(state, "housing")
    assert list(again.feed(rows(*(rec(i, n) for i, n in day2.items())))) == []
    assert again.deletes() == []
    assert again.unchanged == len(day2)


def test_state_persists_per_source_and_allows_one_run_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "stack" / "cdc-state.db"
    with SnapshotState(path) as state:
        state.apply("housing", [("1", "a"), ("2", "b")], [])
        state.apply("council_tax", [("1", "z")], [])
        state.apply("housing", [("2", "c")], ["1"])
        with pytest.raises(UsageError, match="another hub cdc run"):
            SnapshotState(path)
    with SnapshotState(path) as reopened:
        assert reopened.hashes("housing") == {"2": "c"}
        assert reopened.hashes("council_tax") == {"1": "z"}
        assert reopened.hashes("libraries") == {}


def test_a_state_file_that_cannot_be_opened_is_one_usage_error_naming_it(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    garbage = tmp_path / "garbage" / "cdc-state.db"
    cases = {
        a_file / "cdc-state.db": "cannot be created: .*a-file is not a folder$",
        a_file / "sub" / "cdc-state.db": "cannot be created: Not a directory$",
        Path("/proc/nope/cdc-state.db"): "cannot be created: No such file or directory$",
        tmp_path / "folder" / "cdc-state.db": "is a folder, not the hub cdc state$",
        garbage: r"cannot be opened as the hub cdc state \(file is not a database\)$",
    }
    (tmp_path / "folder" / "cdc-state.db").mkdir(parents=True)
    garbage.parent.mkdir()
    garbage.write_bytes(b"not sqlite at all " * 10)
    for path, message in cases.items():
        with pytest.raises(UsageError, match=f"^{re.escape(str(path))}: {message}") as raised:
            SnapshotState(path)
        assert "\n" not in str(raised.value)
    garbage.unlink()  # (the failed open let go of its lock)
    with SnapshotState(garbage) as state:
        assert state.hashes("housing") == {}


def test_mass_delete_needs_a_big_enough_share_of_enough_records() -> None:
    assert is_mass_delete(11, 20)
    assert not is_mass_delete(10, 20)
    assert not is_mass_delete(5, 6)  # small sources can lose most of their records


def test_a_bootstrapped_snapshot_remembered_as_loaded_gives_its_deletes_next_time(
    tmp_path: Path,
) -> None:
    """Without it, the first run after `hub bootstrap` sent every row again and, knowing no
    previous snapshot, no delete: a record gone since the bootstrap stayed for good."""
    with SnapshotState(tmp_path / "cdc.db") as state:
        report = mark_loaded(rows(rec("housing:1"), rec("housing:2"), "ragged row"),
                             "housing", state, Choice())  # fmt: skip
        assert (report.created, len(report.rejected)) == (2, 1)
        diff = SnapshotDiff(state.hashes("housing"), "housing")
        changes = list(diff.feed(rows(rec("1"), rec("3"))))
        assert [(c.op, c.record_id) for c in changes if isinstance(c, Change)] == [
            (Operation.CREATE, "3")
        ]
        assert [c.record_id for c in diff.deletes()] == ["2"]
        with pytest.raises(UsageError, match="already holds a housing snapshot"):
            mark_loaded(rows(rec("1")), "housing", state, Choice())


DUPLICATES = (
    "record_id,first_name,last_name,source_version,updated_at\n"
    "1,Ada,Old,1,\n"  # versions 1 then 2: the newer
    "1,Ada,New,2,\n"
    "2,Bo,First,5,\n"  # a tie: the first
    "2,Bo,Tie,5,\n"
    "3,Cy,Earlier,,\n"  # no version at all: the later
    "3,Cy,Later,,\n"
    "4,Di,Jan,,2026-01-01T00:00:00Z\n"  # updated_at in milliseconds: the newer
    "4,Di,Feb,,2026-02-01T00:00:00Z\n"
    "4,Di,Dec,,2025-12-01T00:00:00Z\n"
    "5,Ed,Kept,1,\n"  # a newer row no worker would hold, or whose version is no number
    "5,Ed,Future,2,2999-01-01T00:00:00Z\n"
    "5,Ed,Bad,x,\n"
    "6,Fay,Small,1700000000000000001,\n"  # versions told apart however large
    "6,Fay,Large,1700000000000000002,\n"
    "7,,,1,\n"  # no row a worker would hold: bootstrap loads nothing, cdc takes the first
    "7,,,2,\n"
)
LOADED = {"1": "New", "2": "First", "3": "Later", "4": "Feb", "5": "Kept", "6": "Large"}


def test_cdc_takes_of_each_record_ids_rows_the_one_hub_bootstrap_loads(tmp_path: Path) -> None:
    """--loaded remembers the row bootstrap loaded, and a later run over the same file
    takes the same row, so it does not undo bootstrap's choice: before, --loaded kept the
    first row while bootstrap loaded the newest."""
    snapshot = tmp_path / "housing.csv"
    snapshot.write_text(DUPLICATES)
    booted = read_snapshot([snapshot], None, source="housing")
    assert {r.record_id.partition(":")[2]: r.last_name for r in booted.records} == LOADED
    today = dt.datetime.now(dt.UTC).date()
    choice = choose_rows(snapshot, "housing", {}, today=today)
    with SnapshotState(tmp_path / "cdc.db") as state:
        report = mark_loaded(numbered_records(snapshot), "housing", state, choice)
        remembered = state.hashes("housing")
        diff = SnapshotDiff(remembered, "housing", choice)
        again = [c for c in diff.feed(numbered_records(snapshot)) if isinstance(c, Change)]
        # only the record bootstrap did not load is sent (for workers to dead-letter)
        assert [(c.op, c.record_id, c.line) for c in again] == [(Operation.CREATE, "7", 16)]
        assert diff.deletes() == []
    by_digest = {
        content_hash(r): r.last_name
        for _, r in numbered_records(snapshot)
        if isinstance(r, SourceRecord)
    }
    assert {record_id: by_digest[digest] for record_id, digest in remembered.items()} == LOADED
    assert report.created == len(LOADED)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (2, "duplicate record_id (kept, as hub bootstrap keeps it: line 3)"),
        (5, "duplicate record_id (kept, as hub bootstrap keeps it: line 4)"),
        (6, "duplicate record_id (kept, as hub bootstrap keeps it: line 7)"),
        (8, "duplicate record_id (kept, as hub bootstrap keeps it: line 9)"),
        (10, "duplicate record_id (kept, as hub bootstrap keeps it: line 9)"),
        (12, "duplicate record_id (kept, as hub bootstrap keeps it: line 11)"),
        (13, "duplicate record_id (kept, as hub bootstrap keeps it: line 11)"),
        (14, "duplicate record_id (kept, as hub bootstrap keeps it: line 15)"),
        (16, "the person has no name, date of birth or identifier"),
        (17, "duplicate record_id (first on line 16; hub bootstrap loads none of them)"),
    ]


def test_cdc_reads_versions_from_the_column_it_is_told(tmp_path: Path) -> None:
    snapshot = tmp_path / "housing.csv"
    snapshot.write_text("record_id,last_name,rev\n1,New,2\n1,Old,1\n")
    today = dt.datetime.now(dt.UTC).date()
    assert choose_rows(snapshot, "housing", {}, version_column="rev", today=today).kept == {"1": 2}
    assert choose_rows(snapshot, "housing", {}, today=today).kept == {"1": 3}  # (no version)
    with pytest.raises(UsageError, match="--version-column 'nosuch' is not a column of it"):
        choose_rows(snapshot, "housing", {}, version_column="nosuch", today=today)
    # a column --map makes a record field is not read as a version too
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("record_id,last_name,source_version\n1,A,2026-02-01\n1,B,2026-01-01\n")
    mapping = {"source_version": "updated_at"}
    assert choose_rows(renamed, "housing", mapping, today=today).kept == {"1": 2}


def test_rows_whose_version_cannot_be_used_are_named(tmp_path: Path) -> None:
    # (they are published, but bootstrap would load none: the column may be the wrong one)
    snapshot = tmp_path / "housing.csv"
    snapshot.write_text("record_id,last_name,rev\n1,Old,A12\n1,New,2\n2,Bo,-1\n3,Cy,\n")
    today = dt.datetime.now(dt.UTC).date()
    told: list[str] = []
    choice = choose_rows(snapshot, "housing", {}, version_column="rev", today=today,
                         notice=told.append)  # fmt: skip
    assert choice.kept == {"1": 3, "2": 4, "3": 5} and choice.unversioned == [2, 4]
    assert told == [
        "2 rows where rev is not a whole number from 0 to 9,223,372,036,854,775,807 (lines "
        "2, 4): hub bootstrap would load none of them; of a record id's rows, such a row is "
        "taken only when no other has a version"
    ]
    assert unversioned_notice([7], "rev").startswith("1 row where rev is not")


def test_a_loaded_snapshot_names_an_ignored_column_once_not_once_a_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = tmp_path / "housing.csv"
    snapshot.write_text("record_id,last_name,notes\n1,Okafor,x\n")
    choice = choose_rows(snapshot, "housing", {}, today=dt.datetime.now(dt.UTC).date())
    with SnapshotState(tmp_path / "cdc.db") as state:
        mark_loaded(numbered_records(snapshot), "housing", state, choice)
    assert capsys.readouterr().err.count("is not a record field and is ignored: notes") == 1
