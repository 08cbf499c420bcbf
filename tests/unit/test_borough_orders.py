"""The simulator's borough, resolved from its change stream in 10 random orders, ends in the
batch result every time (creates, updates and deletes; each record's own changes keep
their order, as Kafka keeps them for one key)."""

from __future__ import annotations

import random

import pytest

import matchers.resolver as resolver_module
from matchers.batch import resolve_batch
from matchers.blocking import BlockingRules
from matchers.decisions import Thresholds
from matchers.identity_state import MemoryIdAllocator, MemoryIdentityState
from matchers.resolver import Resolver
from matchers.scorer import Scorer
from matchers.splink_adapter import TrainingOptions, train
from matchers.standardise import standardise
from sources.simulator.config import SimulationConfig
from sources.simulator.simulation import Simulation, simulate
from tests.support.resolving import check_consistent

pytestmark = [pytest.mark.unit, pytest.mark.slow]

# the default thresholds, with a small bucket cap so that buckets cross it both ways
THRESHOLDS = Thresholds(link=0.0, review=-4.0, group=-5.0, floor=-10.0, block_cap=25)


@pytest.fixture(scope="module")
def borough() -> Simulation:
    return simulate(SimulationConfig(residents=600, seed=7), day=3)


def interleave(simulation: Simulation, rnd: random.Random) -> list[object]:
    """A random order of the change events that keeps each record's own order."""
    per_record: dict[str, list[object]] = {}
    for change in simulation.person_changes:
        per_record.setdefault(change.record_id, []).append(change)
    queues = [list(reversed(changes)) for changes in per_record.values()]
    order: list[object] = []
    while queues:
        queue = rnd.choice(queues)
        order.append(queue.pop())
        if not queue:
            queues.remove(queue)
    return order


def test_ten_random_orders_of_the_borough_equal_the_batch(
    borough: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = [standardise(r.to_source_record()) for r in borough.records.values()]
    model = train(live, TrainingOptions(max_pairs=200_000))  # the trained model, as in production
    rules, scorer = BlockingRules(model.blocking_rules, THRESHOLDS.block_cap), Scorer(model)
    expected = set(resolve_batch(live, rules, scorer, THRESHOLDS).clustering.clusters)
    ops = {c.op for c in borough.person_changes}
    assert {"create", "update", "delete"} <= {str(op) for op in ops}
    assert len(expected) < len(live)  # records did link
    kept = resolver_module._TRAITS_KEPT
    for seed in range(10):
        # in one order the resolver remembers few records' traits (it forgets the oldest)
        monkeypatch.setattr(resolver_module, "_TRAITS_KEPT", 40 if seed == 0 else kept)
        state = MemoryIdentityState()
        resolver = Resolver(
            state, MemoryIdAllocator(), standardise=standardise, rules=rules, scorer=scorer,
            thresholds=THRESHOLDS,
        )  # fmt: skip
        for change in interleave(borough, random.Random(seed)):
            if change.op == "delete":  # type: ignore[attr-defined]
                resolver.delete(change.record_id)  # type: ignore[attr-defined]
            else:
                resolver.upsert(change.after.to_source_record())  # type: ignore[attr-defined]
        check_consistent(state)
        assert state.partition() == expected, f"order {seed}"
        assert seed or len(resolver._known_traits) < 100  # it did forget
        assert resolver.stats.over_common_skips.total() > 0  # buckets did cross the cap
