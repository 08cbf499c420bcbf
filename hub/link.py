"""`hub link`: resolve a file of records into persons and households, without services.

Records go through the same incremental resolver the stream uses (in-memory identity
state), in file order (or a shuffled order with ``--shuffle-seed``): each record is placed
on its own, against the index as it stands, and the persons the records touched are
re-clustered after every ``--chunk`` records (1: after every record; every chunk size gives
the same persons, see :meth:`matchers.resolver.Resolver.upsert_many`). A second process
standardises, blocks and scores ahead of the resolver (:mod:`hub.prepare`; ``--no-helper``
keeps to one). ``--batch`` computes the same partition in one pass instead. The output has
one row per distinct input record id: ``record_id,person_id,household_id`` (empty
household: no known address). A JSON summary (counts, rate) goes to stdout; progress and
rejected rows to stderr.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import random
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rapidfuzz.distance import OSA

from hub.console import counted, counting_progress, say
from hub.errors import UsageError
from hub.inputs import (
    RejectedRow,
    cell_text,
    check_output,
    folder_given,
    parse_mapping,
    read_records,
    read_rows,
)
from hub.prepare import Prepared, PreparedRules, PreparedScorer, Preparing
from hub.settings import Settings, load_settings, parse_adult_sources, parse_contact_sources
from matchers.batch import resolve_batch
from matchers.decisions import Judgement, Thresholds, parent_of, stated_apart
from matchers.events import Event, FieldWeight, ReviewItemRaised
from matchers.identity_state import MemoryIdAllocator, MemoryIdentityState
from matchers.ports import KeyRules, PairScorer, Standardiser
from matchers.records import SourceRecord, StandardRecord
from matchers.resolver import Resolver
from matchers.standardise import check_date
from matchers.survivorship import SurvivorshipRules

if TYPE_CHECKING:
    from matchers.model import Model
    from schemas.events import RelationshipKind

Explainer = Callable[[StandardRecord, StandardRecord], Sequence[FieldWeight]]
MAX_LINES_SHOWN = 20
# Records placed between two re-clusterings in stream mode: enough to share the cost of
# a re-clustering, few enough that the persons touched stay few (measured on the borough,
# 20 to 100 are alike, 500 slower).
DEFAULT_CHUNK = 50
MAX_CHUNK = 10**9  # (more records than any file holds: one chunk)


@dataclass(frozen=True)
class Matcher:
    """The model side the resolver needs: standardiser, blocking rules, scorer, and the
    blocking-key cap the model was trained with; and the model they were made from (none
    for test doubles)."""

    standardise: Standardiser
    rules: KeyRules
    scorer: PairScorer
    explain: Explainer | None = None
    block_cap: int | None = None
    model: Model | None = None


@dataclass(frozen=True)
class Assignment:
    record_ids: list[str]  # distinct, in first-seen order
    person_of: dict[str, str]
    household_of: dict[str, str | None]  # record id -> household id
    # why values of the records (their last versions) were left out: flag -> records
    flags: Counter[str] = field(default_factory=Counter)


def _flags(records: Iterable[StandardRecord]) -> Counter[str]:
    return Counter(flag for record in records for flag in record.flags)


def thresholds_from(
    settings: Settings, model_block_cap: int | None = None, **overrides: Any
) -> Thresholds:
    """Thresholds from the settings; the block cap from the settings, else the model's;
    overrides (command-line options) that are not None win."""
    values: dict[str, Any] = {
        "link": settings.link_threshold,
        "review": settings.review_threshold,
        "group": settings.group_threshold,
        "floor": settings.pair_floor,
        "dob_years": settings.dob_conflict_years,
        "ambiguity": settings.ambiguity_margin,
        "adult_sources": parse_adult_sources(settings.adult_sources),
        "contact_sources": parse_contact_sources(settings.contact_sources),
    }
    block_cap = settings.block_cap if settings.block_cap is not None else model_block_cap
    if block_cap is not None:
        values["block_cap"] = block_cap
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Thresholds(**values)
    except ValueError as error:
        raise UsageError(
            f"{error} (HUB_LINK_THRESHOLD and the other identity-resolution settings, or options)"
        ) from None


def _adult_sources_option(text: str) -> tuple[tuple[str, int], ...]:
    try:
        return parse_adult_sources(text)
    except ValueError as error:
        raise UsageError(f"--adult-sources: {error}") from None


def _contact_sources_option(text: str) -> tuple[str, ...]:
    try:
        return parse_contact_sources(text)
    except ValueError as error:
        raise UsageError(f"--contact-sources: {error}") from None


def survivorship_from(settings: Settings) -> SurvivorshipRules:
    trusted = tuple(s.strip() for s in settings.trusted_address_sources.split(",") if s.strip())
    return SurvivorshipRules(trusted)


def load_matcher(path: Path) -> Matcher:
    """The trained model's standardiser, blocking rules and scorer."""
    if path.is_dir():
        raise UsageError(folder_given(path, "the model file"))
    if not path.is_file():
        raise UsageError(f"{path}: no such model file (train one with `hub model train`)")
    from matchers.blocking import BlockingRules
    from matchers.model import Model, ModelError
    from matchers.scorer import Scorer
    from matchers.standardise import standardise

    try:
        model = Model.load(path)
        rules = BlockingRules(model.blocking_rules, model.max_block_size)
    except (ModelError, ValueError) as error:
        raise UsageError(f"{path}: {error}") from None
    scorer = Scorer(model)

    def explain(a: StandardRecord, b: StandardRecord) -> list[FieldWeight]:
        waterfall = scorer.explain(a, b)
        lines = [FieldWeight("prior", "prior", waterfall.prior_match_weight)]
        lines.extend(
            FieldWeight(step.comparison, step.level, step.match_weight + step.tf_adjustment)
            for step in waterfall.steps
        )
        return lines

    return Matcher(standardise, rules, scorer, explain, model.max_block_size, model)


def _distinct(records: Sequence[SourceRecord]) -> list[str]:
    return list(dict.fromkeys(r.record_id for r in records))


def link_stream(
    records: Sequence[SourceRecord],
    matcher: Matcher,
    thresholds: Thresholds,
    survivorship: SurvivorshipRules,
    *,
    chunk: int = DEFAULT_CHUNK,
    prepared: Iterable[list[Prepared]] | None = None,
    on_progress: Callable[[int], None] = lambda _n: None,
    judgements: Sequence[Judgement] = (),
) -> tuple[Assignment, Resolver, Counter[str]]:
    """Resolve the records in the order given (after the ``judgements``), placing them one
    at a time and re-clustering the persons they touch after every ``chunk`` records.
    ``prepared``: the same records standardised and scored ahead, in chunks (from
    :class:`Preparing`). Neither changes the persons. Also counts the events."""
    state = MemoryIdentityState()
    scorer, rules = PreparedScorer(matcher.scorer), PreparedRules(matcher.rules)
    resolver = Resolver(
        state,
        MemoryIdAllocator(),
        standardise=matcher.standardise,
        rules=rules,
        scorer=scorer,
        thresholds=thresholds,
        survivorship=survivorship,
        explain=None,  # review items are counted, not written: skip their waterfalls
    )
    events: Counter[str] = Counter()

    def count(happened: list[Event]) -> None:
        for event in happened:
            kind = type(event).__name__
            events[f"{kind}:{event.reason}" if isinstance(event, ReviewItemRaised) else kind] += 1

    for judgement in judgements:
        count(resolver.judge(judgement))
    if prepared is None:
        for start in range(0, len(records), chunk):
            part = records[start : start + chunk]
            count(resolver.upsert_many([matcher.standardise(r) for r in part]))
            on_progress(len(part))
    for ahead in prepared or ():
        scorer.expect(ahead)
        rules.expect(ahead)
        count(resolver.upsert_many([record for record, _, _ in ahead]))
        on_progress(len(ahead))
    ids = _distinct(records)
    person_of = state.person_of(ids)
    persons = state.persons(set(person_of.values()))
    household_of = {r: persons[p].household_id for r, p in person_of.items()}
    flags = _flags(state.records(ids).values())
    return Assignment(ids, person_of, household_of, flags), resolver, events


def link_batch(
    records: Sequence[SourceRecord],
    matcher: Matcher,
    thresholds: Thresholds,
    survivorship: SurvivorshipRules,
    judgements: Sequence[Judgement] = (),
) -> Assignment:
    """The same partition computed in one pass (the last version of each record counts)."""
    latest = {r.record_id: matcher.standardise(r) for r in records}
    result = resolve_batch(
        latest.values(),
        matcher.rules,
        matcher.scorer,
        thresholds,
        judgements=judgements,
        survivorship=survivorship,
    )
    household_of = {r: result.household_of.get(p) for r, p in result.person_of.items()}
    return Assignment(_distinct(records), result.person_of, household_of, _flags(latest.values()))


def write_assignment(path: Path, assignment: Assignment) -> None:
    try:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["record_id", "person_id", "household_id"])
            for record_id in assignment.record_ids:
                household = assignment.household_of.get(record_id)
                writer.writerow([record_id, assignment.person_of[record_id], household or ""])
    except OSError as error:
        raise UsageError(f"{path}: cannot be written: {error}") from None


def read_input(path: Path, mapping: str | None) -> tuple[list[SourceRecord], list[RejectedRow]]:
    records: list[SourceRecord] = []
    rejected: list[RejectedRow] = []
    for item in read_records(path, parse_mapping(mapping)):
        (rejected if isinstance(item, RejectedRow) else records).append(item)  # type: ignore[arg-type]
    return records, rejected


def _lines(rows: Sequence[RejectedRow]) -> str:
    """``line 4 (why)`` or ``lines 4 (why), 9 (why) and 3 more``."""
    shown = ", ".join(f"{r.line} ({r.reason})" for r in rows[:MAX_LINES_SHOWN])
    more = f" and {len(rows) - MAX_LINES_SHOWN} more" if len(rows) > MAX_LINES_SHOWN else ""
    return f"{'line' if len(rows) == 1 else 'lines'} {shown}{more}"


def report_rejected(path: Path, rejected: Sequence[RejectedRow]) -> None:
    if not rejected:
        return
    say(f"{path}: {counted(len(rejected), 'row')} rejected, {_lines(rejected)}")


def read_relationships(
    path: Path,
) -> tuple[list[Judgement], list[RejectedRow], int, list[RejectedRow]]:
    """A file of relationships (``record_id``, ``related_record_id``, ``source_system``,
    ``kind``, ``start``, as ``src.<system>.relationships`` carries them, with whole record
    ids): each between two records a statement that they are two people
    (:func:`stated_apart`; with no source system, ``unknown``), which for a ``parent`` or
    ``child`` relation with its start says which is the parent since when. Also the rows
    that are rejected, how many name no related record (a service's grouping: a
    council-tax account, a tenancy; kept by the stream beside households, not here), and
    the parent relations whose start cannot be used (kept as two people, no parent). A row
    whose ``updated_at`` is no time, or after tomorrow, is rejected, as a worker would
    dead-letter its relationship; so is one that ``hub resolve`` and ``hub publish`` refuse
    to read (:func:`relationship_cells`; a ``source_system`` that is no system name)."""
    judgements: list[Judgement] = []
    rejected: list[RejectedRow] = []
    unread: list[RejectedRow] = []
    groupings = 0
    named = False  # whether any row has a related_record_id column
    now = dt.datetime.now(dt.UTC)
    for line, row in read_rows(path):
        if isinstance(row, str):
            rejected.append(RejectedRow(line, row))
            continue
        named = named or "related_record_id" in row
        text = relationship_cells(row)
        if isinstance(text, str):
            rejected.append(RejectedRow(line, text))
            continue
        record_id, related = text["record_id"], text["related_record_id"]
        system, kind = text["source_system"], text["kind"]
        problem = system_problem(system) if system else None  # (none given: unknown)
        written = relationship_written(text["updated_at"], now)
        if problem is not None:  # (as hub resolve and hub publish refuse the row)
            rejected.append(RejectedRow(line, problem))
        elif isinstance(written, str):  # (as a worker would dead-letter the relationship)
            rejected.append(RejectedRow(line, written))
        elif record_id is None:
            rejected.append(RejectedRow(line, "no record_id"))
        elif related is None and not text["group_id"]:
            rejected.append(RejectedRow(line, "neither a related_record_id nor a group_id"))
        elif related is None:
            groupings += 1
        elif related == record_id:
            rejected.append(RejectedRow(line, "relates a record to itself"))
        else:
            stated, left_out = _stated(record_id, related, system, kind, row.get("start"))
            judgements.append(stated)
            unread.extend(RejectedRow(line, why) for why in left_out)
    if not named and groupings:
        raise UsageError(
            f"{path}: no related_record_id column: no relationship between two records"
        )
    return judgements, rejected, groupings, unread


def _stated(
    record_id: str, related: str, system: str | None, kind: str | None, start: Any
) -> tuple[Judgement, list[str]]:
    """What a relationship between two records states (:func:`stated_apart`; with no
    source system, ``unknown``), and what of it cannot be used (a kind the hub does not
    know, a parent's start that is no date)."""
    known, unknown = relationship_kind(kind)
    left_out = [unknown] if unknown else []
    parent = parent_of(known, record_id, related)
    since = relationship_date(start) if parent else None
    if isinstance(since, str):
        left_out.append(since)
        since = None
    stated = stated_apart(record_id, related, system or "unknown", parent=parent, since=since)
    return stated, left_out


_RELATIONSHIP_CELLS = (
    "relationship_id", "source_system", "kind", "record_id", "related_record_id", "group_id",
    "role", "updated_at",
)  # fmt: skip


def relationship_cells(row: Mapping[str, Any]) -> dict[str, str | None] | str:
    """A relationship row's cells as text (None: not given), or why the row cannot be read
    (a list, an object or true/false where a value belongs)."""
    cells = [row.get(name) for name in _RELATIONSHIP_CELLS]
    if any(isinstance(cell, list | dict | bool) for cell in cells):
        return "a value that is not text or a number"
    return {name: cell_text(cell) for name, cell in zip(_RELATIONSHIP_CELLS, cells, strict=True)}


def system_problem(system: str | None) -> str | None:
    """Why ``system`` cannot name a source system (its topics), or None."""
    from schemas.topics import check_name

    if not system:
        return "no source_system"
    try:
        check_name(system)
    except UsageError:
        return f"source_system {system!r} is not a system name"
    return None


def relationship_date(cell: Any, name: str = "start") -> dt.date | str | None:
    """A relationship's ``start`` (or ``end``) as a date (None: not given), or why it
    cannot be used (without the value: a start is often a child's date of birth). Read as
    a date of birth is: ISO, ``YYYYMMDD`` or UK day first (``27/06/2009``); in the range a
    worker takes (from 1890 to 50 years ahead)."""
    from streams.validation import EARLIEST_DATE, LATEST_PLAN_YEARS

    if cell is None:
        return None
    if isinstance(cell, dt.date):
        date = cell.date() if isinstance(cell, dt.datetime) else cell
    else:
        text = cell_text(cell) if not isinstance(cell, list | dict | bool) else "?"
        if text is None:
            return None
        iso, _problem = check_date(text, name)
        try:
            date = dt.date.fromisoformat(iso or "")
        except ValueError:  # (no date, or year 0)
            return f"{name} is not a date"
    latest = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=365 * LATEST_PLAN_YEARS)
    if not EARLIEST_DATE <= date <= latest:
        return f"{name} is out of range"
    return date


def relationship_written(text: str | None, now: dt.datetime) -> dt.datetime | str:
    """A relationship row's ``updated_at`` (the run's time without one), to the
    millisecond, in UTC; or why it cannot be used: no time, or after tomorrow (a worker
    dead-letters such a source time)."""
    from matchers.standardise import read_timestamp

    written = now
    if text and text.strip():
        moment = read_timestamp(text)  # (as a persons file's updated_at is read)
        if moment is None:
            return f"updated_at {text[:30]!r} is not a time"
        written = moment
    if written.date() > now.date() + dt.timedelta(days=1):
        return "updated_at is in the future"
    return written.replace(microsecond=written.microsecond // 1000 * 1000)


def relationship_kind(text: str | None) -> tuple[RelationshipKind, str | None]:
    """The contract's kind a file's ``kind`` names (a kind's name in any case, or the
    simulator's lower-case names: ``claim_unit``), ``OTHER`` when it names none; and why,
    when a kind was written that the hub does not know (a misspelt ``parent`` loses the
    bound a parent's date of birth puts on a child's)."""
    from schemas.events import RelationshipKind
    from sources.simulated import RELATIONSHIP_KINDS

    if not text:
        return RelationshipKind.OTHER, None
    kind = RelationshipKind.__members__.get(text.upper()) or RELATIONSHIP_KINDS.get(text.lower())
    if kind is None:
        return (
            RelationshipKind.OTHER,
            f"kind {text[:30]!r} is not one the hub knows: other",
        )
    return kind, None


def report_left_out(path: Path, unread: Sequence[RejectedRow]) -> None:
    """Relationships kept, as two people, without a part that cannot be used (a start or
    end that is no date, a kind the hub does not know)."""
    if not unread:
        return
    say(
        f"{path}: {counted(len(unread), 'relationship')} kept as two people without a part "
        f"that cannot be used, {_lines(unread)}"
    )


def load_relationships(path: Path | None, records: Sequence[SourceRecord]) -> list[Judgement]:
    """The judgements a ``--relationships`` file states (none without one), its rejected
    rows and counts reported, and how many name a record ``records`` do not hold."""
    if path is None:
        return []
    judgements, rejected, groupings, unread = read_relationships(path)
    report_rejected(path, rejected)
    report_left_out(path, unread)
    parents = sum(1 for j in judgements if j.parent)
    say(
        f"{path}: {counted(len(judgements), 'relationship')} between two records (each two "
        f"people; {parents:,} {'says' if parents == 1 else 'say'} which is the parent since "
        f"when), {counted(groupings, 'grouping')} left out"
    )
    held = {record.record_id for record in records}
    outside = sum(1 for j in judgements if not {j.record_a, j.record_b} <= held)
    if outside:
        names, binds = ("names", "binds") if outside == 1 else ("name", "bind")
        say(
            f"{path}: {outside:,} of these {names} a record the input does not hold, and {binds} "
            "nothing (record ids are matched exactly as the input's record_id writes them)"
        )
    return judgements


RelationshipsOption = Annotated[
    Path | None,
    typer.Option(
        "--relationships",
        help="relationships between the records (record_id,related_record_id,...): "
        "two records a source relates are two people",
    ),
]


def report_unseen_sources(thresholds: Thresholds, records: Sequence[SourceRecord]) -> None:
    """Note an adults-only or contacts source (``HUB_ADULT_SOURCES``,
    ``HUB_CONTACT_SOURCES``) that no record comes from while one of the records' source
    systems is the same name written another way (``Council_Tax``, ``council-tax``) or
    mistyped (``councl_tax``): names are matched exactly, so it would silently do
    nothing."""
    seen = {record.source_system for record in records} - {None, ""}
    by_form = {_name_form(system): system for system in seen if system}
    named = [
        *((name, "adults-only", "HUB_ADULT_SOURCES or --adult-sources")
          for name, _age in thresholds.adult_sources),
        *((name, "contacts", "HUB_CONTACT_SOURCES or --contact-sources")
          for name in thresholds.contact_sources),
    ]  # fmt: skip
    for name, kind, where in named:
        form = _name_form(name)
        close = sorted(
            (OSA.distance(form, other), other) for other in by_form if _mistyped(form, other)
        )
        like = by_form.get(form) or (by_form[close[0][1]] if close else None)
        if name not in seen and like is not None:
            say(
                f"note: no record comes from the {kind} source {name} ({where}), but some "
                f"come from {like}: names are matched exactly"
            )


def _mistyped(a: str, b: str) -> bool:
    """Whether two names (their :func:`_name_form`) are one mistyped: a letter wrong,
    missing, added or two swapped, or two such slips in a name of 8 letters or more
    (educaton, coucnl_tax). education_sen and sen_education are other sources."""
    return OSA.distance(a, b, score_cutoff=2) <= (2 if min(len(a), len(b)) >= 8 else 1)


def _name_form(name: str) -> str:
    return "".join(c for c in name.casefold() if c.isalnum())


def link_command(
    *,
    input_path: Annotated[
        Path, typer.Option("--input", help="records: CSV, JSON Lines or Parquet")
    ],
    model: Annotated[Path, typer.Option("--model", help="trained model JSON")],
    out: Annotated[
        Path, typer.Option("--out", help="CSV to write record_id,person_id,household_id")
    ],
    mapping: Annotated[
        str | None, typer.Option("--map", help="rename columns: column=field,...")
    ] = None,
    shuffle_seed: Annotated[
        int | None, typer.Option("--shuffle-seed", help="resolve in a shuffled order")
    ] = None,
    batch: Annotated[
        bool, typer.Option("--batch", help="compute the partition in one pass instead")
    ] = False,
    link_threshold: Annotated[
        float | None, typer.Option(help="override HUB_LINK_THRESHOLD")
    ] = None,
    review_threshold: Annotated[
        float | None, typer.Option(help="override HUB_REVIEW_THRESHOLD")
    ] = None,
    group_threshold: Annotated[
        float | None, typer.Option(help="override HUB_GROUP_THRESHOLD")
    ] = None,
    pair_floor: Annotated[float | None, typer.Option(help="override HUB_PAIR_FLOOR")] = None,
    dob_conflict_years: Annotated[
        int | None, typer.Option(help="override HUB_DOB_CONFLICT_YEARS")
    ] = None,
    block_cap: Annotated[int | None, typer.Option(help="override HUB_BLOCK_CAP")] = None,
    ambiguity_margin: Annotated[
        float | None, typer.Option(help="override HUB_AMBIGUITY_MARGIN")
    ] = None,
    adult_sources: Annotated[
        str | None, typer.Option(help="override HUB_ADULT_SOURCES (system:age,...)")
    ] = None,
    contact_sources: Annotated[
        str | None, typer.Option(help="override HUB_CONTACT_SOURCES (system,...)")
    ] = None,
    relationships: RelationshipsOption = None,
    chunk: Annotated[
        int | None,
        typer.Option(
            help=f"records placed between two re-clusterings (same persons; {DEFAULT_CHUNK} "
            "unless given)",
            min=1,
            max=MAX_CHUNK,
        ),
    ] = None,
    helper: Annotated[
        bool, typer.Option(help="a second process standardises and scores ahead")
    ] = True,
) -> None:
    """Resolve a file into persons and households; print a JSON summary."""
    if batch and chunk is not None:
        raise UsageError(
            "--chunk sets how often the record-by-record run re-clusters, and --batch "
            "clusters once: give one of them"
        )
    check_output(out, input_path, model, *([relationships] if relationships else []), suffix=".csv")
    settings = load_settings()
    matcher = load_matcher(model)
    thresholds = thresholds_from(
        settings,
        matcher.block_cap,
        link=link_threshold,
        review=review_threshold,
        group=group_threshold,
        floor=pair_floor,
        dob_years=dob_conflict_years,
        block_cap=block_cap,
        ambiguity=ambiguity_margin,
        adult_sources=None if adult_sources is None else _adult_sources_option(adult_sources),
        contact_sources=(
            None if contact_sources is None else _contact_sources_option(contact_sources)
        ),
    )
    records, rejected = read_input(input_path, mapping)
    report_rejected(input_path, rejected)
    if not records:
        raise UsageError(f"{input_path}: no records to link")
    report_unseen_sources(thresholds, records)
    judgements = load_relationships(relationships, records)
    summary = run_link(
        records,
        matcher,
        thresholds,
        survivorship_from(settings),
        shuffle_seed,
        batch=batch,
        chunk=chunk or DEFAULT_CHUNK,
        helper=helper,
        judgements=judgements,
    )
    summary["rejected"] = len(rejected)
    if relationships is not None:
        summary["relationships"] = len(judgements)
    write_assignment(out, summary.pop("assignment"))
    say(
        f"linked {counted(summary['records'], 'record')} ({summary['mode']}) into "
        f"{counted(summary['persons'], 'person')} and "
        f"{counted(summary['households'], 'household')} in "
        f"{summary['seconds']:.1f}s ({summary['records_per_second']:,} records/s); "
        f"{counted(len(rejected), 'row')} rejected; wrote {out}"
    )
    if left_out := summary["values_left_out"]:
        say(
            "values left out as unreadable or not believable (records: "
            + ", ".join(f"{flag} {n:,}" for flag, n in left_out.items())
            + "); the records are linked without them"
        )
    repeated = summary["records"] - summary["distinct_records"]
    if repeated:
        say(
            f"{counted(repeated, 'row')} {'repeats' if repeated == 1 else 'repeat'} an "
            "earlier record_id: each was applied as an update "
            "of that record, in file order (the last row of an id counts)"
        )
    typer.echo(orjson.dumps(summary).decode())


def run_link(
    records: list[SourceRecord],
    matcher: Matcher,
    thresholds: Thresholds,
    survivorship: SurvivorshipRules,
    shuffle_seed: int | None = None,
    *,
    batch: bool = False,
    chunk: int = DEFAULT_CHUNK,
    helper: bool = True,
    judgements: Sequence[Judgement] = (),
) -> dict[str, Any]:
    """Link the records (shuffled first when a seed is given) under the ``judgements``; the
    summary and assignment.

    The CPU time counts both processes when a helper prepares the records."""
    order = list(records)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(order)  # noqa: S311 (an order, not a secret)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    summary: dict[str, Any] = {"mode": "batch" if batch else "stream", "records": len(order)}
    with _rare_collections():
        if batch:
            assignment = link_batch(order, matcher, thresholds, survivorship, judgements)
        else:
            # the helper is forked before the progress bar starts its thread
            with (
                Preparing(order, matcher.standardise, matcher.rules, matcher.scorer,
                          cap=thresholds.block_cap, chunk=chunk) if helper else nullcontext()
            ) as preparing, counting_progress() as progress:  # fmt: skip
                task = progress.add_task("linking", total=len(order))
                assignment, resolver, events = link_stream(
                    order,
                    matcher,
                    thresholds,
                    survivorship,
                    chunk=chunk,
                    prepared=preparing,
                    on_progress=lambda n: progress.advance(task, n),
                    judgements=judgements,
                )
            stats = resolver.stats
            summary.update(
                processes=2 if helper else 1,
                chunk=chunk,
                pairs_scored=stats.pairs_scored,
                over_common_skips=stats.over_common_skips.total(),
                decisions=dict(stats.decisions),
                events=dict(sorted(events.items())),
            )
    seconds = time.perf_counter() - started
    cpu_seconds = _cpu_seconds() - cpu_started
    summary.update(
        distinct_records=len(assignment.record_ids),
        persons=len(set(assignment.person_of.values())),
        households=len({h for h in assignment.household_of.values() if h}),
        seconds=round(seconds, 3),
        records_per_second=round(len(order) / seconds) if seconds else None,
        # on a shared machine the rate per second of CPU time is steadier
        cpu_seconds=round(cpu_seconds, 3),
        records_per_cpu_second=round(len(order) / cpu_seconds) if cpu_seconds else None,
        model_version=matcher.scorer.version,
        thresholds=asdict(thresholds),
        values_left_out=dict(sorted(assignment.flags.items())),
        assignment=assignment,
    )
    return summary


@contextmanager
def _rare_collections() -> Iterator[None]:
    """The cyclic garbage collector runs rarely meanwhile (in the helper process too).

    Linking keeps every record, its blocking keys, its scored pairs and every person
    alive until the end, millions of objects that hold no garbage cycles; with Python's
    default thresholds (700, 10, 10) the collector walks them again and again (measured
    on the borough: about a third of the resolving process's time). Rarer collections
    change no result. The records and the model, loaded before, are frozen out of its
    sight."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished helper processes."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime
