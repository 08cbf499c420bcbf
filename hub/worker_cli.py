"""`hub worker`: one worker of the streaming pipeline; several form one consumer group."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Annotated

import typer

from hub.console import say
from hub.errors import HubError, ServiceNotRunning, UsageError
from hub.settings import is_port, load_settings

LOG_LEVELS = ("debug", "info", "warn", "warning", "error", "critical")


def worker_command(
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", help="port of /metrics (default: settings)")
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="warn, info or debug")] = "warn",
) -> None:
    """Run one worker: validate, match, cluster, household, store and publish, until stopped."""
    from prometheus_client import CollectorRegistry, start_http_server

    from hub.wiring import require_current_layout, require_redis, worker_parts
    from monitoring.metrics import build_metrics
    from streams.app import FaustWorker, Worker
    from streams.topology import ensure_topics

    # A 500-event batch keeps well over 100,000 new objects alive until it ends (the
    # outbox, store rows, hub.* events): with Python's default thresholds (700, 10, 10)
    # the cyclic collector runs hundreds of times a batch, walking the same young objects
    # again and again. Rarer collections change no result; the state itself is frozen
    # out of the collector's sight when it is loaded (sinks.redis_state), and what the
    # worker adds to it, between batches (streams.app.MemorySettler).
    gc.set_threshold(50_000, 20, 100)
    if log_level.lower() not in LOG_LEVELS:
        raise UsageError(f"--log-level {log_level!r} is not one of {', '.join(LOG_LEVELS)}")
    if metrics_port is not None and not is_port(metrics_port):
        raise UsageError(f"--metrics-port {metrics_port} is not a port (1-65535)")
    settings = load_settings()
    if metrics_port is not None:
        settings = settings.model_copy(update={"metrics_port": metrics_port})
    require_redis(settings)
    require_current_layout(settings)
    registry = CollectorRegistry(auto_describe=True)
    metrics = build_metrics(registry)
    parts = worker_parts(settings, metrics)
    topics = ensure_topics(settings)
    parts.store.upgrade()
    try:
        start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=registry)
    except OSError:
        raise ServiceNotRunning(
            f"port {settings.metrics_port} for /metrics is in use (give this worker its own: "
            "--metrics-port or HUB_METRICS_PORT)"
        ) from None
    worker = Worker(settings, parts, topics)
    say(
        f"worker {worker.worker_id}: Kafka {settings.kafka_bootstrap}, "
        f"Redis {settings.redis_url_shown}, "
        f"store {parts.store.safe_url}, metrics http://{settings.metrics_host}:{settings.metrics_port}/metrics"
    )
    logging.getLogger("faust").setLevel(log_level.upper())
    try:
        FaustWorker(worker.app, loglevel=log_level, quiet=True).execute_from_commandline()
    except asyncio.CancelledError:  # (a crash whose only reason is a cancellation)
        raise HubError("the worker stopped: a task was cancelled (its log says which)") from None
    finally:
        if worker.parts.pipeline.drainer is not None:
            worker.parts.pipeline.drainer.abandon()
