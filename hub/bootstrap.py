"""`hub bootstrap`: load the first snapshot of every source into the hub in bulk.

The stream builds its identity state one event at a time; for a council's first load of
millions of records that would take hours. ``hub bootstrap --input FILE...`` computes the
same state in one pass and writes it where the stream keeps it, so workers started
afterwards carry on from it without a gap:

1. **read** every file (CSV, JSON Lines, Parquet; ``--map`` renames columns), each row as
   the record a worker holds once `hub publish` has sent it (converted, validated and
   cleaned as the worker does: :func:`streams.validation.held_by_a_worker`; a row the
   worker would dead-letter is rejected); one record per record id, the newest source
   version winning (see below);
2. **standardise** each record and derive its blocking keys (the model's rules);
3. **score** every candidate pair: Splink's own batch ``predict()`` over the snapshot
   with the model's blocking rules and frozen term-frequency tables, the values of
   over-common keys (blocks larger than the cap) nulled so that Splink proposes exactly
   the index's candidate pairs (:func:`matchers.splink_adapter.splink_predict`);
   ``--scorer hub`` scores the same pairs with the in-process scorer instead (the two
   give bit-identical weights);
4. **cluster** the scored pairs with the matching core's batch procedure
   (:func:`matchers.batch.resolve_scored`, the definition the stream reproduces): persons,
   golden records, households;
5. **store**: the rows the stream's outputs would have written (persons, source records
   and payloads, households, each record's best match decision, review items), through
   :func:`streams.outputs.store_rows`, in bulk transactions;
6. **Redis**: the whole identity state (records, blocking keys and buckets, stored pairs,
   persons, residents, households, source versions, id counters) written in bulk and
   swapped in atomically under the state lock (:mod:`sinks.state_bulk`).

**Source versions.** The stream ignores an event whose source version is not newer than
the one it holds for the record (``streams.pipeline.source_version``: the event's own
version, else its source timestamp in milliseconds). A bootstrapped record's version
follows the same rule from the file: the ``source_version`` column when the file has one
(``--version-column`` names another), else ``updated_at`` in milliseconds (read as the
stream reads it), else -1 (any later event applies, a partition's first, at offset 0,
included). Of two rows of one record the newer wins; of two without a version, the later,
as `hub publish` would send them (:mod:`hub.snapshots`; `hub cdc` takes the same).
Sources that number their versions must put the number in the extract, or every later
event would look older than the snapshot's timestamps.

**A state that is not empty.** Bootstrap loads a *first* snapshot. If the identity state
in Redis or the store already holds anything, it stops with a one-line error before any
work; ``--replace`` replaces both instead (the store's identity tables are emptied;
relationships and partner indicators, which come from their own topics, are kept, and so
are the judgements, people's and those the relationships state, which bind the snapshot's
persons as they bind the stream's; the service groupings and memberships the kept
relationships make are loaded with the snapshot, as `hub state rebuild` makes them). It also
stops while a worker is running on the state: stop the workers, bootstrap, start them.

Thresholds and the model are the workers' own (``HUB_MODEL_PATH``, ``HUB_*_THRESHOLD``):
a state built with others would not be the one the stream maintains.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import itertools
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from hub.console import counted, err, say
from hub.errors import HubError, UsageError
from hub.inputs import (
    check_input,
    numbered_rows,
    parse_mapping,
)
from hub.link import Matcher, load_matcher, survivorship_from, thresholds_from
from hub.settings import Settings, load_settings
from hub.snapshots import (
    UNVERSIONED,
    VERSION_COLUMN,
    check_version_column,
    loadable,
    replaces,
    version_column_read,
)
from matchers.batch import BatchResult, judgements_by_record, latest_judgements, resolve_scored
from matchers.decisions import Judgement, Thresholds, pair_key
from matchers.events import (
    Event,
    HouseholdChanged,
    HouseholdMember,
    MatchDecided,
    PersonUpserted,
    ReviewItemRaised,
)
from matchers.identity_state import HouseholdEntry, PersonEntry
from matchers.ports import PairScorer
from matchers.records import SourceRecord, StandardRecord
from matchers.stable_ids import id_age
from schemas.topics import check_name

if TYPE_CHECKING:
    import numpy as np
    from rich.progress import Progress

    from sinks.redis_state import RedisState
    from sinks.store import Store
    from streams.rebuild import Durable

SCORERS = ("splink", "hub")
STORE_CHUNK = 20_000  # persons (with their records) per store transaction
Judged = dict[tuple[str, str], Judgement]  # the latest judgement of each pair
# The store tables that mirror the identity state; --replace empties them.
IDENTITY_TABLES = (
    "persons",
    "source_records",
    "source_payloads",
    "person_aliases",
    "households",
    "household_aliases",
    "match_decisions",
    "review_items",
)


# -- 1. reading --------------------------------------------------------------------------


@dataclass
class Snapshot:
    """The records to load, one per record id, with their source versions."""

    records: list[SourceRecord] = field(default_factory=list)  # sorted by record id
    versions: list[int] = field(default_factory=list)
    rows: int = 0
    rejected: Counter[str] = field(default_factory=Counter)  # reason -> rows
    duplicates: int = 0  # rows for a record id already read (the newest version kept)
    unversioned: int = 0  # records with neither a source version nor a usable updated_at


def read_snapshot(
    paths: Sequence[Path],
    mapping: str | None,
    version_column: str = VERSION_COLUMN,
    on_row: Callable[[int], None] = lambda _n: None,
    source: str | None = None,
) -> Snapshot:
    """Every file's records; for a record id seen twice, the row that :func:`replaces`
    the other."""
    columns = parse_mapping(mapping)
    column = version_column_read(columns, version_column)
    snapshot = Snapshot()
    newest: dict[str, tuple[int, SourceRecord]] = {}
    today = dt.datetime.now(dt.UTC).date()
    for path in paths:
        has_column = False  # (whether a row had the version column)
        for _line, row, read in numbered_rows(path, columns, also_read=column):
            has_column = has_column or (not isinstance(row, str) and column in row)
            snapshot.rows += 1
            if snapshot.rows % 10_000 == 0:
                on_row(10_000)
            found = read if isinstance(read, str) else loadable(row, read, column, today, source)
            if isinstance(found, str):
                snapshot.rejected[found] += 1
                continue
            record, version = found
            held = newest.get(record.record_id)
            if held is not None:
                snapshot.duplicates += 1
                if not replaces(held[0], version):
                    continue
            newest[record.record_id] = (version, record)
        check_version_column(path, column, has_column)
    on_row(snapshot.rows % 10_000)
    for record_id in sorted(newest):
        version, record = newest[record_id]
        snapshot.records.append(record)
        snapshot.versions.append(version)
    snapshot.unversioned = snapshot.versions.count(UNVERSIONED)
    return snapshot


# -- 2-4. linkage ------------------------------------------------------------------------


@dataclass
class Linkage:
    """The snapshot linked: standard records (by position, sorted by record id), their
    blocking keys, every candidate pair with its weight, and the batch result."""

    standard: list[StandardRecord]
    keys: list[frozenset[str]]
    over_common: frozenset[str]
    left: np.ndarray[Any, Any]  # positions of each pair's records, left < right
    right: np.ndarray[Any, Any]
    weights: np.ndarray[Any, Any]
    scored: dict[str, dict[str, float]]  # stored pairs (weight >= thresholds.stored)
    batch: BatchResult | None = None

    @property
    def ids(self) -> list[str]:
        return [r.record_id for r in self.standard]


def over_common_keys(keys: Iterable[frozenset[str]], cap: int) -> frozenset[str]:
    sizes: Counter[str] = Counter()
    for record_keys in keys:
        sizes.update(record_keys)
    return frozenset(key for key, size in sizes.items() if size > cap)


def hub_scores(
    scorer: PairScorer,
    standard: Sequence[StandardRecord],
    keys: Sequence[frozenset[str]],
    over_common: frozenset[str],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The candidate pairs (records sharing a key that is not over-common) scored by the
    in-process scorer, in the form :func:`~matchers.splink_adapter.splink_predict` gives."""
    import numpy as np

    blocks: dict[str, list[int]] = {}
    for position, record_keys in enumerate(keys):
        for key in record_keys:
            if key not in over_common:
                blocks.setdefault(key, []).append(position)
    n = len(standard)
    codes = [
        np.asarray(members, dtype=np.int64)[np.stack(np.triu_indices(len(members), 1))]
        for members in blocks.values()
        if len(members) > 1
    ]
    if codes:
        pairs = np.concatenate(codes, axis=1)
        unique = np.unique(pairs[0] * n + pairs[1])
        left, right = unique // n, unique % n
    else:
        left = right = np.zeros(0, dtype=np.int64)
    score = scorer.score
    weights = np.fromiter(
        (
            score(standard[a], standard[b])
            for a, b in zip(left.tolist(), right.tolist(), strict=True)
        ),
        dtype=np.float64,
        count=len(left),
    )
    return left, right, weights


def adjacency(
    ids: Sequence[str],
    left: np.ndarray[Any, Any],
    right: np.ndarray[Any, Any],
    weights: np.ndarray[Any, Any],
    floor: float,
) -> dict[str, dict[str, float]]:
    """Each record's partners with their weights (both directions), pairs below ``floor``
    left out: the ``edges`` the stream stores."""
    keep = weights >= floor
    scored: dict[str, dict[str, float]] = {}
    for a, b, w in zip(
        left[keep].tolist(), right[keep].tolist(), weights[keep].tolist(), strict=True
    ):
        x, y = ids[a], ids[b]
        scored.setdefault(x, {})[y] = w
        scored.setdefault(y, {})[x] = w
    return scored


# -- 5. the store ------------------------------------------------------------------------


def _best_candidates(linkage: Linkage) -> tuple[list[int], list[float], list[int]]:
    """Per record (by position): its best candidate (the highest weight, then the smallest
    record id, as the stream's match decision picks it; -1 for none), that weight, and
    its number of candidates. Positions follow record ids, so the smallest position is
    the smallest id."""
    import numpy as np

    n = len(linkage.standard)
    position = np.concatenate([linkage.left, linkage.right])
    counts = np.bincount(position, minlength=n)
    best = np.full(n, -1, dtype=np.int64)
    best_weight = np.zeros(n, dtype=np.float64)
    if len(position):
        order = np.argsort(position, kind="stable")
        other = np.concatenate([linkage.right, linkage.left])[order]
        weight = np.concatenate([linkage.weights, linkage.weights])[order]
        present = np.flatnonzero(counts)
        starts = np.concatenate([[0], np.cumsum(counts[present])[:-1]])
        top = np.maximum.reduceat(weight, starts)
        at_top = weight == np.repeat(top, counts[present])
        candidate = np.where(at_top, other, n)
        best[present] = np.minimum.reduceat(candidate, starts)
        best_weight[present] = top
    return best.tolist(), best_weight.tolist(), counts.tolist()


@dataclass
class StateParts:
    """The identity state's persons and households, as the stream would hold them."""

    persons: dict[str, PersonEntry]
    households: dict[str, HouseholdEntry]
    residents: dict[str, set[str]]


def state_parts(batch: BatchResult) -> StateParts:
    records_of: dict[str, set[str]] = {}
    for record_id, person_id in batch.person_of.items():
        records_of.setdefault(person_id, set()).add(record_id)
    members: dict[str, set[str]] = {}
    for person_id, household in batch.household_of.items():
        members.setdefault(household, set()).add(person_id)
    persons: dict[str, PersonEntry] = {}
    residents: dict[str, set[str]] = {}
    for person_id, golden in batch.goldens.items():
        key = golden.household_key
        persons[person_id] = PersonEntry(
            person_id,
            frozenset(records_of[person_id]),
            golden,
            batch.household_of[person_id] if key else None,
        )
        if key:
            residents.setdefault(key, set()).add(person_id)
    households = {
        household_id: HouseholdEntry(
            household_id, batch.goldens[min(people)].household_key or "", frozenset(people)
        )
        for household_id, people in members.items()
    }
    return StateParts(persons, households, residents)


def store_batches(
    linkage: Linkage,
    *,
    parts: StateParts,
    snapshot: Snapshot,
    matcher: Matcher,
    thresholds: Thresholds,
    version: int,
    now: dt.datetime,
    judgements: Judged,
) -> Iterator[tuple[int, dict[Any, list[dict[str, Any]]]]]:
    """The store's rows, in transactions of about :data:`STORE_CHUNK` persons: what the
    stream's outbox projection (:func:`streams.outputs.store_rows`) makes of the domain
    events the stream would have raised for this state. Yields (records done, rows)."""
    from sinks import tables
    from streams.identity import Outbox, RecordChange
    from streams.outputs import store_rows

    assert linkage.batch is not None
    batch, ids = linkage.batch, linkage.ids
    position = {record_id: i for i, record_id in enumerate(ids)}
    best, best_weight, counts = _best_candidates(linkage)
    model_version = matcher.scorer.version
    explain = matcher.explain or (lambda _a, _b: [])
    reviews = _review_pairs(linkage, thresholds, judgements)
    standard = linkage.standard

    def review(a: int, b: int, weight: float, reason: str) -> ReviewItemRaised:
        x, y = standard[a], standard[b]
        lines = tuple(explain(x, y))
        return ReviewItemRaised(ids[a], ids[b], weight, reason, x, y, lines, model_version)

    def person_events(person_id: str) -> list[Event]:
        entry = parts.persons[person_id]
        events: list[Event] = [
            PersonUpserted(
                person_id,
                entry.golden,
                tuple(sorted(entry.record_ids)),
                (),
                entry.household_id,
                entry.version,
            )
        ]
        for record_id in sorted(entry.record_ids):
            i = position[record_id]
            if best[i] >= 0:
                weight = best_weight[i]
                events.append(
                    MatchDecided(
                        record_id,
                        ids[best[i]],
                        thresholds.decide(weight).value,
                        weight,
                        model_version,
                        person_id,
                        candidates=counts[i],
                    )
                )
            events.extend(review(i, *item) for item in reviews.get(i, ()))
        return events

    person_ids = sorted(parts.persons, key=id_age)
    for start in range(0, len(person_ids), STORE_CHUNK):
        outbox = Outbox()
        for person_id in person_ids[start : start + STORE_CHUNK]:
            outbox.events.extend(person_events(person_id))
            for record_id in sorted(parts.persons[person_id].record_ids):
                i = position[record_id]
                outbox.records.append(
                    RecordChange(record_id, snapshot.versions[i], snapshot.records[i], person_id)
                )
        rows = store_rows(outbox, version, now)
        yield len(outbox.records), rows
    household_ids = sorted(parts.households, key=id_age)
    for start in range(0, len(household_ids), STORE_CHUNK):
        outbox = Outbox()
        for household_id in household_ids[start : start + STORE_CHUNK]:
            entry = parts.households[household_id]
            members = [
                HouseholdMember(p, batch.goldens[p].residence_start, batch.goldens[p].residence_end)
                for p in sorted(entry.person_ids, key=id_age)
            ]
            outbox.events.append(
                HouseholdChanged(
                    household_id,
                    entry.household_key,
                    tuple(members),
                    tuple(m.person_id for m in members),
                    (),
                )
            )
        yield 0, {tables.households: store_rows(outbox, version, now)[tables.households]}


def _review_pairs(
    linkage: Linkage, thresholds: Thresholds, judgements: Judged
) -> dict[int, list[tuple[int, float, str]]]:
    """What to raise review items for, by the position of the pair's first record: every
    stored pair in the review band that no judgement settles (as the stream skips them),
    and every link clustering refused (a weak bridge between two persons, or one held back
    as ambiguous). The items themselves, with their explanations, are made a chunk at a
    time."""
    assert linkage.batch is not None
    found: dict[int, list[tuple[int, float, str]]] = {}
    weights, ids = linkage.weights, linkage.ids
    band = (weights >= max(thresholds.review, thresholds.stored)) & (weights < thresholds.link)
    for a, b, w in zip(
        linkage.left[band].tolist(), linkage.right[band].tolist(), weights[band].tolist(),
        strict=True,
    ):  # fmt: skip
        if not judgements or pair_key(ids[a], ids[b]) not in judgements:
            found.setdefault(a, []).append((b, w, "review_band"))
    position = {record_id: i for i, record_id in enumerate(ids)}
    clustering = linkage.batch.clustering
    for link in clustering.refused:
        if not link.judged:
            a, b = position[link.record_a], position[link.record_b]
            found.setdefault(a, []).append((b, link.weight, clustering.reason(link)))
    return found


# -- 6. the identity state ---------------------------------------------------------------


def identity_tables(
    linkage: Linkage,
    parts: StateParts,
    snapshot: Snapshot,
    judgements: Judged,
    groupings: Durable | None = None,
) -> dict[str, tuple[int, Iterable[tuple[str, Any]]]]:
    """Every table of the identity state (see :mod:`matchers.identity_state`): its number
    of rows and the rows, made lazily. The judgements are those the store kept (people's
    and those sources state), and so are ``groupings`` (the service groupings, memberships
    and relationship versions the store's relationships make: a replacing bootstrap keeps
    them, as `hub state rebuild` would); aliases, which a snapshot has none of, are left
    out."""
    from streams.rebuild import Durable, grouping_tables

    judged = judgements_by_record(judgements.values())
    assert linkage.batch is not None
    ids, n = linkage.ids, len(linkage.standard)
    buckets: dict[str, list[str]] = {}
    for record_id, record_keys in zip(ids, linkage.keys, strict=True):
        for key in record_keys:
            buckets.setdefault(key, []).append(record_id)
    counters = {"person": len(parts.persons), "household": len(parts.households)}
    groupings = groupings or Durable()
    versions = groupings.source_versions  # (the relationships': "rel:" keys)
    grouped = {name: (len(rows), rows.items()) for name, rows in grouping_tables(groupings).items()}
    return {
        "records": (n, ((r.record_id, r) for r in linkage.standard)),
        "record_keys": (n, zip(ids, linkage.keys, strict=True)),
        "buckets": (len(buckets), buckets.items()),
        "edges": (len(linkage.scored), linkage.scored.items()),
        "judgements": (len(judged), judged.items()),
        "person_of": (n, linkage.batch.person_of.items()),
        "persons": (len(parts.persons), parts.persons.items()),
        "residents": (len(parts.residents), parts.residents.items()),
        "households": (len(parts.households), parts.households.items()),
        "source_versions": (
            n + len(versions),
            itertools.chain(zip(ids, snapshot.versions, strict=True), versions.items()),
        ),
        "counters": (len(counters), counters.items()),
        **grouped,
    }


# -- running it --------------------------------------------------------------------------


@dataclass
class Phases:
    """Wall-clock and CPU seconds per phase, in order."""

    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    def timed(self, name: str) -> _Timer:
        return _Timer(self, name)


class _Timer:
    def __init__(self, phases: Phases, name: str) -> None:
        self.phases, self.name = phases, name

    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *_exc: object) -> None:
        self.phases.seconds[self.name] = round(time.perf_counter() - self.wall, 2)
        self.phases.cpu_seconds[self.name] = round(time.process_time() - self.cpu, 2)


@dataclass
class Target:
    """Where the state goes: Redis (through a prefix) and the store."""

    redis: RedisState
    store: Store


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def _preflight(target: Target, replace: bool) -> tuple[int, bool]:
    """The state's current version, and whether it holds anything; refuses to go on
    while workers run on it, or when it is not empty and ``replace`` is not set."""
    from sinks.state_bulk import summarise
    from streams.app import heartbeat_key

    redis_state = target.redis
    await redis_state.check_keeps_keys()
    summary = await summarise(redis_state)
    workers = await redis_state.client.keys(heartbeat_key(redis_state.prefix, "*"))
    if workers:
        raise UsageError(
            f"{len(workers)} worker(s) are running on the identity state "
            f"(prefix {redis_state.prefix!r}): stop them, bootstrap, then start them again"
        )
    stored = await asyncio.to_thread(_store_rows_held, target.store)
    occupied = not summary.empty or stored > 0
    if occupied and not replace:
        raise UsageError(
            f"the hub already holds an identity state ({summary.records:,} records in Redis "
            f"at version {summary.version}, {stored:,} source records in the store): "
            "bootstrap loads a first snapshot; use --replace to replace everything"
        )
    return summary.version, occupied


def _store_rows_held(store: Store) -> int:
    from sqlalchemy import func, select

    from sinks import tables

    with store.engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(tables.source_records)).scalar_one()
        )


def _empty_store(store: Store) -> None:
    from sinks import tables

    with store.engine.begin() as connection:
        for name in IDENTITY_TABLES:
            connection.execute(tables.metadata.tables[name].delete())


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<14}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def check_arguments(paths: Sequence[Path], mapping: str | None, scorer: str) -> None:
    """Refuses, before any service is asked, what no run could use."""
    if scorer not in SCORERS:
        raise UsageError(f"--scorer must be one of: {', '.join(SCORERS)}")
    for path in paths:
        check_input(path)
    parse_mapping(mapping)


def run_bootstrap(paths: Sequence[Path], **options: Any) -> dict[str, Any]:
    """Bootstrap the hub from ``paths`` (see :func:`bootstrap`); the summary.

    The cyclic garbage collector is off meanwhile: a bulk load makes millions of objects
    that live until the end and hold no cycles, and every full collection would walk all
    of them again (measured: it doubled the time to build the store's rows)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return asyncio.run(bootstrap(paths, **options))
    finally:
        if enabled:
            gc.enable()


async def bootstrap(
    paths: Sequence[Path],
    *,
    settings: Settings,
    target: Target,
    mapping: str | None = None,
    version_column: str = VERSION_COLUMN,
    replace: bool = False,
    scorer: str = "splink",
    compare_scorers: bool = False,
    show_progress: bool = True,
    source: str | None = None,
) -> dict[str, Any]:
    """Load the snapshot in ``paths`` into ``target``; the summary (JSON-ready).

    ``compare_scorers`` (for the benchmark): after Splink's scores, also score the same
    candidate pairs with the in-process scorer, timed apart, and say whether every
    weight is identical. The phases are CPU work run on the event loop: nothing else runs
    on it meanwhile, except the task that keeps the state lock while Redis is written."""
    from streams.rebuild import read_groupings

    check_arguments(paths, mapping, scorer)
    started = time.perf_counter()
    run = _Run(settings, target, show_progress)
    try:
        await asyncio.to_thread(target.store.upgrade)
        version, occupied = await _preflight(target, replace)
        # above every version the store holds too (judgements outlive a replace)
        new_version = max(version, await asyncio.to_thread(target.store.newest_state_version)) + 1
        # (people's and those sources state: they bind the snapshot as they bind the stream)
        judgements = latest_judgements(await asyncio.to_thread(target.store.judgements))
        # (and the groupings its relationships make: a replace keeps the relationships)
        groupings = await asyncio.to_thread(read_groupings, target.store)
        with run.progress:
            snapshot = run.read(paths, mapping, version_column, source)
            linkage = run.standardise(snapshot)
            run.score(linkage, scorer, compare_scorers)
            parts = run.cluster(linkage, judgements)
            try:
                await run.store(
                    linkage, parts, snapshot, new_version, occupied=occupied, judgements=judgements
                )
            except HubError as error:  # (the store is written in many transactions)
                part_written = HubError(f"{error}; {_PART_WRITTEN}")
                part_written.exit_code = error.exit_code
                raise part_written from None
            except (KeyboardInterrupt, asyncio.CancelledError):
                say(_PART_WRITTEN)
                raise
            written = await run.write_state(
                linkage,
                parts,
                snapshot,
                version,
                new_version,
                judgements=judgements,
                groupings=groupings,
            )
    finally:
        # no connection outlives this event loop, so the target can be used again
        await target.redis.client.connection_pool.disconnect()
    run.extra |= {"scorer": scorer, "state_version": written, "replaced": occupied}
    return run.summary(snapshot, linkage, parts, started)


_PART_WRITTEN = (
    "the store may hold part of this snapshot, and the identity state in Redis is as it was: "
    "run the same hub bootstrap again with --replace"
)


class _Run:
    """One bootstrap's phases, timed, each with its progress bar."""

    def __init__(self, settings: Settings, target: Target, show_progress: bool) -> None:
        self.settings = settings
        self.target = target
        self.matcher = load_matcher(settings.model_file)
        self.thresholds = thresholds_from(settings, self.matcher.block_cap)
        self.survivorship = survivorship_from(settings)
        self.phases = Phases()
        self.progress = _progress()
        self.progress.disable = not show_progress
        self.extra: dict[str, Any] = {}  # more for the summary

    def task(self, name: str, total: int | None) -> Callable[[int], None]:
        task_id = self.progress.add_task(name, total=total)
        return lambda n: self.progress.advance(task_id, n)

    def read(
        self, paths: Sequence[Path], mapping: str | None, version_column: str, source: str | None
    ) -> Snapshot:
        with self.phases.timed("read"):
            task_id = self.progress.add_task("read", total=None)
            snapshot = read_snapshot(
                paths,
                mapping,
                version_column,
                lambda n: self.progress.advance(task_id, n),
                source,
            )
            self.progress.update(task_id, total=snapshot.rows, completed=snapshot.rows)
        if not snapshot.records:
            raise UsageError("no records to load in " + ", ".join(str(p) for p in paths))
        return snapshot

    def standardise(self, snapshot: Snapshot) -> Linkage:
        import numpy as np

        with self.phases.timed("standardise"):
            n = len(snapshot.records)
            advance = self.task("standardise", n)
            standardise, rules = self.matcher.standardise, self.matcher.rules
            standard: list[StandardRecord] = []
            keys: list[frozenset[str]] = []
            for i, record in enumerate(snapshot.records, start=1):
                clean = standardise(record)
                standard.append(clean)
                keys.append(rules.keys(clean))
                if i % 10_000 == 0:
                    advance(10_000)
            advance(n % 10_000)
            over_common = over_common_keys(keys, self.thresholds.block_cap)
        nothing = np.zeros(0)
        return Linkage(standard, keys, over_common, nothing, nothing, nothing, {})

    def score(self, linkage: Linkage, scorer: str, compare: bool) -> None:
        standard, keys, over_common = linkage.standard, linkage.keys, linkage.over_common
        with self.phases.timed("score"):
            advance = self.task(f"score ({scorer})", 1)
            if scorer == "splink":
                from matchers.splink_adapter import splink_predict

                model = self.matcher.model  # (the hub's scorer was made from it: read once)
                assert model is not None  # (load_matcher's)
                scores = splink_predict(model, standard, over_common)
            else:
                scores = hub_scores(self.matcher.scorer, standard, keys, over_common)
            linkage.left, linkage.right, linkage.weights = scores
            advance(1)
        if compare and scorer == "splink":
            advance = self.task("score (hub)", 1)
            began, cpu = time.perf_counter(), time.process_time()
            ours = hub_scores(self.matcher.scorer, standard, keys, over_common)
            self.extra = {
                "hub_scorer_s": round(time.perf_counter() - began, 2),
                "hub_scorer_cpu_s": round(time.process_time() - cpu, 2),
                "hub_scorer_identical": _same_scores(scores, ours),
            }
            advance(1)

    def cluster(self, linkage: Linkage, judgements: Judged) -> StateParts:
        with self.phases.timed("cluster"):
            advance = self.task("cluster", 1)
            ids = linkage.ids
            linkage.scored = adjacency(
                ids, linkage.left, linkage.right, linkage.weights, self.thresholds.stored
            )
            linkage.batch = resolve_scored(
                dict(zip(ids, linkage.standard, strict=True)),
                linkage.scored,
                self.thresholds,
                judgements=judgements.values(),
                survivorship=self.survivorship,
            )
            parts = state_parts(linkage.batch)
            advance(1)
        return parts

    async def store(
        self,
        linkage: Linkage,
        parts: StateParts,
        snapshot: Snapshot,
        version: int,
        *,
        occupied: bool,
        judgements: Judged,
    ) -> None:
        store = self.target.store
        with self.phases.timed("store"):
            advance = self.task("store", len(snapshot.records))
            if occupied:
                await asyncio.to_thread(_empty_store, store)
            batches = store_batches(
                linkage,
                parts=parts,
                snapshot=snapshot,
                matcher=self.matcher,
                thresholds=self.thresholds,
                version=version,
                now=dt.datetime.now(dt.UTC),
                judgements=judgements,
            )
            # the next transaction's rows are made while the last one is written
            writing: asyncio.Future[None] | None = None
            written = 0
            for done, rows in batches:
                if writing is not None:
                    await writing
                    advance(written)
                writing = asyncio.ensure_future(asyncio.to_thread(store.apply, rows))
                written = done
            if writing is not None:
                await writing
                advance(written)

    async def write_state(
        self,
        linkage: Linkage,
        parts: StateParts,
        snapshot: Snapshot,
        version: int,
        new_version: int,
        *,
        judgements: Judged,
        groupings: Durable,
    ) -> int:
        from matchers.resolver import configuration
        from sinks.state_bulk import write_state

        with self.phases.timed("redis"):
            tables = identity_tables(linkage, parts, snapshot, judgements, groupings)
            advance = self.task("redis", sum(size for size, _rows in tables.values()))
            return await write_state(
                self.target.redis,
                {name: rows for name, (_size, rows) in tables.items()},
                expected_version=version,
                new_version=new_version,
                configuration=configuration(
                    self.matcher.scorer.version, self.thresholds, self.survivorship
                ),
                progress=advance,
            )

    def summary(
        self, snapshot: Snapshot, linkage: Linkage, parts: StateParts, started: float
    ) -> dict[str, Any]:
        import numpy as np

        n, weights = len(snapshot.records), linkage.weights
        seconds = time.perf_counter() - started
        return {
            "records": n,
            "rows": snapshot.rows,
            "rejected": sum(snapshot.rejected.values()),
            "rejected_reasons": dict(snapshot.rejected),
            "duplicate_rows": snapshot.duplicates,
            "unversioned_records": snapshot.unversioned,
            "persons": len(parts.persons),
            "households": len(parts.households),
            "pairs_scored": len(weights),
            "pairs_stored": int(np.count_nonzero(weights >= self.thresholds.stored)),
            "links": int(np.count_nonzero(weights >= self.thresholds.link)),
            "over_common_keys": len(linkage.over_common),
            "model_version": self.matcher.scorer.version,
            "seconds": round(seconds, 2),
            "records_per_second": round(n / seconds) if seconds else None,
            "phases_s": self.phases.seconds,
            "phases_cpu_s": self.phases.cpu_seconds,
            "peak_rss_mb": peak_rss_mb(),
            **self.extra,
        }


def _same_scores(a: tuple[np.ndarray[Any, Any], ...], b: tuple[np.ndarray[Any, Any], ...]) -> bool:
    """Whether two scorings have the same pairs with bit-identical weights."""
    import numpy as np

    def ordered(scores: tuple[np.ndarray[Any, Any], ...]) -> tuple[np.ndarray[Any, Any], ...]:
        left, right, weights = scores
        order = np.lexsort((right, left))
        return left[order], right[order], weights[order]

    return all(np.array_equal(x, y) for x, y in zip(ordered(a), ordered(b), strict=True))


def bootstrap_command(
    *,
    inputs: Annotated[
        list[Path],
        typer.Option("--input", help="snapshot file (CSV, JSON Lines, Parquet); repeat for more"),
    ],
    mapping: Annotated[
        str | None, typer.Option("--map", help="rename columns: column=field,...")
    ] = None,
    version_column: Annotated[
        str, typer.Option("--version-column", help="column holding each record's source version")
    ] = VERSION_COLUMN,
    replace: Annotated[
        bool, typer.Option("--replace", help="replace an identity state that is not empty")
    ] = False,
    scorer: Annotated[
        str, typer.Option("--scorer", help="splink (Splink's batch predict) or hub (in-process)")
    ] = "splink",
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="the source system of every row, as for `hub publish` (for one system's "
            "extract whose ids carry no <system>: prefix and that has no source_system column)",
        ),
    ] = None,
) -> None:
    """Load the first snapshot of every source in bulk into the state the stream keeps."""

    from hub.wiring import redis_state, require_redis, store

    if source is not None:
        check_name(source)
    check_arguments(inputs, mapping, scorer)
    settings = load_settings()
    require_redis(settings)
    target = Target(redis_state(settings), store(settings))
    summary = run_bootstrap(
        inputs,
        settings=settings,
        target=target,
        mapping=mapping,
        version_column=version_column,
        replace=replace,
        scorer=scorer,
        source=source,
    )
    say(
        f"bootstrapped {counted(summary['records'], 'record')} into "
        f"{counted(summary['persons'], 'person')} and "
        f"{counted(summary['households'], 'household')} in {summary['seconds']:.1f}s "
        f"(state version {summary['state_version']}); {counted(summary['rejected'], 'row')} "
        "rejected"
    )
    typer.echo(orjson.dumps(summary).decode())
