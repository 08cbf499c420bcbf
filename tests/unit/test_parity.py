"""Parity: our scorer's match weights equal Splink's own for the same trained model.

Models are trained by Splink (through the adapter) on Splink's public test sets; Splink's
``predict()`` then scores the same pairs with the model's frozen term-frequency tables
registered. Every pair must agree within 1e-6, term-frequency adjusted pairs included.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from hub.inputs import parse_mapping, read_records
from matchers.blocking import BlockingRules, candidate_pairs
from matchers.model import Model, model_version
from matchers.records import SourceRecord, StandardRecord
from matchers.scorer import Scorer
from matchers.splink_adapter import TrainingOptions, splink_match_weights, train
from matchers.standardise import standardise

DATA = Path("/work/shared/data")
FAKE_1000 = DATA / "fake_1000.csv"
HISTORICAL = DATA / "historical_figures_with_errors_50k.parquet"
HISTORICAL_MAP = (
    "unique_id=record_id,surname=last_name,postcode_fake=postcode,gender=sex,birth_place=town"
)
TOLERANCE = 1e-6


def _records(path: Path, mapping: str) -> list[StandardRecord]:
    if not path.exists():
        pytest.skip(f"{path} is not on this machine (Splink's public test data)")
    return [standardise(r) for r in read_records(path, parse_mapping(mapping))
            if isinstance(r, SourceRecord)]  # fmt: skip


def _assert_parity(
    model: Model, records: Sequence[StandardRecord], pairs: Sequence[tuple[str, str]]
) -> int:
    """Score ``pairs`` both ways; return how many had a term-frequency adjustment."""
    splink = splink_match_weights(model, records, pairs)
    assert set(splink) == {tuple(sorted(p)) for p in pairs}
    by_id = {r.record_id: r for r in records}
    scorer = Scorer(model)
    worst = max(abs(scorer.score(by_id[a], by_id[b]) - w) for (a, b), w in splink.items())
    assert worst <= TOLERANCE
    return sum(
        any(step.tf_adjustment != 0 for step in scorer.explain(by_id[a], by_id[b]).steps)
        for a, b in splink
    )


@pytest.fixture(scope="module")
def fake_1000() -> tuple[Model, list[StandardRecord]]:
    records = _records(FAKE_1000, "unique_id=record_id,surname=last_name,city=town")
    return train(records, TrainingOptions(max_pairs=200_000)), records


@pytest.mark.unit
def test_fake_1000_parity_on_candidate_labelled_and_random_pairs(
    fake_1000: tuple[Model, list[StandardRecord]],
) -> None:
    model, records = fake_1000
    pairs = set(candidate_pairs(records, BlockingRules()).pairs)
    with (DATA / "fake_1000_labels.csv").open() as handle:
        pairs |= {tuple(sorted((row["unique_id_l"], row["unique_id_r"])))
                  for row in csv.DictReader(handle)}  # fmt: skip
    ids = [r.record_id for r in records]
    rng = random.Random(7)
    while len(pairs) < 8000:
        a, b = rng.sample(ids, 2)
        pairs.add((min(a, b), max(a, b)))
    adjusted = _assert_parity(model, records, sorted(pairs))  # type: ignore[arg-type]
    assert adjusted > 500


@pytest.mark.unit
def test_splink_blocking_on_rule_columns_finds_our_candidate_pairs(
    fake_1000: tuple[Model, list[StandardRecord]],
) -> None:
    model, records = fake_1000
    uncapped = BlockingRules(model.blocking_rules, max_block_size=len(records))
    ours = candidate_pairs(records, uncapped).pairs
    assert set(splink_match_weights(model, records)) == ours


@pytest.mark.unit
def test_splink_blocking_reproduces_the_size_cap(
    fake_1000: tuple[Model, list[StandardRecord]],
) -> None:
    model, records = fake_1000
    capped = BlockingRules(model.blocking_rules, max_block_size=3)
    blocked = candidate_pairs(records, capped)
    assert blocked.over_common_keys  # the small cap makes some keys over-common
    document = {**model.document, "blocking": {"rules": list(model.blocking_rules),
                                                "max_block_size": 3}}  # fmt: skip
    capped_model = Model({**document, "version": model_version(document)})
    assert set(splink_match_weights(capped_model, records, apply_cap=True)) == blocked.pairs


@pytest.mark.slow
def test_historical_sample_parity() -> None:
    records = _records(HISTORICAL, HISTORICAL_MAP)
    sample = random.Random(11).sample(records, 12_000)
    model = train(sample, TrainingOptions(max_pairs=1_000_000))
    pairs = sorted(candidate_pairs(sample, BlockingRules()).pairs)
    assert len(pairs) > 10_000
    assert _assert_parity(model, sample, pairs) > 5_000
