"""`hub run`, the main job, as a user runs it: a private stack, workers, a borough, then down."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hub.stack.processes import free_port
from tests.conftest import world_readable_tempdir
from tests.integration.test_stack_lifecycle import HUB, processes_using

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_hub_run_brings_up_the_whole_hub_and_down_stops_it(borough_model: Path) -> None:
    folder = world_readable_tempdir("hub-run-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_STACK_DIR=str(folder),
        HUB_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}",
        HUB_KAFKA_CONTROLLER_PORT=str(free_port()),
        HUB_KAFKA_HEAP_MB="384",
        HUB_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        HUB_METRICS_PORT=str(free_port()),
        HUB_DATABASE_URL=f"sqlite:///{folder / 'hub.db'}",
        HUB_MODEL_PATH=str(borough_model),
    )
    try:
        run = subprocess.run(
            [HUB, "run", "--residents", "200", "--rate", "5000", "--workers", "1"],
            env=env, capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        assert "the hub now knows" in run.stderr
        assert "/metrics" in run.stdout and "hub stack down" in run.stdout
        status = subprocess.run(
            [HUB, "stack", "status"], env=env, capture_output=True, text=True, check=False
        )
        assert status.returncode == 0, status.stderr
        assert "worker-1" in status.stderr and status.stderr.count("healthy") == 3
    finally:
        down = subprocess.run(
            [HUB, "stack", "down"], env=env, capture_output=True, text=True, check=False
        )
    assert down.returncode == 0, down.stderr
    assert "worker-1  stopped" in down.stderr
    assert processes_using(str(folder)) == []
    shutil.rmtree(folder, ignore_errors=True)
