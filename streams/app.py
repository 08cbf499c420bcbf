"""The one Faust app: topics, the agents (one per input stage) and the worker's timers.

Each agent takes a batch of raw messages (``noack_take``: nothing is acknowledged by
Faust itself), hands it to :class:`streams.pipeline.Pipeline`, and acknowledges the batch
only after its effects are durable: committed to Redis with its outbox entry, which the
worker's drainer process (:mod:`streams.drainer`) then stores and publishes.
Infrastructure failures (Redis, the store, Kafka) are retried with backoff; if they last,
the worker crashes and restarts from the last committed offsets, and the idempotent stages
make the redelivery harmless.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import gc
import logging
import math
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, cast

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode import CrashingSupervisor
from redis.exceptions import RedisError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from hub.errors import HubError
from hub.settings import Settings
from hub.wiring import WorkerParts
from sinks.redis_state import StateConflict
from sinks.store import StoreError
from sources.publisher import PublishError
from streams.drainer import DrainProcess
from streams.lag import LagReport
from streams.pipeline import BatchReport, count_failures, failure_kind
from streams.topology import SourceTopics
from streams.validation import RawMessage

log = logging.getLogger("hub.worker")

TRANSIENT = (RedisError, StoreError, PublishError, StateConflict, OSError)
RETRY_FOR_S = 600.0  # a failing dependency is retried this long before the worker crashes
HEARTBEAT_TTL_S = 10
OUTBOX_SWEEP_S = 30.0  # how often a worker drains batches a stopped worker left undrained
SETTLE_MEMORY_S = 2.0  # how often, between batches, a worker settles its memory


class MemorySettler:
    """Every ``interval_s`` at most: collect the cyclic garbage of the objects made since
    the last time, then freeze the survivors out of the collector's sight.

    Nearly everything a worker's batch leaves alive is identity state (records, pairs,
    persons) that lives on, without reference cycles, until replaced, and is then freed by
    reference counting. Left in the collector's generations it was walked again by every
    older-generation collection: at 500 events a second a worker paused for about 0.7 s a
    minute in, at its first such collection, and for longer the longer it ran. The state
    loaded at start is frozen the same way (:meth:`sinks.redis_state.RedisState.load`).
    Called between batches. What it may keep: cyclic garbage among objects alive at that
    moment which become unreachable later (frozen objects are never collected).
    """

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self._last = clock()

    def settle(self) -> bool:
        """Settle if the interval has passed; whether it did."""
        now = self.clock()
        if now - self._last < self.interval_s:
            return False
        self._last = now
        gc.collect()  # (frozen objects are not walked: the cost is what is new)
        gc.freeze()
        return True


def heartbeat_key(prefix: str, worker_id: str) -> str:
    return f"{prefix}:workers:{worker_id}"


def raw_message(message: Any) -> RawMessage:
    timestamp = dt.datetime.fromtimestamp(message.timestamp, dt.UTC) if message.timestamp else None
    return RawMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        timestamp=timestamp,
    )


Handler = Callable[[Sequence[RawMessage]], Awaitable[BatchReport]]


class _NoTracebackForHubErrors(logging.Filter):
    """A record about a :class:`HubError` (an expected failure: a dependency gone for too
    long, the drainer stopped) goes out without its traceback; its message says what
    happened. Faust logs a crash with ``log.exception``: forty lines for one fact. So go
    the echoes of a crash already reported (``crashed()``: the worker's crash reason): the
    other agents, cancelled as the worker stops, logged as crashed too (``Crashed
    reason=CancelledError()``), and ``mode`` stopping the Kafka consumer thread on its
    loop, already closed (``Error while stopping child ...: RuntimeError('Event loop is
    closed')``). A cancellation that is the first crash keeps its traceback."""

    def __init__(self, crashed: Callable[[], BaseException | None] = lambda: None) -> None:
        super().__init__()
        self.crashed = crashed

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HubError) or (error is not None and self._echo(record, error)):
            record.exc_info = None
            record.exc_text = None
        return True

    def _echo(self, record: logging.LogRecord, error: BaseException) -> bool:
        first = self.crashed()
        if first is None or isinstance(first, asyncio.CancelledError) or first is error:
            return False
        message = str(record.msg)
        if isinstance(error, asyncio.CancelledError):
            return "Crashed reason=" in message
        return (
            isinstance(error, RuntimeError)
            and str(error) == "Event loop is closed"
            and "Error while stopping child" in message
        )


class _OncePerInterval(logging.Filter):
    """The Kafka client's repeated records, one per message per ``interval_s``: while the
    broker is away aiokafka logs every failed reconnect, about 100 lines a second per
    worker. The next line let through says how many like it were held back."""

    def __init__(self, interval_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}  # -> (let through, held)

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("aiokafka"):
            return True
        key, now = (record.name, str(record.msg)), self.clock()
        shown, held = self._seen.get(key, (-math.inf, 0))
        if now - shown < self.interval_s:
            self._seen[key] = (shown, held + 1)
            return False
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it since the last)"
        return True


class _CoordinatorNotReadyYet(logging.Filter):
    """aiokafka logs an ERROR each time it asks for the consumer group's coordinator and
    the broker has none yet. On a new cluster that is every worker's first start: the
    broker makes its offsets topic on the first such request, and the retry a moment later
    succeeds. Within ``grace_s`` of the worker's start that record is a WARNING saying so;
    later (a coordinator that stays away) it stays an ERROR."""

    def __init__(self, grace_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.clock = clock
        self.until = clock() + grace_s

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno == logging.ERROR
            and record.name.startswith("aiokafka")
            and str(record.msg).startswith("Group Coordinator Request failed")
            and "GroupCoordinatorNotAvailable" in record.getMessage()
            and self.clock() < self.until
        ):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = (
                "Kafka has no coordinator for the worker's consumer group yet (%s): normal "
                "at a new cluster's first start, while it makes its offsets topic; retrying"
            )
        return True


class FaustWorker(faust.Worker):
    """Faust's worker without its terminal spinner. To spin the spinner on every log record,
    Faust sets the root logger to DEBUG (faust.worker ``_setup_spinner_handler``) and keeps
    it there after start-up: every library's debug record is then made and thrown away
    (aiokafka's fetcher makes one per partition per fetch: about 8% of a worker's time at
    500 events a second, by py-spy). Without the spinner the root logger keeps the level
    asked for. Its handlers log a :class:`HubError` without the traceback, a new cluster's
    missing group coordinator as the warning it is, and the Kafka client's repeated lines
    once per interval."""

    @property
    def crash_reason(self) -> BaseException | None:
        return self._crash_reason

    @crash_reason.setter
    def crash_reason(self, reason: BaseException | None) -> None:
        # The first crash is the reason the worker stops. The agents cancelled as it stops
        # are marked crashed too, and the last of them would otherwise be re-raised: a
        # CancelledError, which the command line cannot name (its traceback went out).
        current = self._crash_reason
        if (
            reason is None
            or current is None
            or (
                isinstance(current, asyncio.CancelledError)
                and not isinstance(reason, asyncio.CancelledError)
            )
        ):
            self._crash_reason = reason

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None
        for handler in logger.handlers:
            handler.addFilter(_NoTracebackForHubErrors(lambda: self.crash_reason))
            handler.addFilter(_CoordinatorNotReadyYet())
            handler.addFilter(_OncePerInterval())


FETCH_MIN_BYTES = 1 << 20  # more than a fetch wait's worth of events at our rates


class _WaitingConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's Kafka consumer thread, its consumer asking the broker to hold a fetch until
    a megabyte of events is there or the app's ``fetch_wait_ms`` has passed. Faust leaves
    aiokafka's ``fetch_min_bytes`` at 1: a fetch comes back as soon as one event is there,
    and the next goes straight out, each listing every partition of every source topic.
    At 500 events a second the consumer thread spent about 9 s of CPU on 15,000 events
    that way, against under 1 s for 20,000 flat out, when fetches come back full (py-spy,
    ``hub bench pipeline --profile``)."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # (both are read when the consumer starts and makes its fetcher)
        consumer._fetch_min_bytes = FETCH_MIN_BYTES
        consumer._fetch_max_wait_ms = cast(_App, self.app).fetch_wait_ms
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _WaitingConsumerThread:
        return _WaitingConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class _App(faust.App):
    """The Faust app, its consumer fetching as :class:`_WaitingConsumerThread` says."""

    def __init__(self, *args: Any, fetch_wait_s: float, **kwargs: Any) -> None:
        self.fetch_wait_ms = max(1, round(fetch_wait_s * 1000))
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)


class Worker:
    """One worker process: the Faust app plus the parts its agents call."""

    def __init__(self, settings: Settings, parts: WorkerParts, topics: SourceTopics) -> None:
        self.settings = settings
        self.parts = parts
        self.topics = topics
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}"
        self._ready: asyncio.Task[None] | None = None
        self._memory = MemorySettler(SETTLE_MEMORY_S)
        self.app = self._build_app()
        self._lag = LagReport(lambda: self.app.consumer, parts.metrics)

    async def ready(self) -> None:
        """Load the identity state and drain what a stopped worker left, once."""
        if self._ready is None:
            self._ready = asyncio.ensure_future(self._start())
        await self._ready

    async def _start(self) -> None:
        began = time.monotonic()
        await asyncio.to_thread(self.parts.store.upgrade)
        # (a large index takes a while: say so, or a restarted worker looks hung)
        log.warning("worker %s loading the identity state from Redis", self.worker_id)
        await self._retrying(self._load_state)
        drained = await self._retrying(self.parts.pipeline.drain.recover)
        if self.settings.worker_drain_process:
            drainer = DrainProcess(self.settings, self.parts.metrics)
            drainer.start()
            self.parts.pipeline.drainer = drainer
        replica = self.parts.pipeline.identity.replica
        log.warning(
            "worker %s ready in %.0f s: identity state version %d, %d persons; %d batches "
            "recovered", self.worker_id, time.monotonic() - began, replica.version,
            len(replica.partition()), drained,
        )  # fmt: skip

    async def _load_state(self) -> None:
        # (the store first: what it holds, the state in Redis must hold too)
        stored = await asyncio.to_thread(self.parts.store.newest_state_version)
        await self.parts.pipeline.identity.start(stored)

    async def _retrying(self, call: Callable[[], Awaitable[Any]]) -> Any:
        def failed(state: RetryCallState) -> None:
            # (here, before the wait: inside the next attempt tenacity has cleared it)
            self._count_failure(state.outcome.exception() if state.outcome else None, "retrying")

        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(TRANSIENT),
            wait=wait_exponential(multiplier=0.2, max=10),
            stop=stop_after_delay(RETRY_FOR_S),
            before_sleep=failed,
            reraise=True,
        ):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    # A failed attempt may have committed a batch it did not drain.
                    await self.parts.pipeline.drain.recover()
                return await call()
        raise AssertionError("unreachable")  # pragma: no cover

    def _count_failure(self, error: BaseException | None, then: str) -> None:
        kind = failure_kind(error)
        if kind is not None:
            count_failures(self.parts.metrics, {kind: 1})
        log.warning("%s after %s", then, type(error).__name__)

    async def _run(self, stream: Any, handle: Handler) -> AsyncIterator[BatchReport]:
        size, wait = self.settings.worker_batch_size, self.settings.worker_batch_wait_s
        async for events in stream.noack_take(size, within=wait):
            await self.ready()
            messages = [raw_message(event.message) for event in events]
            report = await self._retrying(functools.partial(handle, messages))
            for event in events:
                await stream.ack(event)
            self._memory.settle()
            yield report

    def _build_app(self) -> Any:
        settings = self.settings
        datadir = settings.stack_dir / "faust" / settings.consumer_group  # not the cwd
        datadir.mkdir(parents=True, exist_ok=True)
        app: Any = _App(
            settings.consumer_group,
            fetch_wait_s=settings.worker_fetch_wait_s,
            broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap.split(",")],
            store="memory://",
            datadir=str(datadir),
            web_enabled=False,
            processing_guarantee="at_least_once",
            consumer_auto_offset_reset="earliest",
            consumer_metadata_max_age_ms=5000,  # new source topics are picked up quickly
            broker_commit_interval=1.0,
            stream_buffer_maxsize=4 * settings.worker_batch_size,
        )
        pipeline = self.parts.pipeline

        def source(names: tuple[str, ...]) -> Any:
            return app.topic(*names, key_serializer="raw", value_serializer="raw")

        @app.agent(source(self.topics.persons), supervisor_strategy=CrashingSupervisor)  # type: ignore[untyped-decorator]
        async def persons(stream: Any) -> AsyncIterator[BatchReport]:
            async for report in self._run(stream, pipeline.persons):
                yield report

        @app.agent(source(self.topics.relationships), supervisor_strategy=CrashingSupervisor)  # type: ignore[untyped-decorator]
        async def relationships(stream: Any) -> AsyncIterator[BatchReport]:
            async for report in self._run(stream, pipeline.relationships):
                yield report

        @app.agent(source(self.topics.judgements), supervisor_strategy=CrashingSupervisor)  # type: ignore[untyped-decorator]
        async def judgements(stream: Any) -> AsyncIterator[BatchReport]:
            async for report in self._run(stream, pipeline.judgements):
                yield report

        @app.agent(source(self.topics.indicators), supervisor_strategy=CrashingSupervisor)  # type: ignore[untyped-decorator]
        async def indicators(stream: Any) -> AsyncIterator[BatchReport]:
            async for report in self._run(stream, pipeline.indicators):
                yield report

        @app.task  # type: ignore[untyped-decorator]
        async def start() -> None:
            await self.ready()

        @app.on_before_shutdown.connect  # type: ignore[untyped-decorator]
        async def stop_drainer(app: Any, **kwargs: Any) -> None:
            if pipeline.drainer is not None:
                await pipeline.drainer.stop()

        @app.timer(interval=2.0)  # type: ignore[untyped-decorator]
        async def heartbeat() -> None:
            key = heartbeat_key(settings.redis_prefix, self.worker_id)
            try:
                await self.parts.redis_state.client.set(key, "1", ex=HEARTBEAT_TTL_S)
            except RedisError:
                self.parts.metrics.redis_errors.inc()

        @app.timer(interval=5.0)  # type: ignore[untyped-decorator]
        async def lag() -> None:
            await self._lag.report()

        @app.timer(interval=OUTBOX_SWEEP_S)  # type: ignore[untyped-decorator]
        async def sweep_outbox() -> None:
            await self._sweep_outbox()

        return app

    async def _sweep_outbox(self) -> None:
        if self._ready is None or not self._ready.done():
            return  # (starting drains everything pending)
        try:
            swept = await self.parts.pipeline.drain.sweep()
        except TRANSIENT as error:
            self._count_failure(error, "the outbox sweep failed, the next one tries again")
            return
        if swept:
            log.warning(
                "drained %d batches left in the outbox for over %.0f s (a worker stopped, or "
                "its drainer is held up)", swept, OUTBOX_SWEEP_S,
            )  # fmt: skip
