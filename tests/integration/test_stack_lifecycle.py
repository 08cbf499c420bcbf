"""`hub stack` as a user runs it: each test drives the real command on a private stack."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.stack.processes import PidFile, free_port, process_start_time
from tests.conftest import world_readable_tempdir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HUB = str(Path(sys.executable).with_name("hub"))


@pytest.fixture
def stack_env() -> Iterator[dict[str, str]]:
    folder = world_readable_tempdir("hub-lifecycle-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_STACK_DIR=str(folder),
        HUB_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}",
        HUB_KAFKA_CONTROLLER_PORT=str(free_port()),
        HUB_KAFKA_HEAP_MB="384",
        HUB_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        HUB_POSTGRES_PORT=str(free_port()),
        HUB_START_TIMEOUT_S="120",
    )
    yield env
    subprocess.run([HUB, "stack", "down"], env=env, capture_output=True, check=False)
    shutil.rmtree(folder, ignore_errors=True)


def hub(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HUB, *args], env=env, capture_output=True, text=True, check=False)


def recorded_pids(env: dict[str, str]) -> dict[str, int]:
    run = Path(env["HUB_STACK_DIR"]) / "run"
    pids = {}
    for name in ("kafka", "redis", "postgres"):
        record = PidFile(run / f"{name}.pid").read()
        if record is not None:
            pids[name] = record[0]
    return pids


def alive(pid: int) -> bool:
    return process_start_time(pid) is not None


def processes_using(folder: str) -> list[int]:
    """Live processes whose command line mentions the stack folder: ours, if any are left."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if folder in cmdline and "pytest" not in cmdline and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def assert_nothing_running(env: dict[str, str]) -> None:
    assert recorded_pids(env) == {}
    assert processes_using(env["HUB_STACK_DIR"]) == []


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    for fragment in fragments:
        assert fragment in last
    return last


def test_up_status_kill_status_down(stack_env: dict[str, str]) -> None:
    first = hub(stack_env, "stack", "up", "--postgres")
    assert first.returncode == 0, first.stderr
    for name in ("kafka", "redis", "postgres"):
        assert f"{name} " in first.stderr and "ready in" in first.stderr
    pids = recorded_pids(stack_env)
    assert set(pids) == {"kafka", "redis", "postgres"}

    again = hub(stack_env, "stack", "up", "--postgres")  # up twice is harmless
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("already running") == 3
    assert recorded_pids(stack_env) == pids

    healthy = hub(stack_env, "stack", "status")
    assert healthy.returncode == 0, healthy.stderr
    assert healthy.stderr.count("healthy") == 3

    os.kill(pids["redis"], signal.SIGKILL)
    broken = hub(stack_env, "stack", "status")
    assert_one_line_error(broken, "unhealthy: redis")
    assert "kafka" in broken.stderr and "healthy" in broken.stderr

    down = hub(stack_env, "stack", "down")
    assert down.returncode == 0, down.stderr
    assert not any(alive(pid) for pid in pids.values())
    assert_nothing_running(stack_env)
    after = hub(stack_env, "stack", "status")
    assert_one_line_error(after, "no services of this stack are running")


def test_port_in_use_is_one_line_and_leaves_nothing_running(stack_env: dict[str, str]) -> None:
    port = int(stack_env["HUB_REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = hub(stack_env, "stack", "up")
    assert_one_line_error(result, f"port {port}", "already in use")
    assert_nothing_running(stack_env)  # Kafka, started first, was stopped again


def test_service_dying_during_start_stops_the_others(stack_env: dict[str, str]) -> None:
    stack_env["HUB_KAFKA_HEAP_MB"] = "1"  # the JVM refuses to start with a 1 MB heap
    result = hub(stack_env, "stack", "up")
    assert_one_line_error(result, "kafka exited during start")
    assert (Path(stack_env["HUB_STACK_DIR"]) / "logs" / "redis.log").exists()  # it started...
    assert_nothing_running(stack_env)  # ...and was stopped again


def _path_with(tmp_path: Path, tools: dict[str, str | None]) -> str:
    """A PATH holding only the named tools: a real one (None) or a script with that body."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in tools.items():
        target = bin_dir / name
        if body is None:
            found = shutil.which(name)
            assert found, name
            target.symlink_to(found)
        else:
            target.write_text(f"#!/bin/sh\n{body}\n")
            target.chmod(0o755)
    return str(bin_dir)


def test_missing_java_says_what_to_install(stack_env: dict[str, str], tmp_path: Path) -> None:
    stack_env["PATH"] = _path_with(tmp_path, {"redis-server": None, "mvn": None})
    result = hub(stack_env, "stack", "up")
    assert_one_line_error(result, "Java not found", "openjdk-17")
    assert_nothing_running(stack_env)


def test_maven_failure_says_what_to_check(stack_env: dict[str, str], tmp_path: Path) -> None:
    stack_env["XDG_CACHE_HOME"] = str(tmp_path / "empty-cache")  # no remembered classpath
    stack_env["PATH"] = _path_with(
        tmp_path,
        {
            "java": None,
            "redis-server": None,
            "mvn": "echo '[ERROR] Could not transfer artifact: Connection refused' >&2; exit 1",
        },
    )
    result = hub(stack_env, "stack", "up")
    assert_one_line_error(result, "Maven could not download Kafka", "maven.log")
    assert_nothing_running(stack_env)
