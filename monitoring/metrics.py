"""The hub's Prometheus metrics, defined once and built from one registry.

Names start with ``hub_``; counters end in ``_total``; labels are only ever of low
cardinality (topic, source, reason, outcome, flag code), never a person or record id.
Build one :class:`HubMetrics` per process (or per test, with a fresh registry) and pass it
to what needs it; nothing registers at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter


@dataclass(frozen=True, slots=True)
class HubMetrics:
    registry: CollectorRegistry
    events_published: Counter
    publish_failures: Counter
    events_validated: Counter
    quality_flags: Counter
    dead_letters: Counter
    cdc_changes: Counter


def build_metrics(registry: CollectorRegistry | None = None) -> HubMetrics:
    """Every metric of the source and ingest side, registered in ``registry`` (a new one
    if not given; pass ``prometheus_client.REGISTRY`` to expose them on /metrics)."""
    registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
    return HubMetrics(
        registry=registry,
        events_published=Counter(
            "hub_events_published",
            "Events acknowledged by Kafka after a hub publisher sent them.",
            ["topic"],
            registry=registry,
        ),
        publish_failures=Counter(
            "hub_publish_failures",
            "Events a hub publisher sent that Kafka did not acknowledge.",
            ["topic"],
            registry=registry,
        ),
        events_validated=Counter(
            "hub_events_validated",
            "Messages validated at ingest, by outcome (accepted or dead_lettered).",
            ["topic", "outcome"],
            registry=registry,
        ),
        quality_flags=Counter(
            "hub_quality_flags",
            "Values dropped at ingest with a data-quality flag (the person is kept).",
            ["topic", "flag"],
            registry=registry,
        ),
        dead_letters=Counter(
            "hub_dead_letters",
            "Messages written to a dead-letter topic, by source topic and reason.",
            ["topic", "reason"],
            registry=registry,
        ),
        cdc_changes=Counter(
            "hub_cdc_changes",
            "Changes found by snapshot-diff CDC and acknowledged by Kafka.",
            ["source", "change"],
            registry=registry,
        ),
    )
