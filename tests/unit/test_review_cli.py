"""`hub review judge` refuses a malformed judgement, or one naming a record the store does
not hold, in one line before it publishes anything (no Kafka needed to be refused)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.stack.processes import free_port
from sinks import tables
from sinks.store import Store

pytestmark = pytest.mark.unit


def judge(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env |= {
        "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "HUB_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",  # nothing listens: never reached
        "HUB_STACK_DIR": str(tmp_path / "stack"),
    }
    hub = Path(sys.executable).with_name("hub")
    return subprocess.run(
        [str(hub), "review", "judge", *args], capture_output=True, text=True, env=env, check=False
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("housing:H1", "housing:H1", "--same", "--by", "o"), "two different records"),
        (("housing:H1", "H2", "--different", "--by", "o"), "is not <source_system>:"),
        (("Housing:H1", "housing:H2", "--different", "--by", "o"), "is not <source_system>:"),
        (("housing:H1 ", "housing:H2", "--different", "--by", "o"), "is not <source_system>:"),
        (("housing:H1", "housing:H2\n", "--different", "--unseen", "--by", "o"), "is not <source"),
        (("housing:H1", "housing:H2", "--by", "o"), "--same) or two (--different)"),
        (("housing:H1", "housing:H2", "--same"), "who judges (--by NAME)"),
        (("housing:H1", "housing:H2", "--same", "--by", "source:x"), "kept for sources"),
        (("housing:H1", "housing:H2", "--same", "--by", "o\x1b[2J"), "a control character"),
        (("housing:H1", "housing:H2", "--same", "--different", "--by", "o"), "not both"),
        # (a store that is not there is not made here: this one's folder holds none)
        (("housing:H1", "housing:H2", "--same", "--by", "o"), "no store at"),
    ],
)
def test_a_bad_judgement_is_refused_in_one_line(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    result = judge(tmp_path, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], lines


def test_a_limit_past_what_a_database_counts_is_refused_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env |= {"HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}"}
    Store(env["HUB_DATABASE_URL"]).dispose()
    hub = Path(sys.executable).with_name("hub")
    result = subprocess.run(
        [str(hub), "review", "list", "--limit", str(10**20)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--limit" in lines[0], lines


def test_a_record_the_store_does_not_hold_is_refused(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    store.upgrade()
    store.dispose()
    result = judge(tmp_path, "housing:H1", "housing:H2", "--same", "--by", "o")
    assert result.returncode == 2
    assert result.stderr.startswith("error: the store holds no record 'housing:H1' or 'housing:H2'")
    broken = judge(tmp_path, "housing:H1\nH2", "housing:H3", "--same", "--by", "o")
    assert broken.returncode == 2 and broken.stderr.count("\n") == 1, broken.stderr
    assert "'housing:H1\\nH2'" in broken.stderr  # (shown as written, on one line)


def test_a_record_its_source_deleted_is_refused_as_deleted(tmp_path: Path) -> None:
    # (it said "holds no record ... a typing error?", where hub person says it was deleted)
    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    store.upgrade()
    written = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    store.apply({tables.source_records: [
        {"record_id": "housing:H1", "source_system": "housing", "person_id": None,
         "version": 2, "updated_at": written},
        {"record_id": "housing:H2", "source_system": "housing", "person_id": "P1",
         "version": 1, "updated_at": written},
    ]})  # fmt: skip
    store.dispose()
    result = judge(tmp_path, "housing:H1", "housing:H2", "--same", "--by", "o")
    assert result.returncode == 2
    assert result.stderr == (
        "error: 'housing:H1' was deleted by its source (--unseen judges anyway, to apply if it "
        "comes back)\n"
    )


def test_an_unseen_record_may_be_judged_and_then_kafka_is_needed(tmp_path: Path) -> None:
    result = judge(tmp_path, "housing:H1", "housing:H2", "--same", "--by", "o", "--unseen")
    assert result.returncode != 0
    assert "Kafka at" in result.stderr and len(result.stderr.strip().splitlines()) == 1
