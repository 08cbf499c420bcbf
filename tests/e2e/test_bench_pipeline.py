"""`hub bench pipeline` end to end, small: a private Kafka and Redis, an index bootstrapped,
one real worker, the events sent at a rate and timed from their intended send time to
their store commit, everything removed after."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

from tests.support.pipeline import HUB

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_bench_pipeline_times_the_events_it_publishes(borough_model: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(borough_model, data / "model.json")  # (spares training the bench's own)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_STACK_DIR"] = str(tmp_path / "stack")
    result = subprocess.run(
        [HUB, "bench", "pipeline", "--records", "150", "--rate", "300", "--index", "1000",
         "--splink-calls", "2", "--warm-up", "120", "--json", "--data", str(data)],
        env=env, capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    line = orjson.loads(result.stdout.strip().splitlines()[-1])

    assert line["events"] == 150
    assert line["mode"] == "open loop at 300/s"
    assert line["index_people"] == 1000 and line["index_records"] > 1000
    assert line["warm_up_events"] == 120
    assert line["throughput_events_per_s"] > 0
    latencies = [line[f"latency_{q}_ms"] for q in ("p50", "p95", "p99", "max")]
    assert latencies[0] > 0 and latencies == sorted(latencies)
    assert line["peak_rss_mb"] > 0
    # the worker's own time per stage over the timed events
    stages = line["worker_stage_seconds"]
    assert set(stages) == {"resolve", "store", "publish"}
    assert line["candidates_per_record"] > 0
    assert 1 <= stages["resolve"]["batches"] <= 150
    # the CPU each process of the pipeline spent on them
    cpu = line["cpu_s"]
    assert set(cpu) == {"worker", "drainer", "kafka", "redis", "bench"}
    assert cpu["worker"] > 0 and cpu["drainer"] > 0 and cpu["kafka"] > 0
    assert line["worker_cpu_s"] == pytest.approx(cpu["worker"] + cpu["drainer"], abs=0.011)
    assert line["splink_calls"] == 2 and line["splink_predict_between_p50_ms"] > 0
    # nothing of the run is left behind in the data folder but the cached inputs
    assert not [p for p in data.iterdir() if p.name.startswith("run-")]
