"""`hub publish` and `hub cdc` as a council's data officer runs them, on real files and the
real broker: counts, rejected lines, what lands on the topic, and re-runs."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from confluent_kafka import Consumer

from hub.settings import Settings
from matchers.records import SourceRecord
from schemas.codec import SingleObjectCodec
from schemas.events import Operation, PersonChanged, RelationshipKind, RelationshipObserved
from schemas.topics import source_persons, source_relationships
from tests.kafka_helpers import consume

pytestmark = pytest.mark.integration

HUB = str(Path(sys.executable).with_name("hub"))
CODEC = SingleObjectCodec()
COLUMNS = ["record_id", "first_name", "last_name", "dob", "postcode", "nhs_number"]


def run_hub(
    settings: Settings, folder: Path, *args: str, group: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        HUB_STACK_DIR=str(folder / "stack"),
        HUB_PUBLISH_TIMEOUT_S="30",
        HUB_CONSUMER_GROUP=group or f"hub-test-{uuid.uuid4().hex[:8]}",  # (no members)
    )
    return subprocess.run(
        [HUB, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def people(count: int, start: int = 0, surname: str = "Okafor") -> list[dict[str, str]]:
    return [
        {
            "record_id": f"R{i:05d}",
            "first_name": ["Margaret", "Robert", "Aisha", "Wei"][i % 4],
            "last_name": surname,
            "dob": f"{(i % 28) + 1:02d}/0{(i % 9) + 1}/19{50 + i % 50}",
            "postcode": "NW1 2DB",
            "nhs_number": "",
        }
        for i in range(start, start + count)
    ]


def write_csv(path: Path, rows: list[dict[str, str]], extra_lines: list[str] = ()) -> Path:  # type: ignore[assignment]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        for line in extra_lines:
            handle.write(line + "\n")
    return path


def events_on(settings: Settings, system: str, expected: int) -> list[PersonChanged]:
    messages = consume(settings.kafka_bootstrap, source_persons(system), expected=expected)
    events = [CODEC.decode(m.value(), m.topic()) for m in messages]
    for message, event in zip(messages, events, strict=True):
        assert isinstance(event, PersonChanged)
        assert message.key() == event.record_id.encode()
    return events  # type: ignore[return-value]


def counts(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.stdout.count("\n") == 1, result.stdout
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def system() -> str:
    return f"housing_{uuid.uuid4().hex[:8]}"


def test_publish_csv_reports_malformed_lines_and_every_good_row_lands(
    stack_settings: Settings, tmp_path: Path, system: str
) -> None:
    path = write_csv(
        tmp_path / "people.csv",
        people(40),
        extra_lines=["R99999,Too,Many,Columns,Here,1,2,3", ",Nobody,Without,01/01/1980,NW1 2DB,"],
    )
    result = run_hub(
        stack_settings, tmp_path, "publish", "--source", system, "--input", str(path), "--json"
    )
    assert result.returncode == 0, result.stderr
    assert counts(result) == {"published": 40, "rejected": 2, "failed": 0}
    assert "lines 42 (expected 6 columns), 43 (no record_id)" in result.stderr
    assert "Traceback" not in result.stderr

    events = events_on(stack_settings, system, 40)
    assert len(events) == 40
    first = next(e for e in events if e.source_record_id == "R00000")
    assert first.op is Operation.SNAPSHOT_READ
    assert first.source_system == system
    assert first.after is not None and first.after.first_name == "Margaret"
    assert str(first.after.dob) == "1950-01-01"  # 01/01/1950, day first


def test_publish_and_cdc_say_when_the_running_workers_do_not_read_their_topic(
    stack_settings: Settings, tmp_path: Path, system: str
) -> None:
    path = write_csv(tmp_path / "people.csv", people(2))
    notice = "no running worker reads {}: workers choose their topics when they start"
    read, unread = system, f"{system}_new"
    alone = run_hub(stack_settings, tmp_path, "publish", "--source", read, "--input", str(path))
    assert alone.returncode == 0 and "no running worker" not in alone.stderr, alone.stderr

    group = f"hub-test-{uuid.uuid4().hex[:8]}"
    worker = Consumer({"bootstrap.servers": stack_settings.kafka_bootstrap, "group.id": group})
    worker.subscribe([source_persons(read)])
    try:
        deadline = time.monotonic() + 60
        while not worker.assignment() and time.monotonic() < deadline:
            worker.poll(0.5)
        assert worker.assignment()
        for command, option in (("publish", "--input"), ("cdc", "--snapshot")):
            for source, said in ((unread, True), (read, False)):
                result = run_hub(stack_settings, tmp_path, command, "--source", source, option,
                                 str(path), group=group)  # fmt: skip
                assert result.returncode == 0, result.stderr
                said_so = notice.format(source_persons(source)) in result.stderr
                assert said_so is said, (command, result.stderr)
    finally:
        worker.close()


def test_publish_jsonl_and_parquet_with_a_column_map(
    stack_settings: Settings, tmp_path: Path, system: str
) -> None:
    renamed = [{"id": r["record_id"], "forename": r["first_name"], "surname": r["last_name"]}
               for r in people(5)]  # fmt: skip
    jsonl = tmp_path / "people.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in renamed) + "not json\n")
    parquet = tmp_path / "more.parquet"
    pq.write_table(pa.Table.from_pylist([{**r, "id": "P" + r["id"]} for r in renamed]), parquet)
    mapping = "id=record_id,forename=first_name,surname=last_name"

    first = run_hub(stack_settings, tmp_path, "publish", "--source", system, "--input", str(jsonl),
                    "--map", mapping, "--op", "create", "--json")  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert counts(first) == {"published": 5, "rejected": 1, "failed": 0}
    assert "line 6 (not valid JSON)" in first.stderr
    second = run_hub(stack_settings, tmp_path, "publish", "--source", system, "--input",
                     str(parquet), "--map", mapping, "--json")  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert counts(second) == {"published": 5, "rejected": 0, "failed": 0}

    events = events_on(stack_settings, system, 10)
    assert sorted(e.source_record_id for e in events) == sorted(
        [r["id"] for r in renamed] + ["P" + r["id"] for r in renamed]
    )
    assert all(e.after and e.after.last_name == "Okafor" for e in events)
    assert {e.op for e in events} == {Operation.CREATE, Operation.SNAPSHOT_READ}


def test_publish_rejects_rows_a_worker_would_dead_letter(
    stack_settings: Settings, tmp_path: Path, system: str
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "record_id,first_name,last_name,updated_at\n"
        "R1,Ann,Bee,2026-01-02T10:00:00Z\n"
        "R2,Ann,Bee,9999-12-31T00:00:00Z\n"  # (its version would hold R2 for ever)
        "R3,,,\n"
        "R5,Ann,Bee,last Tuesday\n"  # (published, and said to have no time)
    )
    result = run_hub(stack_settings, tmp_path, "publish", "--source", system, "--input",
                     str(path), "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert counts(result) == {"published": 2, "rejected": 2, "failed": 0}
    assert "lines 3 (PersonChanged.source_ts is in the future), 4 (" in result.stderr
    assert (
        "1 row published without a change time, line 5 (updated_at cannot be read)" in result.stderr
    )
    events = events_on(stack_settings, system, 2)
    assert sorted(e.source_record_id for e in events) == ["R1", "R5"]
    assert [e.source_ts is None for e in sorted(events, key=lambda e: e.source_record_id)] == [
        False,
        True,
    ]
    # nothing publishable at all is a failure, after the counts and lines
    path.write_text("record_id,first_name,last_name,source_system\nR4,Ann,Bee,housing\n")
    for command, option, says in (
        ("publish", "--input", "people.csv: nothing was published: every row was rejected"),
        ("cdc", "--snapshot", "people.csv: every row was rejected"),
    ):
        refused = run_hub(stack_settings, tmp_path, command, "--source", system, option,
                          str(path), "--json")  # fmt: skip
        assert refused.returncode == 2, refused.stderr  # (as hub link and hub bootstrap exit)
        assert counts(refused)["rejected"] == 1
        assert refused.stderr.strip().splitlines()[-1] == f"error: {says}"


def test_publish_relationships_validates_every_row_and_the_last_row_of_one_wins(
    stack_settings: Settings, tmp_path: Path, system: str
) -> None:
    path = tmp_path / "relationships.csv"
    path.write_text(
        "relationship_id,record_id,related_record_id,kind,start,source_system\n"
        "REL1,R00001,R00002,parent,2009-03-01,\n"  # line 2: replaced by line 4
        f"REL2,R00003,R00004,lodger,,{system}\n"
        "REL1,R00001,R00002,parent,2008-03-01,\n"
        ",R00005,,partner,,\n"
        "REL3,R00006,R00007,partner,,council_tax\n"
        "REL4,R00008,R00009,parent,soon,\n"
    )
    result = run_hub(
        stack_settings, tmp_path, "publish", "--source", system, "--input", str(path),
        "--relationships", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert counts(result) == {"published": 3, "rejected": 2, "failed": 0}
    assert (
        "lines 5 (neither a related_record_id nor a group_id), "
        f"6 (source_system 'council_tax' is not '{system}')"
    ) in result.stderr
    # (a start that cannot be used is left out, as hub link leaves it: still two people;
    # a kind the hub does not know is taken as other, and said)
    assert (
        "2 relationships kept as two people without a part that cannot be used, "
        "lines 3 (kind 'lodger' is not one the hub knows: other), 7 (start is not a date)"
    ) in result.stderr
    assert "1 row replaced by a later row of the same relationship" in result.stderr
    assert "Traceback" not in result.stderr

    messages = consume(stack_settings.kafka_bootstrap, source_relationships(system), expected=3)
    events = {m.key(): CODEC.decode(m.value(), m.topic()) for m in messages}
    assert sorted(events) == [f"{system}:REL{n}".encode() for n in (1, 2, 4)]
    undated = events[f"{system}:REL4".encode()]
    assert isinstance(undated, RelationshipObserved) and undated.start is None
    parent = events[f"{system}:REL1".encode()]
    assert isinstance(parent, RelationshipObserved)
    assert (parent.kind, parent.subject_record_id, parent.related_record_id) == (
        RelationshipKind.PARENT, "R00001", "R00002",
    )  # fmt: skip
    assert str(parent.start) == "2008-03-01"  # line 4's, the relationship's last row
    assert parent.op is Operation.SNAPSHOT_READ and parent.source_system == system
    other = events[f"{system}:REL2".encode()]
    assert isinstance(other, RelationshipObserved) and other.kind is RelationshipKind.OTHER


def test_cdc_publishes_only_changes_and_a_rerun_publishes_nothing(
    stack_settings: Settings, tmp_path: Path, system: str
) -> None:
    day1 = write_csv(tmp_path / "day1.csv", people(30))
    first = run_hub(
        stack_settings, tmp_path, "cdc", "--source", system, "--snapshot", str(day1), "--json"
    )
    assert first.returncode == 0, first.stderr
    assert counts(first) == {"created": 30, "updated": 0, "deleted": 0, "unchanged": 0,
                             "rejected": 0, "published": 30}  # fmt: skip

    again = run_hub(
        stack_settings, tmp_path, "cdc", "--source", system, "--snapshot", str(day1), "--json"
    )
    assert again.returncode == 0, again.stderr
    assert counts(again) == {"created": 0, "updated": 0, "deleted": 0, "unchanged": 30,
                             "rejected": 0, "published": 0}  # fmt: skip

    # Day 2: R00000-R00003 gone, R00004-R00005 changed surname, R00030-R00032 new, plus a
    # duplicate of R00010 (a malformed row would withhold the deletes: the test below).
    rows = people(26, start=4)
    for row in rows[:2]:
        row["last_name"] = "Okafor-Smith"
    rows += [*people(3, start=30), people(1, start=10)[0]]
    day2 = write_csv(tmp_path / "day2.csv", rows)
    second = run_hub(
        stack_settings, tmp_path, "cdc", "--source", system, "--snapshot", str(day2), "--json"
    )
    assert second.returncode == 0, second.stderr
    assert counts(second) == {"created": 3, "updated": 2, "deleted": 4, "unchanged": 24,
                              "rejected": 1, "published": 9}  # fmt: skip
    # (of two rows without a version, the later, as hub bootstrap would load them)
    assert "line 8 (duplicate record_id (kept, as hub bootstrap keeps it: line 31))" in (
        second.stderr
    )

    events = events_on(stack_settings, system, 39)
    assert len(events) == 39  # 30 + nothing + 9
    day1_ids = {r["record_id"] for r in people(30)}
    day2_events = {
        e.source_record_id: e
        for e in events
        if not (e.op is Operation.CREATE and e.source_record_id in day1_ids)
    }
    assert len(day2_events) == 9
    assert {rid for rid, e in day2_events.items() if e.op is Operation.DELETE} == {
        "R00000", "R00001", "R00002", "R00003"}  # fmt: skip
    assert all(day2_events[r].after is None for r in ("R00000", "R00003"))
    assert day2_events["R00004"].op is Operation.UPDATE
    assert day2_events["R00004"].after is not None
    assert day2_events["R00004"].after.last_name == "Okafor-Smith"
    assert day2_events["R00032"].op is Operation.CREATE

    rerun = run_hub(
        stack_settings, tmp_path, "cdc", "--source", system, "--snapshot", str(day2), "--json"
    )
    assert counts(rerun)["published"] == 0
    assert counts(rerun)["unchanged"] == 29


def test_cdc_withholds_a_mass_delete_until_allowed(
    stack_settings: Settings, tmp_path: Path, system: str
) -> None:
    day1 = write_csv(tmp_path / "day1.csv", people(30))
    assert (
        run_hub(
            stack_settings, tmp_path, "cdc", "--source", system, "--snapshot", str(day1)
        ).returncode
        == 0
    )
    truncated = write_csv(tmp_path / "truncated.csv", people(5))
    blocked = run_hub(
        stack_settings, tmp_path, "cdc", "--source", system, "--snapshot", str(truncated), "--json"
    )
    assert blocked.returncode == 1
    assert counts(blocked)["deleted"] == 0
    assert "withheld 25 deletes" in blocked.stderr
    allowed = run_hub(stack_settings, tmp_path, "cdc", "--source", system, "--snapshot",
                      str(truncated), "--allow-mass-delete", "--json")  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
    assert counts(allowed) == {"created": 0, "updated": 0, "deleted": 25, "unchanged": 5,
                               "rejected": 0, "published": 25}  # fmt: skip


def test_cdc_withholds_deletes_while_a_row_cannot_be_read(
    stack_settings: Settings, tmp_path: Path, system: str
) -> None:
    """A ragged row may be a record still there: none of the records missing from the
    snapshot is deleted until the row is fixed."""
    day1 = write_csv(tmp_path / "day1.csv", people(30))
    assert run_hub(stack_settings, tmp_path, "cdc", "--source", system, "--snapshot",
                   str(day1)).returncode == 0  # fmt: skip
    ragged = people(28)[:27]  # R00027 and R00029 gone; R00028 below, with a column too many
    day2 = write_csv(tmp_path / "day2.csv", ragged, ["R00028,Aisha,Okafor,x,y,z,1,2,3,4,5,6"])
    held = run_hub(
        stack_settings, tmp_path, "cdc", "--source", system, "--snapshot", str(day2), "--json"
    )
    assert held.returncode == 1
    assert counts(held)["deleted"] == 0 and counts(held)["rejected"] == 1
    assert "withheld 3 deletes: 1 rows could not be read" in held.stderr
    assert "29 (expected 6 columns)" in held.stderr
    fixed = write_csv(tmp_path / "day2-fixed.csv", [*people(29)[:27], people(29)[28]])
    again = run_hub(
        stack_settings, tmp_path, "cdc", "--source", system, "--snapshot", str(fixed), "--json"
    )
    assert again.returncode == 0, again.stderr
    assert counts(again)["deleted"] == 2  # R00027 and R00029


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("people.xlsx", b"PK\x03\x04", "unknown file type"),
        ("binary.csv", b"record_id,last_name\n\xff\xfe\x00bad", "cannot be read as csv"),
        ("broken.parquet", b"PAR1 not really", "cannot be read as parquet"),
    ],
)
def test_a_file_that_cannot_be_read_is_one_line_and_a_failure(
    stack_settings: Settings,
    tmp_path: Path,
    system: str,
    *,
    name: str,
    content: bytes | None,
    message: str,
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    for command in (["cdc", "--snapshot"], ["publish", "--input"]):
        result = run_hub(
            stack_settings, tmp_path, command[0], "--source", system, command[1], str(path)
        )
        assert result.returncode != 0
        assert result.stderr.count("\n") == 1, result.stderr
        assert message in result.stderr


def test_bad_source_names_and_maps_are_usage_errors(
    stack_settings: Settings, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", people(1))
    bad_name = run_hub(
        stack_settings, tmp_path, "publish", "--source", "Council Tax", "--input", str(path)
    )
    assert bad_name.returncode == 2
    assert "lower-case letters" in bad_name.stderr
    bad_map = run_hub(
        stack_settings, tmp_path, "cdc", "--source", "x", "--snapshot", str(path), "--map", "a=b"
    )
    assert bad_map.returncode == 2
    assert "not a record field" in bad_map.stderr
    mapped_relationships = run_hub(
        stack_settings, tmp_path, "publish", "--source", "x", "--input", str(path),
        "--relationships", "--map", "id=record_id",
    )  # fmt: skip
    assert mapped_relationships.returncode == 2
    assert "--map renames person record fields" in mapped_relationships.stderr


def test_publishing_without_a_broker_is_one_clear_line(tmp_path: Path) -> None:
    from hub.stack.processes import free_port

    path = write_csv(tmp_path / "people.csv", people(1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{free_port()}"
    result = subprocess.run(
        [HUB, "publish", "--source", "housing", "--input", str(path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1
    assert "did not answer" in result.stderr and "hub stack up" in result.stderr


def _simulated_snapshot(folder: Path, day: int, system: str, owned_name: str) -> Path:
    """The simulator's snapshot of one source on ``day``, under this test's source name."""
    out = folder / f"day{day}"
    command = [HUB, "simulate", "--out", str(out), "--residents", "400", "--seed", "4"]
    result = subprocess.run(
        [*command, "--day", str(day)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    with (out / "sources" / f"{system}.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["source_system"] = owned_name
        row["record_id"] = row["record_id"].replace(f"{system}:", f"{owned_name}:", 1)
    path = folder / f"{owned_name}-day{day}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _canonical(path: Path) -> dict[str, tuple[str, ...]]:
    """record id -> the values the hub keeps, read independently of the code under test."""
    fields = [
        f for f in SourceRecord.__dataclass_fields__ if f not in ("record_id", "source_system")
    ]
    with path.open(newline="") as handle:
        return {
            row["record_id"]: tuple(row.get(f, "") for f in fields)
            for row in csv.DictReader(handle)
        }


def test_cdc_on_the_simulators_nightly_snapshots(
    stack_settings: Settings, tmp_path: Path, system: str
) -> None:
    day1 = _simulated_snapshot(tmp_path, 1, "council_tax", system)
    day2 = _simulated_snapshot(tmp_path, 8, "council_tax", system)  # a week later
    before, after = _canonical(day1), _canonical(day2)
    expected = {
        "created": len(after.keys() - before.keys()),
        "updated": sum(1 for k in after.keys() & before.keys() if after[k] != before[k]),
        "deleted": len(before.keys() - after.keys()),
        "unchanged": sum(1 for k in after.keys() & before.keys() if after[k] == before[k]),
        "rejected": 0,
    }
    assert expected["created"] and expected["updated"] and expected["deleted"]  # a week passed

    first = run_hub(
        stack_settings, tmp_path, "cdc", "--source", system, "--snapshot", str(day1), "--json"
    )
    assert first.returncode == 0, first.stderr
    assert counts(first)["created"] == counts(first)["published"] == len(before)
    second = run_hub(
        stack_settings, tmp_path, "cdc", "--source", system, "--snapshot", str(day2), "--json"
    )
    assert second.returncode == 0, second.stderr
    changes = expected["created"] + expected["updated"] + expected["deleted"]
    assert counts(second) == {**expected, "published": changes}
    rerun = run_hub(
        stack_settings, tmp_path, "cdc", "--source", system, "--snapshot", str(day2), "--json"
    )
    assert counts(rerun)["published"] == 0

    events = events_on(stack_settings, system, len(before) + changes)
    assert len(events) == len(before) + changes
    ops = Counter(e.op for e in events)
    assert ops[Operation.UPDATE] == expected["updated"]
    assert ops[Operation.DELETE] == expected["deleted"]
    assert ops[Operation.CREATE] == len(before) + expected["created"]
