"""A worker's options and logging. Faust's worker class sets the root logger to DEBUG for
its terminal spinner, which makes every library's debug record (aiokafka's fetcher: one
per partition per fetch) and throws it away; ours keeps the level asked for. Ours also
logs an expected failure (a HubError) without a traceback, and the Kafka client's repeated
lines once per interval."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SCRIPT = """
import logging, sys, faust
from streams.app import FaustWorker
kind = faust.Worker if sys.argv[1] == "faust" else FaustWorker
app = faust.App("t-logging", broker="kafka://127.0.0.1:1", web_enabled=False)
kind(app, loglevel="warn", quiet=True)._setup_logging()
fetcher = logging.getLogger("aiokafka.consumer.fetcher")
with open(sys.argv[2], "w") as out:  # (the worker redirects stdout into its logging)
    out.write(f"{logging.getLevelName(logging.root.level)} {fetcher.isEnabledFor(logging.DEBUG)}")
"""


def root_level_after_setup(kind: str, tmp_path: Path) -> str:
    out = tmp_path / f"{kind}.txt"
    subprocess.run(
        [sys.executable, "-c", SCRIPT, kind, str(out)],
        capture_output=True, check=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    return out.read_text()


def test_our_worker_keeps_the_root_logger_at_the_level_asked_for(tmp_path: Path) -> None:
    assert root_level_after_setup("ours", tmp_path) == "WARNING False"


def test_fausts_own_worker_would_turn_debug_on_everywhere(tmp_path: Path) -> None:
    # (why ours exists: if a Faust release stops doing this, FaustWorker can go)
    assert root_level_after_setup("faust", tmp_path) == "DEBUG True"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--log-level", "loud"], "--log-level 'loud' is not one of debug, info, warn"),
        (["--metrics-port", "0"], "--metrics-port 0 is not a port (1-65535)"),
    ],
)
def test_bad_worker_options_are_one_line_before_any_service_is_asked(
    tmp_path: Path, args: list[str], message: str
) -> None:
    hub = Path(sys.executable).with_name("hub")
    env = {"PATH": "/usr/bin:/bin", "HUB_REDIS_URL": "redis://127.0.0.1:1/0"}  # (nothing there)
    result = subprocess.run([str(hub), "worker", *args], env=env, cwd=tmp_path,
                            capture_output=True, text=True, check=False, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: {message}")
    assert result.stderr.count("\n") == 1


CRASH_SCRIPT = """
import asyncio, logging, sys
from hub.errors import HubError
from streams.app import FaustWorker
import faust
app = faust.App("t-crash", broker="kafka://127.0.0.1:1", web_enabled=False)
worker = FaustWorker(app, loglevel="warn", quiet=True)
worker._setup_logging()
out = open(sys.argv[1], "w")
for handler in logging.root.handlers:
    handler.setStream(out)
agents, stopping = logging.getLogger("faust.agents"), logging.getLogger("mode.services")

def crash(error):  # (mode logs a crash, then records it as the worker's reason)
    try:
        raise error
    except BaseException as caught:
        agents.exception("[^Agent]: Crashed reason=%r", caught)
    worker.crash_reason = error

def stop_the_consumer_thread():
    try:
        raise RuntimeError("Event loop is closed")
    except RuntimeError as closed:
        stopping.exception(
            "[^--_Consumer]: Error while stopping child %r: %r", "<Thread: crashed>", closed
        )

out.write("== a cancellation, the first crash\\n")
crash(asyncio.CancelledError())
out.write("== an expected failure, and its echoes\\n")
crash(HubError("the drainer process stopped: it was killed by SIGKILL"))
crash(asyncio.CancelledError())  # (another agent, cancelled as the worker stops)
stop_the_consumer_thread()
out.write(f"re-raised: {worker.crash_reason!r}\\n")
out.write("== a bug\\n")
crash(KeyError("x"))
out.close()
"""


def test_a_crash_on_an_expected_error_is_logged_in_one_line_a_bug_with_its_traceback(
    tmp_path: Path,
) -> None:
    out = tmp_path / "log.txt"
    subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(out)],
        capture_output=True, check=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    _, cancelled, expected, bug = out.read_text().split("== ")
    assert "Crashed reason=CancelledError()" in cancelled and "Traceback" in cancelled
    assert "Crashed reason=HubError('the drainer process stopped" in expected
    assert "Crashed reason=CancelledError()" in expected
    assert "Error while stopping child '<Thread: crashed>'" in expected
    assert "Traceback" not in expected
    # the reason re-raised at the end is the first real crash, not a later cancellation
    assert "re-raised: HubError('the drainer process stopped" in expected
    assert "Crashed reason=KeyError('x')" in bug and "Traceback" in bug


def test_the_kafka_clients_repeated_lines_go_out_once_per_interval() -> None:
    from streams.app import _OncePerInterval

    now = [0.0]
    quieter = _OncePerInterval(interval_s=30.0, clock=lambda: now[0])

    def record(name: str, msg: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, "x.py", 1, msg, (1, "refused"), None)

    reconnect = "Unable connect to node with id %s: %s"
    let_through = []
    for _ in range(100):  # a second of a broker that is away
        line = record("aiokafka.client", reconnect)
        if quieter.filter(line):
            let_through.append(line.getMessage())
        now[0] += 0.01
    assert let_through == ["Unable connect to node with id 1: refused"]
    assert quieter.filter(record("hub.worker", "retrying after %s"))  # ours: always
    assert quieter.filter(record("aiokafka.consumer", "another %s %s"))  # another message
    now[0] = 31.0
    line = record("aiokafka.client", reconnect)
    assert quieter.filter(line)
    assert line.getMessage() == (
        "Unable connect to node with id 1: refused (and 99 more like it since the last)"
    )


def test_a_new_clusters_missing_group_coordinator_is_a_warning_at_start_an_error_later() -> None:
    from aiokafka.errors import GroupCoordinatorNotAvailableError, NotCoordinatorForGroupError

    from streams.app import _CoordinatorNotReadyYet

    now = [0.0]
    starting = _CoordinatorNotReadyYet(grace_s=60.0, clock=lambda: now[0])

    def failed(error: Exception) -> logging.LogRecord:
        message = "Group Coordinator Request failed: %s"
        name = "aiokafka.consumer.group_coordinator"
        return logging.LogRecord(name, logging.ERROR, "x.py", 1, message, (error,), None)

    line = failed(GroupCoordinatorNotAvailableError())
    assert starting.filter(line)
    assert (line.levelno, line.levelname) == (logging.WARNING, "WARNING")
    assert line.getMessage().startswith(
        "Kafka has no coordinator for the worker's consumer group yet "
        "([Error 15] GroupCoordinatorNotAvailableError"
    )
    other = failed(NotCoordinatorForGroupError())  # another failure: as it was
    assert starting.filter(other) and other.levelno == logging.ERROR
    now[0] = 61.0  # a coordinator still missing a minute in is an error
    late = failed(GroupCoordinatorNotAvailableError())
    assert starting.filter(late) and late.levelno == logging.ERROR
    assert late.getMessage().startswith("Group Coordinator Request failed: [Error 15]")
