"""The one typed settings object. Only this module reads the HUB_* environment and .env
(HUB_DEBUG aside: the command line reads it, before any settings, to show a traceback)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.errors import UsageError
from matchers.decisions import DEFAULT_ADULT_SOURCES, DEFAULT_CONTACT_SOURCES

STACK_MODEL = "model.json"  # in the stack folder: the model `hub run` trains when none is set


class Settings(BaseSettings):
    """Every setting of the hub. Defaults run the whole hub on one machine.

    Each field is documented in ``.env.example``; a test keeps the two in step.
    """

    model_config = SettingsConfigDict(
        env_prefix="HUB_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        allow_inf_nan=False,
    )

    # -- the local stack -------------------------------------------------------------
    stack_dir: Path = Field(Path(".stack"), description="folder for service data, logs, pids")
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers")
    kafka_controller_port: int = Field(9093, description="KRaft controller port of the stack")
    kafka_version: str = Field("4.3.1", description="Apache Kafka release the stack runs")
    kafka_heap_mb: int = Field(768, description="Java heap for the stack's Kafka broker")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis for identity state")
    postgres_port: int = Field(5432, description="port of the stack's own PostgreSQL")
    postgres_user: str = Field("hub", description="PostgreSQL role the stack creates")
    postgres_password: SecretStr = Field(SecretStr("hub"), description="password of that role")
    postgres_db: str = Field("hub", description="database the stack creates")
    start_timeout_s: float = Field(90.0, description="how long `hub stack up` waits per service")

    # -- stores and contracts --------------------------------------------------------
    database_url: str = Field(
        "sqlite:///.stack/hub.db",
        description="SQLAlchemy URL of the store: SQLite by default, PostgreSQL in production",
    )
    schema_registry_url: str | None = Field(
        None, description="Confluent-compatible registry; unset = embedded schemas/ folder"
    )

    # -- contracts and sources ----------------------------------------------------------
    publish_timeout_s: float = Field(
        30.0,
        ge=1,
        le=2_000_000,  # (Kafka's client takes up to 2**31 ms)
        allow_inf_nan=False,
        description="how long a publisher waits for Kafka to acknowledge an event",
    )

    # -- workers ----------------------------------------------------------------------
    model_path: Path = Field(Path("model.json"), description="trained matching model (JSON)")
    metrics_port: int = Field(9108, description="Prometheus /metrics port of a worker")
    metrics_host: str = Field(
        "127.0.0.1", description="address a worker's /metrics listens on (0.0.0.0 in a container)"
    )
    redis_prefix: str = Field("hub", description="prefix of every Redis key the hub writes")
    consumer_group: str = Field("residents-hub", description="Kafka consumer group of workers")
    source_systems: str = Field(
        "", description="extra source systems whose topics workers consume (comma separated)"
    )
    partner_datasets: str = Field(
        "", description="extra partner datasets whose topics workers consume (comma separated)"
    )
    topic_partitions: int = Field(4, description="partitions of the topics the hub creates")
    worker_batch_size: int = Field(500, description="most events a worker stage takes at once")
    worker_batch_wait_s: float = Field(
        0.02, description="longest a worker waits to fill a batch before processing it"
    )
    worker_fetch_wait_s: float = Field(
        0.05,
        gt=0,
        description="longest the broker holds a worker's fetch while too few events are there",
    )
    worker_drain_process: bool = Field(
        True, description="store and publish committed batches in a process beside each worker"
    )

    # -- identity resolution (thresholds are match weights: log2 odds, prior included) ----
    link_threshold: float = Field(1.0, description="auto-link a candidate pair at or above")
    review_threshold: float = Field(-4.0, description="review band from here up to the link")
    group_threshold: float = Field(
        -6.0, description="two groups join when their pairs average at least this weight"
    )
    pair_floor: float = Field(
        -10.0, description="in that average a pair counts at least this (unscored: exactly)"
    )
    dob_conflict_years: int = Field(
        2, description="births further apart than this never link (0: off)"
    )
    ambiguity_margin: float = Field(
        2.0, description="a link this much stronger than a rival it excludes is not ambiguous"
    )
    block_cap: int | None = Field(
        None, description="blocking keys held by more records are skipped (unset: the model's)"
    )
    trusted_address_sources: str = Field(
        "", description="source systems whose addresses the golden record trusts, best first"
    )
    adult_sources: str = Field(
        ",".join(f"{system}:{age}" for system, age in DEFAULT_ADULT_SOURCES),
        description="source systems that hold only people of at least an age: system:age,...",
    )
    contact_sources: str = Field(
        ",".join(DEFAULT_CONTACT_SOURCES),
        description="source systems whose records with no date of birth and no UPN are adults'",
    )

    @field_validator("stack_dir", "model_path", mode="before")
    @classmethod
    def _path(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str) and not value.strip():  # (Path("") is the current folder)
            named = {"stack_dir": "a folder (unset, it is .stack)",
                     "model_path": "a file (unset, it is model.json)"}  # fmt: skip
            raise ValueError(f"empty: name {named[info.field_name or '']}")
        return value

    @field_validator("kafka_controller_port", "postgres_port", "metrics_port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not is_port(value):
            raise ValueError("not a port from 1 to 65535")
        return value

    @field_validator("kafka_bootstrap")
    @classmethod
    def _host_ports(cls, value: str) -> str:
        for server in value.split(","):
            host, colon, port = server.strip().rpartition(":")
            if not colon or not host or not (port.isascii() and port.isdigit()):
                raise ValueError(f"{server.strip()!r} is not host:port")
            if len(port) > 5 or not is_port(int(port)):
                raise ValueError(f"{server.strip()!r}: its port is not from 1 to 65535")
        return value

    @field_validator("schema_registry_url")
    @classmethod
    def _registry_urls(cls, value: str | None) -> str | None:
        for url in value.split(",") if value else ():  # (unset or empty: embedded schemas)
            try:
                parts = urlsplit(url.strip())
            except ValueError:  # (an unclosed [IPv6 address)
                raise ValueError("not an http(s)://host:port URL") from None
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("not an http(s)://host:port URL")
            check_port(parts)
        return value

    @field_validator("adult_sources")
    @classmethod
    def _adult_sources(cls, value: str) -> str:
        parse_adult_sources(value)
        return value

    @field_validator("contact_sources")
    @classmethod
    def _contact_sources(cls, value: str) -> str:
        parse_contact_sources(value)
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError("not a redis://host:port/db URL")
        check_port(parts)
        if parts.scheme != "unix" and not parts.hostname:
            raise ValueError("it names no host")
        return value

    @property
    def kafka_host_port(self) -> tuple[str, int]:
        first = self.kafka_bootstrap.split(",")[0].strip()
        host, _, port = first.rpartition(":")
        return host or "127.0.0.1", int(port)

    @property
    def redis_url_shown(self) -> str:
        """``redis_url`` for messages: a password in it is shown as ``***``."""
        parts = urlsplit(self.redis_url)
        if parts.password is None:
            return self.redis_url
        host = parts.netloc.rpartition("@")[2]
        return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()

    @property
    def redis_host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.redis_url)
        return parts.hostname or "127.0.0.1", parts.port or 6379

    @property
    def model_file(self) -> Path:
        """The model the hub loads: ``HUB_MODEL_PATH`` if it is there, else the one `hub run`
        trains into the stack folder if that is (else ``HUB_MODEL_PATH``, so that a missing
        model is named as configured)."""
        if self.model_path.is_file():
            return self.model_path
        trained = self.stack_dir / STACK_MODEL
        return trained if trained.is_file() else self.model_path

    def postgres_url(self, host: str = "127.0.0.1") -> str:
        """SQLAlchemy URL of the stack's own PostgreSQL (set HUB_DATABASE_URL to it to use it)."""
        password = self.postgres_password.get_secret_value()
        return (
            f"postgresql+psycopg://{self.postgres_user}:{password}"
            f"@{host}:{self.postgres_port}/{self.postgres_db}"
        )


LAST_PORT = 65535


def is_port(number: int) -> bool:
    return 0 < number <= LAST_PORT


def check_port(parts: SplitResult) -> None:
    """Raise a ValueError if the URL's port, when it has one, is not a number from 1 to
    65535 (the message never shows the URL: it may hold a password)."""
    host_port = parts.netloc.rpartition("@")[2].rpartition("]")[2]  # (past an [IPv6] host)
    _, colon, text = host_port.partition(":")
    if not colon or not text:
        return
    if not (text.isascii() and text.isdigit()):
        raise ValueError("its port is not a number")
    if len(text) > 5 or not is_port(int(text)):
        raise ValueError("its port is not from 1 to 65535")


def parse_adult_sources(text: str) -> tuple[tuple[str, int], ...]:
    """``system:age,...`` (HUB_ADULT_SOURCES) as (system, minimum age) pairs, sorted."""
    pairs: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        system, colon, age = (x.strip() for x in part.partition(":"))
        if not (colon and system and age.isascii() and age.isdigit() and 0 < int(age) <= 120):
            raise ValueError(f"{part!r} is not system:age (an age from 1 to 120)")
        if system in pairs:
            raise ValueError(f"{system!r} is named twice")
        pairs[system] = int(age)
    return tuple(sorted(pairs.items()))


def parse_contact_sources(text: str) -> tuple[str, ...]:
    """``system,...`` (HUB_CONTACT_SOURCES) as source systems, sorted."""
    systems = [p.strip() for p in text.split(",") if p.strip()]
    for system in systems:
        if ":" in system:
            raise ValueError(f"{system!r} is not a source system (no age here: contacts are 18)")
        if systems.count(system) > 1:
            raise ValueError(f"{system!r} is named twice")
    return tuple(sorted(systems))


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment and ``.env``, with explicit overrides on top; a
    value that is not valid is a :class:`UsageError` naming each bad variable (never its
    value: it may be a password)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = "; ".join(
            f"HUB_{'_'.join(map(str, problem['loc'])).upper()}: "
            + problem["msg"].removeprefix("Value error, ")
            for problem in error.errors()
        )
        raise UsageError(f"bad settings: {problems}") from None
    except UnicodeDecodeError:
        raise UsageError(".env: not UTF-8 text") from None
