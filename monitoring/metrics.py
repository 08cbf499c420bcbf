"""The hub's Prometheus metrics, defined once and built from one registry.

Names start with ``hub_``; counters end in ``_total``; labels are only ever of low
cardinality (topic, source, reason, outcome, flag code), never a person or record id.
Build one :class:`HubMetrics` per process (or per test, with a fresh registry) and pass it
to what needs it; nothing registers at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# End-to-end latency buckets (seconds): from a few milliseconds to a stalled minute.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CANDIDATE_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


@dataclass(frozen=True, slots=True)
class HubMetrics:
    registry: CollectorRegistry
    events_published: Counter
    publish_failures: Counter
    events_validated: Counter
    quality_flags: Counter
    dead_letters: Counter
    cdc_changes: Counter
    # -- the streaming pipeline (hub worker) --
    events_consumed: Counter
    stale_events: Counter
    end_to_end_latency: Histogram
    match_decisions: Counter
    person_merges: Counter
    person_splits: Counter
    candidate_set_size: Histogram
    over_common_keys: Counter
    consumer_lag: Gauge
    lag_read_at: Gauge
    committed_offset: Gauge
    batch_seconds: Histogram
    redis_errors: Counter
    store_errors: Counter


def build_metrics(registry: CollectorRegistry | None = None) -> HubMetrics:
    """Every metric of the hub, registered in ``registry`` (a new one if not given; pass
    ``prometheus_client.REGISTRY`` to expose them on /metrics)."""
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
        events_consumed=Counter(
            "hub_events_consumed",
            "Messages a worker consumed, by topic and source system.",
            ["topic", "source"],
            registry=registry,
        ),
        stale_events=Counter(
            "hub_stale_events",
            "Person and relationship events ignored because the hub already holds that or a "
            "newer source version (redeliveries and duplicates), by source system.",
            ["source"],
            registry=registry,
        ),
        end_to_end_latency=Histogram(
            "hub_end_to_end_latency_seconds",
            "From the source event's publication (its Kafka timestamp) to the commit of its "
            "effect in the store.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        match_decisions=Counter(
            "hub_match_decisions",
            "Records matched, by the decision on their best candidate (link, review, "
            "no_link; no candidate is no_link).",
            ["outcome"],
            registry=registry,
        ),
        person_merges=Counter(
            "hub_person_merges",
            "Persons merged into an older person (each merged id counts once).",
            registry=registry,
        ),
        person_splits=Counter(
            "hub_person_splits",
            "Persons split into several (each split counts once).",
            registry=registry,
        ),
        candidate_set_size=Histogram(
            "hub_candidate_set_size",
            "Candidates scored for one incoming record.",
            buckets=CANDIDATE_BUCKETS,
            registry=registry,
        ),
        over_common_keys=Counter(
            "hub_over_common_keys",
            "A record's blocking keys skipped because they were over-common, by blocking rule.",
            ["rule"],
            registry=registry,
        ),
        consumer_lag=Gauge(
            "hub_consumer_lag",
            "Messages behind the end of the partition, computed by the worker itself.",
            ["topic", "partition"],
            registry=registry,
        ),
        lag_read_at=Gauge(
            "hub_consumer_lag_read_timestamp_seconds",
            "When the worker last read its partitions' end offsets from Kafka (Unix time): "
            "hub_consumer_lag is as of then.",
            registry=registry,
        ),
        committed_offset=Gauge(
            "hub_committed_offset",
            "The consumer group's committed offset per partition.",
            ["topic", "partition"],
            registry=registry,
        ),
        batch_seconds=Histogram(
            "hub_batch_seconds",
            "Time to process one batch of events, by stage.",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        redis_errors=Counter(
            "hub_redis_errors",
            "Failed operations on Redis (each is retried; the batch is not acknowledged).",
            registry=registry,
        ),
        store_errors=Counter(
            "hub_store_errors",
            "Failed writes to the SQL store (each is retried; the batch is not acknowledged).",
            registry=registry,
        ),
    )
