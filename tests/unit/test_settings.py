"""Settings: typed, read from HUB_* variables, every one documented in .env.example."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from hub.errors import UsageError
from hub.settings import Settings, load_settings, parse_adult_sources, parse_contact_sources
from matchers.decisions import Thresholds

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def documented_variables() -> dict[str, str]:
    text = (ROOT / ".env.example").read_text()
    return dict(re.findall(r"^#?\s*(HUB_[A-Z0-9_]+)=(.*)$", text, flags=re.MULTILINE))


def test_every_setting_is_documented_in_env_example() -> None:
    expected = {f"HUB_{name.upper()}" for name in Settings.model_fields}
    assert set(documented_variables()) == expected


def test_env_example_values_parse_and_equal_the_defaults() -> None:
    documented = documented_variables()
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    for name in Settings.model_fields:
        value = documented[f"HUB_{name.upper()}"]
        parsed = Settings(_env_file=None, **{name: value})  # type: ignore[call-arg]
        default = getattr(defaults, name)
        if default is None:
            continue  # optional settings are shown with an example value, commented out
        assert getattr(parsed, name) == default, name


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_KAFKA_BOOTSTRAP", "10.0.0.5:19092")
    monkeypatch.setenv("HUB_POSTGRES_PASSWORD", "s3cret")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.kafka_host_port == ("10.0.0.5", 19092)
    assert "s3cret" not in repr(settings)  # secrets never print
    assert settings.postgres_url().endswith(":s3cret@127.0.0.1:5432/hub")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HUB_LINK_THRESHOLD", "abc", "HUB_LINK_THRESHOLD: Input should be a valid number"),
        ("HUB_REVIEW_THRESHOLD", "nan", "HUB_REVIEW_THRESHOLD: Input should be a finite number"),
        ("HUB_KAFKA_BOOTSTRAP", "localhost", "HUB_KAFKA_BOOTSTRAP: 'localhost' is not host:port"),
        ("HUB_REDIS_URL", "nonsense", "HUB_REDIS_URL: not a redis://host:port/db URL"),
        ("HUB_REDIS_URL", "redis://:abc", "HUB_REDIS_URL: its port is not a number"),
        ("HUB_REDIS_URL", "redis://h:1:2/0", "HUB_REDIS_URL: its port is not a number"),
        ("HUB_REDIS_URL", "redis://127.0.0.1:99999/0", "HUB_REDIS_URL: its port is not from 1"),
        ("HUB_REDIS_URL", "redis://:s3cret@h:0/0", "HUB_REDIS_URL: its port is not from 1 to"),
        (
            "HUB_KAFKA_BOOTSTRAP",
            "127.0.0.1:99999",
            "HUB_KAFKA_BOOTSTRAP: '127.0.0.1:99999': its port is not from 1 to 65535",
        ),
        ("HUB_KAFKA_BOOTSTRAP", "a:9092,b:0", "HUB_KAFKA_BOOTSTRAP: 'b:0': its port is not from"),
        ("HUB_KAFKA_BOOTSTRAP", "a:" + "9" * 5000, "HUB_KAFKA_BOOTSTRAP: 'a:999"),
        ("HUB_STACK_DIR", "", "HUB_STACK_DIR: empty: name a folder"),
        ("HUB_STACK_DIR", " ", "HUB_STACK_DIR: empty: name a folder"),
        ("HUB_MODEL_PATH", "", "HUB_MODEL_PATH: empty: name a file"),
        ("HUB_MODEL_PATH", " ", "HUB_MODEL_PATH: empty: name a file"),
        ("HUB_POSTGRES_PORT", "s3cret", "HUB_POSTGRES_PORT: Input should be a valid integer"),
        ("HUB_POSTGRES_PORT", "0", "HUB_POSTGRES_PORT: not a port from 1 to 65535"),
        ("HUB_POSTGRES_PORT", "65536", "HUB_POSTGRES_PORT: not a port from 1 to 65535"),
        ("HUB_METRICS_PORT", "-1", "HUB_METRICS_PORT: not a port from 1 to 65535"),
        ("HUB_METRICS_PORT", "99999", "HUB_METRICS_PORT: not a port from 1 to 65535"),
        ("HUB_KAFKA_CONTROLLER_PORT", "0", "HUB_KAFKA_CONTROLLER_PORT: not a port from 1 to"),
        ("HUB_KAFKA_CONTROLLER_PORT", "70000", "HUB_KAFKA_CONTROLLER_PORT: not a port from 1"),
        ("HUB_ADULT_SOURCES", "council_tax", "HUB_ADULT_SOURCES: 'council_tax' is not system:age"),
        ("HUB_ADULT_SOURCES", "parking:0", "HUB_ADULT_SOURCES: 'parking:0' is not system:age"),
        ("HUB_ADULT_SOURCES", "a:18,a:16", "HUB_ADULT_SOURCES: 'a' is named twice"),
        ("HUB_PUBLISH_TIMEOUT_S", "0.004", "HUB_PUBLISH_TIMEOUT_S: Input should be greater than"),
        ("HUB_PUBLISH_TIMEOUT_S", "inf", "HUB_PUBLISH_TIMEOUT_S: Input should be a finite number"),
        ("HUB_SCHEMA_REGISTRY_URL", "garbage", "HUB_SCHEMA_REGISTRY_URL: not an http(s)://host"),
        ("HUB_SCHEMA_REGISTRY_URL", "ftp://x", "HUB_SCHEMA_REGISTRY_URL: not an http(s)://host"),
        ("HUB_SCHEMA_REGISTRY_URL", "http://[::1", "HUB_SCHEMA_REGISTRY_URL: not an http(s)://"),
        ("HUB_SCHEMA_REGISTRY_URL", "http://a:8081,", "HUB_SCHEMA_REGISTRY_URL: not an http(s)"),
        (
            "HUB_SCHEMA_REGISTRY_URL",
            "https://hub:s3cret@registry:99999",
            "HUB_SCHEMA_REGISTRY_URL: its port is not from 1 to 65535",
        ),
        (
            "HUB_SCHEMA_REGISTRY_URL",
            "http://hub:s3cret@registry:x",
            "HUB_SCHEMA_REGISTRY_URL: its port is not a number",
        ),
    ],
)
def test_a_bad_setting_is_one_usage_error_naming_the_variable_not_its_value(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)  # (no .env here)
    monkeypatch.setenv(variable, value)
    with pytest.raises(UsageError) as raised:
        load_settings()
    assert str(raised.value).startswith(f"bad settings: {message}")
    assert "\n" not in str(raised.value)
    assert "s3cret" not in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8081",
        "https://hub:s3cret@registry.council.internal/",
        "http://[::1]:8081, http://10.0.0.5:8081",
        "",  # (empty: unset, the embedded schemas)
    ],
)
def test_a_schema_registry_url_is_one_or_more_http_urls(url: str) -> None:
    settings = Settings(_env_file=None, schema_registry_url=url)  # type: ignore[call-arg]
    assert settings.schema_registry_url == url


def test_an_env_file_that_is_not_utf8_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_bytes(b"HUB_LINK_THRESHOLD=\xe9\n")
    with pytest.raises(UsageError, match=r"^\.env: not UTF-8 text$"):
        load_settings()


def test_adults_only_sources_are_read_sorted_and_checked() -> None:
    from hub.link import thresholds_from

    assert parse_adult_sources(" portal:18, council_tax:18 ,,") == (
        ("council_tax", 18), ("portal", 18),
    )  # fmt: skip
    assert parse_adult_sources("") == ()
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert thresholds_from(defaults).adult_sources == (
        ("adult_social_care", 14), ("council_tax", 18), ("electoral_roll", 14),
    )  # fmt: skip
    assert thresholds_from(defaults, adult_sources=()).adult_sources == ()
    assert Thresholds(adult_sources=(("b", 16), ("a", 18))).adult_sources == (("a", 18), ("b", 16))
    with pytest.raises(ValueError, match="named once"):
        Thresholds(adult_sources=(("a", 18), ("a", 16)))
    with pytest.raises(ValueError, match="from 1 to 120"):
        Thresholds(adult_sources=(("a", 0),))


def test_thresholds_must_be_finite() -> None:
    with pytest.raises(ValueError, match="not NaN or infinite"):
        Thresholds(link=math.nan)
    with pytest.raises(ValueError, match="not NaN or infinite"):
        Thresholds(floor=-math.inf)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:s3cret@10.0.0.5:6380/1", "redis://:***@10.0.0.5:6380/1"),
        (
            "rediss://hub:s3cret@redis.council.internal:6380/0",
            "rediss://hub:***@redis.council.internal:6380/0",
        ),
    ],
)
def test_the_redis_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert Settings(_env_file=None, redis_url=url).redis_url_shown == shown  # type: ignore[call-arg]


def test_the_model_is_the_configured_one_else_the_one_hub_run_trained(tmp_path: Path) -> None:
    """`hub run` trains its model into the stack folder when HUB_MODEL_PATH names none;
    `hub state rebuild`, `hub bootstrap` and workers started by hand load that one too."""
    configured, stack = tmp_path / "council-model.json", tmp_path / "stack"
    settings = Settings(model_path=configured, stack_dir=stack)
    assert settings.model_file == configured  # neither: named as configured, for the error
    stack.mkdir()
    (stack / "model.json").write_text("{}")
    assert settings.model_file == stack / "model.json"
    configured.write_text("{}")
    assert settings.model_file == configured


def test_contacts_sources_are_read_sorted_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.link import thresholds_from

    assert parse_contact_sources(" schools, education ,,") == ("education", "schools")
    assert parse_contact_sources("") == ()
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert thresholds_from(defaults).contact_sources == ("education",)
    assert thresholds_from(defaults, contact_sources=()).contact_sources == ()
    with pytest.raises(ValueError, match="named twice"):
        parse_contact_sources("education,education")
    with pytest.raises(ValueError, match="no age here"):
        parse_contact_sources("education:18")
    with pytest.raises(ValueError, match="named once"):
        Thresholds(contact_sources=("a", "a"))
    with pytest.raises(ValueError, match="not one string"):
        Thresholds(contact_sources="education")  # type: ignore[arg-type]
    monkeypatch.setenv("HUB_CONTACT_SOURCES", "schools, education")
    assert thresholds_from(load_settings()).contact_sources == ("education", "schools")
    monkeypatch.setenv("HUB_CONTACT_SOURCES", "education:18")
    with pytest.raises(UsageError, match="HUB_CONTACT_SOURCES"):
        load_settings()
