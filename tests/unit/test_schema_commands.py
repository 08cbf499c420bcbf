"""`hub schemas list` and `hub bench codec` run and print what they promise (not timings)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.events import EVENT_TYPES, full_name
from schemas.registry import default_registry

pytestmark = pytest.mark.unit

HUB = str(Path(sys.executable).with_name("hub"))


def hub(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HUB, *args], capture_output=True, text=True, timeout=300, check=False)


def test_schemas_list_names_every_event_type_with_its_fingerprint() -> None:
    result = hub("schemas", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["event_type"] for r in rows} == {full_name(t) for t in EVENT_TYPES}
    current = default_registry().current
    for row in rows:
        writer = next(w for w in current.values() if w.full_name == row["event_type"])
        assert row["fingerprint"] == writer.fingerprint.hex()


@pytest.mark.parametrize(
    ("codec", "clock"),
    [("embedded", "wall"), ("confluent", "cpu"), ("confluent-serializers", "wall")],
)
def test_bench_codec_prints_one_json_line_of_rates(codec: str, clock: str) -> None:
    result = hub("bench", "codec", "--events", "200", "--rounds", "1", "--codec", codec,
                 "--clock", clock, "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    report = json.loads(line)
    assert (report["codec"], report["clock"]) == (codec, clock)
    assert report["target_per_s"] == 100_000
    for case in ("typical", "every_field"):
        assert report[case]["events"] == 200
        assert report[case]["encode_per_s"] > 0 and report[case]["decode_per_s"] > 0
        assert report[case]["mean_bytes"] > 0
    assert set(report["meets_target"]) == {"typical", "every_field"}
    assert all(isinstance(met, bool) for met in report["meets_target"].values())


def test_bench_codec_refuses_an_unknown_codec() -> None:
    result = hub("bench", "codec", "--codec", "xml")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
