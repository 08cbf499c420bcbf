"""`hub stack up | down | status | logs`: the local services as our own processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hub.errors import ServiceNotRunning, StackError, UsageError
from hub.settings import Settings
from hub.stack import processes
from hub.stack.processes import PidFile
from hub.stack.services import Kafka, Postgres, Redis, Service
from hub.stack.workers import Workers

Report = Callable[[str], None]


@dataclass(frozen=True)
class ServiceState:
    name: str
    address: str
    healthy: bool
    detail: str


class Stack:
    def __init__(self, settings: Settings, report: Report = print) -> None:
        self.settings = settings
        self.report = report
        self.dir = settings.stack_dir
        self.logs = self.dir / "logs"
        self.services: dict[str, Service] = {
            "kafka": Kafka(settings),
            "redis": Redis(settings),
            "postgres": Postgres(settings),
        }

    def pid_file(self, name: str) -> PidFile:
        return PidFile(self.dir / "run" / f"{name}.pid")

    def log_path(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    # -- up ----------------------------------------------------------------------------
    def up(self, *, postgres: bool = False) -> None:
        """Start every service that is not running and wait until each answers requests.

        On any failure, the services started by this call are stopped again.
        """
        wanted = ["kafka", "redis"] + (["postgres"] if postgres else [])
        self.logs.mkdir(parents=True, exist_ok=True)
        started: dict[str, float] = {}
        try:
            for name in wanted:
                service = self.services[name]
                if self.pid_file(name).live_pid() is not None:
                    self.report(f"{name:<9} {service.address:<22} already running")
                    continue
                self.pid_file(name).remove()
                for port in service.ports:
                    if processes.port_in_use(service.host, port):
                        raise StackError(
                            f"{name} cannot start: port {port} on {service.host} is already in "
                            "use by another process (stop it, or choose another port in the "
                            "HUB_* settings)"
                        )
                launch = service.prepare(self.logs)
                process = processes.spawn(
                    launch.argv, self.log_path(name), env=launch.env, user=launch.user
                )
                self.pid_file(name).write(process.pid)
                started[name] = time.monotonic()
            self._wait_ready(started)
        except BaseException:
            for name in started:
                self._stop(name, quiet=True)
            raise

    def _wait_ready(self, started: dict[str, float]) -> None:
        deadline = time.monotonic() + self.settings.start_timeout_s
        waiting = dict(started)
        while waiting:
            for name, since in list(waiting.items()):
                service = self.services[name]
                if self.pid_file(name).live_pid() is None:
                    last = " | ".join(processes.tail(self.log_path(name), 3)) or "no output"
                    raise StackError(
                        f"{name} exited during start (log {self.log_path(name)}): {last}"
                    )
                if service.ready():
                    service.after_ready()
                    took = time.monotonic() - since
                    self.report(f"{name:<9} {service.address:<22} ready in {took:.1f}s")
                    del waiting[name]
            if waiting and time.monotonic() > deadline:
                names = ", ".join(waiting)
                raise StackError(
                    f"{names} did not become ready within {self.settings.start_timeout_s:.0f}s "
                    f"(logs in {self.logs})"
                )
            if waiting:
                time.sleep(0.1)

    # -- down ----------------------------------------------------------------------------
    def down(self) -> None:
        """Stop exactly the processes recorded in our pid files (workers first)."""
        workers = Workers(self.settings, self.report)
        any_found = bool(workers.names())
        workers.stop_all()
        for name in reversed(list(self.services)):
            if self.pid_file(name).exists():
                any_found = True
                self._stop(name)
        if not any_found:
            self.report("no services of this stack are running")

    def _stop(self, name: str, *, quiet: bool = False) -> None:
        pid_file = self.pid_file(name)
        pid = pid_file.live_pid()
        if pid is not None:
            processes.stop(pid, sig=self.services[name].stop_signal)
            if not quiet:
                self.report(f"{name:<9} stopped (pid {pid})")
        elif not quiet:
            self.report(f"{name:<9} was not running")
        pid_file.remove()

    # -- status ----------------------------------------------------------------------------
    def states(self) -> list[ServiceState]:
        states: list[ServiceState] = []
        for name, service in self.services.items():
            pid_file = self.pid_file(name)
            if not pid_file.exists():
                continue
            pid = pid_file.live_pid()
            if pid is None:
                states.append(ServiceState(name, service.address, False, "not running (exited)"))
            elif not service.ready():
                states.append(
                    ServiceState(name, service.address, False, f"pid {pid}, not answering")
                )
            else:
                states.append(ServiceState(name, service.address, True, f"healthy (pid {pid})"))
        for worker in Workers(self.settings, self.report).states():
            states.append(ServiceState(worker.name, worker.address, worker.healthy, worker.detail))
        return states

    def status(self) -> None:
        """Report every started service; raise unless all of them are healthy."""
        states = self.states()
        if not states:
            raise ServiceNotRunning(
                "no services of this stack are running (start them: hub stack up)"
            )
        for state in states:
            self.report(f"{state.name:<9} {state.address:<22} {state.detail}")
        unhealthy = [s.name for s in states if not s.healthy]
        if unhealthy:
            raise ServiceNotRunning(f"unhealthy: {', '.join(unhealthy)} (see: hub stack logs)")

    # -- logs ----------------------------------------------------------------------------
    def log_lines(self, name: str | None, lines: int) -> list[str]:
        names = [name] if name is not None else list(self.services)
        out: list[str] = []
        for each in names:
            if each not in self.services:
                raise UsageError(
                    f"unknown service {each!r}: choose from {', '.join(self.services)}"
                )
            for line in processes.tail(self.log_path(each), lines):
                out.append(f"{each:<9}| {line}" if name is None else line)
        return out
