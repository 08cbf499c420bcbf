"""`hub bench pipeline --records N [--rate R]`: the real pipeline's throughput and latency.

**What runs.** A private stack (Kafka and Redis in a temporary folder, on free ports; or
the configured one with ``--use-stack``), an index of ``--index`` people loaded with
`hub bootstrap`, and one `hub worker` process on its own consumer group (offsets at the
end of every input topic), Redis prefix and SQLite store, as in production.

**The index and the events.** A simulated borough of ``--index`` residents (cached in the
data folder). A seeded sample of its records is held out; the rest is the index. The N
events are 80% creates of held-out records (a source system's new record of someone the
index mostly knows already) and 20% updates of index records (a new phone number, the
source version one higher), shuffled, published as the simulator's sources publish
(``PersonChanged`` on ``src.<system>.persons``). 15,000 other events (fewer for a small
index) warm the worker and the broker up first, on the paths the timed events take (the
worker's fetches of every input partition, the drainer's produce), and are not counted.

**Measured exactly.** Each event is produced with its Kafka timestamp set to its intended
send time: with ``--rate`` the schedule ``t0 + i / rate`` (open loop: an event is never
sent later than planned without the delay counting, so queueing cannot hide), without it
the moment it is produced (closed loop: all N as fast as Kafka takes them). The worker
publishes one ``MatchDecided`` per upserted record, keyed by the record id, whose Kafka
timestamp is the time its batch's store transaction committed (``streams.pipeline.Drain``).
The bench consumes ``hub.match-decisions``: latency = commit time - intended send time, per
event, in an HdrHistogram; throughput = N / (last commit - first intended send); peak RSS
is the worker's ``VmHWM``. Both clocks are this machine's wall clock (milliseconds).

**Splink beside it.** ``--splink-calls K`` held-out records are matched one at a time with
Splink's real-time call (``predict_between``: one new record against the same index,
the model's blocking rules without the size cap, as Splink does it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from hub.console import MAX_RATE, number_from, say
from hub.errors import UsageError
from hub.settings import Settings, load_settings

if TYPE_CHECKING:
    from sources.publisher import Publisher

CREATE_SHARE = 0.8
# Events before the timing. The broker's JIT warms up on the real paths, and so do the
# worker's caches (records' traits, names, pairs; the drainer's explanations): a freshly
# loaded worker spends up to a fifth more CPU an event over its first ~10,000 events, and
# at 500 a second the first seconds of a run after 5,000 had a p99 of 500-1,100 ms against
# 250-350 ms afterwards. A worker that has been running is past that; `--warm-up` smaller
# shows a cold start.
WARM_UP = 15_000
OPEN_LOOP_WARM_UP_S = 20.0  # the last seconds of the warm-up at the timed rate, if any
TIMEOUT_S = 900.0


# -- the stack and the worker -----------------------------------------------------------


@contextlib.contextmanager
def private_stack(settings: Settings) -> Iterator[Settings]:
    """Kafka and Redis of our own in a temporary folder, stopped at the end."""
    from hub.stack.manager import Stack
    from hub.stack.processes import free_port

    folder = Path(tempfile.mkdtemp(prefix="hub-bench-stack-"))
    own: Settings = settings.model_copy(
        update={
            "stack_dir": folder,
            "kafka_bootstrap": f"127.0.0.1:{free_port()}",
            "kafka_controller_port": free_port(),
            "redis_url": f"redis://127.0.0.1:{free_port()}/0",
        }
    )
    stack = Stack(own, report=lambda _line: None)
    say("starting a private Kafka and Redis for the benchmark")
    try:
        stack.up()
        yield own
    finally:
        stack.down()
        shutil.rmtree(folder, ignore_errors=True)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a `hub worker` these settings (and nothing from a .env)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        secret = getattr(value, "get_secret_value", None)
        env[f"HUB_{name.upper()}"] = str(secret() if secret else value)
    return env


def start_at_end(settings: Settings, topics: tuple[str, ...]) -> None:
    """Commit the consumer group's offsets at the end of every topic it will read."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": settings.consumer_group,
         "enable.auto.commit": False}
    )  # fmt: skip
    try:
        offsets = []
        for topic in topics:
            for partition in consumer.list_topics(topic, timeout=30).topics[topic].partitions:
                high = high_watermark(consumer, topic, partition)
                offsets.append(TopicPartition(topic, partition, high))
        consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()


def high_watermark(consumer: Any, topic: str, partition: int) -> int:
    """The end offset of a partition, retried while a new topic's leader settles."""
    from confluent_kafka import KafkaException, TopicPartition

    deadline = time.monotonic() + 60
    while True:
        try:
            _low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=10
            )
            return int(high)
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def cpu_seconds(pid: int, *, children: bool = True) -> float | None:
    """A process's CPU time so far (user and system), from /proc, with its children's
    unless told not to: those running (a worker's drainer) and those it has waited for.
    Counting only running ones, a child that ended in between (Redis's snapshot fork)
    took its time away: Redis once spent -2.26 s."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split() if children else []
    except OSError:
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: children waited for
    return ticks / os.sysconf("SC_CLK_TCK") + sum(cpu_seconds(int(kid)) or 0.0 for kid in kids)


def peak_rss_mb(pid: int) -> float | None:
    """A process's peak resident memory (``VmHWM``), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


@contextlib.contextmanager
def warm_broker(settings: Settings) -> Iterator[dict[str, int]]:
    """Keep a freshly started Kafka busy (produce, consume, commit on a scratch topic) while
    the index loads, so that the broker's JIT compiler has done its work before the timing
    starts: a new JVM spends a core compiling for its first minute of traffic, which a
    long-running broker did long ago. Yields the count of messages sent, filled at the end."""
    from confluent_kafka import Consumer, Producer

    from sources.publisher import _kafka_log as quiet

    topic = f"bench-warm-up-{uuid.uuid4().hex[:8]}"
    counts = {"kafka_warm_up_messages": 0}
    stop = threading.Event()
    payload = orjson.dumps([{"field": f"value {i}", "number": i} for i in range(40)])

    def run() -> None:
        producer = Producer(
            {"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True,
             "acks": "all", "linger.ms": 5, "compression.type": "lz4", "logger": quiet}
        )  # fmt: skip
        consumer = Consumer(
            {"bootstrap.servers": settings.kafka_bootstrap, "group.id": topic,
             "auto.offset.reset": "earliest", "logger": quiet}
        )  # fmt: skip
        consumer.subscribe([topic])
        try:
            while not stop.is_set():
                for i in range(500):
                    producer.produce(topic, payload, key=str(i).encode())
                producer.flush(30)
                counts["kafka_warm_up_messages"] += 500
                consumer.consume(500, 0.1)
                time.sleep(0.05)  # leave the loading room
        finally:
            consumer.close()

    thread = threading.Thread(target=run, name="warm-broker", daemon=True)
    thread.start()
    try:
        yield counts
    finally:
        stop.set()
        thread.join(60)


# -- the commits, read back -------------------------------------------------------------


@dataclass
class Commits:
    """Commit times (ms) of the MatchDecided events, by record id, read in a thread."""

    settings: Settings
    wanted: set[str] = field(default_factory=set)
    seen: dict[str, int] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        from confluent_kafka import Consumer, TopicPartition

        from schemas import topics

        consumer = Consumer(
            {"bootstrap.servers": self.settings.kafka_bootstrap,
             "group.id": f"bench-{uuid.uuid4().hex}", "enable.auto.commit": False}
        )  # fmt: skip
        topic = topics.HUB_MATCH_DECISIONS
        partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        assigned = []
        for partition in partitions:
            _low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=30
            )
            assigned.append(TopicPartition(topic, partition, high))
        consumer.assign(assigned)
        self._consumer = consumer
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def expect(self, record_ids: set[str]) -> None:
        self.wanted |= record_ids

    def _run(self) -> None:
        consumer = self._consumer
        try:
            while not self.stop.is_set():
                for message in consumer.consume(1000, 0.2):
                    raw = message.key()
                    if message.error() or raw is None:
                        continue
                    key = raw.decode()
                    if key not in self.seen:
                        self.seen[key] = message.timestamp()[1]
                if self.wanted and self.wanted <= self.seen.keys():
                    self.done.set()
        finally:
            consumer.close()

    def wait(
        self,
        record_ids: set[str],
        timeout_s: float,
        what: str,
        worker: subprocess.Popen[bytes] | None = None,
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while not record_ids <= self.seen.keys():
            if worker is not None and worker.poll() is not None:
                raise UsageError(f"the worker stopped (exit {worker.returncode}) during {what}")
            if time.monotonic() > deadline:
                missing = len(record_ids - self.seen.keys())
                raise UsageError(f"{missing:,} of {what} never committed within {timeout_s:.0f}s")
            time.sleep(0.05)

    def close(self) -> None:
        self.stop.set()
        thread = getattr(self, "_thread", None)
        if thread is not None:
            thread.join(10)


# -- the data ----------------------------------------------------------------------------


def index_rows(index: int, seed: int, folder: Path) -> list[dict[str, Any]]:
    """The borough's snapshot rows (cached as Parquet)."""
    import pyarrow.parquet as pq

    from hub.bench_bootstrap import snapshot_rows, write_snapshot
    from sources.simulator import SimulationConfig, simulate

    path = folder / f"pipeline-index-{index}-seed{seed}.parquet"
    if not path.is_file():
        say(f"simulating a borough of {index:,} residents for the index")
        write_snapshot(snapshot_rows(simulate(SimulationConfig(residents=index, seed=seed))), path)
    return [
        {k: v for k, v in row.items() if v is not None} for row in pq.read_table(path).to_pylist()
    ]


def person_change(row: dict[str, Any], op: str, at: dt.datetime) -> Any:
    """The simulator's change event for a row of source-record fields."""
    from sources.simulator import PersonChange, PersonRecord

    system, _, own_id = row["record_id"].partition(":")
    fields = {
        k: v for k, v in row.items() if k not in ("record_id", "source_system", "source_version")
    }
    record = PersonRecord(row["record_id"], system, own_id, **fields)
    return PersonChange(
        event_id=str(uuid.uuid4()),
        at=at,
        op=op,  # type: ignore[arg-type]
        source_system=system,
        source_record_id=own_id,
        record_id=row["record_id"],
        version=int(row["source_version"]),
        before=None,
        after=record,
        reason="new" if op == "create" else "contact_change",
    )


@dataclass
class Workload:
    index: list[dict[str, Any]]  # rows bootstrapped
    warm_up: list[dict[str, Any]]  # (row, op) events before timing
    events: list[tuple[dict[str, Any], str]]
    held_out: list[dict[str, Any]]  # creates not used, for Splink's calls


def workload(
    rows: list[dict[str, Any]], records: int, seed: int, warm_up: int = WARM_UP
) -> Workload:
    rng = random.Random(seed)  # noqa: S311 (a sample, not a secret)
    order = list(range(len(rows)))
    rng.shuffle(order)
    creates = math.ceil(records * CREATE_SHARE)
    updates = records - creates
    warm = min(warm_up, len(rows) // 20)  # (a small index spares fewer)
    held = set(order[: creates + warm + 200])
    if len(rows) - len(held) < updates + warm:
        raise UsageError(f"an index of {len(rows):,} records is too small for {records:,} events")
    create_rows = [rows[i] for i in order[:creates]]
    warm_rows = [rows[i] for i in order[creates : creates + warm]]
    spare = [rows[i] for i in order[creates + warm : creates + warm + 200]]
    index = [rows[i] for i in sorted(set(range(len(rows))) - held)]
    updated = rng.sample(range(len(index)), updates)

    def new_phone(row: dict[str, Any], n: int) -> dict[str, Any]:
        changed = dict(row, phone=f"075{n:08d}", source_version=int(row["source_version"]) + 1)
        return changed

    events = [(row, "create") for row in create_rows]
    events += [(new_phone(index[i], n), "update") for n, i in enumerate(updated)]
    rng.shuffle(events)
    return Workload(index, warm_rows, events, spare)


# -- publishing --------------------------------------------------------------------------


def publish(
    publisher: Publisher, events: list[tuple[dict[str, Any], str]], rate: float | None
) -> list[tuple[str, int]]:
    """Send the events (open loop at ``rate``, else as fast as possible); each event's
    record id and intended send time in ms, which is also its Kafka timestamp."""
    from sources.simulated import to_contract

    sent: list[tuple[str, int]] = []
    started = time.time()
    for i, (row, op) in enumerate(events):
        if rate is not None:
            intended = started + i / rate
            wait = intended - time.time()
            if wait > 0:
                time.sleep(wait)
        else:
            intended = time.time()
        at = dt.datetime.fromtimestamp(intended, dt.UTC)
        out = to_contract(person_change(row, op, at))
        stamp = int(intended * 1000)
        publisher.send(out.topic, out.key, out.event, timestamp_ms=stamp)
        sent.append((row["record_id"], stamp))
    publisher.flush()
    return sent


# -- Splink's per-event call ---------------------------------------------------------------


def splink_calls(
    model_path: Path, index: list[dict[str, Any]], new: list[dict[str, Any]]
) -> dict[str, Any]:
    from hdrh.histogram import HdrHistogram

    from hub.inputs import to_source_record
    from matchers.model import Model
    from matchers.splink_adapter import SplinkRealtime
    from matchers.standardise import standardise

    def standard(row: dict[str, Any]) -> Any:
        record = to_source_record({k: v for k, v in row.items() if k != "source_version"}, {})
        return standardise(record)  # type: ignore[arg-type]

    say(f"Splink: {len(new)} calls of predict_between against {len(index):,} records")
    began = time.perf_counter()
    realtime = SplinkRealtime(Model.load(model_path), [standard(r) for r in index])
    setup_s = time.perf_counter() - began
    histogram = HdrHistogram(1, 600_000_000, 3)
    candidates = 0
    for row in new:
        record = standard(row)
        began = time.perf_counter()
        candidates += len(realtime.match(record))
        histogram.record_value(max(1, round((time.perf_counter() - began) * 1e6)))
    return {
        "splink_calls": len(new),
        "splink_index_records": len(index),
        "splink_setup_s": round(setup_s, 1),
        **{
            f"splink_predict_between_p{q}_ms": round(histogram.get_value_at_percentile(q) / 1000, 1)
            for q in (50, 95, 99)
        },
        "splink_candidates_per_call": round(candidates / max(1, len(new)), 1),
    }


# -- the command -------------------------------------------------------------------------


def bench_pipeline(
    *,
    records: Annotated[int, typer.Option("--records", help="events to time", min=100)],
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            help="events a second, open loop, 1 to 1,000,000 (default: flat out)",
            callback=number_from(1, MAX_RATE),
        ),
    ] = None,
    index: Annotated[int, typer.Option("--index", help="people in the index", min=1000)] = 100_000,
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON line")] = False,
    splink: Annotated[
        int, typer.Option("--splink-calls", help="Splink per-event calls to time (0: none)")
    ] = 30,
    use_stack: Annotated[
        bool, typer.Option("--use-stack", help="use the configured stack, not a private one")
    ] = False,
    data: Annotated[Path | None, typer.Option("--data", help="folder for cached data")] = None,
    seed: Annotated[int, typer.Option("--seed", help="seed of the borough and sample")] = 1,
    warm_up: Annotated[
        int, typer.Option("--warm-up", help="untimed events first (creates)", min=100)
    ] = WARM_UP,
    profile: Annotated[
        Path | None,
        typer.Option("--profile", help="py-spy profile of worker and drainer: .svg, .txt or .json"),
    ] = None,
) -> None:
    """Drive the real pipeline (Kafka, one worker, Redis, the store) and time it."""
    from hub.wiring import require_redis

    # stopped (SIGTERM), it still stops its worker and its private Kafka and Redis
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    settings = load_settings()
    if use_stack:
        require_redis(settings)  # (before the index and the model are built)
    folder = data or settings.stack_dir / "bench-pipeline"
    folder.mkdir(parents=True, exist_ok=True)
    if (
        profile is not None
        and shutil.which("py-spy") is None
        and not Path(sys.executable).with_name("py-spy").exists()
    ):
        raise UsageError("--profile needs py-spy (pip install py-spy)")
    stack = contextlib.nullcontext(settings) if use_stack else private_stack(settings)
    with stack as live:
        bench = PipelineBench(
            live,
            folder,
            index=index,
            seed=seed,
            profile=profile,
            warm_broker=not use_stack,
            warm_up=warm_up,
        )
        result = bench.run(records, rate, splink)
    if not as_json:
        say(
            f"{records:,} events: {result['throughput_events_per_s']:,} events/s, latency p50 "
            f"{result['latency_p50_ms']} ms, p99 {result['latency_p99_ms']} ms; worker peak "
            f"{result['peak_rss_mb']} MB"
        )
    typer.echo(orjson.dumps(result).decode())


class PipelineBench:
    """One run: the index bootstrapped, a worker started, the events timed, all removed."""

    def __init__(
        self,
        settings: Settings,
        folder: Path,
        *,
        index: int,
        seed: int,
        profile: Path | None,
        warm_broker: bool = False,
        warm_up: int = WARM_UP,
    ) -> None:
        from hub.bench_bootstrap import ensure_model
        from hub.stack.processes import free_port

        self.settings = settings
        self.index, self.seed, self.profile = index, seed, profile
        self.warm = warm_broker
        self.warm_up = warm_up
        self.folder = folder / f"run-{uuid.uuid4().hex[:8]}"
        self.name = f"bench-pipeline-{self.folder.name}"
        self.model_path = ensure_model(folder)
        self.rows = index_rows(index, seed, folder)
        self.bench: Settings = settings.model_copy(
            update={
                "model_path": self.model_path,
                "redis_prefix": self.name,
                "consumer_group": self.name,
                "database_url": f"sqlite:///{self.folder / 'store.db'}",
                "metrics_port": free_port(),
            }
        )
        self.worker: subprocess.Popen[bytes] | None = None
        self.commits = Commits(self.bench)
        self.facts: dict[str, Any] = {}

    def run(self, records: int, rate: float | None, splink: int) -> dict[str, Any]:

        from hub.wiring import require_redis

        require_redis(self.settings)
        plan = workload(self.rows, records, self.seed, self.warm_up)
        self.folder.mkdir(parents=True)
        try:
            self._bootstrap(plan)
            # The load generator must not pause: its collector's older generations would
            # walk the plan (hundreds of thousands of rows) and take most of a second, and
            # events sent late count against the latency. The plan is kept to the end.
            gc.collect()
            gc.freeze()
            publisher = self._start_worker(plan, rate)
            sent = self._measure(publisher, plan, rate)
        except UsageError as error:
            kept = self.folder.parent / "worker-failed.log"
            with contextlib.suppress(OSError):
                shutil.copyfile(self.folder / "worker.log", kept)
                raise UsageError(f"{error} (the worker's log: {kept})") from None
            raise
        finally:
            self._clean_up()
        result = self._result(sent, rate)
        if splink:
            result |= splink_calls(self.model_path, plan.index, plan.held_out[:splink])
        return result

    def _bootstrap(self, plan: Workload) -> None:
        from hub.bench_bootstrap import write_snapshot
        from hub.bootstrap import Target, run_bootstrap
        from hub.wiring import redis_state, store

        say(f"bootstrapping the index: {len(plan.index):,} records")
        began = time.perf_counter()
        target = Target(redis_state(self.bench), store(self.bench))
        warming: contextlib.AbstractContextManager[dict[str, int]] = (
            warm_broker(self.bench) if self.warm else contextlib.nullcontext({})
        )
        with warming as warmed:
            booted = run_bootstrap(
                [write_snapshot(plan.index, self.folder / "index.parquet")],
                settings=self.bench,
                target=target,
                show_progress=False,
            )
        self.facts |= warmed
        target.store.dispose()
        self.facts |= {
            "index_people": self.index,
            "index_records": booted["records"],
            "index_persons": booted["persons"],
            "bootstrap_s": round(time.perf_counter() - began, 1),
        }

    def _start_worker(self, plan: Workload, rate: float | None) -> Publisher:
        from schemas.codec import make_codec
        from sources.publisher import Publisher
        from streams.topology import ensure_topics

        start_at_end(self.bench, ensure_topics(self.bench).inputs)
        self.commits.start()
        log = (self.folder / "worker.log").open("ab")
        self.worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("hub")), "worker"],
            env=settings_env(self.bench),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        publisher = Publisher(
            self.bench.kafka_bootstrap, make_codec(self.bench), client_id="hub-bench"
        )
        say(f"warming the worker up ({len(plan.warm_up)} events; it loads the index first)")
        began = time.perf_counter()
        warm = [(row, "create") for row in plan.warm_up]
        ids = {row["record_id"] for row, _ in warm}
        self.commits.expect(ids)
        # the last of them at the timed rate, once the flood before them is committed: a
        # broker and a worker that have only seen a flood take several seconds to settle
        # into an open loop's pattern (fetches that wait for data, small batches), which
        # the timed window paid for before
        paced = min(len(warm) // 2, round(OPEN_LOOP_WARM_UP_S * rate)) if rate else 0
        flood = warm[: len(warm) - paced]
        publish(publisher, flood, None)
        if paced:
            flooded = {row["record_id"] for row, _ in flood}
            self.commits.wait(flooded, TIMEOUT_S, "the warm-up events", self.worker)
            publish(publisher, warm[len(warm) - paced :], rate)
        self.commits.wait(ids, TIMEOUT_S, "the warm-up events", self.worker)
        self.facts["worker_ready_s"] = round(time.perf_counter() - began, 1)
        self.facts["warm_up_events"] = len(warm)
        return publisher

    def _measure(
        self, publisher: Publisher, plan: Workload, rate: float | None
    ) -> list[tuple[str, int]]:
        assert self.worker is not None
        spy = _start_profiler(self.worker.pid, self.profile) if self.profile else None
        say(
            f"publishing {len(plan.events):,} events" + (f" at {rate:g}/s" if rate else " flat out")
        )
        ids = {row["record_id"] for row, _ in plan.events}
        self.commits.expect(ids)
        cpu_before = self._cpu_seconds()
        stages_before = _stage_seconds(self.bench.metrics_port)
        sent = publish(publisher, plan.events, rate)
        self.commits.wait(ids, TIMEOUT_S, "the events", self.worker)
        cpu = {
            name: round(spent - cpu_before[name], 2)
            for name, spent in self._cpu_seconds().items()
            if name in cpu_before
        }
        if "worker" in cpu and "drainer" in cpu:
            worker_cpu = cpu["worker"] + cpu["drainer"]
            self.facts["worker_cpu_s"] = round(worker_cpu, 2)
            self.facts["events_per_worker_cpu_s"] = round(len(plan.events) / max(0.01, worker_cpu))
        self.facts["cpu_s"] = cpu
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(120)
        self.facts["peak_rss_mb"] = peak_rss_mb(self.worker.pid)
        stages = {
            stage: {
                kind: round(value - stages_before.get(stage, {}).get(kind, 0.0), 2)
                for kind, value in counts.items()
            }
            for stage, counts in _stage_seconds(self.bench.metrics_port).items()
        }
        candidates = stages.pop("candidates", {})
        if candidates.get("records"):
            self.facts["candidates_per_record"] = round(
                candidates["scored"] / candidates["records"], 1
            )
        self.facts["worker_stage_seconds"] = stages
        return sent

    def _cpu_seconds(self) -> dict[str, float]:
        """CPU time so far of each process of the pipeline: the worker's main process, its
        drainer, Kafka and Redis (when the stack's own), and this one (the load
        generator, with the consumer that watches the commits)."""
        from hub.stack.manager import Stack

        assert self.worker is not None
        found = {"bench": time.process_time()}
        worker, whole = (cpu_seconds(self.worker.pid, children=c) for c in (False, True))
        if worker is not None and whole is not None:
            found |= {"worker": worker, "drainer": whole - worker}
        stack = Stack(self.settings, report=lambda _line: None)
        for name in ("kafka", "redis"):
            pid = stack.pid_file(name).live_pid()
            spent = cpu_seconds(pid) if pid is not None else None
            if spent is not None:
                found[name] = spent
        return found

    def _clean_up(self) -> None:
        import redis

        self.commits.close()
        worker = self.worker
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)
        client = redis.Redis.from_url(self.settings.redis_url)
        keys = list(client.scan_iter(f"{self.name}:*", count=1000))
        if keys:
            client.unlink(*keys)
        client.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _result(self, sent: list[tuple[str, int]], rate: float | None) -> dict[str, Any]:
        from hdrh.histogram import HdrHistogram

        seen = self.commits.seen
        histogram = HdrHistogram(1, 3_600_000, 3)
        for record_id, stamp in sent:
            histogram.record_value(max(1, seen[record_id] - stamp))
        first_sent = min(stamp for _, stamp in sent)
        last_commit = max(seen[r] for r, _ in sent)
        return {
            "benchmark": "pipeline",
            "events": len(sent),
            "mode": f"open loop at {rate:g}/s" if rate else "closed loop (flat out)",
            "throughput_events_per_s": round(len(sent) * 1000 / max(1, last_commit - first_sent)),
            **{f"latency_p{q}_ms": histogram.get_value_at_percentile(q) for q in (50, 95, 99)},
            "latency_max_ms": histogram.get_max_value(),
            **self.facts,
            "worker_batch_size": self.bench.worker_batch_size,
            "worker_batch_wait_s": self.bench.worker_batch_wait_s,
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "cpu_count": os.cpu_count(),
        }


def _py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _start_profiler(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy on the worker and its drainer: a flame graph (.svg), collapsed stacks (.txt)
    or speedscope JSON (.json), by the file's suffix."""
    kind = {".txt": "raw", ".json": "speedscope"}.get(out.suffix, "flamegraph")
    return subprocess.Popen(
        [
            _py_spy() or "py-spy",
            "record",
            "--format",
            kind,
            "--pid",
            str(pid),
            "--subprocesses",
            "--output",
            str(out),
            "--rate",
            "100",
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stage_seconds(port: int) -> dict[str, dict[str, float]]:
    """From the worker's /metrics: its own time per stage so far (hub_batch_seconds), and
    under ``candidates`` the candidates it scored and the records it matched
    (hub_candidate_set_size)."""
    import httpx

    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return {}
    found: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if line.startswith(("hub_batch_seconds_sum", "hub_batch_seconds_count")):
            metric, value = line.rsplit(" ", 1)
            stage = metric.split('stage="', 1)[1].split('"', 1)[0]
            kind = "seconds" if "_sum" in metric else "batches"
            found.setdefault(stage, {})[kind] = float(value)
        elif line.startswith(("hub_candidate_set_size_sum", "hub_candidate_set_size_count")):
            metric, value = line.rsplit(" ", 1)
            kind = "scored" if "_sum" in metric else "records"
            found.setdefault("candidates", {})[kind] = float(value)
    return found
