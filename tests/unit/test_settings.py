"""Settings: typed, read from HUB_* variables, every one documented in .env.example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.settings import Settings

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
