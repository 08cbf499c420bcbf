"""The one place settings become adapters: the matching core, Redis, the store, Kafka."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hub.errors import UsageError
from hub.link import Matcher, load_matcher, survivorship_from, thresholds_from
from hub.settings import Settings
from matchers.identity_state import IdAllocator, IdentityState
from matchers.resolver import Resolver

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from monitoring.metrics import HubMetrics
    from schemas.codec import Codec
    from sinks.redis_state import RedisState
    from sinks.store import Store
    from sources.publisher import Publisher
    from streams.identity import ResolverFactory
    from streams.pipeline import Explanations, Pipeline


def _matcher(settings: Settings, model_path: Path | None = None) -> Matcher:
    path = model_path or settings.model_file
    if not path.is_file():
        raise UsageError(f"no model at {path}: train one (hub model train) and set HUB_MODEL_PATH")
    return load_matcher(path)


def resolver_factory(settings: Settings, model_path: Path | None = None) -> ResolverFactory:
    """Builds the matching core over a given state, with the model from HUB_MODEL_PATH.
    Its review items carry no explanation: the drain adds it (:func:`explanations`)."""
    return resolving(settings, _matcher(settings, model_path))


def resolving(settings: Settings, matcher: Matcher) -> ResolverFactory:
    """:func:`resolver_factory` with a model already loaded."""
    thresholds = thresholds_from(settings, matcher.block_cap)
    survivorship = survivorship_from(settings)

    def make(state: IdentityState, ids: IdAllocator) -> Resolver:
        return Resolver(
            state,
            ids,
            standardise=matcher.standardise,
            rules=matcher.rules,
            scorer=matcher.scorer,
            thresholds=thresholds,
            survivorship=survivorship,
        )

    return make


def explanations(settings: Settings, model_path: Path | None = None) -> Explanations | None:
    """What adds review items' explanations as batches are drained (same model)."""
    return explaining(_matcher(settings, model_path))


def explaining(matcher: Matcher) -> Explanations | None:
    from streams.pipeline import Explanations

    if matcher.explain is None:
        return None
    return Explanations(matcher.explain, matcher.scorer.version)


def require_redis(settings: Settings) -> None:
    """One clear line, not a traceback, when the stack's Redis does not answer."""
    import redis

    from hub.errors import ServiceNotRunning

    try:
        redis.Redis.from_url(settings.redis_url, socket_timeout=5).ping()
    except redis.RedisError:
        raise ServiceNotRunning(
            f"Redis at {settings.redis_url_shown} does not answer (is the stack up? hub stack up)"
        ) from None


def require_current_layout(settings: Settings) -> None:
    """One clear line, before a worker starts, when Redis holds an older state layout."""
    import redis

    from sinks.redis_state import OlderStateLayout, older_layout_key

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    try:
        if client.exists(older_layout_key(settings.redis_prefix)):
            raise OlderStateLayout()
    finally:
        client.close()


def redis_client(settings: Settings) -> aioredis.Redis:
    import redis.asyncio as aioredis

    return aioredis.Redis.from_url(settings.redis_url, socket_timeout=30, health_check_interval=10)


def redis_state(settings: Settings) -> RedisState:
    from sinks.redis_state import RedisState

    return RedisState(redis_client(settings), prefix=settings.redis_prefix)


def store(settings: Settings) -> Store:
    from sinks.store import Store

    return Store(settings.database_url)


@dataclass
class WorkerParts:
    pipeline: Pipeline
    store: Store
    redis_state: RedisState
    publisher: Publisher
    codec: Codec
    metrics: HubMetrics


def worker_parts(settings: Settings, metrics: HubMetrics) -> WorkerParts:
    """Everything a worker's stages need; nothing here connects until first used."""
    from schemas.codec import make_codec
    from sources.publisher import Publisher
    from streams.dead_letters import DeadLetterWriter
    from streams.identity import IdentityWorker
    from streams.pipeline import Drain, Pipeline

    codec = make_codec(settings)
    state = redis_state(settings)
    the_store = store(settings)
    publisher = Publisher(
        settings.kafka_bootstrap,
        codec,
        timeout_s=settings.publish_timeout_s,
        metrics=metrics,
        client_id="hub-worker",
    )
    matcher = _matcher(settings)  # (loaded once: for resolving and for the drain's explaining)
    identity = IdentityWorker(state, resolving(settings, matcher))
    pipeline = Pipeline(
        identity,
        Drain(state, the_store, publisher, explanations=explaining(matcher)),
        DeadLetterWriter(publisher, metrics),
        metrics,
    )
    return WorkerParts(pipeline, the_store, state, publisher, codec, metrics)
