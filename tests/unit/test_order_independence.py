"""Order independence: any sequence of creates, updates, deletes and judgements ends in the
persons and households of a batch run over the final records and judgements."""

from __future__ import annotations

import math
import random
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchers.decisions import Judgement, Thresholds, stated_apart
from matchers.events import ReviewItemRaised
from matchers.records import SourceRecord
from tests.support.resolving import (
    batch,
    batch_households,
    batch_partition,
    check_consistent,
    expected_edges,
    make_resolver,
    stored_edges,
)
from tests.support.toy_model import toy_standardise

pytestmark = pytest.mark.unit

# A low link threshold and a tiny bucket cap, so that links, chains, bridges and
# over-common buckets (crossing the cap both ways) all happen in short sequences.
LOOSE = Thresholds(link=3.0, review=0.0, group=-6.0, floor=-10.0, block_cap=3, dob_years=5)
IDS = [f"r{i}" for i in range(8)]


def maybe(*values: str) -> st.SearchStrategy[str | None]:
    return st.sampled_from([*values, None])


@st.composite
def records(draw: st.DrawFn, record_id: str) -> SourceRecord:
    return SourceRecord(
        record_id=record_id,
        source_system=draw(st.sampled_from(["housing", "education", "council_tax"])),
        first_name=draw(maybe("ann", "anne", "bob")),
        last_name=draw(st.sampled_from(["smith", "smyth", "jones"])),
        dob=draw(maybe("1980-01-01", "1980-01-02", "1990-05-05")),
        postcode=draw(maybe("NW1 1AA", "E1 1AA")),
        email=draw(maybe("a@x.org", "b@x.org")),
        nhs_number=draw(st.sampled_from([None, None, "9434765919", "9434765870"])),
        uprn=draw(maybe("1", "2")),
        residence_start=draw(maybe("2000-01-01", "2010-01-01")),
        residence_end=draw(maybe("2005-01-01")),
        updated_at=draw(maybe("2020-01-01", "2021-01-01")),
    )


@st.composite
def operations(draw: st.DrawFn) -> tuple[str, object]:
    kind = draw(st.sampled_from(["upsert", "upsert", "upsert", "delete", "judge"]))
    if kind == "upsert":
        return kind, draw(records(draw(st.sampled_from(IDS))))
    if kind == "delete":
        return kind, draw(st.sampled_from(IDS))
    a, b = draw(st.lists(st.sampled_from(IDS), min_size=2, max_size=2, unique=True))
    if draw(st.integers(0, 2)) == 0:  # a source relates the two: two people, until a person says
        system = draw(st.sampled_from(["housing", "education"]))
        if draw(st.booleans()):  # one the other's parent since then: born 12 years before
            since = draw(st.sampled_from([date(1992, 1, 1), date(2000, 1, 1)]))
            parent = draw(st.sampled_from([a, b]))
            return kind, stated_apart(a, b, system, parent=parent, since=since)
        return kind, stated_apart(a, b, system)
    at = draw(st.sampled_from(["2026-01-01", "2026-01-02", "2026-01-03"]))
    return kind, Judgement(a, b, draw(st.booleans()), "officer", at)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operations(), max_size=40), st.randoms(use_true_random=False))
def test_any_operation_sequence_ends_in_the_batch_result(
    ops: list[tuple[str, object]], rnd: random.Random
) -> None:
    resolver, state = make_resolver(LOOSE)
    final: dict[str, SourceRecord] = {}
    judgements: list[Judgement] = []
    raised: dict[tuple[str, str], float] = {}  # pair -> weight of its latest review item
    for kind, payload in ops:
        if kind == "upsert":
            assert isinstance(payload, SourceRecord)
            events = resolver.upsert(payload)
            final[payload.record_id] = payload
        elif kind == "delete":
            assert isinstance(payload, str)
            events = resolver.delete(payload)
            final.pop(payload, None)
        else:
            assert isinstance(payload, Judgement)
            events = resolver.judge(payload)
            judgements.append(payload)
        for event in events:
            if isinstance(event, ReviewItemRaised):
                pair = (
                    min(event.record_id, event.other_record_id),
                    max(event.record_id, event.other_record_id),
                )
                raised[pair] = event.match_weight
    check_consistent(state)
    standard = [toy_standardise(r) for r in final.values()]
    expected = batch(standard, LOOSE, judgements)
    assert stored_edges(state) == expected_edges(standard, LOOSE)
    assert state.partition() == batch_partition(expected)
    assert state.household_partition() == batch_households(expected)
    # every link the batch refuses went to review, with its weight, whatever the order
    refused = {(k.record_a, k.record_b): k.weight for k in expected.clustering.refused}
    assert {pair: raised.get(pair) for pair in refused if refused[pair] != math.inf} == {
        pair: weight for pair, weight in refused.items() if weight != math.inf
    }

    # the same final records and judgements, created in another order, agree too
    again, again_state = make_resolver(LOOSE)
    shuffled: list[object] = [*final.values(), *judgements]
    rnd.shuffle(shuffled)
    for item in shuffled:
        if isinstance(item, SourceRecord):
            again.upsert(item)
        else:
            assert isinstance(item, Judgement)
            again.judge(item)
    assert again_state.partition() == state.partition()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(operations(), max_size=40),
    st.lists(st.integers(1, 6), min_size=1, max_size=40),
)
def test_upserts_in_chunks_end_in_the_batch_result(
    ops: list[tuple[str, object]], sizes: list[int]
) -> None:
    """Runs of upserts applied as one operation each (placed one by one, clustered once),
    between deletes and judgements, end where single operations end."""
    resolver, state = make_resolver(LOOSE)
    final: dict[str, SourceRecord] = {}
    judgements: list[Judgement] = []
    pending: list[SourceRecord] = []
    chunk_sizes = iter(sizes * 40)

    def flush() -> None:
        while pending:
            size = next(chunk_sizes)
            resolver.upsert_many([toy_standardise(r) for r in pending[:size]])
            del pending[:size]

    for kind, payload in ops:
        if kind == "upsert":
            assert isinstance(payload, SourceRecord)
            pending.append(payload)
            final[payload.record_id] = payload
            continue
        flush()
        if kind == "delete":
            assert isinstance(payload, str)
            resolver.delete(payload)
            final.pop(payload, None)
        else:
            assert isinstance(payload, Judgement)
            resolver.judge(payload)
            judgements.append(payload)
    flush()
    check_consistent(state)
    standard = [toy_standardise(r) for r in final.values()]
    expected = batch(standard, LOOSE, judgements)
    assert stored_edges(state) == expected_edges(standard, LOOSE)
    assert state.partition() == batch_partition(expected)
    assert state.household_partition() == batch_households(expected)
