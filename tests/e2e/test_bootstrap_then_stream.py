"""A bootstrapped hub carries on streaming without a gap: a real `hub worker` applies the
changes after the snapshot, ignores the events the snapshot already holds, and the final
persons and households equal the batch result over the final records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.bench_bootstrap import snapshot_rows, write_snapshot
from hub.bootstrap import Target, run_bootstrap
from hub.settings import Settings
from hub.wiring import redis_state
from sinks import tables
from sources.simulator import PersonChange, SimulationConfig, iter_events, simulate
from tests.conftest import world_readable_tempdir
from tests.e2e.test_pipeline import assert_equals_batch
from tests.support.pipeline import HubUnderTest, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BOROUGH = SimulationConfig(residents=400, seed=11)
LAST_DAY = 4


@pytest.fixture
def hub(stack_settings: Settings, borough_model: Path) -> Iterator[HubUnderTest]:
    under_test = HubUnderTest(stack_settings, borough_model, world_readable_tempdir("hub-boot-"))
    under_test.start_at_end()
    yield under_test
    under_test.stop()
    import redis

    client = redis.Redis.from_url(stack_settings.redis_url)
    keys = list(client.scan_iter(f"{under_test.name}:*"))
    if keys:
        client.unlink(*keys)
    client.close()


def test_a_bootstrapped_hub_streams_the_next_days_to_the_batch_result(hub: HubUnderTest) -> None:
    day_one = simulate(BOROUGH, day=1)
    snapshot = write_snapshot(snapshot_rows(day_one), hub.folder / "day1.parquet")
    settings = hub.worker_settings()
    target = Target(redis_state(settings), hub.store())
    summary = run_bootstrap([snapshot], settings=settings, target=target, show_progress=False)
    assert summary["records"] == len(day_one.records)
    store = hub.store()
    payloads = {r["record_id"]: r["source_version"] for r in store.rows(tables.source_payloads)}

    # The whole history up to the end of day 4: what the snapshot holds is stale, the
    # changes of days 2 to 4 are new (updates, deletes, records created), and records
    # deleted before the snapshot replay their whole life.
    events = list(iter_events(BOROUGH, day=LAST_DAY))
    changes = [e for e in events if isinstance(e, PersonChange)]
    later = [e for e in changes if e.at >= day_one.until]
    assert {e.op for e in later} == {"create", "update", "delete"}
    assert all(e.version > payloads[e.record_id] for e in later if e.record_id in payloads)
    assert all(e.version <= payloads[e.record_id] for e in changes if e.at < day_one.until
               and e.record_id in payloads)  # fmt: skip

    hub.start_worker()
    hub.wait_for_workers(1)
    assert hub.publish(events) == len(events)
    wait_until(hub.caught_up, 300, "the worker to catch up\n" + hub.worker_log())

    assert_equals_batch(hub)
    newest: dict[str, tuple[int, bool]] = {}
    for change in changes:
        newest[change.record_id] = (change.version, change.op == "delete")
    stored = {row["record_id"]: row for row in store.rows(tables.source_payloads)}
    assert {r: row["source_version"] for r, row in stored.items()} == {
        r: version for r, (version, _deleted) in newest.items()
    }
    assert {r for r, row in stored.items() if row["record"] is None} == {
        r for r, (_version, deleted) in newest.items() if deleted
    }
