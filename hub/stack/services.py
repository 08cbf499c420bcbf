"""The three services of the local stack: what each needs, how it starts, when it is ready."""

from __future__ import annotations

import base64
import glob
import logging
import os
import pwd
import re
import shutil
import signal
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hub.errors import StackError
from hub.settings import Settings
from hub.stack import kafka_jars
from hub.stack.processes import port_open

if TYPE_CHECKING:
    import psycopg

_quiet = logging.getLogger("hub.stack.probe")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str] | None = None
    user: str | None = None


class Service(Protocol):
    name: str
    host: str
    ports: tuple[int, ...]
    stop_signal: int

    @property
    def address(self) -> str: ...

    def prepare(self, logs: Path) -> Launch:
        """Check prerequisites and initialise data; return how to start the process."""

    def ready(self) -> bool:
        """True once the service answers a real request."""

    def after_ready(self) -> None:
        """One-off set-up that needs the running service (idempotent)."""


# a frame of a Java stack trace: "\tat org.apache.kafka.Formatter.run(Formatter.java:1)"
_FRAME = re.compile(r"^\s+at \S+\(")


def stack_trace(output: str) -> bool:
    return any(_FRAME.match(line) for line in output.splitlines())


# What a Java tool's stack trace says of what it was given, which a second run would
# meet again: an option it cannot parse, a configuration it refuses.
_GIVEN = ("ArgumentParserException", "ConfigException")


def crashed(output: str) -> bool:
    """Whether a Java tool died of an uncaught exception that is not about its input."""
    return stack_trace(output) and not any(name in output for name in _GIVEN)


def java_failure(output: str) -> str:
    """The line of a Java tool's output that says what went wrong.

    For a stack trace, its root cause (the last unindented "Caused by:"), else the line
    before its first frame (the exception thrown); otherwise the last line printed.
    """
    lines = output.splitlines()
    causes = [line for line in lines if line.startswith("Caused by: ")]
    if causes:
        return causes[-1].removeprefix("Caused by: ").strip()
    frames = [i for i, line in enumerate(lines) if _FRAME.match(line)]
    if frames and frames[0] > 0:
        thrown = lines[frames[0] - 1].strip()
        return thrown.removeprefix('Exception in thread "main" ')
    printed = [line.strip() for line in lines if line.strip()]
    return printed[-1] if printed else "it printed nothing"


@dataclass
class Kafka:
    settings: Settings
    name: str = "kafka"
    stop_signal: int = signal.SIGTERM
    host: str = field(init=False)
    ports: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.host, port = self.settings.kafka_host_port
        self.ports = (port, self.settings.kafka_controller_port)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.ports[0]}"

    @property
    def folder(self) -> Path:
        return self.settings.stack_dir / "kafka"

    def prepare(self, logs: Path) -> Launch:
        java = kafka_jars.check_java()
        classpath = kafka_jars.kafka_classpath(self.settings.kafka_version, logs / "maven.log")
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "server.properties"
        config.write_text(self._server_properties())
        if not (self.folder / "data" / "meta.properties").exists():
            self._format(java, classpath, config, logs / "kafka-format.log")
        heap = f"-Xmx{self.settings.kafka_heap_mb}m"
        argv = [java, heap, f"-Xms{min(256, self.settings.kafka_heap_mb)}m",
                "-XX:+UseG1GC", "-Djava.awt.headless=true",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-cp", classpath, "kafka.Kafka", str(config)]  # fmt: skip
        return Launch(argv)

    def _format(self, java: str, classpath: str, config: Path, log: Path) -> None:
        """Format the storage, once more if the tool crashed.

        Kafka's storage tool says what is wrong with the folder in one line, and what is
        wrong with its options or configuration in a stack trace naming an exception of
        its input; any other stack trace means the tool itself failed, which a second run
        may not. Both runs' output goes to ``log``.
        """
        argv = [java, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", classpath,
                "kafka.tools.StorageTool", "format", "-t", self._cluster_id(),
                "-c", str(config), "--ignore-formatted"]  # fmt: skip
        with log.open("a") as out:
            for attempt in (1, 2):
                result = subprocess.run(argv, capture_output=True, text=True, check=False)
                out.write(f"--- attempt {attempt}, exit {result.returncode}\n")
                out.write(result.stdout + result.stderr)
                if result.returncode == 0:
                    return
                if not crashed(result.stdout + result.stderr):
                    break
        why = java_failure(result.stdout + result.stderr)
        raise StackError(f"Kafka storage could not be formatted: {why} (log {log})")

    def _cluster_id(self) -> str:
        path = self.folder / "cluster-id"
        if not path.exists():
            cluster_id = "-"
            while cluster_id.startswith("-"):  # Kafka's tools would read it as an option
                cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode()[:22]
            path.write_text(cluster_id)
        return path.read_text().strip()

    def _server_properties(self) -> str:
        broker, controller = self.ports
        data = (self.folder / "data").resolve()
        return "\n".join(
            [
                "# written by `hub stack up`; edit the HUB_* settings instead",
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@{self.host}:{controller}",
                f"listeners=PLAINTEXT://{self.host}:{broker},CONTROLLER://{self.host}:{controller}",
                f"advertised.listeners=PLAINTEXT://{self.host}:{broker}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={data}",
                "num.partitions=4",
                "auto.create.topics.enable=true",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=4",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=4",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "log.retention.hours=168",
                "",
            ]
        )

    def ready(self) -> bool:
        if not port_open(self.host, self.ports[0]):
            return False
        from confluent_kafka.admin import AdminClient  # heavy import, only when probing

        config: dict[str, Any] = {"bootstrap.servers": self.address, "logger": _quiet}
        admin = AdminClient(config)
        try:
            metadata = admin.list_topics(timeout=2)
        except Exception:  # any failure means "not ready yet"
            return False
        return bool(metadata.brokers)

    def after_ready(self) -> None:
        return None


@dataclass
class Redis:
    settings: Settings
    name: str = "redis"
    stop_signal: int = signal.SIGTERM
    host: str = field(init=False)
    ports: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.host, port = self.settings.redis_host_port
        self.ports = (port,)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.ports[0]}"

    def prepare(self, logs: Path) -> Launch:
        server = shutil.which("redis-server")
        if server is None:
            raise StackError(
                "redis-server not found (install it with: sudo apt-get install redis-server)"
            )
        folder = (self.settings.stack_dir / "redis").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        argv = [server, "--port", str(self.ports[0]), "--bind", self.host,
                "--dir", str(folder), "--appendonly", "yes", "--save", "",
                "--daemonize", "no", "--protected-mode", "yes", "--logfile", ""]  # fmt: skip
        return Launch(argv)

    def ready(self) -> bool:
        import redis

        client = redis.Redis(host=self.host, port=self.ports[0], socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def after_ready(self) -> None:
        return None


@dataclass
class Postgres:
    settings: Settings
    name: str = "postgres"
    stop_signal: int = signal.SIGINT  # "fast" shutdown: roll back, close sessions, stop
    host: str = "127.0.0.1"
    ports: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.ports = (self.settings.postgres_port,)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.ports[0]}"

    @property
    def folder(self) -> Path:
        return (self.settings.stack_dir / "postgres").resolve()

    def prepare(self, logs: Path) -> Launch:
        bindir = _postgres_bindir()
        # PostgreSQL refuses to run as root: run it as the package's `postgres` user.
        user = "postgres" if os.geteuid() == 0 else None
        data = self.folder / "data"
        if not (data / "PG_VERSION").exists():
            self._initdb(bindir, data, user)
        sockets = self.folder / "sockets"
        sockets.mkdir(exist_ok=True)
        if user is not None:
            shutil.chown(sockets, user=user)
        argv = [str(bindir / "postgres"), "-D", str(data), "-p", str(self.ports[0]),
                "-c", f"listen_addresses={self.host}", "-c", f"unix_socket_directories={sockets}",
                "-c", "fsync=on", "-c", "max_connections=200"]  # fmt: skip
        return Launch(argv, user=user)

    def _initdb(self, bindir: Path, data: Path, user: str | None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data.mkdir(mode=0o700, exist_ok=True)
        pwfile = self.folder / "initdb.pw"
        pwfile.write_text(self.settings.postgres_password.get_secret_value())
        if user is not None:
            entry = pwd.getpwnam(user)
            for path in (self.folder, data, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        try:
            result = subprocess.run(
                [str(bindir / "initdb"), "-D", str(data), "-U", self.settings.postgres_user,
                 f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=trust",
                 "-E", "UTF8", "--locale=C.UTF-8"],
                capture_output=True, text=True, check=False, user=user,
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:]
            raise StackError(
                f"PostgreSQL initdb failed in {data}: {' '.join(last)} "
                "(the postgres user must be able to reach that folder; set HUB_STACK_DIR elsewhere)"
            )

    def _connect(self, dbname: str) -> psycopg.Connection[Any]:
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.ports[0],
            user=self.settings.postgres_user,
            password=self.settings.postgres_password.get_secret_value(),
            dbname=dbname,
            connect_timeout=2,
            autocommit=True,
        )

    def ready(self) -> bool:
        import psycopg

        if not port_open(self.host, self.ports[0]):
            return False
        try:
            with self._connect("postgres") as conn:
                return bool(conn.execute("SELECT 1").fetchone() == (1,))
        except psycopg.Error:
            return False

    def after_ready(self) -> None:
        with self._connect("postgres") as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.settings.postgres_db,)
            ).fetchone()
            if found is None:
                conn.execute(f'CREATE DATABASE "{self.settings.postgres_db}"')
        with self._connect(self.settings.postgres_db) as conn:
            conn.execute("SELECT 1")


def _postgres_bindir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("postgres")
    if found:
        return Path(found).parent
    raise StackError("PostgreSQL not found (install it with: sudo apt-get install postgresql)")


def stack_services(settings: Settings, *, postgres: bool) -> list[Service]:
    services: list[Service] = [Kafka(settings), Redis(settings)]
    if postgres:
        services.append(Postgres(settings))
    return services


ALL_SERVICES = ("kafka", "redis", "postgres")
