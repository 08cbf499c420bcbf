"""`hub bench codec`: how many events a second one core encodes and decodes.

The events are PersonChanged updates shaped like council data: every record has names,
date of birth and sex; most have an address; identifiers, contact details, other names
and earlier addresses appear as often as they do in a typical source. A second set fills
every field, as the worst case. Each figure is the best of several timed rounds over the
whole set in one thread (the usual way to measure throughput without other load's noise).
On a shared machine, ``--clock cpu`` times the thread's CPU time instead of elapsed time:
the rate of one core while it runs this thread, whatever else wants the cores.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from hub.console import say
from schemas.events import Address, NameKind, Operation, OtherName, Person, PersonChanged
from schemas.topics import source_persons

if TYPE_CHECKING:
    from schemas.codec import Codec

TARGET_PER_S = 100_000

_FIRST = ("Margaret", "Robert", "Aisha", "Oluwaseun", "Zofia", "Mohammed", "Siobhan", "Wei")
_LAST = ("Okafor", "Smith", "Khan", "Nowak", "O'Brien", "Patel", "Jones-Williams", "Chen")
_STREETS = ("Acacia Avenue", "Camden Road", "Prince of Wales Road", "Kentish Town Road")
_POSTCODES = ("NW1 2DB", "NW5 1TL", "N7 9PW", "WC1H 9JE", "NW3 4QG")


def sample_events(count: int, *, seed: int = 7, full: bool = False) -> list[PersonChanged]:
    """``count`` PersonChanged events, typical (or with every field filled when ``full``)."""
    rng = random.Random(seed)  # noqa: S311 (benchmark data, not secrets)

    def maybe(share: float) -> bool:
        return full or rng.random() < share

    def address() -> Address:
        return Address(
            line_1=f"{rng.randint(1, 240)} {rng.choice(_STREETS)}",
            line_2=f"Flat {rng.randint(1, 30)}" if maybe(0.3) else None,
            line_3="Camden" if maybe(0.1) else None,
            town="London",
            postcode=rng.choice(_POSTCODES),
            uprn=str(rng.randint(5_000_000, 5_999_999)) if maybe(0.6) else None,
            residence_start=dt.date(rng.randint(1990, 2024), 1, 1)
            + dt.timedelta(rng.randint(0, 364))
            if maybe(0.5)
            else None,
            residence_end=None,
        )

    now = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
    events = []
    for i in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        person = Person(
            first_name=first,
            middle_name=rng.choice(_FIRST) if maybe(0.3) else None,
            last_name=last,
            other_names=(OtherName(kind=NameKind.PREVIOUS, last_name=rng.choice(_LAST)),)
            if maybe(0.15)
            else (),
            dob=dt.date(1930, 1, 1) + dt.timedelta(days=rng.randint(0, 34_000)),
            sex=rng.choice(("F", "M")),
            address=address() if maybe(0.9) else None,
            previous_addresses=(address(),) if maybe(0.1) else (),
            nhs_number=f"{rng.randint(0, 9_999_999_999):010d}" if maybe(0.5) else None,
            ni_number=f"QQ{rng.randint(0, 999_999):06d}C" if maybe(0.3) else None,
            upn=f"A{rng.randint(0, 10**12 - 1):012d}" if maybe(0.15) else None,
            phone=f"020 7{rng.randint(100, 999)} {rng.randint(1000, 9999)}" if maybe(0.6) else None,
            email=f"{first.lower()}.{i}@example.org" if maybe(0.4) else None,
            source_ids={"account": f"AC{rng.randint(0, 10**7):07d}"} if maybe(0.5) else {},
        )
        events.append(
            PersonChanged(
                event_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                op=Operation.UPDATE,
                source_system="council_tax",
                source_record_id=f"CT{i:08d}",
                source_version=rng.randint(1, 50),
                source_ts=now - dt.timedelta(seconds=rng.randint(0, 86_400)),
                event_ts=now,
                after=person,
            )
        )
    return events


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.thread_time}


def _best_rate(
    work: Callable[[], object], items: int, rounds: int, clock: Callable[[], float]
) -> float:
    best = float("inf")
    for _ in range(rounds):
        began = clock()
        work()
        best = min(best, clock() - began)
    return items / best


def measure(
    codec: Codec, events: Sequence[PersonChanged], rounds: int, clock: str = "wall"
) -> dict[str, Any]:
    """Events per second, each encoded (or decoded) and then dropped, as a stream does:
    keeping every result alive would mostly measure the garbage collector."""
    topic = source_persons("council_tax")
    encoded = [codec.encode(e, topic) for e in events]
    if [codec.decode(d, topic) for d in encoded] != list(events):
        raise AssertionError("the codec did not round-trip the benchmark events")

    def encode_all() -> None:
        for event in events:
            codec.encode(event, topic)

    def decode_all() -> None:
        for data in encoded:
            codec.decode(data, topic)

    encode_rate = _best_rate(encode_all, len(events), rounds, CLOCKS[clock])
    decode_rate = _best_rate(decode_all, len(events), rounds, CLOCKS[clock])
    return {
        "events": len(events),
        "mean_bytes": round(sum(map(len, encoded)) / len(encoded), 1),
        "encode_per_s": round(encode_rate),
        "decode_per_s": round(decode_rate),
    }


def measure_fastavro(
    events: Sequence[PersonChanged], rounds: int, clock: str = "wall"
) -> dict[str, Any]:
    """fastavro's schemaless writer and reader alone on the same events (dicts prepared
    beforehand, so this flatters fastavro): the reference the compiled codec replaced."""
    from fastavro import parse_schema, schemaless_reader, schemaless_writer

    from schemas.binding import Binding
    from schemas.registry import default_registry

    schema = default_registry().current[PersonChanged].schema
    parsed, binding = parse_schema(schema), Binding(schema)
    dicts = [binding.to_dict(e) for e in events]

    def write(record: dict[str, Any]) -> bytes:
        buffer = io.BytesIO()
        schemaless_writer(buffer, parsed, record)
        return buffer.getvalue()

    bodies = [write(d) for d in dicts]

    def encode_all() -> None:
        for record in dicts:
            write(record)

    def decode_all() -> None:
        for body in bodies:
            schemaless_reader(io.BytesIO(body), parsed, None)

    return {
        "encode_per_s": round(_best_rate(encode_all, len(dicts), rounds, CLOCKS[clock])),
        "decode_per_s": round(_best_rate(decode_all, len(bodies), rounds, CLOCKS[clock])),
    }


def codec_bench_command(
    events: Annotated[int, typer.Option("--events", min=100, help="events per round")] = 20_000,
    rounds: Annotated[int, typer.Option("--rounds", min=1, help="timed rounds; best is kept")] = 5,
    registry: Annotated[
        str,
        typer.Option(
            "--codec",
            help="embedded (single-object), confluent (wire format, in-process mock registry) "
            "or confluent-serializers (the same through confluent-kafka's Avro serializers)",
        ),
    ] = "embedded",
    clock: Annotated[
        str,
        typer.Option(
            "--clock",
            help="wall (elapsed time) or cpu (this thread's CPU time: the rate of one core "
            "even when other processes share it)",
        ),
    ] = "wall",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON line")] = False,
) -> None:
    """Encode and decode PersonChanged events on one core; print events per second."""
    from hub.errors import UsageError
    from schemas.codec import SingleObjectCodec

    if clock not in CLOCKS:
        raise UsageError(f"--clock {clock!r}: use wall or cpu")
    if registry == "embedded":
        codec: Codec = SingleObjectCodec()
    elif registry in ("confluent", "confluent-serializers"):
        from confluent_kafka.schema_registry import SchemaRegistryClient

        from schemas.codec import ConfluentCodec, ConfluentSerializerCodec

        client = SchemaRegistryClient.new_client({"url": f"mock://bench-{uuid.uuid4().hex}"})
        kind = ConfluentCodec if registry == "confluent" else ConfluentSerializerCodec
        codec = kind(client)
    else:
        raise UsageError(f"--codec {registry!r}: use embedded, confluent or confluent-serializers")
    say(
        f"benchmarking the {registry} codec: {rounds} rounds of {events:,} events, one core, "
        f"{clock} clock"
    )
    typical = measure(codec, sample_events(events), rounds, clock)
    full = measure(codec, sample_events(events, full=True, seed=8), rounds, clock)
    result: dict[str, Any] = {
        "codec": registry,
        "event_type": "PersonChanged",
        "clock": clock,
        "target_per_s": TARGET_PER_S,
        "typical": typical,
        "every_field": full,
        "meets_target": {
            name: min(row["encode_per_s"], row["decode_per_s"]) >= TARGET_PER_S
            for name, row in (("typical", typical), ("every_field", full))
        },
    }
    if registry == "embedded":
        result["fastavro_reference"] = measure_fastavro(sample_events(events), rounds, clock)
    if as_json:
        typer.echo(orjson.dumps(result).decode())
        return
    for label in ("typical", "every_field"):
        row = result[label]
        typer.echo(
            f"{label:12s} encode {row['encode_per_s']:>9,}/s  decode {row['decode_per_s']:>9,}/s"
            f"  ({row['mean_bytes']} bytes each)"
        )
    if "fastavro_reference" in result:
        ref = result["fastavro_reference"]
        typer.echo(
            f"{'fastavro':12s} encode {ref['encode_per_s']:>9,}/s"
            f"  decode {ref['decode_per_s']:>9,}/s  (typical events, reference only)"
        )
    for name, met in result["meets_target"].items():
        typer.echo(f"target {TARGET_PER_S:,}/s per core, {name}: {'met' if met else 'NOT met'}")
