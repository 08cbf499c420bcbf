"""How a worker's Kafka consumer fetches. Faust's own asks the broker for a fetch that
returns as soon as one byte is there; ours waits for a megabyte or the worker's fetch
wait (``HUB_WORKER_FETCH_WAIT_S``), whichever comes first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SCRIPT = """
import asyncio, sys, faust
from streams.app import _App

async def main():  # (aiokafka makes its consumer inside an event loop)
    kw = dict(broker="kafka://127.0.0.1:1", web_enabled=False, store="memory://")
    if sys.argv[1] == "faust":
        app = faust.App("t-fetch", **kw)
    else:
        app = _App("t-fetch", fetch_wait_s=float(sys.argv[1]), **kw)
    consumer = app.consumer._thread._create_worker_consumer(app.transport)
    with open(sys.argv[2], "w") as out:
        out.write(f"{consumer._fetch_min_bytes} {consumer._fetch_max_wait_ms}")

asyncio.run(main())
"""


def fetch_settings(kind: str, tmp_path: Path) -> str:
    out = tmp_path / "fetch.txt"
    subprocess.run(
        [sys.executable, "-c", SCRIPT, kind, str(out)],
        capture_output=True, check=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    return out.read_text()


@pytest.mark.parametrize(("wait_s", "expected"), [("0.05", "1048576 50"), ("0.2", "1048576 200")])
def test_our_worker_waits_for_a_megabyte_or_the_fetch_wait(
    wait_s: str, expected: str, tmp_path: Path
) -> None:
    assert fetch_settings(wait_s, tmp_path) == expected


def test_fausts_own_consumer_would_return_a_fetch_at_the_first_byte(tmp_path: Path) -> None:
    # (why ours exists: if a Faust release makes this configurable, the subclasses can go)
    assert fetch_settings("faust", tmp_path) == "1 1500"
