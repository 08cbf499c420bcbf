"""Hub workers as local processes beside the stack's services (`hub run`, `hub stack down`).

Each worker is `hub worker` with its own /metrics port, tracked by a pid file like the
services, logging to ``<stack dir>/logs/worker-<n>.log``. A worker is healthy while its
process runs and its heartbeat is in Redis.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hub.errors import StackError, UsageError
from hub.settings import Settings, is_port
from hub.stack import processes
from hub.stack.processes import PidFile

WORKER = "worker-"


def hub_executable() -> str:
    beside = Path(sys.executable).with_name("hub")
    found = str(beside) if beside.exists() else shutil.which("hub")
    if found is None:
        raise StackError("the `hub` command is not on PATH (run: make install)")
    return found


@dataclass(frozen=True)
class WorkerState:
    name: str
    address: str
    healthy: bool
    detail: str


class Workers:
    def __init__(self, settings: Settings, report: Callable[[str], None]) -> None:
        self.settings = settings
        self.report = report
        self.run = settings.stack_dir / "run"
        self.logs = settings.stack_dir / "logs"

    def names(self) -> list[str]:
        found = sorted(self.run.glob(f"{WORKER}*.pid"), key=lambda p: int(p.stem[len(WORKER) :]))
        return [p.stem for p in found]

    def pid_file(self, name: str) -> PidFile:
        return PidFile(self.run / f"{name}.pid")

    def port(self, index: int) -> int:
        return self.settings.metrics_port + index - 1

    def check_ports(self, count: int) -> None:
        """One line when workers 1..count would need a metrics port past 65535."""
        if not is_port(self.port(count)):
            raise UsageError(
                f"{count} workers need metrics ports {self.port(1)} to {self.port(count)}, "
                "past 65535: lower HUB_METRICS_PORT or run fewer workers"
            )

    def heartbeat(self, pid: int) -> bool:
        import redis

        key = f"{self.settings.redis_prefix}:workers:{socket.gethostname()}-{pid}"
        client = redis.Redis.from_url(self.settings.redis_url, socket_timeout=2)
        try:
            return bool(client.exists(key))
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self, count: int, env: dict[str, str], timeout_s: float = 120.0) -> None:
        """Start workers 1..count that are not running; wait until each reports ready."""
        self.check_ports(count)
        started: dict[str, tuple[int, float]] = {}
        try:
            for index in range(1, count + 1):
                name = f"{WORKER}{index}"
                pid = self.pid_file(name).live_pid()
                if pid is not None:
                    self.report(f"{name:<9} pid {pid:<18} already running")
                    continue
                argv = [hub_executable(), "worker", "--metrics-port", str(self.port(index))]
                process = processes.spawn(
                    argv, self.logs / f"{name}.log", env={**os.environ, **env}
                )
                self.pid_file(name).write(process.pid)
                started[name] = (process.pid, time.monotonic())
            self._wait_ready(started, timeout_s)
        except BaseException:
            for name in started:
                self.stop(name, quiet=True)
            raise

    def _wait_ready(self, started: dict[str, tuple[int, float]], timeout_s: float) -> None:
        waiting = dict(started)
        deadline = time.monotonic() + timeout_s
        while waiting:
            for name, (pid, since) in list(waiting.items()):
                if self.pid_file(name).live_pid() is None:
                    last = " | ".join(processes.tail(self.logs / f"{name}.log", 2)) or "no output"
                    raise StackError(f"{name} exited during start: {last}")
                if self.heartbeat(pid):
                    index = int(name[len(WORKER) :])
                    took = time.monotonic() - since
                    address = f"127.0.0.1:{self.port(index)}"
                    self.report(f"{name:<9} {address:<22} ready in {took:.1f}s")
                    del waiting[name]
            if waiting and time.monotonic() > deadline:
                raise StackError(
                    f"{', '.join(waiting)} not ready within {timeout_s:.0f}s (logs in {self.logs})"
                )
            if waiting:
                time.sleep(0.2)

    def stop(self, name: str, *, quiet: bool = False) -> None:
        pid_file = self.pid_file(name)
        pid = pid_file.live_pid()
        if pid is not None:
            processes.stop(pid, grace_s=60.0)
            if not quiet:
                self.report(f"{name:<9} stopped (pid {pid})")
        pid_file.remove()

    def stop_all(self) -> None:
        for name in self.names():
            self.stop(name)

    def states(self) -> list[WorkerState]:
        states = []
        for name in self.names():
            index = int(name[len(WORKER) :])
            address = f"127.0.0.1:{self.port(index)}"
            pid = self.pid_file(name).live_pid()
            if pid is None:
                states.append(WorkerState(name, address, False, "not running (exited)"))
            elif not self.heartbeat(pid):
                states.append(WorkerState(name, address, False, f"pid {pid}, no heartbeat"))
            else:
                states.append(WorkerState(name, address, True, f"healthy (pid {pid})"))
        return states
