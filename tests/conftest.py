"""Test session wiring: a real local stack (Kafka, Redis, PostgreSQL) on free ports.

The stack starts once per session, only if a test asks for it, in its own folder and on
ports nothing else uses, and stops at the end. Nothing here mocks a service.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.settings import Settings
from hub.stack.manager import Stack
from hub.stack.processes import free_port


def make_stack_settings(stack_dir: Path, **overrides: object) -> Settings:
    """Settings for a private stack on free loopback ports, ignoring the developer's .env."""
    values: dict[str, object] = {
        "stack_dir": stack_dir,
        "kafka_bootstrap": f"127.0.0.1:{free_port()}",
        "kafka_controller_port": free_port(),
        "kafka_heap_mb": 512,
        "redis_url": f"redis://127.0.0.1:{free_port()}/0",
        "postgres_port": free_port(),
        "database_url": f"sqlite:///{stack_dir / 'hub.db'}",
        "start_timeout_s": 120.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def world_readable_tempdir(prefix: str) -> Path:
    """A temporary folder the `postgres` system user can reach (pytest's own are 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def stack_settings() -> Iterator[Settings]:
    """Settings of the session's running stack: Kafka, Redis and PostgreSQL, all real."""
    folder = world_readable_tempdir("hub-test-stack-")
    settings = make_stack_settings(folder)
    stack = Stack(settings, report=lambda _line: None)
    try:
        stack.up(postgres=True)
        yield settings
    finally:
        stack.down()
        if not os.environ.get("HUB_TEST_KEEP_STACK"):
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def kafka_bootstrap(stack_settings: Settings) -> str:
    return stack_settings.kafka_bootstrap


@pytest.fixture
def redis_url(stack_settings: Settings) -> str:
    return stack_settings.redis_url


@pytest.fixture
def postgres_url(stack_settings: Settings) -> str:
    return stack_settings.postgres_url()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests (marked ``anyio``) run on asyncio, as the Faust workers do."""
    return "asyncio"


@pytest.fixture(scope="session")
def borough_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on a small simulated borough (seed 11), as `hub model train` makes it."""
    import subprocess
    import sys

    hub = str(Path(sys.executable).with_name("hub"))
    folder = tmp_path_factory.mktemp("borough-model")
    for args in (
        ["simulate", "--out", str(folder), "--residents", "400", "--seed", "11"],
        [
            "model",
            "train",
            "--input",
            str(folder / "persons.csv"),
            "--out",
            str(folder / "model.json"),
        ],
    ):
        result = subprocess.run([hub, *args], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
    return folder / "model.json"
