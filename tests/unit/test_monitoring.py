"""Metrics follow the naming rules, and the alerts and dashboard only use metrics that exist."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import Counter, Histogram

from monitoring.metrics import build_metrics

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# Labels are of low cardinality only: never a person, record or household id.
ALLOWED_LABELS = {
    "topic",
    "partition",
    "source",
    "reason",
    "outcome",
    "flag",
    "change",
    "stage",
    "rule",
}


def collectors() -> list[Any]:
    metrics = build_metrics()
    return [getattr(metrics, f.name) for f in fields(metrics) if f.name != "registry"]


def exposed_names() -> set[str]:
    """Every series name the metrics expose (counters as *_total, histograms' parts)."""
    names = set()
    for collector in collectors():
        name = collector._name
        if isinstance(collector, Counter):
            names.add(f"{name}_total")
        elif isinstance(collector, Histogram):
            names.update(f"{name}{part}" for part in ("_bucket", "_sum", "_count"))
        else:
            names.add(name)
    return names


def test_names_units_and_labels() -> None:
    for collector in collectors():
        name = collector._name
        assert name.startswith("hub_"), name
        assert set(collector._labelnames) <= ALLOWED_LABELS, name
        assert not re.search(r"_(ms|milliseconds|minutes)$", name), name  # seconds only
        if isinstance(collector, Histogram) and "latency" in name:
            assert name.endswith("_seconds"), name


def promql_metrics(expression: str) -> set[str]:
    return set(re.findall(r"\b(hub_[a-z_]+)", expression))


def test_alert_rules_use_existing_metrics() -> None:
    rules = yaml.safe_load((ROOT / "monitoring" / "alerts.yml").read_text())
    names = exposed_names()
    alerts = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    assert {"HubConsumerLagGrowing", "HubDeadLetters", "HubWorkerStalled"} <= set(alerts)
    for rule in alerts.values():
        used = promql_metrics(rule["expr"])
        assert used <= names, (rule["alert"], used - names)
    assert "hub_committed_offset" in alerts["HubWorkerStalled"]["expr"]
    assert "hub_consumer_lag" in alerts["HubWorkerStalled"]["expr"]


def test_dashboard_uses_existing_metrics() -> None:
    dashboard = json.loads(
        (ROOT / "monitoring" / "grafana" / "dashboards" / "residents-hub.json").read_text()
    )
    names = exposed_names()
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert expressions
    for expression in expressions:
        used = promql_metrics(expression)
        assert used and used <= names, (expression, used - names)
