"""Start and stop our own service processes, tracked by pid files.

A pid file records the pid and the kernel's start time of the process, so that ``down``
stops exactly the process it started and never a later process that reused the pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

# Services this process started and has not yet seen exit, so they can be reaped properly.
_children: dict[int, subprocess.Popen[bytes]] = {}


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None if it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after the last ')' are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has exited
        return None
    return int(fields[19])


@dataclass(frozen=True)
class PidFile:
    path: Path

    def write(self, pid: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"pid": pid, "start_time": process_start_time(pid)}
        self.path.write_text(json.dumps(record))

    def read(self) -> tuple[int, int | None] | None:
        try:
            record = json.loads(self.path.read_text())
            return int(record["pid"]), record.get("start_time")
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def exists(self) -> bool:
        return self.path.exists()

    def live_pid(self) -> int | None:
        """The recorded pid if that very process is still running, else None."""
        record = self.read()
        if record is None:
            return None
        pid, start_time = record
        current = process_start_time(pid)
        if current is None or (start_time is not None and current != start_time):
            return None
        return pid

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def spawn(
    argv: list[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start a service in its own session, with stdout and stderr appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            user=user,
            start_new_session=True,
        )
    _children[process.pid] = process
    return process


def stop(pid: int, *, sig: int = signal.SIGTERM, grace_s: float = 30.0) -> None:
    """Signal the process, wait for it to exit, and kill its whole session if it will not."""
    start_time = process_start_time(pid)
    if start_time is None:
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        _reap(pid)
        if process_start_time(pid) != start_time:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    while process_start_time(pid) == start_time:
        _reap(pid)
        time.sleep(0.05)


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our own child (no-op otherwise)."""
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port that nothing listens on right now (for test stacks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int) -> list[str]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]
