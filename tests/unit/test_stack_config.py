"""The Kafka node's generated configuration and identity; `hub stack logs` without a stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.errors import StackError
from hub.settings import Settings
from hub.stack.services import Kafka

pytestmark = pytest.mark.unit


def kafka(tmp_path: Path) -> Kafka:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, stack_dir=tmp_path, kafka_bootstrap="127.0.0.1:19092",
        kafka_controller_port=19093,
    )  # fmt: skip
    return Kafka(settings)


def test_cluster_id_is_never_read_as_a_command_line_option(tmp_path: Path) -> None:
    node = kafka(tmp_path)
    node.folder.mkdir(parents=True)
    ids = set()
    for _ in range(400):  # a base64url id starts with "-" one time in 64
        (node.folder / "cluster-id").unlink(missing_ok=True)
        ids.add(node._cluster_id())
    assert len(ids) == 400
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_single_node_kraft_settings(tmp_path: Path) -> None:
    properties = dict(
        line.split("=", 1)
        for line in kafka(tmp_path)._server_properties().splitlines()
        if line and not line.startswith("#")
    )
    assert properties["process.roles"] == "broker,controller"
    assert properties["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert properties["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert properties["offsets.topic.replication.factor"] == "1"
    assert properties["group.initial.rebalance.delay.ms"] == "0"


def test_stack_logs_without_a_stack_says_where_it_looked(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_STACK_DIR"] = str(tmp_path / "stack")
    hub = Path(sys.executable).with_name("hub")
    result = subprocess.run([str(hub), "stack", "logs"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0 and result.stdout == ""
    assert f"no logs in {tmp_path / 'stack' / 'logs'}" in result.stderr


@pytest.mark.parametrize("service", ["kafak", ""])
def test_stack_logs_of_a_service_it_does_not_know_is_a_usage_error(
    tmp_path: Path, service: str
) -> None:
    # (it exited 1, as for a failure; an empty name showed every service's logs)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_STACK_DIR"] = str(tmp_path / "stack")
    hub = Path(sys.executable).with_name("hub")
    result = subprocess.run([str(hub), "stack", "logs", service], env=env, cwd=tmp_path,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: unknown service {service!r}: choose from kafka, redis, postgres\n"
    )


TRACE = """Exception in thread "main" java.lang.RuntimeException: could not write the bootstrap
\tat org.apache.kafka.metadata.storage.Formatter.run(Formatter.java:1)
Caused by: java.io.IOException: No space left on device
\tat java.base/sun.nio.ch.FileDispatcherImpl.write0(Native Method)
\t... 8 more
"""


ARGUMENTS = """net.sourceforge.argparse4j.inf.ArgumentParserException: unrecognized arguments: -x
\tat net.sourceforge.argparse4j.internal.ArgumentParserImpl.parseArgs(ArgumentParserImpl.java:1)
"""
CONFIG = """[2026-11-28 01:00:00,000] INFO KafkaConfig values: (kafka.server.KafkaConfig)
Exception in thread "main" org.apache.kafka.common.config.ConfigException: Missing node.id
\tat org.apache.kafka.common.config.ConfigDef.parseValue(ConfigDef.java:1)
"""


def fake_java(tmp_path: Path, *outputs: tuple[int, str, str]) -> str:
    """A `java` that prints the next of ``outputs`` (its code, stdout, stderr) and exits."""
    calls = tmp_path / "calls"
    script = tmp_path / "java"
    lines = [f"n=$(cat {calls} 2>/dev/null || echo 0); echo $((n + 1)) > {calls}"]
    for index, (code, out, err) in enumerate(outputs):
        lines.append(
            f"if [ $n = {index} ]; then printf '%s' '{out}'; printf '%s' '{err}' >&2; "
            f"exit {code}; fi"
        )
    script.write_text("#!/bin/sh\n" + "\n".join(lines) + "\nexit 9\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(
    ("outputs", "tries", "message"),
    [
        ([(1, "", TRACE), (0, "Formatting metadata directory", "")], 2, None),
        ([(1, "", TRACE), (1, "", TRACE)], 2, "java.io.IOException: No space left on device"),
        ([(1, "", "Log directory /x is not writable.\n")], 1, "Log directory /x is not writable."),
        ([(1, "", "at least one directory is needed\n")], 1, "at least one directory is needed"),
        # (an option it cannot read: the trace on stdout; a configuration it refuses)
        ([(1, ARGUMENTS, "")], 1, ARGUMENTS.splitlines()[0]),
        ([(1, "", CONFIG)], 1, CONFIG.splitlines()[1].removeprefix('Exception in thread "main" ')),
    ],
)
def test_storage_format_retries_only_a_crash_and_names_its_root_cause(
    tmp_path: Path, outputs: list[tuple[int, str, str]], tries: int, message: str | None
) -> None:
    node = kafka(tmp_path)
    node.folder.mkdir(parents=True)
    java, log = fake_java(tmp_path, *outputs), tmp_path / "format.log"
    if message is None:
        node._format(java, "jars", tmp_path / "server.properties", log)
    else:
        with pytest.raises(StackError) as raised:
            node._format(java, "jars", tmp_path / "server.properties", log)
        assert str(raised.value) == f"Kafka storage could not be formatted: {message} (log {log})"
    assert (tmp_path / "calls").read_text().strip() == str(tries)
    assert log.read_text().count("--- attempt") == tries
