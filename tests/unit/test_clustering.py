"""The clustering procedure: weak bridges stay apart, judgements bind, order never matters."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.clustering import Link, cluster
from matchers.decisions import Thresholds

pytestmark = pytest.mark.unit

RULE = Thresholds(link=6.0, review=2.0, bridge=14.0, bridge_share=0.5)


def triangle(a: str, b: str, c: str, weight: float = 10.0) -> list[Link]:
    return [Link(a, b, weight), Link(a, c, weight), Link(b, c, weight)]


def test_two_groups_joined_by_one_weak_edge_stay_apart() -> None:
    links = [*triangle("a1", "a2", "a3"), *triangle("b1", "b2", "b3"), Link("a3", "b1", 9.0)]
    result = cluster(["a1", "a2", "a3", "b1", "b2", "b3"], links, [], RULE)
    assert set(result.clusters) == {frozenset({"a1", "a2", "a3"}), frozenset({"b1", "b2", "b3"})}
    assert result.refused == (Link("a3", "b1", 9.0),)
    assert len(result.accepted) == 4  # two spanning trees of two edges each


def test_a_strong_bridge_joins() -> None:
    groups = [*triangle("a1", "a2", "a3", 20.0), *triangle("b1", "b2", "b3", 20.0)]
    links = [*groups, Link("a3", "b1", 15.0)]
    result = cluster(["a1", "a2", "a3", "b1", "b2", "b3"], links, [], RULE)
    assert result.clusters == (frozenset({"a1", "a2", "a3", "b1", "b2", "b3"}),)


def test_well_connected_groups_join() -> None:
    # five of the nine pairs between the groups are linked: more than half
    between = [Link(a, b, 7.0) for a, b in
               [("a1", "b1"), ("a1", "b2"), ("a2", "b1"), ("a2", "b3"), ("a3", "b2")]]  # fmt: skip
    links = [*triangle("a1", "a2", "a3", 12.0), *triangle("b1", "b2", "b3", 12.0), *between]
    result = cluster(["a1", "a2", "a3", "b1", "b2", "b3"], links, [], RULE)
    assert len(result.clusters) == 1


def test_a_record_joins_a_group_only_when_it_links_to_enough_of_it() -> None:
    group = triangle("a1", "a2", "a3", 12.0)
    one_link = cluster(["a1", "a2", "a3", "x"], [*group, Link("a3", "x", 9.0)], [], RULE)
    assert frozenset({"x"}) in one_link.clusters
    two_links = [*group, Link("a3", "x", 9.0), Link("a1", "x", 7.0)]
    assert len(cluster(["a1", "a2", "a3", "x"], two_links, [], RULE).clusters) == 1


def test_not_same_judgement_holds_against_any_chain() -> None:
    links = [Link("a", "b", 20.0), Link("b", "c", 20.0), Link("c", "d", math.inf)]
    result = cluster("abcd", links, [("a", "d")], RULE)
    assert all(not {"a", "d"} <= group for group in result.clusters)


def test_same_judgement_joins_the_two_persons_whatever_the_rule() -> None:
    links = [*triangle("a1", "a2", "a3"), *triangle("b1", "b2", "b3"), Link("a1", "b1", math.inf)]
    result = cluster(["a1", "a2", "a3", "b1", "b2", "b3"], links, [], RULE)
    assert len(result.clusters) == 1
    assert Link("a1", "b1", math.inf) in result.accepted


def test_same_judgement_never_overrides_not_same() -> None:
    links = [Link("a", "b", 20.0), Link("b", "c", math.inf)]
    result = cluster("abc", links, [("a", "c")], RULE)
    assert set(result.clusters) == {frozenset("ab"), frozenset("c")}


node_names = st.sampled_from([f"r{i:02d}" for i in range(14)])
graphs = st.lists(
    st.tuples(node_names, node_names, st.sampled_from([6.0, 7.5, 9.0, 12.0, 15.0, math.inf])),
    max_size=40,
)


def build(edges: list[tuple[str, str, float]]) -> tuple[list[str], list[Link]]:
    links: dict[tuple[str, str], float] = {}
    for a, b, w in edges:
        if a != b:
            links[(min(a, b), max(a, b))] = w
    nodes = sorted({n for pair in links for n in pair})
    return nodes, [Link(a, b, w) for (a, b), w in links.items()]


@settings(max_examples=200)
@given(graphs, st.randoms(use_true_random=False))
def test_input_order_never_changes_the_clusters(
    edges: list[tuple[str, str, float]], rnd: random.Random
) -> None:
    nodes, links = build(edges)
    not_same = [(a, b) for a, b in zip(nodes, nodes[3:], strict=False)
                if not any({a, b} == {k.record_a, k.record_b} for k in links)][:2]  # fmt: skip
    first = cluster(nodes, links, not_same, RULE)
    rnd.shuffle(nodes)
    rnd.shuffle(links)
    again = cluster(nodes, links, not_same, RULE)
    assert first.clusters == again.clusters
    assert set(first.accepted) == set(again.accepted)


@settings(max_examples=200)
@given(graphs)
def test_clustering_components_separately_equals_the_whole(
    edges: list[tuple[str, str, float]],
) -> None:
    nodes, links = build(edges)
    whole = set(cluster(nodes, links, [], RULE).clusters)
    # connected components by a plain search
    neighbours: dict[str, set[str]] = {n: set() for n in nodes}
    for k in links:
        neighbours[k.record_a].add(k.record_b)
        neighbours[k.record_b].add(k.record_a)
    seen: set[str] = set()
    parts: set[frozenset[str]] = set()
    for start in nodes:
        if start in seen:
            continue
        component, todo = {start}, [start]
        while todo:
            for other in neighbours[todo.pop()] - component:
                component.add(other)
                todo.append(other)
        seen |= component
        inside = [k for k in links if k.record_a in component]
        parts |= set(cluster(component, inside, [], RULE).clusters)
    assert parts == whole
    assert {n for group in whole for n in group} == set(nodes)
