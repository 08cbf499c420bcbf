"""`hub resolve` against a real `hub worker`: with an empty index its partition is `hub
link`'s; rows the workers would refuse are reported by line; without workers, Kafka or
Redis it says so in one line."""

from __future__ import annotations

import csv
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis

from hub.settings import Settings
from hub.stack.processes import free_port
from tests.conftest import world_readable_tempdir
from tests.support.pipeline import HUB, HubUnderTest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def hub(stack_settings: Settings, borough_model: Path) -> Iterator[HubUnderTest]:
    under_test = HubUnderTest(stack_settings, borough_model, world_readable_tempdir("hub-rs-"))
    under_test.start_at_end()
    yield under_test
    under_test.stop()


def run(hub: HubUnderTest, *args: str, env: dict[str, str] | None = None,
        stdin: str = "") -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [HUB, *args], env=env or hub.env(), capture_output=True, text=True, input=stdin,
        check=False, timeout=900,
    )  # fmt: skip


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def partitions(path: Path) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
    """Persons and households of a `record_id,person_id,household_id` file as record sets."""
    persons: dict[str, set[str]] = {}
    households: dict[str, set[str]] = {}
    for row in rows_of(path):
        persons.setdefault(row["person_id"], set()).add(row["record_id"])
        key = row["household_id"] or f"none:{row['record_id']}"
        households.setdefault(key, set()).add(row["record_id"])
    return {frozenset(g) for g in persons.values()}, {frozenset(g) for g in households.values()}


@pytest.mark.parametrize("shuffle", [None, 7])
def test_resolve_on_an_empty_index_equals_link(hub: HubUnderTest, shuffle: int | None) -> None:
    borough = hub.model_path.parent / "persons.csv"
    order = ["--shuffle-seed", str(shuffle)] if shuffle is not None else []
    hub.start_worker()
    hub.wait_for_workers(1)
    resolved = hub.folder / f"{hub.name}-resolved.csv"
    result = run(hub, "resolve", "--input", str(borough), "--out", str(resolved), *order)
    assert result.returncode == 0, result.stderr + hub.worker_log()
    linked = hub.folder / f"{hub.name}-linked.csv"
    batch = run(hub, "link", "--input", str(borough), "--model", str(hub.model_path),
                "--out", str(linked), "--batch", *order)  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    assert sorted(r["record_id"] for r in rows_of(resolved)) == sorted(
        r["record_id"] for r in rows_of(linked)
    )
    assert partitions(resolved) == partitions(linked)
    # The ids are the live index's: the store holds the same persons.
    stored = hub.store().record_partition()
    assert {r["record_id"]: r["person_id"] for r in rows_of(resolved)} == {
        record_id: person for record_id, (person, _household) in stored.items()
    }


def test_resolve_with_the_sources_relationships_equals_link_with_them(hub: HubUnderTest) -> None:
    borough = hub.model_path.parent / "persons.csv"
    related = hub.model_path.parent / "relationships.jsonl"
    hub.start_worker()
    hub.wait_for_workers(1)
    resolved = hub.folder / f"{hub.name}-resolved-rel.csv"
    result = run(hub, "resolve", "--input", str(borough), "--out", str(resolved),
                 "--relationships", str(related))  # fmt: skip
    assert result.returncode == 0, result.stderr + hub.worker_log()
    summary = orjson.loads(result.stdout)
    assert summary["relationships_published"] == len(related.read_text().splitlines())
    linked = hub.folder / f"{hub.name}-linked-rel.csv"
    batch = run(hub, "link", "--input", str(borough), "--model", str(hub.model_path),
                "--out", str(linked), "--batch", "--relationships", str(related))  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    plain = hub.folder / f"{hub.name}-linked-plain.csv"
    assert run(hub, "link", "--input", str(borough), "--model", str(hub.model_path),
               "--out", str(plain), "--batch").returncode == 0  # fmt: skip
    assert partitions(resolved)[0] == partitions(linked)[0] != partitions(plain)[0]
    # the workers kept the sources' statements, and which of two records is the parent
    judged = hub.store().judgements()
    assert any(j.parent for j in judged) and all(j.stated for j in judged)


def test_rows_the_workers_would_refuse_are_reported_by_line(hub: HubUnderTest) -> None:
    housing = hub.model_path.parent / "sources" / "housing.csv"
    with housing.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    good = rows[:25]
    empty = ["housing:EMPTY1", "housing"] + [""] * (len(header) - 2)  # no name, dob or id
    nameless = list(good[0])
    nameless[0] = ""  # no record_id
    other = list(good[1])
    other[0], other[1] = "libraries:X1", "libraries"  # another system's record
    path = hub.folder / f"{hub.name}-input.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(good[:10])
        writer.writerows([empty, nameless, other, good[2][:3]])  # lines 12-15
        writer.writerows(good[10:])
    hub.start_worker()
    hub.wait_for_workers(1)
    out = hub.folder / f"{hub.name}-out.csv"
    result = run(hub, "resolve", "--input", str(path), "--out", str(out), "--source", "housing")
    assert result.returncode == 0, result.stderr + hub.worker_log()
    assert (
        "4 rows rejected, lines 12 (the person has no name, date of birth or identifier), "
        "13 (no record_id), 14 (source_system " in result.stderr
    )
    assert "15 (expected" in result.stderr
    assert [r["record_id"] for r in rows_of(out)] == [row[0] for row in good]
    assert all(r["person_id"].startswith("P") for r in rows_of(out))


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_without_workers_kafka_or_redis_it_says_so_in_one_line(hub: HubUnderTest) -> None:
    borough = hub.model_path.parent / "persons.csv"
    out = hub.folder / f"{hub.name}-never.csv"
    args = ("resolve", "--input", str(borough), "--out", str(out))
    assert "no worker is running" in one_line_error(run(hub, *args))

    down = hub.env() | {"HUB_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    assert "Redis at" in one_line_error(run(hub, *args, env=down))

    client = redis.Redis.from_url(hub.settings.redis_url)
    client.set(f"{hub.name}:workers:pretend-{uuid.uuid4().hex[:6]}", "1", ex=60)
    client.close()
    down = hub.env() | {"HUB_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"}
    assert "Kafka at" in one_line_error(run(hub, *args, env=down))
    assert not out.exists()
