"""The clustering procedure: weak bridges stay apart, judgements bind, order never matters."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from matchers.clustering import Link, _kinds_conflict, _may_conflict, _prepare, cluster
from matchers.constraints import Traits
from matchers.decisions import Thresholds

pytestmark = pytest.mark.unit

RULE = Thresholds(link=6.0, review=2.0, group=-5.0, floor=-10.0)
SIX = ["a1", "a2", "a3", "b1", "b2", "b3"]


def clique(names: list[str], weight: float = 12.0) -> list[Link]:
    return [Link(a, b, weight) for i, a in enumerate(names) for b in names[i + 1 :]]


def test_two_groups_joined_by_one_weak_link_stay_apart() -> None:
    links = [*clique(["a1", "a2", "a3"]), *clique(["b1", "b2", "b3"]), Link("a3", "b1", 9.0)]
    result = cluster(SIX, links, {}, RULE)
    assert set(result.clusters) == {frozenset({"a1", "a2", "a3"}), frozenset({"b1", "b2", "b3"})}
    assert result.refused == (Link("a3", "b1", 9.0),)
    assert len(result.accepted) == 4  # two spanning trees of two links each


def test_well_linked_groups_join() -> None:
    between = [Link(a, b, 7.0) for a, b in [("a1", "b1"), ("a2", "b2"), ("a3", "b3")]]
    # the other pairs between the groups were scored too, mildly negative
    others = [Link(a, b, -2.0) for a, b in [("a1", "b2"), ("a1", "b3"), ("a2", "b1")]]
    links = [*clique(["a1", "a2", "a3"]), *clique(["b1", "b2", "b3"]), *between, *others]
    # mean over the nine pairs: (3 * 7 - 3 * 2 - 3 * 10) / 9 = -1.67 >= -5
    assert cluster(SIX, links, {}, RULE).clusters == (frozenset(SIX),)


def test_evidence_against_between_groups_keeps_them_apart() -> None:
    # the same three links, but the other pairs scored strongly against
    between = [Link(a, b, 7.0) for a, b in [("a1", "b1"), ("a2", "b2"), ("a3", "b3")]]
    against = [Link(a, b, -30.0) for a in ["a1", "a2", "a3"] for b in ["b1", "b2", "b3"]
               if a[1] != b[1]]  # fmt: skip
    links = [*clique(["a1", "a2", "a3"]), *clique(["b1", "b2", "b3"]), *between, *against]
    # the floor caps how much one pair can count against: (21 - 60) / 9 = -4.3 >= -5
    assert len(cluster(SIX, links, {}, RULE).clusters) == 1
    strict = Thresholds(link=6.0, review=2.0, group=-4.0, floor=-10.0)
    assert len(cluster(SIX, links, {}, strict).clusters) == 2


def test_a_record_must_link_to_a_share_of_a_big_group() -> None:
    five = ["a1", "a2", "a3", "a4", "a5"]
    one_link = cluster([*five, "x"], [*clique(five), Link("a5", "x", 9.0)], {}, RULE)
    assert frozenset({"x"}) in one_link.clusters  # (9 - 4 * 10) / 5 = -6.2
    two = [*clique(five), Link("a5", "x", 9.0), Link("a1", "x", 7.0)]
    assert len(cluster([*five, "x"], two, {}, RULE).clusters) == 1  # (16 - 30) / 5 = -2.8


def test_not_same_judgement_holds_against_any_chain() -> None:
    links = [Link("a", "b", 20.0), Link("b", "c", 20.0), Link("c", "d", 20.0)]
    result = cluster("abcd", links, {("a", "d"): False, ("c", "d"): True}, RULE)
    assert all(not {"a", "d"} <= group for group in result.clusters)


def test_not_same_judgement_removes_the_link_itself() -> None:
    result = cluster("ab", [Link("a", "b", 30.0)], {("a", "b"): False}, RULE)
    assert len(result.clusters) == 2 and result.refused == ()


def test_same_judgement_joins_the_two_persons_whatever_the_model() -> None:
    links = [*clique(["a1", "a2", "a3"]), *clique(["b1", "b2", "b3"])]
    result = cluster(SIX, links, {("a1", "b1"): True}, RULE)
    assert result.clusters == (frozenset(SIX),)
    assert Link("a1", "b1", float("inf")) in result.accepted


def test_same_judgement_never_overrides_not_same() -> None:
    result = cluster("abc", [Link("a", "b", 20.0)], {("a", "c"): False, ("b", "c"): True}, RULE)
    assert set(result.clusters) == {frozenset("ab"), frozenset("c")}


names = [f"r{i:02d}" for i in range(14)]
scored_pairs = st.lists(
    st.tuples(st.sampled_from(names), st.sampled_from(names), st.integers(-14, 20)),
    max_size=50,
)
verdicts = st.dictionaries(
    st.tuples(st.sampled_from(names), st.sampled_from(names)), st.booleans(), max_size=4
)


def build(
    pairs: list[tuple[str, str, int]], judged: dict[tuple[str, str], bool]
) -> tuple[list[str], list[Link], dict[tuple[str, str], bool]]:
    weights = {(min(a, b), max(a, b)): float(w) for a, b, w in pairs if a != b}
    judgements = {(min(a, b), max(a, b)): v for (a, b), v in judged.items() if a != b}
    nodes = sorted({n for pair in [*weights, *judgements] for n in pair})
    return nodes, [Link(a, b, w) for (a, b), w in weights.items()], judgements


@settings(max_examples=200)
@given(scored_pairs, verdicts, st.randoms(use_true_random=False))
def test_input_order_never_changes_the_clusters(
    pairs: list[tuple[str, str, int]], judged: dict[tuple[str, str], bool], rnd: random.Random
) -> None:
    nodes, links, judgements = build(pairs, judged)
    first = cluster(nodes, links, judgements, RULE)
    rnd.shuffle(nodes)
    rnd.shuffle(links)
    shuffled = dict(rnd.sample(sorted(judgements.items()), len(judgements)))
    again = cluster(nodes, links, shuffled, RULE)
    assert first.clusters == again.clusters
    assert set(first.accepted) == set(again.accepted)


@settings(max_examples=200)
@given(scored_pairs, verdicts)
def test_clustering_each_component_separately_equals_the_whole(
    pairs: list[tuple[str, str, int]], judged: dict[tuple[str, str], bool]
) -> None:
    nodes, links, judgements = build(pairs, judged)
    whole = set(cluster(nodes, links, judgements, RULE).clusters)
    parts: set[frozenset[str]] = set()
    for component in components(nodes, links, judgements):
        parts |= set(cluster(component, links, judgements, RULE).clusters)
    assert parts == whole
    assert {n for group in whole for n in group} == set(nodes)
    # "not the same" always holds
    for (a, b), same in judgements.items():
        if not same:
            assert not any({a, b} <= group for group in whole)


def components(
    nodes: list[str], links: list[Link], judgements: Mapping[tuple[str, str], bool | None]
) -> list[set[str]]:
    """The components of the graph of links and "same" judgements, by a plain search."""
    neighbours: dict[str, set[str]] = {n: set() for n in nodes}
    for k in links:
        if k.weight >= RULE.link and judgements.get((k.record_a, k.record_b), True):
            neighbours[k.record_a].add(k.record_b)
            neighbours[k.record_b].add(k.record_a)
    for (a, b), same in judgements.items():
        if same:
            neighbours[a].add(b)
            neighbours[b].add(a)
    seen: set[str] = set()
    found = []
    for start in nodes:
        if start in seen:
            continue
        component, todo = {start}, [start]
        while todo:
            for other in neighbours[todo.pop()] - component:
                component.add(other)
                todo.append(other)
        seen |= component
        found.append(component)
    return found


_DATES = ["1950-03-03", "1950-03-04", "1952-04-03", "1953-03-03", "1985-07-01", "1958-07-01",
          "2010-07-07"]  # fmt: skip
_NAMES = [("john", None, "smith"), ("jon", None, "smith"), ("james", "j", "smith"),
          ("smith", None, "john")]  # fmt: skip
_TRAITS = st.builds(
    Traits,
    nhs_number=st.sampled_from([None, "9434765919", "9434765870"]),
    upn=st.sampled_from([None, "A123", "B456"]),
    ni_prefix=st.sampled_from([None, "AB123456", "CD654321"]),
    dob=st.sampled_from([None, *_DATES]),
    names=st.sampled_from([None, *_NAMES]),
    home=st.sampled_from([(None, None, None), ("1001", None, None), (None, "0207", None)]),
    born_by=st.sampled_from([None, "1975-01-01", "2005-06-30"]),
    child=st.booleans(),
)


@given(kinds=st.lists(_TRAITS, min_size=2, max_size=6), years=st.sampled_from([0, 2, 10, 25]))
@example(  # two children at one home, born more than one slip apart (sisters)
    kinds=[
        Traits(dob=dob, names=_NAMES[0], home=("1001", None, None, None), child=True)
        for dob in ("1950-03-03", "1952-04-03")
    ],
    years=2,
)
@settings(max_examples=400, deadline=None)
def test_the_quick_test_never_misses_a_conflict(kinds: list[Traits], years: int) -> None:
    """Clustering skips the cannot-link rules when the quick test finds no two records
    that may conflict: exact only if every pair the rules would refuse passes it."""
    if not _may_conflict(set(kinds), years):
        for a, b in itertools.combinations(kinds, 2):
            assert not _kinds_conflict(a, b, years)


@settings(max_examples=300, deadline=None)
@given(
    scored_pairs,
    st.dictionaries(
        st.tuples(st.sampled_from(names), st.sampled_from(names)),
        st.sampled_from([True, False, None]),
        max_size=4,
    ),
    st.dictionaries(st.sampled_from(names), _TRAITS),
)
def test_with_the_rules_each_component_separately_equals_the_whole(
    pairs: list[tuple[str, str, int]],
    judged: dict[tuple[str, str], bool | None],
    traits: dict[str, Traits],
) -> None:
    """The same with the cannot-link rules, a source's statements and the torn records
    (whose rules look at groups once the procedure has run)."""
    rules = Thresholds(link=6.0, review=2.0, group=-5.0, floor=-10.0, dob_years=10)
    weights = {(min(a, b), max(a, b)): float(w) for a, b, w in pairs if a != b}
    judgements = {(min(a, b), max(a, b)): v for (a, b), v in judged.items() if a != b}
    nodes = sorted({n for pair in [*weights, *judgements] for n in pair})
    links = [Link(a, b, w) for (a, b), w in weights.items()]
    whole = cluster(nodes, links, judgements, rules, traits)
    # clustering splits the graph into its components itself: the one pass over the whole
    # gives the same, field for field and in the same order
    adjacency: dict[str, dict[str, float]] = {}
    for link in links:
        adjacency.setdefault(link.record_a, {})[link.record_b] = link.weight
        adjacency.setdefault(link.record_b, {})[link.record_a] = link.weight
    graph, edges, same = _prepare(set(nodes), adjacency, judgements, rules, traits)
    assert graph.cluster(set(nodes), edges, same) == whole
    parts: set[frozenset[str]] = set()
    torn: set[str] = set()
    for component in components(nodes, links, judgements):
        part = cluster(component, links, judgements, rules, traits)
        parts |= set(part.clusters)
        torn |= part.torn
    assert parts == set(whole.clusters)
    assert torn == whole.torn
