"""The SQL store on real SQLite and PostgreSQL: migrations, versioned idempotent upserts."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from sinks import tables
from sinks.store import Store, StoreError
from tests.support.pipeline import wait_until

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def person(person_id: str, version: int, last_name: str) -> dict[str, object]:
    return {
        "person_id": person_id,
        "version": version,
        "removed": False,
        "first_name": "ada",
        "middle_name": None,
        "last_name": last_name,
        "dob": "1990-02-03",
        "sex": "f",
        "address_line_1": "1 high street",
        "address_line_2": None,
        "town": "london",
        "postcode": "NW1 2DB",
        "uprn": "100023336956",
        "household_id": "H000000001",
        "identifiers": {"nhs_numbers": ["9434765919"]},
        "record_count": 2,
        "updated_at": NOW,
    }


def test_migrations_create_exactly_the_declared_tables(store: Store) -> None:
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), tables.metadata)
    assert diff == []
    store.upgrade()  # running it again is harmless


def test_the_relationships_a_store_holds_become_stated_judgements_on_upgrade(
    store: Store,
) -> None:
    from alembic import command

    from matchers.decisions import Judgement, stated_apart
    from sinks.store import alembic_config

    with store.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0004")
    person = Judgement("h:a", "h:B", same=True, by="officer", at="2026-11-27T10:00:00")
    with store.engine.begin() as connection:  # (the table as it was then)
        connection.execute(
            text(
                "INSERT INTO judgements (record_a, record_b, same, judged_by, judged_at, version)"
                " VALUES (:a, :b, :same, :by, :at, 7)"
            ),
            {"a": person.record_a, "b": person.record_b, "same": True, "by": person.by,
             "at": person.at},
        )  # fmt: skip

    def relationship(rid: str, system: str, record: str, related: str | None) -> dict[str, object]:
        return {
            "relationship_id": f"{system}:{rid}", "source_system": system, "kind": "PARENT",
            "record_id": record, "related_record_id": related, "group_id": None, "role": None,
            "start": None, "end": None, "removed": rid == "r2", "version": 1, "updated_at": NOW,
        }  # fmt: skip

    store.apply({tables.relationships: [
        relationship("r1", "h", "h:a", "h:C"),  # ("h:C" sorts before "h:a" by code point)
        relationship("r2", "h", "h:C", "h:a"),  # (the same pair, removed: still counts)
        relationship("r3", "x", "h:C", "h:a"),  # (another source: the greater name wins)
        relationship("r4", "h", "h:B", "h:a"),  # (a person judged this pair: theirs stands)
        relationship("r5", "h", "h:d", None),  # (a grouping)
        relationship("r6", "h", "h:e", "h:e"),  # (itself)
    ]})  # fmt: skip
    store.upgrade()
    assert sorted(store.judgements(), key=lambda j: j.pair) == [
        person,
        stated_apart("h:a", "h:C", "x"),
    ]
    with store.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0004")
        kept = connection.execute(text("SELECT record_a, record_b, judged_by FROM judgements"))
        assert [tuple(row) for row in kept] == [(*person.pair, person.by)]
    store.upgrade()


def test_a_parent_fact_is_kept_and_learnt_on_upgrade(store: Store) -> None:
    from datetime import date

    from alembic import command

    from matchers.decisions import Judgement, stated_apart
    from sinks.store import alembic_config

    parent = stated_apart("e:f", "e:s", "e", parent="e:f", since=date(2009, 6, 27))
    store.apply({tables.judgements: [{
        "record_a": "e:f", "record_b": "e:s", "same": False, "judged_by": parent.by,
        "judged_at": "", "parent_record_id": "e:f", "parent_since": "2009-06-27", "version": 1,
    }]})  # fmt: skip
    assert store.judgements() == [parent]
    with store.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0006")

    def relationship(rid: str, system: str, kind: str, pair: tuple[str, str],
                     start: str) -> dict[str, object]:  # fmt: skip
        record, related = pair
        return {
            "relationship_id": f"{system}:{rid}", "source_system": system, "kind": kind,
            "record_id": record, "related_record_id": related, "group_id": None, "role": None,
            "start": start, "end": None, "removed": False, "version": 1, "updated_at": NOW,
        }  # fmt: skip

    with store.engine.begin() as connection:
        connection.execute(tables.relationships.insert(), [
            relationship("r1", "e", "PARENT", ("e:f", "e:s"), "2009-06-27"),
            relationship("r2", "e", "CHILD", ("e:f", "e:s"), "2001-01-01"),  # (s is f's parent)
            relationship("r3", "h", "PARENT", ("e:f", "e:s"), "1900-01-01"),  # (a placeholder)
            relationship("r4", "e", "PARTNER", ("e:p", "e:q"), "2001-01-01"),
            relationship("r5", "h", "parent", ("e:x", "e:y"), "2012-03-04"),  # (a person's pair)
            relationship("r6", "h", "PARENT", ("e:z", "e:w"), "2012-03-04"),  # (no judgement)
        ])  # fmt: skip
        connection.execute(text(
            "INSERT INTO judgements (record_a, record_b, same, judged_by, judged_at, version) "
            "VALUES ('e:p', 'e:q', false, 'source:e', '', 1), "
            "('e:x', 'e:y', false, 'officer-1', '2026-11-27T10:00:00.000+00:00', 1)"
        ))  # fmt: skip
    store.upgrade()  # each pair's judgement learns its best parent fact: the earliest start
    assert sorted(store.judgements(), key=lambda j: j.pair) == [
        stated_apart("e:f", "e:s", "e", parent="e:s", since=date(2001, 1, 1)),
        stated_apart("e:p", "e:q", "e"),
        Judgement(
            "e:x",
            "e:y",
            False,
            "officer-1",
            "2026-11-27T10:00:00.000+00:00",
            parent="e:x",
            since="2012-03-04",
        ),
    ]


def _review_item(a: str, b: str, minute: int, version: int = 1) -> dict[str, object]:
    return {"record_id": a, "other_record_id": b, "version": version, "reason": "weak_bridge",
            "match_weight": 2.5, "explanation": [["dob", "exact", 4.0]],
            "model_version": "m1", "status": "open",
            "raised_at": NOW.replace(minute=minute)}  # fmt: skip


def _judged(a: str, b: str, version: int = 1) -> dict[str, object]:
    return {"record_a": a, "record_b": b, "same": False, "judged_by": "officer-1",
            "judged_at": "2026-11-26T10:00:00.000+00:00", "version": version}  # fmt: skip


def _statuses(store: Store) -> dict[tuple[str, str], str]:
    rows = store.rows(tables.review_items)
    return {(r["record_id"], r["other_record_id"]): r["status"] for r in rows}


def test_a_review_item_is_open_until_its_pair_is_judged(store: Store) -> None:
    store.apply(
        {tables.review_items: [_review_item("a:2", "b:1", 5), _review_item("a:1", "b:1", 9)]}
    )
    assert store.open_review_items(1) == (
        2,
        [{"record_id": "a:2", "other_record_id": "b:1", "reason": "weak_bridge",
          "match_weight": 2.5, "explanation": [["dob", "exact", 4.0]], "model_version": "m1",
          "raised_at": "2026-11-26T09:05:00+00:00"}],
    )  # fmt: skip
    store.apply({tables.judgements: [_judged("a:2", "b:1")]})
    count, items = store.open_review_items(10)
    assert (count, [(i["record_id"], i["other_record_id"]) for i in items]) == (
        1,
        [("a:1", "b:1")],
    )
    assert _statuses(store) == {("a:2", "b:1"): "decided", ("a:1", "b:1"): "open"}


def test_a_review_item_stored_after_its_pair_was_judged_is_decided(store: Store) -> None:
    # (two workers' drains: the judgement's batch can be stored before an earlier one)
    store.apply({tables.judgements: [_judged("a:1", "b:1", version=8)]})
    store.apply({tables.review_items: [_review_item("a:1", "b:1", 5, version=7)]})
    store.apply({tables.review_items: [_review_item("a:1", "b:1", 6, version=9)]})  # raised again
    assert _statuses(store) == {("a:1", "b:1"): "decided"}
    assert store.open_review_items(10) == (0, [])


def test_review_items_already_judged_become_decided_on_upgrade(store: Store) -> None:
    from alembic import command

    from sinks.store import alembic_config

    with store.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0005")
        connection.execute(tables.review_items.insert(), [
            _review_item("a:1", "b:1", 5), _review_item("a:2", "b:1", 6),
        ])  # fmt: skip
        connection.execute(tables.judgements.insert(), [_judged("a:1", "b:1")])
    assert _statuses(store) == {("a:1", "b:1"): "open", ("a:2", "b:1"): "open"}
    store.upgrade()
    assert _statuses(store) == {("a:1", "b:1"): "decided", ("a:2", "b:1"): "open"}
    with store.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0005")
    assert _statuses(store) == {("a:1", "b:1"): "open", ("a:2", "b:1"): "open"}
    store.upgrade()


def test_upserts_are_idempotent_and_never_go_back_in_version(store: Store) -> None:
    store.apply({tables.persons: [person("P1", 2, "lovelace")]})
    store.apply({tables.persons: [person("P1", 2, "lovelace")]})  # duplicate batch
    store.apply({tables.persons: [person("P1", 1, "byron")]})  # stale, redelivered late
    rows = store.rows(tables.persons)
    assert len(rows) == 1
    assert rows[0]["last_name"] == "lovelace" and rows[0]["version"] == 2
    assert rows[0]["identifiers"] == {"nhs_numbers": ["9434765919"]}
    store.apply({tables.persons: [person("P1", 3, "king")]})
    assert store.rows(tables.persons, person_id="P1")[0]["last_name"] == "king"


def test_one_batch_spans_tables_and_gives_the_partition(store: Store) -> None:
    links = [
        {"record_id": f"housing:{i}", "source_system": "housing", "person_id": "P1",
         "version": 1, "updated_at": NOW}
        for i in range(3)
    ]  # fmt: skip
    deleted = {"record_id": "housing:9", "source_system": "housing", "person_id": None,
               "version": 1, "updated_at": NOW}  # fmt: skip
    store.apply(
        {tables.persons: [person("P1", 1, "lovelace")], tables.source_records: [*links, deleted]}
    )
    assert store.record_partition() == {f"housing:{i}": ("P1", "H000000001") for i in range(3)}


def test_a_failed_batch_writes_nothing(store: Store) -> None:
    bad = person("P2", 1, "x")
    bad["record_count"] = None  # NOT NULL column
    alias = {"alias_id": "P9", "person_id": "P1", "version": 1}
    with pytest.raises(StoreError, match="store write failed"):
        store.apply({tables.person_aliases: [alias], tables.persons: [person("P1", 1, "ok"), bad]})
    assert store.rows(tables.persons) == []
    assert store.rows(tables.person_aliases) == []


def test_sqlite_writes_reach_the_database_file_without_the_writer_checkpointing(
    tmp_path: Path,
) -> None:
    """The store checkpoints SQLite's write-ahead log in a thread of its own: a committed
    batch reaches the database file itself (a copy of the file alone, without its log,
    holds it) although no writer crossed SQLite's automatic checkpoint threshold."""
    path = tmp_path / "hub.db"
    before = set(threading.enumerate())
    store = Store(f"sqlite:///{path}")
    store.upgrade()
    try:
        store.apply({tables.persons: [person("P1", 1, "lovelace")]})

        def in_file_alone() -> bool:
            copy = tmp_path / "copy.db"
            shutil.copyfile(path, copy)
            with contextlib.closing(sqlite3.connect(copy)) as connection:
                try:
                    found = connection.execute("SELECT last_name FROM persons").fetchall()
                except sqlite3.DatabaseError:
                    return False  # the schema itself has not reached the file yet
            return found == [("lovelace",)]

        wait_until(in_file_alone, 30, "the batch to be checkpointed into the database file")
    finally:
        store.dispose()
    assert set(threading.enumerate()) <= before  # dispose stopped the store's thread
    reopened = Store(f"sqlite:///{path}")
    try:
        assert [r["last_name"] for r in reopened.rows(tables.persons)] == ["lovelace"]
    finally:
        reopened.dispose()


def test_a_store_that_cannot_be_connected_to_is_one_line_saying_so() -> None:
    from hub.stack.processes import free_port

    store = Store(f"postgresql+psycopg://hub:s3cret@127.0.0.1:{free_port()}/hub")
    with pytest.raises(StoreError) as raised:
        store.upgrade(attempts=1)
    message = str(raised.value)
    assert message.startswith("store at postgresql+psycopg://hub:***@127.0.0.1:")
    assert "/hub cannot be connected to: " in message and "\n" not in message
    assert "s3cret" not in message
    store.dispose()
