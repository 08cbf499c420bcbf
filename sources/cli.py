"""`hub publish` and `hub cdc`: person records (or relationships) from files onto the
source's topics."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from hub.console import SHOWN_LINES, counted, say
from hub.errors import HubError, UsageError
from hub.snapshots import VERSION_COLUMN

if TYPE_CHECKING:
    from hub.inputs import RejectedRow
    from hub.settings import Settings
    from sources.cdc import Choice
    from sources.publisher import Publisher


SourceOption = Annotated[
    str, typer.Option("--source", help="source system, e.g. council_tax (names the topic)")
]
MapOption = Annotated[
    str | None,
    typer.Option("--map", help="rename columns to record fields: column=field,..."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print the counts as one JSON line")]


def connect_publisher(settings: Settings, client_id: str = "hub-publisher") -> Publisher:
    """A publisher for the settings' Kafka and codec; one clear line if Kafka does not answer."""
    from schemas.codec import make_codec
    from sources.publisher import Publisher

    publisher = Publisher(
        settings.kafka_bootstrap,
        make_codec(settings),
        timeout_s=settings.publish_timeout_s,
        client_id=client_id,
    )
    publisher.check_connection()
    return publisher


def _say_if_unread(settings: Settings, topic: str) -> None:
    """A notice when workers run, settled, and none reads ``topic``: a worker chooses its
    topics when it starts, so a system's first events wait for the next start. Said only
    when Kafka answers at once: the events are published whatever it says."""
    from hub.running import assignment, kafka_admin

    try:
        group = assignment(kafka_admin(settings, timeout_s=5), settings.consumer_group, 5)
    except HubError:
        return  # (published all the same; a worker that starts later reads them)
    if group.members and group.settled and topic not in group.topics:
        say(
            f"no running worker reads {topic}: workers choose their topics when they start; "
            "restart them to process these events"
        )


def _check_file(path: Path) -> None:
    """Fail before connecting to anything if the file is missing or of an unknown type."""
    from hub.inputs import check_input

    check_input(path)


def _lines(rows: list[RejectedRow]) -> str:
    shown = ", ".join(f"{row.line} ({row.reason})" for row in rows[:SHOWN_LINES])
    more = f" and {len(rows) - SHOWN_LINES} more" if len(rows) > SHOWN_LINES else ""
    return f"line {shown}{more}" if len(rows) == 1 else f"lines {shown}{more}"


def publish_command(
    *,
    source: SourceOption,
    input_file: Annotated[
        Path, typer.Option("--input", help="CSV, JSON Lines or Parquet file of person records")
    ],
    mapping: MapOption = None,
    op: Annotated[
        str, typer.Option("--op", help="operation of the events: snapshot-read, create, update")
    ] = "snapshot-read",
    relationships: Annotated[
        bool,
        typer.Option(
            "--relationships",
            help="the file holds the source's relationships (as hub link --relationships "
            "reads them): RelationshipObserved events on src.<source>.relationships",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Publish every row of a file as a PersonChanged event on src.<source>.persons.

    With --relationships, each row is a relationship between two of the source's records
    (record_id, related_record_id or group_id; kind, start, end, relationship_id, role,
    updated_at where given), published as a RelationshipObserved event on
    src.<source>.relationships, the last row of a relationship winning; the whole file is
    checked before anything is sent. "Published" means acknowledged by Kafka. Malformed
    rows are skipped and reported by line; the summary goes to stderr (and with --json,
    the counts to stdout).
    """
    from hub.inputs import parse_mapping, read_rows
    from hub.link import report_left_out
    from hub.settings import load_settings
    from schemas.events import Operation
    from schemas.topics import source_persons, source_relationships
    from sources.files import estimate_rows, progress
    from sources.publish import publish_file, publish_relationships

    operations = {"snapshot-read": Operation.SNAPSHOT_READ, "create": Operation.CREATE,
                  "update": Operation.UPDATE}  # fmt: skip
    if op not in operations:
        raise UsageError(f"--op {op!r}: use one of {', '.join(operations)}")
    if relationships and mapping is not None:
        raise UsageError(
            "--map renames person record fields; a relationships file names its own columns "
            "(record_id, related_record_id, kind, start, ...)"
        )
    topic = source_relationships(source) if relationships else source_persons(source)
    columns = parse_mapping(mapping)
    _check_file(input_file)
    settings = load_settings()
    publisher = connect_publisher(settings)
    now = dt.datetime.now(dt.UTC)
    with progress(f"publishing to {topic}", estimate_rows(input_file)) as bar:
        if relationships:
            report = publish_relationships(
                read_rows(input_file), source, publisher, op=operations[op], now=now,
                on_row=bar.advance,
            )  # fmt: skip
        else:
            report = publish_file(
                input_file, source, columns, publisher, op=operations[op], now=now,
                on_row=bar.advance,
            )  # fmt: skip
    if report.read_error is not None and report.rows == 0:
        raise report.read_error
    say(f"published {report.published:,} of {report.rows:,} rows from {input_file.name} to {topic}")
    report_left_out(input_file, report.left_out)
    if report.published:
        _say_if_unread(settings, topic)
    if report.unversioned:
        say(
            f"{counted(len(report.unversioned), 'row')} published without a change time, "
            f"{_lines(report.unversioned)}: a worker applies such a change in its place on "
            "the topic, and ignores it if it holds a change of the same record that had a time"
        )
    if report.superseded:
        rows = "row" if report.superseded == 1 else "rows"
        say(f"{report.superseded:,} {rows} replaced by a later row of the same relationship")
    if report.rejected:
        say(f"rejected {len(report.rejected):,}: {_lines(report.rejected)}")
    if report.failed:
        say(f"not acknowledged {len(report.failed):,}: {_lines(report.failed)}")
    if as_json:
        counts = {"published": report.published, "rejected": len(report.rejected),
                  "failed": len(report.failed)}  # fmt: skip
        typer.echo(orjson.dumps(counts).decode())
    _raise_first(report.read_error, report.error)
    if report.rows and not report.sent:
        raise UsageError(f"{input_file.name}: nothing was published: every row was rejected")


def cdc_command(
    source: SourceOption,
    snapshot: Annotated[
        Path, typer.Option("--snapshot", help="today's full extract: CSV, JSON Lines or Parquet")
    ],
    *,
    mapping: MapOption = None,
    allow_mass_delete: Annotated[
        bool,
        typer.Option(
            "--allow-mass-delete",
            help="publish deletes even when the snapshot lacks over half the previous records",
        ),
    ] = False,
    loaded: Annotated[
        bool,
        typer.Option(
            "--loaded",
            help="the snapshot `hub bootstrap` loaded: remember it as published and publish "
            "nothing (once, before the source's first run), so the next run sends only what "
            "changed since, deletes included",
        ),
    ] = False,
    version_column: Annotated[
        str,
        typer.Option(
            "--version-column",
            help="column holding each row's source version: of two rows of one record id, "
            "the one `hub bootstrap` loads is taken (the newer; else the newer updated_at)",
        ),
    ] = VERSION_COLUMN,
    as_json: JsonOption = False,
) -> None:
    """Publish what changed since the source's previous snapshot (creates, updates,
    deletes); state is kept in the stack folder. The same snapshot twice publishes nothing."""
    from hub.inputs import numbered_records, parse_mapping
    from hub.settings import load_settings
    from schemas.topics import check_name, source_persons
    from sources.cdc import SnapshotState, choose_rows, mark_loaded, run_cdc_file, state_path
    from sources.files import estimate_rows, progress

    check_name(source)
    columns = parse_mapping(mapping)
    settings = load_settings()
    _check_file(snapshot)
    rows = estimate_rows(snapshot)
    now = dt.datetime.now(dt.UTC)

    def choose() -> Choice:
        with progress(f"reading {snapshot.name}", rows) as bar:
            return choose_rows(snapshot, source, columns, version_column=version_column,
                               today=now.date(), on_row=bar.advance,
                               notice=say)  # fmt: skip

    if loaded:
        with SnapshotState(state_path(settings.stack_dir)) as state:
            choice = choose()
            with progress(f"remembering {snapshot.name}", rows) as bar:
                rows_read = numbered_records(snapshot, columns, choice.version_column)
                marked = mark_loaded(rows_read, source, state, choice, on_row=bar.advance)
        say(
            f"remembered {marked.created:,} {source} records of {snapshot.name} as loaded; "
            "published nothing"
        )
        if marked.rejected:
            say(f"rejected {len(marked.rejected):,}: {_lines(marked.rejected)}")
        if as_json:
            typer.echo(orjson.dumps(marked.summary()).decode())
        if marked.rows and len(marked.rejected) == marked.rows:
            raise UsageError(f"{snapshot.name}: every row was rejected")
        return
    publisher = connect_publisher(settings)
    with SnapshotState(state_path(settings.stack_dir)) as state:
        choice = choose()
        with progress(f"diffing {snapshot.name}", rows) as bar:
            report = run_cdc_file(
                snapshot,
                source,
                columns,
                publisher,
                state,
                now=now,
                choice=choice,
                allow_mass_delete=allow_mass_delete,
                on_row=bar.advance,
            )
    if report.read_error is not None and report.rows == 0:
        raise report.read_error
    counts = report.summary()
    say(
        f"{snapshot.name} against the previous {source} snapshot: "
        + ", ".join(f"{n:,} {k}" for k, n in counts.items())
        + f" (to {source_persons(source)})"
    )
    if report.rejected:
        say(f"rejected {len(report.rejected):,}: {_lines(report.rejected)}")
    if report.published:
        _say_if_unread(settings, source_persons(source))
    if as_json:
        typer.echo(orjson.dumps(counts).decode())
    if report.withheld_deletes and report.unreadable:
        raise HubError(
            f"withheld {report.withheld_deletes:,} deletes: {report.unreadable:,} rows could "
            "not be read and any record missing from the snapshot may be one of them; fix "
            "those rows and run again"
        )
    if report.withheld_deletes:
        raise HubError(
            f"withheld {report.withheld_deletes:,} deletes: the snapshot lacks more than half "
            "of the previous records (a truncated extract?); if that is right, run again "
            "with --allow-mass-delete"
        )
    _raise_first(report.read_error, report.error)
    if report.rows and len(report.rejected) == report.rows:
        raise UsageError(f"{snapshot.name}: every row was rejected")


def _raise_first(*errors: HubError | None) -> None:
    for error in errors:
        if error is not None:
            raise error
