"""A worker's drain in a process of its own, beside the worker.

Resolving a batch (matching, clustering, the Redis commit) and draining the batch before
it (its store rows and ``hub.*`` events, built from the outbox entry the commit parked in
Redis) are both Python work, and one process runs Python on one core at a time. The
worker hands each committed batch's version to its drainer over a pipe and goes on with
the next batch while the drainer, on the other core, stores and publishes the one before.

Nothing is lost by this: the outbox entry is durable in Redis from the commit, so a batch
is acknowledged once committed, and an entry the drainer never finished (the worker or
the drainer killed) is drained when a worker starts, or by a running worker's sweep
(:meth:`streams.pipeline.Drain.sweep`). The drainer drains in the order the worker
committed. If it stops unexpectedly, the worker's next hand-over fails and the worker
stops too, so that it is restarted whole rather than run without a drain.

What the drainer measures (store and publish time, events published, the moment each
batch's rows were committed) comes back over the pipe and is counted in the worker's own
metrics: one ``/metrics`` endpoint per worker, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from hub.errors import HubError
from hub.settings import Settings
from monitoring.metrics import HubMetrics
from streams.pipeline import Drain, Drained, count_failures, failure_kind

log = logging.getLogger("hub.drainer")

IN_FLIGHT = 2  # committed batches handed over and not yet drained, before the worker waits


class DrainerStopped(HubError):
    """The worker's drainer process is gone."""


class DrainProcess:
    """The worker's side: start the drainer, hand it batches, hear what it did."""

    def __init__(self, settings: Settings, metrics: HubMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self._process: Any = None
        self._conn: Connection | None = None
        self._handed: dict[int, Sequence[dt.datetime]] = {}  # version -> its events' times
        self._room = asyncio.Semaphore(IN_FLIGHT)
        self._changed = asyncio.Event()
        self._failed: str | None = None

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")  # a fork would copy the worker's threads
        parent, child = context.Pipe()
        self._process = context.Process(
            target=run_drainer, args=(self.settings, child), name="hub-drainer", daemon=True
        )
        self._process.start()
        child.close()
        self._conn = parent
        asyncio.get_running_loop().add_reader(parent.fileno(), self._hear)

    @property
    def pid(self) -> int:
        return int(self._process.pid)

    async def hand_over(self, version: int, sent_at: Sequence[dt.datetime]) -> None:
        """Give the drainer a committed batch; waits only while IN_FLIGHT are undrained."""
        await self._room.acquire()
        self._check()
        self._handed[version] = sent_at
        assert self._conn is not None
        try:
            self._conn.send(version)
        except OSError:
            self._lost()
            self._check()

    async def idle(self) -> None:
        """Wait until every batch handed over is drained."""
        while self._handed and self._failed is None:
            self._changed.clear()
            await self._changed.wait()
        self._check()

    async def stop(self, timeout_s: float = 60.0) -> None:
        """Let the drainer finish what it was given, then end it."""
        conn, process = self._conn, self._process
        if conn is None:
            return
        self._conn = None
        asyncio.get_running_loop().remove_reader(conn.fileno())
        if self._failed is None:
            with contextlib.suppress(OSError):
                conn.send(None)
        await asyncio.to_thread(process.join, timeout_s)
        if process.is_alive():
            process.kill()
            await asyncio.to_thread(process.join, 10)
        self._read(conn)
        conn.close()
        if self._handed:
            log.warning(
                "stopped with %d batches committed but not stored (the store or Kafka did not "
                "answer): they wait in the identity state's outbox, and the next worker to "
                "start, or hub state rebuild, stores them", len(self._handed),
            )  # fmt: skip

    def abandon(self, timeout_s: float = 30.0) -> None:
        """End the drainer without the worker's event loop, gone after a crash (a no-op
        after :meth:`stop`). It ignores SIGTERM and ends when our end of the pipe closes,
        once its batch in hand is drained; left running, it would hold the worker's exit
        for ever (multiprocessing joins its children at exit)."""
        conn, process = self._conn, self._process
        self._conn = None
        if conn is not None:
            conn.close()
        if process is not None and process.is_alive():
            try:
                process.join(timeout_s)
            finally:  # (even when interrupted: exit would wait for it unbounded)
                if process.is_alive():
                    process.kill()
                    process.join(10)

    def _hear(self) -> None:
        if self._conn is not None:
            self._read(self._conn)

    def _read(self, conn: Connection) -> None:
        """Take the drainer's answers waiting in the pipe; its end closing means it has
        stopped (unexpectedly, unless we are stopping it)."""
        try:
            while conn.poll():
                message = conn.recv()
                if isinstance(message, Drained):
                    self._done(message)
                else:  # a failure it is retrying, counted as it happens
                    count_failures(self.metrics, message)
        except (EOFError, OSError):
            if self._conn is conn:
                self._conn = None
                asyncio.get_running_loop().remove_reader(conn.fileno())
                self._lost()

    def _done(self, drained: Drained) -> None:
        for topic, count in drained.published.items():
            self.metrics.events_published.labels(topic=topic).inc(count)
        for topic, count in drained.publish_failed.items():
            self.metrics.publish_failures.labels(topic=topic).inc(count)
        sent_at = self._handed.pop(drained.version, None)
        if sent_at is None:
            return
        drained.count(self.metrics, sent_at)
        self._room.release()
        self._changed.set()

    def _lost(self) -> None:
        """Its pipe closed: it has ended, or is ending (its status follows shortly)."""
        self._process.join(2)
        self._gone(_ended(self._process.exitcode))

    def _gone(self, why: str) -> None:
        if self._failed is None:
            self._failed = f"the drainer process stopped: {why}"
            log.error("%s", self._failed)
        for _ in self._handed:  # (their outbox entries wait in Redis for a sweep or a start)
            self._room.release()
        self._handed.clear()
        self._changed.set()

    def _check(self) -> None:
        if self._failed is not None:
            raise DrainerStopped(self._failed)


# -- the drainer process -------------------------------------------------------------------
def run_drainer(settings: Settings, conn: Connection) -> None:
    """The drainer's main: drain each version the worker hands over, in order, until the
    worker says stop or goes away (the pipe closes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when the drain ends
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    gc.set_threshold(50_000, 20, 100)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s drainer %(message)s")
    try:
        asyncio.run(_serve(settings, conn))
    except DrainerStopped as error:
        log.error("%s", error)
        raise SystemExit(1) from None
    finally:
        conn.close()


async def _serve(settings: Settings, conn: Connection) -> None:
    from hub.wiring import explanations, redis_state, store
    from schemas.codec import make_codec
    from sources.publisher import Publisher

    state = redis_state(settings)
    the_store = store(settings)
    publisher = Publisher(
        settings.kafka_bootstrap,
        make_codec(settings),
        timeout_s=settings.publish_timeout_s,
        client_id="hub-drainer",
    )
    explained = None
    model = settings.model_file
    if model.is_file():
        explained = explanations(settings, model)
    else:
        log.warning("no model at %s: review items are drained without explanations", model)
    drain = Drain(state, the_store, publisher, explanations=explained)
    parent = os.getppid()

    def failed(kind: str) -> None:
        with contextlib.suppress(OSError):  # (the worker gone: the next send finds out)
            conn.send({kind: 1})

    try:
        while True:
            version = await _next(conn, parent)
            if version is None:
                return
            totals = publisher.totals
            published, publish_failed = dict(totals.by_topic), dict(totals.failed_by_topic)
            report = await _drain_one(drain, version, failed)
            if report is None:
                report = Drained(version, time.time(), 0.0, 0.0)
            done = replace(
                report,
                published=_grown(totals.by_topic, published),
                publish_failed=_grown(totals.failed_by_topic, publish_failed),
            )
            try:
                conn.send(done)
            except OSError:  # the worker is gone (it closed its end): the batch is drained
                return
    finally:
        the_store.dispose()
        await state.client.aclose()


def _ended(exitcode: int | None) -> str:
    if exitcode is None:
        return "its pipe closed"
    if exitcode < 0:
        try:
            return f"it was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"it was killed by signal {-exitcode}"
    return f"it exited with status {exitcode}"


def _grown(now: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {
        key: count - before.get(key, 0) for key, count in now.items() if count != before.get(key, 0)
    }


async def _drain_one(
    drain: Drain, version: int, on_failure: Callable[[str], None]
) -> Drained | None:
    """Drain one outbox entry, retrying failures of Redis, the store or Kafka with backoff
    as the worker does (``on_failure`` is told each one's :func:`failure_kind` as it
    happens, so that a long outage is counted while it lasts); None when
    it was drained already (a sweep, or a worker starting). Raises
    :class:`DrainerStopped` when the failures last."""
    from streams.app import RETRY_FOR_S, TRANSIENT
    from streams.identity import Outbox

    def failed(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        kind = failure_kind(error)
        if kind is not None:
            on_failure(kind)
        log.warning("draining batch %d failed (%s); retrying", version, type(error).__name__)

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(TRANSIENT),
        wait=wait_exponential(multiplier=0.2, max=10),
        stop=stop_after_delay(RETRY_FOR_S),
        before_sleep=failed,
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                data = await drain.redis.client.hget(drain.redis.outbox_key, str(version))
                return None if data is None else await drain.drain(version, Outbox.decode(data))
    except TRANSIENT as error:
        raise DrainerStopped(
            f"draining batch {version} failed for {RETRY_FOR_S:.0f} s: {type(error).__name__}"
        ) from None
    raise AssertionError("unreachable")  # pragma: no cover


async def _next(conn: Connection, parent: int) -> int | None:
    """The next version handed over; None when the worker says stop or is gone."""
    while True:
        ready = await asyncio.to_thread(conn.poll, 1.0)
        if ready:
            try:
                message: int | None = conn.recv()
            except (EOFError, OSError):
                return None
            return message
        if os.getppid() != parent:
            return None
