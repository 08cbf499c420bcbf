"""Write a simulation to a folder: snapshot files per source, the truth, and JSON Lines extracts.

Layout (``<fmt>`` is csv, jsonl or parquet)::

    persons.<fmt>                     every source's person records together
    sources/<system>.<fmt>            one file per source system holding people
    sources/property_gazetteer.<fmt>  the gazetteer: addresses only, one row per UPRN
    truth.<fmt>                       record_id, person_id, household_id for every record
    truth_people.<fmt>                the true people (names, date of birth, identifiers)
    relationships.jsonl, truth_relationships.jsonl, indicators.jsonl,
    teams.jsonl, workers.jsonl, allocations.jsonl, workflow_steps.jsonl
    events.jsonl                      the time-ordered event stream (with --events)
    manifest.json                     seed, size, day and the row count of every file

A folder holding a manifest this writer wrote is its earlier output: written again, the
files of the earlier run that this one does not write (another format's, an events.jsonl)
are removed (:func:`previous_output`, :func:`remove_stale`).

Rows are sorted by their id and every value is a string (or empty), so the same seed gives
byte-identical files.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from matchers.records import CANONICAL_FIELDS
from sources.simulator.config import FORMATS
from sources.simulator.geography import GAZETTEER
from sources.simulator.model import AddressRecord, PersonRecord, TruthRow
from sources.simulator.population import World
from sources.simulator.simulation import Simulation
from sources.simulator.streaming import JsonLinesSink
from sources.simulator.systems import PERSON_SYSTEMS
from sources.simulator.timeline import timestamp

PERSON_COLUMNS: tuple[str, ...] = (
    *CANONICAL_FIELDS,
    "residence_start",
    "residence_end",
    "updated_at",
    "previous_last_name",
)
ADDRESS_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(AddressRecord))
TRUTH_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TruthRow))
PEOPLE_COLUMNS: tuple[str, ...] = (
    "person_id",
    "household_id",
    "given_name",
    "middle_name",
    "family_name",
    "previous_family_name",
    "name_changed_on",
    "dob",
    "sex",
    "nhs_number",
    "ni_number",
    "upn",
    "mobile",
    "email",
    "uprn",
    "postcode",
    "moved_in",
    "previous_uprn",
    "left_on",
    "died_on",
    "twin_of",
    "mother_id",
    "father_id",
    "partner_id",
    "tradition",
)
FILE_COUNT = len(PERSON_SYSTEMS) + 11  # files written besides the stream and the manifest
MANIFEST = "manifest.json"
_JSON = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC

Step = Callable[[str, int], None]


def write_simulation(
    simulation: Simulation,
    out: Path,
    fmt: str,
    events: bool = False,
    step: Step | None = None,
    *,
    previous: Iterable[str] = (),
) -> dict[str, int]:
    """Write every file; returns the number of rows (or lines) of each, by relative path.

    Until the last file is written, the manifest names the files begun and ``previous``
    (an earlier run's) with no counts, so that a run stopped part-way is still known as
    this writer's output, and its files as ones to write over or remove."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    done = step or (lambda _name, _rows: None)
    counts: dict[str, int] = {}
    begun: dict[str, None] = dict.fromkeys(previous)

    def begin(path: Path) -> Path:
        begun[path.relative_to(out).as_posix()] = None
        _write_manifest(out, {"format": fmt, "complete": False, "files": begun})
        return path

    def table(name: str, columns: Sequence[str], rows: Iterable[Sequence[str | None]]) -> None:
        path = begin(out / f"{name}.{fmt}")
        counts[path.relative_to(out).as_posix()] = _write_table(path, fmt, columns, rows)
        done(path.name, counts[path.relative_to(out).as_posix()])

    def lines(name: str, items: Iterable[Any]) -> None:
        path = begin(out / f"{name}.jsonl")
        with path.open("wb") as handle:
            n = 0
            for item in items:
                handle.write(orjson.dumps(item, option=_JSON) + b"\n")
                n += 1
        counts[path.name] = n
        done(path.name, n)

    out.mkdir(parents=True, exist_ok=True)
    records = sorted(simulation.records.values(), key=lambda r: r.record_id)
    table("persons", PERSON_COLUMNS, (_person_row(r) for r in records))
    (out / "sources").mkdir(exist_ok=True)
    by_system: dict[str, list[PersonRecord]] = {system: [] for system in PERSON_SYSTEMS}
    for record in records:
        by_system[record.source_system].append(record)
    for system, held in by_system.items():
        table(f"sources/{system}", PERSON_COLUMNS, (_person_row(r) for r in held))
    table(
        f"sources/{GAZETTEER}",
        ADDRESS_COLUMNS,
        ([_text(getattr(a, c)) for c in ADDRESS_COLUMNS] for a in simulation.addresses),
    )
    table(
        "truth",
        TRUTH_COLUMNS,
        ((t.record_id, t.person_id, t.household_id) for t in simulation.truth),
    )
    table("truth_people", PEOPLE_COLUMNS, _people_rows(simulation.world))
    lines("relationships", simulation.relationships)
    lines("truth_relationships", simulation.relationship_truth)
    lines("indicators", simulation.indicators)
    casework = simulation.casework
    lines("teams", casework.teams)
    lines("workers", casework.workers)
    lines("allocations", casework.allocations)
    lines("workflow_steps", casework.steps)
    if events:
        with begin(out / "events.jsonl").open("wb") as handle:
            sink = JsonLinesSink(handle)
            for event in simulation.events:
                sink(event)
        counts["events.jsonl"] = sink.count
        done("events.jsonl", sink.count)
    manifest = {
        "seed": simulation.config.seed,
        "residents": simulation.residents,
        "households": simulation.households,
        "day": simulation.day,
        "date": simulation.snapshot_date.isoformat(),
        "format": fmt,
        "files": counts,
    }
    _write_manifest(out, manifest)
    return counts


def _write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    (out / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")


def previous_output(out: Path) -> frozenset[str] | None:
    """The files an earlier run wrote to ``out``, as its manifest lists them; None when
    ``out`` holds no manifest this writer wrote (none, not JSON, not of its shape, or
    naming a file where this writer never writes one)."""
    try:
        manifest = orjson.loads((out / MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") not in FORMATS:
        return None
    files = manifest.get("files")
    if not isinstance(files, dict) or not files or not all(map(_written_here, files)):
        return None
    return frozenset(files)


def _written_here(name: str) -> bool:
    """Whether ``name`` is where this writer writes a file: ``<name>.<fmt>`` in the folder
    or in its ``sources`` folder (a source system an earlier release had included)."""
    path = PurePosixPath(name)
    return (
        path.suffix in {f".{fmt}" for fmt in FORMATS}
        and path.parent.as_posix() in {".", "sources"}
        and not path.name.startswith(".")
    )


def remove_stale(out: Path, previous: Iterable[str], written: Iterable[str]) -> list[str]:
    """Remove the files of an earlier run (:func:`previous_output`) that this one did not
    write over; returns their relative paths."""
    stale = sorted(set(previous) - set(written))
    for name in stale:
        (out / name).unlink(missing_ok=True)
    return stale


def _people_rows(world: World) -> Iterable[list[str | None]]:
    for person in sorted(world.persons.values(), key=lambda p: p.person_id):
        household = world.households[person.household_id]
        previous = household.previous_address
        values: tuple[object, ...] = (
            person.person_id,
            person.household_id,
            person.given,
            person.middle,
            person.family,
            person.birth_family,
            person.name_changed_on,
            person.dob,
            person.sex,
            person.nhs_number,
            person.ni_number,
            person.upn,
            person.mobile,
            person.email,
            household.address.uprn,
            household.address.postcode,
            household.moved_in,
            previous.uprn if previous else None,
            household.left_on,
            person.died_on,
            person.twin_id,
            person.mother_id,
            person.father_id,
            person.partner_id,
            person.tradition,
        )
        yield [_text(v) for v in values]


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _person_row(record: PersonRecord) -> list[str | None]:
    return [getattr(record, column) for column in PERSON_COLUMNS]


def _write_table(
    path: Path, fmt: str, columns: Sequence[str], rows: Iterable[Sequence[str | None]]
) -> int:
    count = 0
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow(["" if v is None else v for v in row])
                count += 1
        return count
    if fmt == "jsonl":
        with path.open("wb") as handle:
            for row in rows:
                handle.write(orjson.dumps(dict(zip(columns, row, strict=True))) + b"\n")
                count += 1
        return count
    import pyarrow as pa
    import pyarrow.parquet as pq

    materialised = [list(row) for row in rows]
    arrays = [
        pa.array([row[i] for row in materialised], type=pa.string()) for i in range(len(columns))
    ]
    pq.write_table(pa.Table.from_arrays(arrays, names=list(columns)), path)
    return len(materialised)
