"""The pipeline benchmark's CPU accounting (`hub bench pipeline`'s `cpu_s`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hub.bench_pipeline import cpu_seconds

pytestmark = pytest.mark.unit

BURN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"


def test_a_child_that_has_ended_keeps_its_cpu_time_in_its_parents() -> None:
    """A child's time counts while it runs and after it ends: a process whose child ended
    between two readings (Redis's snapshot fork) must not seem to have spent less."""
    before = cpu_seconds(os.getpid())
    subprocess.run([sys.executable, "-c", BURN], check=True)  # (ended and waited for)
    after = cpu_seconds(os.getpid())
    assert before is not None and after is not None
    assert after - before >= 0.25
    own = cpu_seconds(os.getpid(), children=False)
    assert own is not None and own <= after - 0.25
