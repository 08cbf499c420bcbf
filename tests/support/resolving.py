"""Building resolvers over the toy model and comparing them with the batch result."""

from __future__ import annotations

from collections.abc import Iterable

from matchers.batch import BatchResult, resolve_batch
from matchers.decisions import Judgement, Thresholds
from matchers.identity_state import (
    IdAllocator,
    IdentityState,
    MemoryIdAllocator,
    MemoryIdentityState,
)
from matchers.records import StandardRecord
from matchers.resolver import Resolver
from matchers.standardise import standardise
from tests.support.toy_model import ToyKeyRules, ToyScorer, toy_standardise

THRESHOLDS = Thresholds(link=6.0, review=2.0, group=-5.0, floor=-10.0, block_cap=60)


def make_resolver(
    thresholds: Thresholds = THRESHOLDS, *, explain: bool = True
) -> tuple[Resolver, MemoryIdentityState]:
    """A resolver over the toy model; without ``explain`` its review items carry no
    explanation (as in a streaming worker, whose drain adds them)."""
    state = MemoryIdentityState()
    scorer = ToyScorer()
    resolver = Resolver(
        state,
        MemoryIdAllocator(),
        standardise=toy_standardise,
        rules=ToyKeyRules(),
        scorer=scorer,
        thresholds=thresholds,
        explain=scorer.explain if explain else None,
    )
    return resolver, state


def toy_resolver(state: IdentityState, ids: IdAllocator) -> Resolver:
    """A resolver over the toy model with the real standardisation, on any state."""
    scorer = ToyScorer()
    return Resolver(
        state, ids, standardise=standardise, rules=ToyKeyRules(), scorer=scorer,
        thresholds=THRESHOLDS, explain=scorer.explain,
    )  # fmt: skip


def batch(
    records: Iterable[StandardRecord],
    thresholds: Thresholds = THRESHOLDS,
    judgements: Iterable[Judgement] = (),
) -> BatchResult:
    return resolve_batch(records, ToyKeyRules(), ToyScorer(), thresholds, judgements=judgements)


def batch_partition(result: BatchResult) -> set[frozenset[str]]:
    return set(result.clustering.clusters)


def batch_households(result: BatchResult) -> set[frozenset[str]]:
    """Households as sets of record ids, comparable with the resolver's."""
    records_of: dict[str, set[str]] = {}
    for record_id, person_id in result.person_of.items():
        records_of.setdefault(person_id, set()).add(record_id)
    households: dict[str, set[str]] = {}
    for person_id, household_id in result.household_of.items():
        households.setdefault(household_id, set()).update(records_of[person_id])
    return {frozenset(h) for h in households.values()}


def expected_edges(
    records: Iterable[StandardRecord], thresholds: Thresholds = THRESHOLDS
) -> dict[tuple[str, str], float]:
    """Every candidate pair scoring at or above the stored (review) threshold."""
    from matchers.batch import candidate_pairs

    by_id = {r.record_id: r for r in records}
    partners, _ = candidate_pairs(by_id.values(), ToyKeyRules(), thresholds.block_cap)
    scorer = ToyScorer()
    return {
        (x, y): w
        for x, ys in partners.items()
        for y in ys
        if (w := scorer.score(by_id[x], by_id[y])) >= thresholds.stored
    }


def stored_edges(state: MemoryIdentityState) -> dict[tuple[str, str], float]:
    edges = state._edges
    for a, others in edges.items():
        for b, w in others.items():
            assert edges[b][a] == w, "edges are stored under both records"
    return {(a, b): w for a, others in edges.items() for b, w in others.items() if a < b}


def check_consistent(state: MemoryIdentityState) -> None:
    """The state's indexes agree with each other."""
    assert set(state._person_of) == set(state._records)
    for record_id, person_id in state._person_of.items():
        assert record_id in state._persons[person_id].record_ids
    for person_id, entry in state._persons.items():
        assert all(state._person_of[r] == person_id for r in entry.record_ids)
        key = entry.golden.household_key
        if key is None:
            assert entry.household_id is None
        else:
            assert person_id in state._residents[key]
            assert entry.household_id is not None
            assert person_id in state._households[entry.household_id].person_ids
    for key, residents in state._residents.items():
        assert all(state._persons[p].golden.household_key == key for p in residents)
    for household_id, household in state._households.items():
        assert all(state._persons[p].household_id == household_id for p in household.person_ids)
    for key, members in state._buckets.items():
        assert all(key in state._record_keys[r] for r in members)
