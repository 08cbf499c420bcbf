"""`hub review` against a real `hub worker`: a person's judgement, published on
hub.judgements, parts or joins two records' persons and decides their review item."""

from __future__ import annotations

import csv
import itertools
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from hub.settings import Settings
from tests.conftest import world_readable_tempdir
from tests.support.pipeline import HUB, HubUnderTest, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def hub(stack_settings: Settings, borough_model: Path) -> Iterator[HubUnderTest]:
    under_test = HubUnderTest(stack_settings, borough_model, world_readable_tempdir("hub-rv-"))
    under_test.start_at_end()
    yield under_test
    under_test.stop()


def run(hub: HubUnderTest, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HUB, *args], env=hub.env(), capture_output=True, text=True, check=False, timeout=600
    )


def persons(hub: HubUnderTest) -> dict[str, str]:
    return {record: person for record, (person, _h) in hub.store().record_partition().items()}


def open_items(hub: HubUnderTest) -> dict[str, object]:
    listed = run(hub, "review", "list", "--limit", "100000")
    assert listed.returncode == 0, listed.stderr
    return dict(orjson.loads(listed.stdout))


def test_a_judgement_parts_or_joins_two_records_and_decides_their_review_item(
    hub: HubUnderTest,
) -> None:
    borough = hub.model_path.parent / "persons.csv"
    with borough.open(newline="") as handle:
        rows = list(itertools.islice(csv.DictReader(handle), 600))
    path = hub.folder / f"{hub.name}-input.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    hub.start_worker()
    hub.wait_for_workers(1)
    out = hub.folder / f"{hub.name}-out.csv"
    resolved = run(hub, "resolve", "--input", str(path), "--out", str(out))
    assert resolved.returncode == 0, resolved.stderr + hub.worker_log()

    # two records the model put in one person: a person says they are two residents
    before = persons(hub)
    members: dict[str, list[str]] = {}
    for record, person in sorted(before.items()):
        members.setdefault(person, []).append(record)
    first, second = next(group for group in members.values() if len(group) >= 2)[:2]
    judged = run(hub, "review", "judge", first, second, "--different", "--by", "officer-17")
    assert judged.returncode == 0, judged.stderr
    wait_until(lambda: persons(hub)[first] != persons(hub)[second], 60, "the two to part")
    (stored,) = [j for j in hub.store().judgements() if {j.record_a, j.record_b} == {first, second}]
    assert (stored.same, stored.by, stored.stated) == (False, "officer-17", False)

    # the same person changes their mind later: the latest judgement wins
    again = run(hub, "review", "judge", second, first, "--same", "--by", "officer-17")
    assert again.returncode == 0, again.stderr
    wait_until(lambda: persons(hub)[first] == persons(hub)[second], 60, "the two to join")

    # an open review item, judged, leaves the queue
    queue = open_items(hub)
    items = queue["items"]
    assert isinstance(items, list) and queue["open"] == len(items) > 0, queue
    item = items[0]
    pair = (item["record_id"], item["other_record_id"])
    assert pair[0] in before and pair[1] in before
    judged = run(hub, "review", "judge", *pair, "--different", "--by", "officer-17")
    assert judged.returncode == 0, judged.stderr

    def decided() -> bool:
        left = open_items(hub)["items"]
        assert isinstance(left, list)
        return pair not in {(i["record_id"], i["other_record_id"]) for i in left}

    wait_until(decided, 60, "the item to leave the queue")
    assert hub.workers[0].poll() is None, hub.worker_log()
