"""Snapshot-diff CDC (``hub cdc``): turn a source's nightly full extract into change events.

Each run compares the snapshot with the previous one of the same source and publishes only
what changed: CREATE for a record id not seen before, UPDATE for one whose values changed,
DELETE for one that is gone. What was published is remembered durably in a SQLite file (per
source system and record id, a digest of the record's values), and a row's new digest is
stored only once Kafka has acknowledged its event: a run that fails part-way is simply run
again, and running the same snapshot twice publishes nothing the second time.

Safety: a snapshot that lacks more than half of the previous records (a truncated extract
looks like that) has its deletes withheld unless the caller allows them. So does a snapshot
with a row whose id cannot be read (a ragged row, an unclosed quote, no ``record_id``):
any previous record missing from it may be that row, so no delete can be trusted; the
rows are reported by line, and once fixed, the next run publishes the deletes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from hub.console import SHOWN_LINES, counted
from hub.errors import UsageError
from hub.inputs import RejectedRow, numbered_records, numbered_rows
from hub.snapshots import (
    VERSION_COLUMN,
    bad_version,
    check_version_column,
    loadable,
    replaces,
    version_column_read,
)
from matchers.records import SourceRecord
from monitoring.metrics import HubMetrics
from schemas.conversions import content_hash, person_changed, source_record_id
from schemas.events import Operation
from schemas.topics import source_persons
from sources.publish import source_problem
from sources.publisher import Delivery, OnDelivery, Publisher, PublishError

STATE_FILE = "cdc-state.db"
MASS_DELETE_SHARE = 0.5
MASS_DELETE_MIN_RECORDS = 20  # below this, any share of deletes is plausible
Row = TypeVar("Row")


class SnapshotState:
    """The digest of every record last published per source, in a SQLite file.

    One run per file at a time: opening takes an exclusive lock on ``<file>.lock``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        lock = path.parent / f"{path.name}.lock"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise UsageError(f"{path}: cannot be created: {path.parent} is not a folder") from None
        except OSError as error:
            raise UsageError(f"{path}: cannot be created: {error.strerror}") from None
        try:
            self._lock = lock.open("w")
        except OSError as error:
            raise UsageError(f"{lock}: cannot be written: {error.strerror}") from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise UsageError(
                f"another hub cdc run is using {path}; try again when it ends"
            ) from None
        try:
            self._db = _open_state(path)
        except sqlite3.Error as error:
            self._lock.close()  # (which releases the lock)
            if path.is_dir():
                raise UsageError(f"{path}: is a folder, not the hub cdc state") from None
            raise UsageError(f"{path}: cannot be opened as the hub cdc state ({error})") from None

    def hashes(self, system: str) -> dict[str, str]:
        rows = self._db.execute(
            "SELECT record_id, content_hash FROM snapshot_records WHERE source_system = ?",
            (system,),
        )
        return dict(rows)

    def apply(
        self, system: str, upserts: Iterable[tuple[str, str]], deletes: Iterable[str]
    ) -> None:
        """Record acknowledged changes, all in one transaction."""
        with self._db:
            self._db.executemany(
                "INSERT INTO snapshot_records (source_system, record_id, content_hash)"
                " VALUES (?, ?, ?) ON CONFLICT (source_system, record_id)"
                " DO UPDATE SET content_hash = excluded.content_hash",
                ((system, record_id, digest) for record_id, digest in upserts),
            )
            self._db.executemany(
                "DELETE FROM snapshot_records WHERE source_system = ? AND record_id = ?",
                ((system, record_id) for record_id in deletes),
            )

    def close(self) -> None:
        self._db.close()
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()

    def __enter__(self) -> SnapshotState:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _open_state(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS snapshot_records ("
            " source_system TEXT NOT NULL,"
            " record_id TEXT NOT NULL,"
            " content_hash TEXT NOT NULL,"
            " PRIMARY KEY (source_system, record_id)"
            ") WITHOUT ROWID"
        )
        db.commit()
    except sqlite3.Error:
        db.close()
        raise
    return db


@dataclass(frozen=True, slots=True)
class Change:
    op: Operation
    record_id: str  # the source's own id
    content_hash: str | None = None  # None for a delete
    record: SourceRecord | None = None
    line: int | None = None


@dataclass
class Choice:
    """Which row of each record id a snapshot file gives (:func:`choose_rows`)."""

    kept: dict[str, int] = field(default_factory=dict)  # record id -> the line kept
    refused: dict[int, str] = field(default_factory=dict)  # kept lines bootstrap refuses
    version_column: str | None = None  # the column the versions came from
    unversioned: list[int] = field(default_factory=list)  # lines whose version is unusable


def choose_rows(
    path: Path,
    system: str,
    mapping: Mapping[str, str],
    *,
    version_column: str = VERSION_COLUMN,
    today: dt.date,
    on_row: Callable[[], None] = lambda: None,
    notice: Callable[[str], None] = lambda _message: None,
) -> Choice:
    """Of the rows of each record id, the one `hub bootstrap` loads (:mod:`hub.snapshots`:
    the newest of those a worker would hold), else the first; and why bootstrap refuses
    the ones kept that it does not load; ``notice`` is told of rows whose version cannot be
    used. A file that breaks part-way gives the rows before the break (reading it again
    breaks there too)."""
    column = version_column_read(mapping, version_column)
    choice = Choice(version_column=column)
    newest: dict[str, int] = {}  # record id -> the kept row's version, if loadable
    has_column = False  # (whether a row had the version column)
    with contextlib.suppress(UsageError):
        # (quiet: the second pass, over the rows kept, says what the file's columns are)
        for line, row, record in numbered_rows(path, mapping, column, lambda _note: None):
            on_row()
            has_column = has_column or (not isinstance(row, str) and column in row)
            if isinstance(record, str):
                continue
            record_id = source_record_id(record.record_id, system)
            found = loadable(row, record, column, today, system)
            held, kept = newest.get(record_id), choice.kept.get(record_id)
            if column is not None and found == bad_version(column):
                choice.unversioned.append(line)
            if isinstance(found, str):
                if kept is None:
                    choice.kept[record_id], choice.refused[line] = line, found
                continue
            version = found[1]
            if held is None or replaces(held, version):
                if kept is not None:
                    choice.refused.pop(kept, None)
                choice.kept[record_id], newest[record_id] = line, version
    check_version_column(path, column, has_column)
    if choice.unversioned and column is not None:
        notice(unversioned_notice(choice.unversioned, column))
    return choice


def unversioned_notice(lines: list[int], column: str) -> str:
    """What `hub cdc` says of rows whose version column holds no usable version: it
    publishes them (a worker orders changes by their time); bootstrap would not load them."""
    shown = ", ".join(map(str, lines[:SHOWN_LINES]))
    more = f" and {len(lines) - SHOWN_LINES} more" if len(lines) > SHOWN_LINES else ""
    return (
        f"{counted(len(lines), 'row')} where {bad_version(column)} (line"
        f"{'s' if len(lines) > 1 else ''} {shown}{more}): hub bootstrap would load none of "
        "them; of a record id's rows, such a row is taken only when no other has a version"
    )


class SnapshotDiff:
    """Compares snapshot rows with the previous digests (pure: no files, no Kafka).

    ``choice``: the line to take for each record id (:func:`choose_rows`), the others being
    rejected; without it the first."""

    def __init__(
        self, previous: Mapping[str, str], system: str, choice: Choice | None = None
    ) -> None:
        self.previous = previous
        self.system = system
        self.choice = choice
        self.seen: dict[str, int] = {}  # record id -> first line
        self.unchanged = 0
        self.unreadable = 0  # rows whose record id could not be read

    def feed(
        self, rows: Iterable[tuple[int, SourceRecord | str]]
    ) -> Iterator[Change | RejectedRow]:
        """Creates and updates in file order, and rejected rows with their reasons."""
        for line, record in rows:
            if isinstance(record, str):
                self.unreadable += 1
                yield RejectedRow(line, record)
                continue
            record_id = source_record_id(record.record_id, self.system)
            first = self.seen.setdefault(record_id, line)  # (a bad row is not a delete)
            keep = first if self.choice is None else self.choice.kept.get(record_id, first)
            if keep != line:
                yield RejectedRow(line, f"duplicate record_id ({self._kept(keep)})")
                continue
            problem = source_problem(record, self.system)
            if problem:
                yield RejectedRow(line, problem)
                continue
            digest = content_hash(record)
            old = self.previous.get(record_id)
            if old is None:
                yield Change(Operation.CREATE, record_id, digest, record, line)
            elif old != digest:
                yield Change(Operation.UPDATE, record_id, digest, record, line)
            else:
                self.unchanged += 1

    def _kept(self, line: int) -> str:
        """Which of a record id's rows is taken, and why."""
        if self.choice is None:
            return f"first on line {line}"
        if line in self.choice.refused:
            return f"first on line {line}; hub bootstrap loads none of them"
        return f"kept, as hub bootstrap keeps it: line {line}"

    def deletes(self) -> list[Change]:
        """Records of the previous snapshot that this one lacks (call after :meth:`feed`;
        not to be trusted when some rows were :attr:`unreadable`)."""
        return [
            Change(Operation.DELETE, record_id)
            for record_id in sorted(self.previous.keys() - self.seen.keys())
        ]


@dataclass
class CdcReport:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    published: int = 0
    rows: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    failed: int = 0
    withheld_deletes: int = 0
    unreadable: int = 0  # rejected rows whose record id could not be read
    error: PublishError | None = None
    read_error: UsageError | None = None

    def summary(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "rejected": len(self.rejected),
            "published": self.published,
        }


def _counted(rows: Iterable[Row], report: CdcReport, on_row: Callable[[], None]) -> Iterator[Row]:
    for row in rows:
        on_row()
        report.rows += 1
        yield row


def is_mass_delete(deletes: int, previous: int) -> bool:
    return previous >= MASS_DELETE_MIN_RECORDS and deletes > previous * MASS_DELETE_SHARE


class _ChangeSender:
    """Sends change events and keeps what Kafka acknowledged, for the state."""

    def __init__(
        self,
        system: str,
        publisher: Publisher,
        report: CdcReport,
        *,
        now: dt.datetime,
        snapshot_ts: dt.datetime | None,
        metrics: HubMetrics | None,
    ) -> None:
        self.system = system
        self.topic = source_persons(system)
        self.publisher = publisher
        self.report = report
        self.now = now
        self.snapshot_ts = snapshot_ts
        self.metrics = metrics
        self.upserts: list[tuple[str, str]] = []
        self.deleted: list[str] = []

    def send(self, change: Change) -> None:
        record = change.record or SourceRecord(record_id=change.record_id)
        event = person_changed(
            record,
            self.system,
            change.op,
            now=self.now,
            source_ts=self.snapshot_ts,
            record_id=change.record_id,
        )
        self.publisher.send(self.topic, event.record_id, event, on_delivery=self._track(change))

    def _track(self, change: Change) -> OnDelivery:
        def on_delivery(delivery: Delivery) -> None:
            if not delivery.ok:
                self.report.failed += 1
                return
            self.report.published += 1
            if change.content_hash is None:
                self.deleted.append(change.record_id)
            else:
                self.upserts.append((change.record_id, change.content_hash))
            if self.metrics:
                label = change.op.value.lower()
                self.metrics.cdc_changes.labels(source=self.system, change=label).inc()

        return on_delivery


def run_cdc(
    rows: Iterable[tuple[int, SourceRecord | str]],
    system: str,
    publisher: Publisher,
    state: SnapshotState,
    *,
    now: dt.datetime,
    snapshot_ts: dt.datetime | None = None,
    allow_mass_delete: bool = False,
    metrics: HubMetrics | None = None,
    on_row: Callable[[], None] = lambda: None,
    choice: Choice | None = None,
) -> CdcReport:
    """Publish the changes between ``rows`` (one snapshot) and the stored state, then store
    the digests of the changes Kafka acknowledged. ``choice``: as for :class:`SnapshotDiff`."""
    previous = state.hashes(system)
    diff = SnapshotDiff(previous, system, choice)
    report = CdcReport()
    sender = _ChangeSender(
        system, publisher, report, now=now, snapshot_ts=snapshot_ts, metrics=metrics
    )

    try:
        for item in diff.feed(_counted(rows, report, on_row)):
            if isinstance(item, RejectedRow):
                report.rejected.append(item)
            else:
                report.created += item.op is Operation.CREATE
                report.updated += item.op is Operation.UPDATE
                sender.send(item)
        deletes = diff.deletes()
        mass = is_mass_delete(len(deletes), len(previous)) and not allow_mass_delete
        if deletes and (diff.unreadable or mass):
            report.withheld_deletes, deletes = len(deletes), []
        for change in deletes:
            report.deleted += 1
            sender.send(change)
    except UsageError as error:  # the file broke part-way: no deletes can be trusted
        report.read_error = error
    finally:
        report.unchanged, report.unreadable = diff.unchanged, diff.unreadable
        try:
            publisher.flush()
        except PublishError as error:
            report.error = error
        state.apply(system, sender.upserts, sender.deleted)
    return report


def mark_loaded(
    rows: Iterable[tuple[int, SourceRecord | str]],
    system: str,
    state: SnapshotState,
    choice: Choice,
    *,
    on_row: Callable[[], None] = lambda: None,
) -> CdcReport:
    """Remember a snapshot `hub bootstrap` loaded as if this had published it, publishing
    nothing, so that the source's next run sends only what changed since (deletes
    included; without this it sends every row again and sees no delete). Only before the
    source's first run; a file that breaks part-way remembers nothing. ``choice``: the
    file's rows that bootstrap loaded (:func:`choose_rows`); the others are reported.
    ``created``: the records remembered."""
    previous = state.hashes(system)
    if previous:
        raise UsageError(
            f"hub cdc already holds a {system} snapshot ({len(previous):,} records): --loaded "
            "is for the snapshot hub bootstrap loaded, before the source's first hub cdc run"
        )
    diff = SnapshotDiff(previous, system, choice)
    report = CdcReport()
    remembered: list[tuple[str, str]] = []

    for item in diff.feed(_counted(rows, report, on_row)):
        if isinstance(item, RejectedRow):
            report.rejected.append(item)
        elif item.line in choice.refused:  # (not loaded: the next run sends it)
            report.rejected.append(RejectedRow(item.line, choice.refused[item.line]))
        elif item.content_hash is not None:
            remembered.append((item.record_id, item.content_hash))
    report.created, report.unreadable = len(remembered), diff.unreadable
    state.apply(system, remembered, ())
    return report


def run_cdc_file(
    path: Path,
    system: str,
    mapping: Mapping[str, str],
    publisher: Publisher,
    state: SnapshotState,
    *,
    now: dt.datetime,
    choice: Choice,
    allow_mass_delete: bool = False,
    metrics: HubMetrics | None = None,
    on_row: Callable[[], None] = lambda: None,
) -> CdcReport:
    """:func:`run_cdc` over a snapshot file, taking the rows ``choice`` keeps
    (:func:`choose_rows`); the file's modification time is the snapshot's time
    (``source_ts`` of events whose rows carry no ``updated_at``)."""
    snapshot_ts = None
    with contextlib.suppress(OSError):
        snapshot_ts = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(microsecond=0)
    return run_cdc(
        numbered_records(path, mapping, choice.version_column),
        system,
        publisher,
        state,
        now=now,
        snapshot_ts=snapshot_ts,
        allow_mass_delete=allow_mass_delete,
        metrics=metrics,
        on_row=on_row,
        choice=choice,
    )


def state_path(stack_dir: Path) -> Path:
    return stack_dir / STATE_FILE
