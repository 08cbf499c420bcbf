"""Commands that only read the store never make one: a database that is not a hub store
(no alembic_version table) is refused in one line and left as it was, while a hub store
of an older schema is upgraded, as a worker's start upgrades it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from hub import cli
from hub.errors import UsageError
from hub.stack.processes import free_port
from sinks.store import Store, alembic_config

pytestmark = pytest.mark.unit

READERS = [
    ("review", "list"),
    ("review", "judge", "housing:H1", "housing:H2", "--same", "--by", "o"),
    ("person", "housing:H1"),
    ("state", "expire", "--dry-run"),
]


def hub(monkeypatch, capsys, tmp_path: Path, database: Path, *args: str) -> tuple[int, str, str]:
    monkeypatch.chdir(tmp_path)  # (no developer's .env)
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("HUB_KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")  # never reached
    monkeypatch.setenv("HUB_STACK_DIR", str(tmp_path / "stack"))
    monkeypatch.setattr("sys.argv", ["hub", *args])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def folder(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}


def another_apps_database(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE mine (x)")
        db.execute("INSERT INTO mine VALUES (1)")
    db.close()


@pytest.mark.parametrize("args", READERS, ids=lambda args: " ".join(args[:2]))
@pytest.mark.parametrize("kind", ["another app's", "empty", "emptied", "not SQLite"])
def test_a_database_that_is_not_a_hub_store_is_refused_unwritten(
    monkeypatch, capsys, tmp_path, args, kind
):
    data = tmp_path / "data"
    data.mkdir()
    database = data / "other.db"
    if kind == "another app's":
        another_apps_database(database)
    elif kind == "empty":
        database.touch()
    elif kind == "emptied":  # (SQLite keeps its sqlite_sequence table)
        with sqlite3.connect(database) as db:
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)")
            db.execute("INSERT INTO t DEFAULT VALUES")
            db.execute("DROP TABLE t")
        db.close()
    else:
        database.write_text("name,dob\n")
    before = folder(data)
    code, out, err = hub(monkeypatch, capsys, tmp_path, database, *args)
    assert (code, out) == (2, ""), err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    if kind in ("empty", "emptied"):  # (as `hub stack reset` leaves the default store)
        assert f"{database} holds no tables: no worker or hub bootstrap has written" in err
    else:
        assert f"{database} is not a hub store" in err
    assert folder(data) == before  # not a byte written, no journal left


def test_a_hub_store_of_an_older_schema_is_upgraded(monkeypatch, capsys, tmp_path):
    database = tmp_path / "hub.db"
    older = Store(f"sqlite:///{database}")
    with older.engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0003")
    older.dispose()
    code, out, err = hub(monkeypatch, capsys, tmp_path, database, "review", "list")
    assert (code, out, err) == (0, '{"open":0,"items":[]}\n', "")
    with sqlite3.connect(database) as db:
        (version,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    db.close()
    with Store(f"sqlite:///{database}").engine.connect() as connection:
        head = ScriptDirectory.from_config(alembic_config(connection)).get_current_head()
    assert version == head != "0003"


@pytest.mark.parametrize(
    ("other", "refusal"), [(True, "is not a hub store"), (False, "holds no tables")]
)
def test_upgrade_refuses_a_database_that_is_not_a_hub_store(tmp_path, other, refusal):
    """PostgreSQL's only check (SQLite's file is read before its engine is made): here on
    a SQLite engine the check never saw."""
    database = tmp_path / "other.db"
    if other:
        another_apps_database(database)
    store = Store(f"sqlite:///{database}")
    store.create = False
    try:
        with pytest.raises(UsageError, match=rf"^the database at sqlite:.* {refusal}"):
            store.upgrade()
    finally:
        store.dispose()
    with sqlite3.connect(database) as db:
        names = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    assert names == ({"mine"} if other else set())


def test_a_store_a_newer_hub_wrote_is_one_line_not_an_internal_error(monkeypatch, capsys, tmp_path):
    database = tmp_path / "hub.db"
    store = Store(f"sqlite:///{database}")
    store.upgrade()
    store.dispose()
    with sqlite3.connect(database) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999_from_a_later_release'")
    db.close()
    code, out, err = hub(monkeypatch, capsys, tmp_path, database, "review", "list")
    assert (code, out) == (1, "")
    assert err.startswith("error: store at ") and err.count("\n") == 1, err
    assert "'9999_from_a_later_release'; a newer hub" in err


@pytest.mark.parametrize("wanted", ["", " ", "nobody:1 ", "nobody:1\nP000000001"])
def test_hub_person_shows_the_id_it_did_not_find_as_given_in_one_line(
    monkeypatch, capsys, tmp_path, wanted
):
    # (an empty id was "no person or source record " and exit 1; one ending in a space
    # was not told from the same id without; a line break made the error two lines)
    database = tmp_path / "hub.db"
    store = Store(f"sqlite:///{database}")
    store.upgrade()
    store.dispose()
    code, out, err = hub(monkeypatch, capsys, tmp_path, database, "person", wanted)
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1, err
    if wanted.strip():
        assert (code, err) == (1, f"error: the store holds no person or source record {wanted!r}\n")
    else:
        assert code == 2 and "give a person id or a source record id" in err
