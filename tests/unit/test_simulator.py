"""The council simulator: deterministic, the right size, valid where meant to be, and full of
the data problems it promises (each one found in the output, not taken on trust)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import orjson
import pytest
from dateutil.parser import isoparse

from hub.inputs import read_records
from matchers.identifiers import check_nhs_number, check_ni_number, check_postcode, check_upn
from matchers.records import SourceRecord
from sources.simulator.config import SimulationConfig
from sources.simulator.model import Person, PersonChange, PersonRecord, Relationship, event_time
from sources.simulator.names import SHORT_FORMS
from sources.simulator.noise import swap_day_month
from sources.simulator.simulation import Simulation, simulate
from sources.simulator.systems import PERSON_SYSTEMS, PROFILES
from sources.simulator.writers import write_simulation

pytestmark = pytest.mark.unit

SMALL = SimulationConfig(residents=3_000, seed=11)


@pytest.fixture(scope="module")
def borough() -> Simulation:
    return simulate(SMALL)


def person_of(sim: Simulation, record_id: str) -> Person:
    truth = {t.record_id: t.person_id for t in sim.truth}
    return sim.world.persons[truth[record_id]]


def records_with_people(sim: Simulation) -> list[tuple[PersonRecord, Person]]:
    truth = {t.record_id: t.person_id for t in sim.truth}
    return [(r, sim.world.persons[truth[r.record_id]]) for r in sim.records.values()]


def parse_dob(text: str, system: str) -> date:
    return datetime.strptime(text, PROFILES[system].dob_format).date()


def compact(value: str) -> str:
    return "".join(value.split()).upper()


# -- determinism and size ---------------------------------------------------------------------


def run_hub(*args: str, hash_seed: str = "0") -> subprocess.CompletedProcess[str]:
    hub = Path(sys.executable).with_name("hub")
    env = os.environ | {"PYTHONHASHSEED": hash_seed}
    return subprocess.run([str(hub), *args], capture_output=True, text=True, check=False, env=env)


def test_same_seed_gives_byte_identical_files_across_processes(tmp_path: Path) -> None:
    outputs = []
    for n, hash_seed in enumerate(("1", "2")):  # different str hashing: no set-order leaks
        out = tmp_path / f"run{n}"
        result = run_hub(
            "simulate",
            "--out",
            str(out),
            "--residents",
            "400",
            "--seed",
            "5",
            "--day",
            "3",
            "--events",
            hash_seed=hash_seed,
        )
        assert result.returncode == 0, result.stderr
        outputs.append({p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()})
    assert outputs[0].keys() == outputs[1].keys()
    assert len(outputs[0]) > 25
    for name, content in outputs[0].items():
        assert content == outputs[1][name], name


def test_different_seeds_give_different_boroughs() -> None:
    a = simulate(SimulationConfig(residents=300, seed=1))
    b = simulate(SimulationConfig(residents=300, seed=2))
    names_a = {(r.first_name, r.last_name) for r in a.records.values()}
    names_b = {(r.first_name, r.last_name) for r in b.records.values()}
    assert len(names_a & names_b) < len(names_a) / 2


def test_default_borough_is_about_ten_thousand_people_in_four_thousand_households() -> None:
    sim = simulate(SimulationConfig())
    assert 10_000 <= sim.residents <= 10_012  # the last household may overshoot a little
    assert 3_500 <= sim.households <= 4_500
    assert len(sim.records) > 2.5 * sim.residents  # seen by several systems each
    systems = Counter(r.source_system for r in sim.records.values())
    assert set(systems) == set(PERSON_SYSTEMS)


def test_size_follows_the_residents_option() -> None:
    sim = simulate(SimulationConfig(residents=1_000, seed=3))
    assert 1_000 <= sim.residents <= 1_012
    assert 300 <= sim.households <= 500


# -- ids and truth -----------------------------------------------------------------------------


def test_record_ids_are_system_prefixed_and_unique(borough: Simulation) -> None:
    for record_id, record in borough.records.items():
        assert record_id == f"{record.source_system}:{record.source_record_id}"
    changes = borough.person_changes
    created = [e.record_id for e in changes if e.op == "create"]
    assert len(created) == len(set(created))


def test_truth_covers_every_record_and_event(borough: Simulation) -> None:
    truth = {t.record_id: t for t in borough.truth}
    assert set(borough.records) <= set(truth)
    assert {e.record_id for e in borough.person_changes} == set(truth)
    for row in borough.truth:
        person = borough.world.persons[row.person_id]
        assert person.household_id == row.household_id


def test_relationship_truth_names_the_true_people(borough: Simulation) -> None:
    truth = {t.record_id: t.person_id for t in borough.truth}
    rel_truth = {t.relationship_id: t for t in borough.relationship_truth}
    kinds = Counter(r.kind for r in borough.relationships)
    assert {
        "parent",
        "partner",
        "carer",
        "family_group",
        "claim_unit",
        "council_tax_account",
        "tenancy",
    } <= set(kinds)
    persons = borough.world.persons
    for rel in borough.relationships:
        assert rel.record_id in borough.records
        t = rel_truth[rel.relationship_id]
        assert t.person_id == truth[rel.record_id]
        if rel.related_record_id is not None:
            assert rel.related_record_id in borough.records
            assert t.related_person_id == truth[rel.related_record_id]
        if rel.kind == "parent":
            child = persons[t.related_person_id or ""]
            assert t.person_id in (child.mother_id, child.father_id)
        if rel.kind == "partner":
            assert persons[t.person_id].partner_id == t.related_person_id


@pytest.mark.parametrize("seed", [1, 2, 3, 4])  # each gave inverted partner periods once
def test_no_relationship_ends_before_it_starts(seed: int) -> None:
    sim = simulate(SimulationConfig(residents=300, seed=seed), day=2)
    observed = [e for e in sim.events if isinstance(e, Relationship)]
    inverted = [r for r in observed if r.start and r.end and r.end < r.start]
    assert inverted == []
    first: dict[str, Relationship] = {}
    for rel in observed:
        earlier = first.setdefault(rel.relationship_id, rel)
        assert rel.start == earlier.start  # an end never moves the start
    ended = [r for r in observed if r.end is not None]
    assert ended and {r.kind for r in ended} >= {"partner"}  # ends are still observed


# -- identifiers -------------------------------------------------------------------------------


def test_identifiers_are_valid_unless_broken_on_purpose(borough: Simulation) -> None:
    checks = {"nhs_number": check_nhs_number, "upn": check_upn, "ni_number": check_ni_number}
    counts: Counter[str] = Counter()
    for record, person in records_with_people(borough):
        for field, check in checks.items():
            value = getattr(record, field)
            if value is None:
                continue
            counts[field] += 1
            cleaned, reason = check(value)
            if reason is None:  # a valid identifier is the person's own
                assert cleaned is not None
                assert cleaned.startswith(compact(getattr(person, field))[:8])
            else:
                counts[f"{field}_invalid"] += 1
    rate = SMALL.errors.invalid_identifier
    for field in checks:
        share = counts[f"{field}_invalid"] / counts[field]
        assert 0.1 * rate < share < 4 * rate, (field, share)


def test_clean_data_has_no_invalid_identifiers_and_no_typos() -> None:
    base = SimulationConfig(residents=800, seed=4)
    sim = simulate(replace(base, errors=base.errors.scaled(0.0)))
    for record, person in records_with_people(sim):
        assert check_nhs_number(record.nhs_number)[1] is None
        assert check_upn(record.upn)[1] is None
        assert check_ni_number(record.ni_number)[1] is None
        if record.dob:
            assert parse_dob(record.dob, record.source_system) == person.dob


def test_postcodes_have_the_uk_format_and_uprns_at_most_twelve_digits(borough: Simulation) -> None:
    for record in borough.records.values():
        if record.postcode:
            assert check_postcode(record.postcode)[1] is None, record.postcode
        if record.uprn:
            assert record.uprn.isdigit() and len(record.uprn) <= 12
    for address in borough.addresses:
        assert check_postcode(address.postcode)[0] == address.postcode
        assert len(address.uprn) <= 12
    assert len({a.uprn for a in borough.addresses}) == len(borough.addresses)


# -- the promised data problems ----------------------------------------------------------------


def test_twins_and_same_name_parent_and_child_live_together(borough: Simulation) -> None:
    persons = borough.world.persons
    twins = [p for p in persons.values() if p.twin_id]
    assert twins
    for twin in twins:
        other = persons[twin.twin_id or ""]
        assert (other.dob, other.household_id) == (twin.dob, twin.household_id)
    juniors = [
        p
        for p in persons.values()
        if p.father_id
        and persons[p.father_id].given == p.given
        and persons[p.father_id].household_id == p.household_id
    ]
    assert juniors
    assert any(persons[j.father_id or ""].family == j.family for j in juniors)


def test_nicknames_and_spelling_variants_appear(borough: Simulation) -> None:
    nicknames = variants = 0
    for record, person in records_with_people(borough):
        first = (record.first_name or "").lower()
        if first in {s.lower() for s in SHORT_FORMS.get(person.given.lower(), ())}:
            nicknames += 1
        if first and first != person.given.lower() and first[:2] == person.given.lower()[:2]:
            variants += 1
    assert nicknames >= 20
    assert variants >= 50


def test_day_and_month_swapped_and_placeholder_dates_of_birth(borough: Simulation) -> None:
    counts: Counter[str] = Counter()
    for record, person in records_with_people(borough):
        if not record.dob:
            counts["missing"] += 1
            continue
        held = parse_dob(record.dob, record.source_system)
        if held == date(1900, 1, 1):
            counts["placeholder"] += 1
        elif held != person.dob and held == swap_day_month(person.dob):
            counts["swapped"] += 1
    assert counts["swapped"] >= 10
    assert counts["placeholder"] >= 3
    assert counts["missing"] >= 100


def test_movers_are_still_at_their_old_address_in_some_systems(borough: Simulation) -> None:
    households = borough.world.households
    stale = updated = 0
    for record, person in records_with_people(borough):
        household = households[person.household_id]
        if household.previous_address is None or household.left_on or not record.postcode:
            continue
        if record.residence_end:
            continue
        held = compact(record.postcode)
        if held == compact(household.previous_address.postcode):
            stale += 1
        elif held == compact(household.address.postcode):
            updated += 1
    assert stale >= 20
    assert updated > stale  # most systems hear of a move


def test_changed_and_double_barrelled_surnames(borough: Simulation) -> None:
    old = double = partial = 0
    for record, person in records_with_people(borough):
        last = (record.last_name or "").lower()
        if person.birth_family and last == person.birth_family.lower():
            old += 1
        if "-" in person.family and person.family.lower() == last:
            double += 1
        elif "-" in person.family and last in [p.lower() for p in person.family.split("-")]:
            partial += 1
    assert old >= 10
    assert double >= 5
    assert partial >= 2


def test_shared_phones_missing_fields_and_postcode_formats(borough: Simulation) -> None:
    owners: defaultdict[str, set[str]] = defaultdict(set)
    no_space = 0
    missing: Counter[str] = Counter()
    for record, person in records_with_people(borough):
        if record.phone:
            owners[compact(record.phone)[-10:]].add(person.person_id)
        if record.postcode and " " not in record.postcode:
            no_space += 1
        for field in ("dob", "phone", "postcode", "middle_name"):
            if getattr(record, field) is None:
                missing[field] += 1
    assert sum(1 for people in owners.values() if len(people) > 1) >= 50
    assert no_space >= 50
    assert all(missing[f] > 0 for f in ("dob", "phone", "postcode", "middle_name"))


def test_some_people_have_several_records_in_one_system(borough: Simulation) -> None:
    truth = {t.record_id: t.person_id for t in borough.truth}
    per = Counter((r.source_system, truth[r.record_id]) for r in borough.records.values())
    systems = {system for (system, _), n in per.items() if n > 1}
    assert len(systems) >= 5


def test_the_gazetteer_holds_addresses_only(borough: Simulation) -> None:
    truth = {t.record_id for t in borough.truth}
    homes = {h.address.uprn for h in borough.world.current_households()}
    gazetteer = {a.uprn for a in borough.addresses}
    assert homes <= gazetteer
    assert not any(a.record_id in truth for a in borough.addresses)


# -- events, days and streams -------------------------------------------------------------------


def test_events_are_in_time_order_and_consistent(borough: Simulation) -> None:
    times = [event_time(e) for e in borough.events]
    assert times == sorted(times)
    assert all(t < borough.until for t in times)
    last: dict[str, PersonRecord | None] = {}
    for event in borough.person_changes:
        assert event.before == last.get(event.record_id)
        assert (event.op == "create") == (event.before is None)
        assert (event.op == "delete") == (event.after is None)
        last[event.record_id] = event.after
    assert {k: v for k, v in last.items() if v is not None} == borough.records


def test_day_two_is_day_one_plus_creates_updates_and_deletes() -> None:
    config = SimulationConfig(residents=4_000, seed=8)
    one, two = simulate(config, day=1), simulate(config, day=2)
    assert [e for e in two.events if event_time(e) < one.until] == one.events
    created = set(two.records) - set(one.records)
    deleted = set(one.records) - set(two.records)
    updated = {k for k in set(one.records) & set(two.records) if one.records[k] != two.records[k]}
    assert created and deleted and updated
    later = [e for e in two.person_changes if e.at >= one.until]
    assert {e.record_id for e in later if e.op == "create"} >= created
    assert {e.record_id for e in later if e.op == "delete"} >= deleted
    assert {e.record_id for e in later if e.op == "update"} >= updated
    assert len({e.reason for e in later}) >= 4  # moves, new records, corrections, ...
    unchanged = set(one.records) - created - deleted - updated
    assert len(unchanged) > 0.95 * len(one.records)


def test_a_day_is_the_same_whichever_day_the_run_stops_at() -> None:
    config = SimulationConfig(residents=600, seed=9)
    two, four = simulate(config, day=2), simulate(config, day=4)
    assert [e for e in four.events if event_time(e) < two.until] == two.events


def test_indicators_and_casework_point_at_live_records(borough: Simulation) -> None:
    kinds = Counter(i.kind for i in borough.indicators)
    assert {
        "attendance_pct",
        "out_of_work_benefit",
        "neet",
        "rent_arrears_balance",
        "domestic_abuse_notification",
    } <= set(kinds)
    for indicator in borough.indicators:
        assert indicator.record_id in borough.records
        assert indicator.period_start <= indicator.period_end < borough.snapshot_date
        if indicator.unit == "percent":
            assert 0 <= indicator.value <= 100
    work = borough.casework
    workers = {w.worker_id for w in work.workers}
    truth = {t.record_id for t in borough.truth}
    live_groups = {r.group_id for r in borough.relationships if r.kind == "family_group"}
    for allocation in work.allocations:
        assert allocation.worker_id in workers
        if allocation.record_id:
            assert allocation.record_id in truth
        if allocation.end is None:  # an open case is about records that still exist
            assert (
                allocation.record_id in borough.records or allocation.family_group_id in live_groups
            )
    assert {s.step_type for s in work.steps} == {"assessment", "review", "closure"}
    for step in work.steps:
        assert step.assignee in workers
        assert step.target_date >= step.assigned_date


# -- files --------------------------------------------------------------------------------------


def test_files_load_as_canonical_records(tmp_path: Path) -> None:
    sim = simulate(SimulationConfig(residents=300, seed=2), day=2)
    for fmt in ("csv", "jsonl", "parquet"):
        out = tmp_path / fmt
        counts = write_simulation(sim, out, fmt, events=True)
        loaded = list(read_records(out / f"persons.{fmt}"))
        assert all(isinstance(r, SourceRecord) for r in loaded)
        assert {r.record_id for r in loaded if isinstance(r, SourceRecord)} == set(sim.records)
        truth = list(read_records(out / f"truth.{fmt}"))
        assert len(truth) == counts[f"truth.{fmt}"] == len(sim.truth)
        assert sum(counts[f"sources/{s}.{fmt}"] for s in PERSON_SYSTEMS) == len(sim.records)
    lines = (tmp_path / "csv" / "events.jsonl").read_bytes().splitlines()
    first = orjson.loads(lines[0])
    assert first["kind"] == "address"
    kinds = Counter(orjson.loads(line)["kind"] for line in lines)
    assert kinds["person"] == len(sim.person_changes)
    person = next(orjson.loads(line) for line in lines if b'"kind":"person"' in line)
    assert person["op"] == "create" and person["before"] is None
    assert isoparse(person["at"]).tzinfo is not None
    manifest = orjson.loads((tmp_path / "csv" / "manifest.json").read_bytes())
    assert manifest["day"] == 2 and manifest["files"]["events.jsonl"] == len(lines)


def test_simulate_command_prints_a_summary(tmp_path: Path) -> None:
    result = run_hub(
        "simulate", "--out", str(tmp_path), "--residents", "150", "--format", "parquet"
    )
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(result.stdout)
    assert 150 <= summary["residents"] <= 160
    assert summary["files"]["persons.parquet"] > 150
    assert (tmp_path / "sources" / "council_tax.parquet").is_file()
    assert "wrote" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        *((["--rate", rate], "--rate must be a positive number") for rate in ("0", "nan", "inf")),
        (["--limit", "5"], "--limit needs --rate"),
        (["--format", "xml"], "--format must be one of csv, jsonl, parquet"),
        (["--residents", "3"], "--residents must be from 10 to 1,000,000"),
        (["--residents", "9" * 20], "--residents must be from 10 to 1,000,000"),
        (["--residents", "10", "--seed", "9" * 23], "Invalid value for '--seed': Input should"),
        (["--residents", "10", "--seed", "-1"], "Invalid value for '--seed': Input should"),
        (["--day", "0"], "--day must be from 1 to 3,650"),
        (["--day", "3651"], "--day must be from 1 to 3,650"),  # (a huge one ran until 9999)
        (["--day", "9" * 20], "--day must be from 1 to 3,650"),
        (["--error-scale", "-1"], "--error-scale must be a number, 0 or more"),
        (["--error-scale", "nan"], "--error-scale must be a number, 0 or more"),
        (["--error-scale", "inf"], "--error-scale must be a number, 0 or more"),
        (["--rates", "tyop=0.1"], "--rates: unknown rate 'tyop'"),
        (["--rates", "typo=lots"], "--rates: typo needs a number"),
    ],
)
def test_bad_options_fail_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_hub("simulate", "--out", str(tmp_path / "out"), *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}")
    assert not (tmp_path / "out").exists()


def test_an_out_folder_that_cannot_be_made_fails_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = run_hub("simulate", "--out", str(tmp_path / "file" / "sub"), "--residents", "10")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {tmp_path / 'file' / 'sub'}: cannot be created: Not a directory"
    )


@pytest.mark.parametrize(
    "manifest",
    [None, b"{}", b'{"format": "csv", "files": {"../persons.csv": 1}}'],
)
def test_a_folder_holding_other_files_is_refused(tmp_path: Path, manifest: bytes | None) -> None:
    own = tmp_path / "persons.csv"
    own.write_text("record_id,first_name\n1,Ada\n")  # (a council's own file)
    if manifest is not None:
        (tmp_path / "manifest.json").write_bytes(manifest)
    result = run_hub("simulate", "--out", str(tmp_path), "--residents", "10")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        f"error: {tmp_path}: not empty, and not an earlier output of hub simulate (no "
        "manifest.json of its own): give a new or empty folder\n"
    )
    assert own.read_text() == "record_id,first_name\n1,Ada\n"
    assert not (tmp_path / "sources").exists()


def test_writing_over_an_earlier_output_removes_the_files_it_no_longer_writes(
    tmp_path: Path,
) -> None:
    first = run_hub("simulate", "--out", str(tmp_path), "--residents", "20", "--events")
    assert first.returncode == 0, first.stderr
    earlier = set(orjson.loads(first.stdout)["files"])
    (tmp_path / "model.json").write_text("{}")  # (a file of the user's beside it)
    again = run_hub("simulate", "--out", str(tmp_path), "--residents", "20",
                    "--format", "parquet")  # fmt: skip
    assert again.returncode == 0, again.stderr
    written = set(orjson.loads(again.stdout)["files"])
    present = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert present == written | {"manifest.json", "model.json"}
    assert "persons.csv" in earlier and "events.jsonl" in earlier
    assert f"removed {len(earlier - written)} files an earlier run wrote" in again.stderr
    manifest = orjson.loads((tmp_path / "manifest.json").read_bytes())
    assert manifest["format"] == "parquet" and set(manifest["files"]) == written


def test_a_run_stopped_part_way_is_written_over_by_the_next(tmp_path: Path) -> None:
    from sources.simulator.writers import write_simulation

    class Stopped(Exception):
        pass

    def stop_at_the_third(_name: str, _rows: int) -> None:
        nonlocal written
        written += 1
        if written == 3:
            raise Stopped  # (as Ctrl-C would, part-way)

    written = 0
    with pytest.raises(Stopped):
        write_simulation(
            simulate(SimulationConfig(residents=20)), tmp_path, "csv", step=stop_at_the_third
        )
    manifest = orjson.loads((tmp_path / "manifest.json").read_bytes())
    assert manifest["complete"] is False and len(manifest["files"]) == 3
    again = run_hub("simulate", "--out", str(tmp_path), "--residents", "20", "--format", "jsonl")
    assert again.returncode == 0, again.stderr
    assert "removed 3 files an earlier run wrote and this one did not" in again.stderr
    present = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert present == set(orjson.loads(again.stdout)["files"]) | {"manifest.json"}


def test_simulate_needs_somewhere_to_put_the_borough() -> None:
    result = run_hub("simulate", "--residents", "50")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: give --out to write files, or --rate to publish the stream to Kafka"
    )


def test_person_changes_carry_the_source_ids(borough: Simulation) -> None:
    for event in borough.person_changes[:500]:
        assert isinstance(event, PersonChange)
        assert event.record_id == f"{event.source_system}:{event.source_record_id}"
        assert event.version >= 1
