"""The Kafka node's generated configuration and identity; `hub stack logs` without a stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
