"""docker-compose.yml agrees with the settings (Docker itself is not available to run it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from hub.settings import Settings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def hub_environment(compose: dict[str, Any]) -> dict[str, str]:
    env = compose["services"]["worker"]["environment"]
    assert env == compose["services"]["hub"]["environment"]
    return {k: str(v) for k, v in env.items()}


def published_port(service: dict[str, Any]) -> int:
    return int(str(service["ports"][0]).split(":")[-1])


def test_parses_with_the_expected_services(compose: dict[str, Any]) -> None:
    assert {"kafka", "redis", "postgres", "prometheus", "grafana", "worker"} <= set(
        compose["services"]
    )
    assert compose["services"]["kafka"]["image"].startswith("apache/kafka:4.")
    assert compose["services"]["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_every_variable_is_a_setting(compose: dict[str, Any]) -> None:
    fields = {f"HUB_{name.upper()}" for name in Settings.model_fields}
    assert set(hub_environment(compose)) <= fields


def test_services_referred_to_exist_and_ports_match_defaults(compose: dict[str, Any]) -> None:
    env = hub_environment(compose)
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    services = compose["services"]
    configured = Settings(_env_file=None, **{k[4:].lower(): v for k, v in env.items()})  # type: ignore[call-arg]

    kafka_host, kafka_port = configured.kafka_host_port
    assert kafka_host in services
    assert kafka_port == defaults.kafka_host_port[1] == published_port(services["kafka"])

    redis_host, redis_port = configured.redis_host_port
    assert redis_host in services
    assert redis_port == defaults.redis_host_port[1] == published_port(services["redis"])

    database = urlsplit(configured.database_url)
    assert database.hostname in services
    assert database.port == defaults.postgres_port == published_port(services["postgres"])
    postgres_env = services["postgres"]["environment"]
    assert database.username == postgres_env["POSTGRES_USER"] == defaults.postgres_user
    assert database.path.lstrip("/") == postgres_env["POSTGRES_DB"] == defaults.postgres_db

    assert configured.metrics_port == defaults.metrics_port
    assert str(defaults.metrics_port) in services["worker"]["expose"]


def test_prometheus_scrapes_the_workers_on_the_metrics_port(compose: dict[str, Any]) -> None:
    prometheus = yaml.safe_load((ROOT / "monitoring" / "prometheus.yml").read_text())
    targets = [
        (sd["names"], sd["port"])
        for job in prometheus["scrape_configs"]
        for sd in job.get("dns_sd_configs", [])
    ]
    assert (["worker"], Settings(_env_file=None).metrics_port) in targets  # type: ignore[call-arg]
