"""`hub bench scorer`: our in-process scorer against Splink's per-record call, per pair.

Both sides get the same job: records arrive one at a time and each is scored against the
index records that share a blocking key (the model's rules, no size cap, so that the two
score exactly the same pairs). Splink's side is ``linker.inference.predict_between`` with
the new record against the registered index (its real-time API); ours is the blocking
lookup plus :meth:`Scorer.score_many`. The same run checks that both gave every pair the
same match weight.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from hdrh.histogram import HdrHistogram

from hub.console import say
from hub.errors import UsageError
from hub.model_cli import InputOption, MapOption, load_model, load_records
from matchers.blocking import BlockingRules
from matchers.records import StandardRecord
from matchers.scorer import Scorer

MIN_OURS_SECONDS = 2.0  # repeat our side until it has run at least this long


def _percentiles(values_us: list[float]) -> dict[str, float]:
    histogram = HdrHistogram(1, 600_000_000, 3)
    for value in values_us:
        histogram.record_value(max(1, round(value)))
    return {f"p{q}": float(histogram.get_value_at_percentile(q)) for q in (50, 90, 99)} | {
        "max": float(histogram.get_max_value())
    }


@dataclass
class _Timing:
    rounds: int = 0
    scoring_s: float = 0.0
    whole_s: float = 0.0
    per_record_us: list[float] = field(default_factory=list)


def _time_ours(
    scorer: Scorer,
    arrivals: list[StandardRecord],
    candidates: Callable[[StandardRecord], list[StandardRecord]],
) -> _Timing:
    """Blocking lookup and scoring per arriving record, repeated for a stable figure."""
    timing = _Timing()
    while timing.whole_s < MIN_OURS_SECONDS:
        timing.rounds += 1
        for record in arrivals:
            began = time.perf_counter()
            others = candidates(record)
            scored = time.perf_counter()
            scorer.score_many(record, others)
            done = time.perf_counter()
            timing.scoring_s += done - scored
            timing.whole_s += done - began
            timing.per_record_us.append((done - began) * 1e6)
    return timing


def bench_scorer(
    *,
    model_path: Annotated[Path, typer.Option("--model", help="model JSON")],
    input_path: InputOption,
    mapping: MapOption = None,
    index_size: Annotated[
        int, typer.Option("--index", help="records already in the index", min=10)
    ] = 5000,
    queries: Annotated[
        int, typer.Option("--queries", help="new records scored one at a time", min=1)
    ] = 50,
    seed: Annotated[int, typer.Option("--seed", help="which records are drawn")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON only")] = False,
) -> None:
    """Per-pair time of our scorer and of Splink's per-record call, in one run."""
    from hub.link import report_rejected
    from matchers.splink_adapter import SplinkRealtime

    model = load_model(model_path)
    loaded = load_records(input_path, mapping)
    report_rejected(input_path, loaded.rejected_rows)
    records = loaded.records
    if len(records) < index_size + queries:
        raise UsageError(
            f"{input_path}: {len(records)} records; --index {index_size} and --queries "
            f"{queries} need {index_size + queries}"
        )
    drawn = random.Random(seed).sample(records, index_size + queries)  # noqa: S311 (not secret)
    index, arrivals = drawn[:index_size], drawn[index_size:]
    rules = BlockingRules(model.blocking_rules, max_block_size=index_size)
    blocks: dict[str, list[StandardRecord]] = defaultdict(list)
    for record in index:
        for key in rules.keys(record):
            blocks[key].append(record)

    def candidates(record: StandardRecord) -> list[StandardRecord]:
        found = {r.record_id: r for key in rules.keys(record) for r in blocks.get(key, ())}
        return list(found.values())

    scorer = Scorer(model)
    ours = {
        record.record_id: dict(
            zip(
                [o.record_id for o in candidates(record)],
                scorer.score_many(record, candidates(record)),
                strict=True,
            )
        )
        for record in arrivals
    }
    pairs = sum(len(v) for v in ours.values())
    say(f"{len(arrivals)} new records against {index_size} indexed: {pairs} candidate pairs")
    say("timing our scorer")
    timing = _time_ours(scorer, arrivals, candidates)
    say("timing Splink's predict_between (one call per new record)")
    realtime = SplinkRealtime(model, index)
    realtime.match(arrivals[0])  # warm-up: Splink builds and caches its SQL on first use
    splink: dict[str, dict[str, float]] = {}
    per_call_us: list[float] = []
    for record in arrivals:
        began = time.perf_counter()
        splink[record.record_id] = realtime.match(record)
        per_call_us.append((time.perf_counter() - began) * 1e6)
    splink_s = sum(per_call_us) / 1e6
    splink_pairs = sum(len(v) for v in splink.values())

    same_pairs = all(set(splink[r]) == set(ours[r]) for r in ours)
    differences = [
        abs(weight - ours[r][other])
        for r, found in splink.items()
        for other, weight in found.items()
        if other in ours[r]
    ]
    rounds = timing.rounds
    ours_pair_us = timing.scoring_s / (rounds * pairs) * 1e6 if pairs else float("nan")
    splink_pair_us = splink_s / splink_pairs * 1e6 if splink_pairs else float("nan")
    result: dict[str, Any] = {
        "model_version": model.version,
        "index_records": index_size,
        "new_records": len(arrivals),
        "candidate_pairs": pairs,
        "ours": {
            "us_per_pair": round(ours_pair_us, 3),
            "us_per_record_scoring": round(timing.scoring_s / (rounds * len(arrivals)) * 1e6, 2),
            "us_per_record_with_blocking_lookup": round(
                timing.whole_s / (rounds * len(arrivals)) * 1e6, 2
            ),
            "per_record_us": _percentiles(timing.per_record_us),
            "rounds": rounds,
        },
        "splink": {
            "api": "linker.inference.predict_between(index, new_record)",
            "us_per_pair": round(splink_pair_us, 1),
            "ms_per_call": round(splink_s / len(arrivals) * 1e3, 2),
            "per_call_us": _percentiles(per_call_us),
            "pairs": splink_pairs,
        },
        "speedup_per_pair": round(splink_pair_us / ours_pair_us, 1) if pairs else None,
        "parity": {
            "same_pairs": same_pairs,
            "pairs_compared": len(differences),
            "max_abs_difference": max(differences, default=0.0),
        },
    }
    if as_json:
        typer.echo(orjson.dumps(result).decode())
        return
    typer.echo(
        f"ours:   {result['ours']['us_per_pair']} us per pair "
        f"({result['ours']['us_per_record_with_blocking_lookup']} us per record with lookup)\n"
        f"splink: {result['splink']['us_per_pair']} us per pair "
        f"({result['splink']['ms_per_call']} ms per call)\n"
        f"speed-up per pair: {result['speedup_per_pair']}x; same pairs: {same_pairs}; "
        f"max |difference|: {result['parity']['max_abs_difference']:.3g} "
        f"over {len(differences)} pairs"
    )
