"""Which topics a worker consumes, and making sure they exist before it subscribes.

Faust cannot subscribe by pattern (its aiokafka driver ignores patterns), so a worker
subscribes to an explicit list: the reference source systems and partner datasets, those
named in the settings, and every matching topic that already exists.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from hub.errors import ServiceNotRunning
from hub.settings import Settings
from schemas import topics

_quiet = logging.getLogger("hub.topology.kafka")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False

PERSONS = re.compile(r"^src\.[a-z][a-z0-9_]*\.persons$")
RELATIONSHIPS = re.compile(r"^src\.[a-z][a-z0-9_]*\.relationships$")
INDICATORS = re.compile(r"^partner\.[a-z][a-z0-9_]*$")
OUTPUTS = (
    topics.HUB_PERSONS,
    topics.HUB_PERSON_MERGES,
    topics.HUB_PERSON_SPLITS,
    topics.HUB_PERSON_REMOVALS,
    topics.HUB_HOUSEHOLDS,
    topics.HUB_MATCH_DECISIONS,
    topics.HUB_REVIEW_ITEMS,
)


@dataclass(frozen=True)
class SourceTopics:
    persons: tuple[str, ...]
    relationships: tuple[str, ...]
    indicators: tuple[str, ...]
    judgements: tuple[str, ...] = (topics.HUB_JUDGEMENTS,)  # people's, of review items

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.persons + self.relationships + self.indicators + self.judgements


def _names(extra: str) -> list[str]:
    return [name.strip() for name in extra.split(",") if name.strip()]


def wanted_topics(settings: Settings, existing: set[str]) -> SourceTopics:
    systems = {*topics.SOURCE_SYSTEMS, *_names(settings.source_systems)}
    datasets = {*topics.PARTNER_DATASETS, *_names(settings.partner_datasets)}
    persons = {topics.source_persons(s) for s in systems} | {
        t for t in existing if PERSONS.match(t)
    }
    relationships = {topics.source_relationships(s) for s in systems} | {
        t for t in existing if RELATIONSHIPS.match(t)
    }
    indicators = {topics.partner(d) for d in datasets} | {
        t for t in existing if INDICATORS.match(t)
    }
    return SourceTopics(
        tuple(sorted(persons)), tuple(sorted(relationships)), tuple(sorted(indicators))
    )


def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> SourceTopics:
    """Create the topics the hub reads and writes that are missing; return what to consume."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    config: dict[str, Any] = {"bootstrap.servers": settings.kafka_bootstrap, "logger": _quiet}
    admin = AdminClient(config)
    try:
        existing = set(admin.list_topics(timeout=timeout_s).topics)
    except KafkaException:
        raise ServiceNotRunning(
            f"Kafka at {settings.kafka_bootstrap} does not answer (is the stack up? hub stack up)"
        ) from None
    wanted = wanted_topics(settings, existing)
    everything = [*wanted.inputs, *OUTPUTS]
    everything += [topics.dead_letter(t) for t in wanted.inputs]
    missing = [t for t in everything if t not in existing]
    if missing:
        futures = admin.create_topics(
            [NewTopic(t, num_partitions=settings.topic_partitions) for t in missing],
            operation_timeout=timeout_s,
        )
        for name, future in futures.items():
            try:
                future.result(timeout_s)
            except KafkaException as error:
                if "TOPIC_ALREADY_EXISTS" not in str(error):
                    raise ServiceNotRunning(
                        f"Kafka could not create topic {name}: {error}"
                    ) from None
    return wanted
