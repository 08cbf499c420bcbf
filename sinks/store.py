"""The SQL store: SQLite by default, PostgreSQL through ``HUB_DATABASE_URL``.

Writes arrive as batches of rows per table and are applied in one transaction with
versioned upserts on natural keys: a row replaces the stored one only when its version
is at least as new, so a redelivered, duplicated or reordered batch changes nothing.
The schema is managed by Alembic (``sinks/migrations``); :meth:`Store.upgrade` brings a
database to the newest revision and is safe to run at every start.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson
from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    create_engine,
    event,
    exists,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from hub.errors import HubError, UsageError
from hub.settings import is_port
from matchers.decisions import Judgement
from sinks import tables

T = TypeVar("T")

MIGRATIONS = Path(__file__).parent / "migrations"
Row = Mapping[str, Any]
# SQLite: pages the write-ahead log may reach before a writer checkpoints it itself. The
# store checkpoints in a thread of its own after each write (:class:`_Checkpointer`), so
# this is only the backstop should that thread fall behind.
WAL_AUTOCHECKPOINT_PAGES = 20_000
CACHE_KIB = 64 * 1024  # SQLite's page cache per connection
# Tables whose rows carry the identity state version of the batch that wrote them.
STATE_VERSIONED = (
    tables.persons,
    tables.source_records,
    tables.source_payloads,
    tables.person_aliases,
    tables.households,
    tables.household_aliases,
    tables.match_decisions,
    tables.review_items,
    tables.judgements,
)


class StoreError(HubError):
    """The store could not be reached or written."""


def _json(value: Any) -> str:
    """JSON columns written by orjson (several times faster than the json module)."""
    return orjson.dumps(value).decode()


# What HUB_DATABASE_URL may name (the README's settings table).
BACKENDS = (
    "SQLite (sqlite:///PATH) or PostgreSQL (postgresql+psycopg://USER:PASSWORD@HOST/DATABASE)"
)


def store_url(url: str) -> URL:
    """``url`` read, or one line on what is wrong with it that never quotes it (it may hold
    a password); checked before anything is opened or made."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UsageError(
            "HUB_DATABASE_URL is not a database URL (it does not begin with a backend and ://): "
            f"the hub keeps its store in {BACKENDS}"
        ) from None
    except ValueError:  # (the one SQLAlchemy raises: int() of the port)
        raise UsageError(
            "HUB_DATABASE_URL is not a database URL: its port is not a number"
        ) from None
    if parsed.port is not None and not is_port(parsed.port):
        raise UsageError("HUB_DATABASE_URL is not a database URL: its port is not from 1 to 65535")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise UsageError(
            f"HUB_DATABASE_URL names a {backend} database: the hub keeps its store in {BACKENDS}"
        )
    try:
        dialect = parsed.get_dialect()
        dialect.import_dbapi()
    except (NoSuchModuleError, ImportError):
        dialect = None
    if dialect is None or dialect.is_async:  # (an asyncio driver: the store's calls are not)
        raise UsageError(
            f"HUB_DATABASE_URL names {parsed.drivername}, a driver the hub cannot use: it keeps "
            f"its store in {BACKENDS}"
        )
    return parsed


def create_store_engine(url: str, *, create: bool = True) -> Engine:
    """An engine for the store at ``url``; unless ``create``, a SQLite store must exist
    already (a command that only reads it must not start a new, empty one), as a hub
    store (:func:`require_sqlite_store`)."""
    parsed = store_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            if not create:
                require_sqlite_store(path)
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30}, json_serializer=_json)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute("PRAGMA synchronous=NORMAL")
            # The store outgrows SQLite's default 2 MB page cache within days; each upsert
            # then reads its index pages back through the operating system.
            cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            cursor.close()

        return engine
    return create_engine(parsed, pool_pre_ping=True, json_serializer=_json)


def require_sqlite_store(path: Path) -> None:
    """Refuse a file that is not a hub store, read without the engine: the engine's first
    connection switches a file to write-ahead logging (a write), and an upgrade would add
    the hub's tables to any database."""
    if not path.is_file():
        raise UsageError(
            f"no store at {path.resolve()} (HUB_DATABASE_URL; by default "
            ".stack/hub.db in the folder the hub runs in): run the command there, or "
            "set HUB_DATABASE_URL to the workers' store"
        )
    tables: set[str] | None = None
    try:
        file = f"{path.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(file, uri=True, timeout=30)) as db:
            tables = {name for (name,) in db.execute(_TABLES)}
    except sqlite3.OperationalError as error:  # (locked, unreadable)
        raise StoreError(f"store at {path.resolve()} cannot be read: {error}") from None
    except sqlite3.DatabaseError:  # (not SQLite at all)
        pass
    if tables is None:
        raise UsageError(_not_a_store(str(path.resolve())))
    _require_hub_tables(tables, str(path.resolve()))


# (not SQLite's own: sqlite_sequence outlives the table that made it)
_TABLES = (
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
)


def _require_hub_tables(tables: Collection[str], where: str) -> None:
    """Refuse a database with no tables, or with no alembic_version table, in one line."""
    if not tables:
        raise UsageError(_no_tables(where))
    if "alembic_version" not in tables:
        raise UsageError(_not_a_store(where))


def _not_a_store(where: str) -> str:
    return (
        f"{where} is not a hub store (it has no alembic_version table; HUB_DATABASE_URL): "
        "set HUB_DATABASE_URL to the workers' store (a worker or hub bootstrap makes one)"
    )


def _no_tables(where: str) -> str:
    return (
        f"{where} holds no tables: no worker or hub bootstrap has written to it since it "
        "was made or `hub stack reset` emptied it (HUB_DATABASE_URL): start the workers "
        "(hub run) or load a snapshot (hub bootstrap) first"
    )


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


class Store:
    def __init__(self, url: str, *, create: bool = True) -> None:
        """Unless ``create``, the database must be a hub store already (for a command
        that only reads it): SQLite's is checked here, PostgreSQL's by :meth:`upgrade`."""
        self.url = url
        self.create = create
        self.engine = create_store_engine(url, create=create)
        self._compiled: dict[str, tuple[str, list[tuple[str, Any]]]] = {}
        self._checkpointer: _Checkpointer | None = None

    def upgrade(self, attempts: int = 5) -> None:
        """Create or migrate the schema to the newest revision (unless ``create``, only
        a hub store's: another database is refused before anything is written).

        Workers starting together may race to migrate a new database: the loser's
        transaction rolls back, and its next attempt finds the schema already current.
        """
        for attempt in range(1, attempts + 1):
            doing = "cannot be connected to"
            try:
                with self.engine.connect() as connection:
                    doing = "cannot be migrated"
                    with connection.begin():
                        if not self.create:
                            _require_hub_tables(
                                inspect(connection).get_table_names(),
                                f"the database at {self.safe_url}",
                            )
                        command.upgrade(alembic_config(connection), "head")
                return
            except CommandError as error:  # (a revision this release does not know)
                raise StoreError(
                    f"store at {self.safe_url} cannot be migrated: {error}; a newer hub (or "
                    "another application using Alembic) wrote it: run that hub's release"
                ) from None
            except SQLAlchemyError as error:
                if attempt == attempts:
                    cause = str(getattr(error, "orig", None) or error).strip()
                    first = cause.splitlines()[0] if cause else type(error).__name__
                    raise StoreError(f"store at {self.safe_url} {doing}: {first}") from None
                time.sleep(0.2 * attempt)

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def apply(self, batch: Mapping[Table, Sequence[Row]]) -> None:
        """Upsert every table's rows in one transaction (newer or equal versions win);
        review items whose pair is judged, the batch's or before, are marked decided."""
        sqlite_ = self.engine.dialect.name == "sqlite"
        try:
            with self.engine.begin() as connection:
                for table, rows in batch.items():
                    if not rows:
                        continue
                    if sqlite_:
                        sql, columns = self._sqlite_upsert(table)
                        connection.exec_driver_sql(sql, _bound(columns, rows))
                    else:
                        connection.execute(self._upsert(table), list(rows))
                pairs = _review_pairs(batch)
                if pairs:
                    connection.execute(_DECIDE, [{"a": a, "b": b} for a, b in sorted(pairs)])
        except SQLAlchemyError as error:
            cause = getattr(error, "orig", None) or error
            raise StoreError(f"store write failed: {type(cause).__name__}") from None
        if sqlite_ and self.engine.url.database not in (None, "", ":memory:"):
            if self._checkpointer is None:
                self._checkpointer = _Checkpointer(self.engine)
            self._checkpointer.request()

    def _sqlite_upsert(self, table: Table) -> tuple[str, list[tuple[str, Any]]]:
        """The upsert as SQL with positional parameters, and each column with its type's
        bind processor. SQLite executes it straight through the driver's executemany:
        SQLAlchemy's per-row parameter handling costs more than the insert itself (about
        15 against 4 microseconds a row), and the values stored are the same."""
        cached = self._compiled.get(table.name)
        if cached is None:
            compiled = self._upsert(table).compile(dialect=self.engine.dialect)
            order = list(compiled.positiontup or [])
            if order != [c.name for c in table.columns]:
                raise StoreError(f"unexpected parameter order for {table.name}")
            columns = [
                (c.name, c.type._cached_bind_processor(self.engine.dialect)) for c in table.columns
            ]
            cached = self._compiled[table.name] = (str(compiled), columns)
        return cached

    def _upsert(self, table: Table) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table)
        keys = [c.name for c in table.primary_key.columns]
        updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
        return statement.on_conflict_do_update(
            index_elements=keys,
            set_=updates,
            where=table.c.version <= statement.excluded.version,
        )

    def rows(self, table: Table, **where: Any) -> list[dict[str, Any]]:
        """Rows of a table, optionally filtered by column equality (for queries and tests)."""
        query = select(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def newest_state_version(self) -> int:
        """The newest identity state version the store holds a batch of (0: none)."""
        return self._read(newest_state_version)

    def holds_anything(self) -> bool:
        """Whether the store holds any row a worker writes: a source record (live or
        deleted), a judgement or a relationship."""
        written = (tables.source_payloads, tables.judgements, tables.relationships)
        queries = [select(table).limit(1) for table in written]
        return self._read(lambda db: any(db.execute(q).first() is not None for q in queries))

    def judgements(self) -> list[Judgement]:
        """Every judgement the store keeps (people's and those sources state)."""
        return self._read(judgements_in)

    def open_review_items(self, limit: int) -> tuple[int, list[dict[str, Any]]]:
        """How many review items are open (no judgement of their pair, a person's or a
        source's), and the ``limit`` raised longest ago (when last raised)."""
        return self._read(functools.partial(open_review_items_in, limit=limit))

    def person(self, wanted: str) -> dict[str, Any] | None:
        """Who a person id or source record id names, with their household and service
        groupings (:func:`sinks.lookup.person_in`)."""
        from sinks.lookup import person_in

        def read(db: Connection) -> dict[str, Any] | None:
            if db.dialect.name == "postgresql":  # (its reads, as of one moment)
                db.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            return person_in(db, wanted)

        return self._read(read)

    def held_records(self, ids: Iterable[str]) -> dict[str, bool]:
        """Those of ``ids`` that the store holds as source records: whether each is live
        (False: its source deleted it)."""
        records = tables.source_records
        query = select(records.c.record_id, records.c.person_id).where(
            records.c.record_id.in_(sorted(set(ids)))
        )
        return self._read(
            lambda db: {row.record_id: row.person_id is not None for row in db.execute(query)}
        )

    def _read(self, read: Callable[[Connection], T]) -> T:
        """``read`` on a connection; a failure as a one-line :class:`StoreError`."""
        try:
            with self.engine.connect() as connection:
                return read(connection)
        except SQLAlchemyError as error:
            cause = getattr(error, "orig", None) or error
            raise StoreError(f"store read failed: {type(cause).__name__}") from None

    def record_partition(self) -> dict[str, tuple[str | None, str | None]]:
        """record id -> (person id, household id) for every live source record."""
        query = (
            select(
                tables.source_records.c.record_id,
                tables.source_records.c.person_id,
                tables.persons.c.household_id,
            )
            .select_from(tables.source_records)
            .join(
                tables.persons,
                tables.persons.c.person_id == tables.source_records.c.person_id,
                isouter=True,
            )
            .where(tables.source_records.c.person_id.is_not(None))
        )
        with self.engine.connect() as connection:
            return {r.record_id: (r.person_id, r.household_id) for r in connection.execute(query)}

    def drop_all(self) -> None:
        """Remove every table, including Alembic's own (for `hub stack reset`)."""
        with self.engine.begin() as connection:
            tables.metadata.drop_all(connection)
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self.engine.dispose()


# A review item whose pair has a judgement, a person's or a source's, is decided: an item
# (re-)raised and the judgement of its pair can come in either order (two workers' drains).
_items, _judged = tables.review_items, tables.judgements
_DECIDE = (
    update(_items)
    .where(
        (_items.c.record_id == bindparam("a"))
        & (_items.c.other_record_id == bindparam("b"))
        & (_items.c.status == "open")
        & exists().where(
            (_judged.c.record_a == bindparam("a")) & (_judged.c.record_b == bindparam("b"))
        )
    )
    .values(status="decided")
)


def _review_pairs(batch: Mapping[Table, Sequence[Row]]) -> set[tuple[str, str]]:
    """The pairs (sorted) of the batch's review items and judgements."""
    items = batch.get(tables.review_items, ())
    judged = batch.get(tables.judgements, ())
    return {(r["record_id"], r["other_record_id"]) for r in items} | {
        (r["record_a"], r["record_b"]) for r in judged
    }


def judgements_in(db: Connection) -> list[Judgement]:
    """The judgements the store keeps, as the identity state holds them."""
    return [
        Judgement(
            row.record_a,
            row.record_b,
            row.same,
            row.judged_by,
            row.judged_at,
            row.parent_record_id,
            row.parent_since,
        )
        for row in db.execute(select(tables.judgements))
    ]


def open_review_items_in(db: Connection, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """See :meth:`Store.open_review_items`."""
    undecided = select(_items).where(_items.c.status == "open").subquery()
    count = db.execute(select(func.count()).select_from(undecided)).scalar() or 0
    first = db.execute(
        select(undecided)
        .order_by(undecided.c.raised_at, undecided.c.record_id, undecided.c.other_record_id)
        .limit(limit)
    )
    return count, [
        {
            "record_id": row.record_id,
            "other_record_id": row.other_record_id,
            "reason": row.reason,
            "match_weight": row.match_weight,
            "explanation": row.explanation,
            "model_version": row.model_version,
            "raised_at": _utc(row.raised_at).isoformat(),
        }
        for row in first
    ]


def _utc(moment: dt.datetime) -> dt.datetime:
    """A stored time as UTC (SQLite hands back the UTC it was given without a zone)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def newest_state_version(db: Connection) -> int:
    """The newest state version among the rows of :data:`STATE_VERSIONED` (0: none).
    The state in Redis is always at least this far on: its batches are stored only after
    they are committed there, and a rebuild starts above it."""
    newest = 0
    for table in STATE_VERSIONED:
        newest = max(newest, db.execute(select(func.max(table.c.version))).scalar() or 0)
    return newest


class _Checkpointer:
    """Checkpoints a SQLite store's write-ahead log in a thread of its own.

    A checkpoint copies the log into the database file and syncs both to disk: left to
    the writer (SQLite's automatic checkpoint at the end of a commit) it made a worker's
    every store write wait for the disk, about as long as the write itself. Here a writer
    only asks for one; a PASSIVE checkpoint never blocks writers or readers, and requests
    made while one runs are served by one more. Durability is SQLite's as before: a
    committed transaction is in the log, which a later checkpoint or open replays.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._wanted = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="store-checkpoint", daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._wanted.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stopping = True
        self._wanted.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stopping:
                return
            try:
                with self.engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except SQLAlchemyError:
                # Busy or gone: the next write asks again, and a writer checkpoints itself
                # when the log reaches WAL_AUTOCHECKPOINT_PAGES.
                continue


def _bound(columns: Sequence[tuple[str, Any]], rows: Iterable[Row]) -> list[tuple[Any, ...]]:
    """Rows as parameter tuples in column order (missing columns are NULL), each value
    through its column type's bind processor. Rows of one batch share their timestamps,
    so a processor's last answer is reused for the same object."""
    processors = []
    for name, process in columns:
        if process is None:
            processors.append((name, None))
        else:
            processors.append((name, _remembering(process)))
    return [
        tuple(row.get(name) if process is None else process(row.get(name))
              for name, process in processors)
        for row in rows
    ]  # fmt: skip


def _remembering(process: Any) -> Any:
    last: list[Any] = [_NOTHING, None]

    def cached(value: Any) -> Any:
        if value is last[0]:
            return last[1]
        result = process(value)
        if isinstance(value, dt.datetime):
            last[0], last[1] = value, result
        return result

    return cached


_NOTHING = object()


def chunks(rows: Iterable[Row], size: int) -> Iterable[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
