"""Snapshot diffing (pure) and its durable state (a SQLite file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.bootstrap import UNVERSIONED, versioned_records
from hub.errors import UsageError
from hub.inputs import RejectedRow
from matchers.records import SourceRecord
from schemas.conversions import content_hash
from schemas.events import Operation
from sources.cdc import Change, SnapshotDiff, SnapshotState, is_mass_delete, mark_loaded

pytestmark = pytest.mark.unit


def rec(record_id: str, last_name: str = "Okafor", **values: str) -> SourceRecord:
    return SourceRecord(record_id=record_id, last_name=last_name, **values)  # type: ignore[arg-type]


def rows(*records: SourceRecord | str) -> list[tuple[int, SourceRecord | str]]:
    return [(line, r) for line, r in enumerate(records, start=2)]


def versioned(
    *records: SourceRecord | str, versions: tuple[int | str, ...] = ()
) -> list[tuple[int, SourceRecord | str, int | str]]:
    """Rows with their versions (none given: UNVERSIONED)."""
    given = versions or (UNVERSIONED,) * len(records)
    return [(line, r, v) for (line, r), v in zip(rows(*records), given, strict=True)]


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
        report = mark_loaded(versioned(rec("housing:1"), rec("housing:2"), "ragged row"),
                             "housing", state)  # fmt: skip
        assert (report.created, len(report.rejected)) == (2, 1)
        diff = SnapshotDiff(state.hashes("housing"), "housing")
        changes = list(diff.feed(rows(rec("1"), rec("3"))))
        assert [(c.op, c.record_id) for c in changes if isinstance(c, Change)] == [
            (Operation.CREATE, "3")
        ]
        assert [c.record_id for c in diff.deletes()] == ["2"]
        with pytest.raises(UsageError, match="already holds a housing snapshot"):
            mark_loaded(versioned(rec("1")), "housing", state)


def test_a_loaded_snapshots_duplicate_ids_keep_the_row_bootstrap_loads(tmp_path: Path) -> None:
    """Bootstrap loads the newest version of a record id (the first on a tie, the later
    of two without one): --loaded remembers that row too, so the next run's updates are
    judged against what the index holds, and names the row it passes over."""
    with SnapshotState(tmp_path / "cdc.db") as state:
        # fmt: off
        report = mark_loaded(
            versioned(
                rec("1", "Old"), rec("1", "New"),  # versions 1 then 2: the newer
                rec("2", "First"), rec("2", "Tie"),  # versions 5 and 5: the first
                rec("3", "Earlier"), rec("3", "Later"),  # none: the later
                rec("4"), rec("4"), rec("5"),  # a version that is no number is refused
                versions=(1, 2, 5, 5, UNVERSIONED, UNVERSIONED, 3, "source_version is bad", 1),
            ),
            "housing",
            state,
        )
        # fmt: on
        assert state.hashes("housing") == {
            "1": content_hash(rec("1", "New")),
            "2": content_hash(rec("2", "First")),
            "3": content_hash(rec("3", "Later")),
            "4": content_hash(rec("4")),
            "5": content_hash(rec("5")),
        }
    assert report.created == 5
    assert [(r.line, r.reason) for r in report.rejected] == [
        (2, "duplicate record_id: line 3 supersedes it, as in hub bootstrap"),
        (5, "duplicate record_id: line 4 supersedes it, as in hub bootstrap"),
        (6, "duplicate record_id: line 7 supersedes it, as in hub bootstrap"),
        (9, "source_version is bad"),
    ]


def test_a_snapshots_versions_are_read_as_bootstrap_reads_them(tmp_path: Path) -> None:
    snapshot = tmp_path / "housing.csv"
    snapshot.write_text(
        "record_id,last_name,source_version,updated_at\n"
        "1,Okafor,7,\n"
        "2,Okafor,,2026-01-02T03:04:05Z\n"
        "3,Okafor,,\n"
        "4,Okafor,-2,\n"
    )
    read = [(line, version) for line, _, version in versioned_records(snapshot, {})]
    assert read == [
        (2, 7),
        (3, 1767323045000),  # updated_at in milliseconds, as the stream versions it
        (4, UNVERSIONED),
        (5, "source_version is not a whole number of 0 or more"),
    ]
