"""`hub link`'s helper process: it sends the weights the resolver would compute, and the
result is the same with it as without."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.link import link_stream, read_input
from hub.prepare import PreparedScorer, Preparing, prepare
from matchers.decisions import Thresholds
from matchers.identity_state import StagedState
from matchers.records import SourceRecord, StandardRecord
from matchers.survivorship import SurvivorshipRules
from tests.support.resolving import make_resolver
from tests.support.toy_model import ToyKeyRules, ToyScorer, toy_standardise
from tests.unit.test_link import MAPPING, PEOPLE, TOY
from tests.unit.test_order_independence import IDS, records

pytestmark = pytest.mark.unit

TIGHT = Thresholds(link=3.0, review=0.0, group=-6.0, floor=-10.0, block_cap=3, dob_years=5)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(IDS).flatmap(records), max_size=30))
def test_the_helper_scores_exactly_the_pairs_the_resolver_places_against(
    sources: list[SourceRecord],
) -> None:
    resolver, _ = make_resolver(TIGHT)
    placed: list[tuple[str, list[str]]] = []
    score_record = resolver._score_record

    def noting(tx: StagedState, record: StandardRecord, usable: list[str], *args: Any,
               **kwargs: Any) -> None:  # fmt: skip
        members = set().union(*tx.buckets.stored_members(usable).values()) - {record.record_id}
        if members:
            placed.append((record.record_id, sorted(members)))
        score_record(tx, record, usable, *args, **kwargs)

    resolver._score_record = noting  # type: ignore[method-assign]
    for source in sources:
        resolver.upsert(source)
    toy = ToyScorer()
    prepared = [
        (record.record_id, weights)
        for record, keys, weights in prepare(
            sources, toy_standardise, ToyKeyRules(), toy, TIGHT.block_cap
        )
        if weights
    ]
    assert [(rid, sorted(weights)) for rid, weights in prepared] == placed
    # the weights are the scorer's, against the other record as it stood then
    current: dict[str, StandardRecord] = {}
    for record, keys, weights in prepare(
        sources, toy_standardise, ToyKeyRules(), toy, TIGHT.block_cap
    ):
        assert keys == ToyKeyRules().keys(record)
        for other, weight in (weights or {}).items():
            assert weight == toy.score(record, current[other])
        current[record.record_id] = record


def test_the_prepared_scorer_scores_what_was_not_sent() -> None:
    toy = ToyScorer()
    ann = toy_standardise_row("1", "Ann", "Smith")
    anne = toy_standardise_row("2", "Anne", "Smith")
    bob = toy_standardise_row("3", "Bob", "Jones")
    scorer = PreparedScorer(toy)
    scorer.expect([(ann, frozenset(), {"2": 99.0})])
    assert scorer.score_many(ann, [anne, bob]) == [99.0, toy.score(ann, bob)]
    assert (scorer.prepared, scorer.scored) == (1, 1)
    # a record nothing was prepared for is scored as usual
    assert scorer.score_many(bob, [ann]) == [toy.score(bob, ann)]
    # the resolver looks the prepared weights up by candidate id
    assert scorer.known_weights(ann) == {"2": 99.0}
    assert scorer.known_weights(bob) is None


def toy_standardise_row(record_id: str, first: str, last: str) -> StandardRecord:
    return toy_standardise(SourceRecord(record_id, first_name=first, last_name=last))


def test_linking_with_the_helper_process_gives_the_same_persons(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(PEOPLE)
    people, _ = read_input(source, MAPPING)
    alone, _, _ = link_stream(people, TOY, TIGHT, SurvivorshipRules(), chunk=2)
    with Preparing(people, TOY.standardise, TOY.rules, TOY.scorer, cap=TIGHT.block_cap,
                   chunk=2) as preparing:  # fmt: skip
        helped, _, _ = link_stream(
            people, TOY, TIGHT, SurvivorshipRules(), chunk=2, prepared=preparing
        )
    assert helped.person_of.keys() == alone.person_of.keys()
    assert _partition(helped.person_of) == _partition(alone.person_of)
    assert _partition(helped.household_of) == _partition(alone.household_of)


def _partition(assignment: dict[str, str | None]) -> set[frozenset[str]]:
    groups: dict[str | None, set[str]] = {}
    for record_id, group in assignment.items():
        groups.setdefault(group, set()).add(record_id)
    return {frozenset(g) for g in groups.values()}
