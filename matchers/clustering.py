"""Clustering linked records into persons: a deterministic procedure over one edge graph.

The input is an undirected graph whose edges are the accepted links: candidate pairs
scoring at or above the link threshold, plus pairs a person judged the same (weight
``inf``), minus pairs a person judged not the same. The procedure is a union-find over
groups of records, starting with every record alone:

1. **Model links**, strongest first (ties by the pair's record ids). A link whose two
   records are already in one group changes nothing. Otherwise the two groups ``A`` and
   ``B`` are joined unless

   - a "not the same person" judgement holds between a record of ``A`` and one of ``B``,
     or
   - the join would be a weak bridge: ``A`` and ``B`` are not both single records, the
     link is below ``thresholds.bridge``, and fewer than ``thresholds.bridge_share`` of
     the ``|A| * |B|`` pairs between the groups are links.

2. **"Same person" judgements**, in order of their record ids: each joins the two groups
   its records ended up in (a person looked at two records and said their persons are
   one), unless that would join a "not the same" pair.

The result depends only on the graph (records, link weights, judgements), never on the
order the links were found in, and the decision for a link only looks at the groups of its
two records, which lie inside one connected component. So clustering each component
separately gives exactly the clusters of one pass over the whole graph: the incremental
resolver recomputes only the components an update touches.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from matchers.decisions import Thresholds, pair_key


@dataclass(frozen=True, slots=True)
class Link:
    """An edge of the graph: two records (sorted) and its weight (``inf`` for a judgement)."""

    record_a: str
    record_b: str
    weight: float

    @property
    def judged(self) -> bool:
        return self.weight == math.inf


@dataclass(frozen=True, slots=True)
class Clustering:
    """Clusters of a graph, with the edges that built them and those that were refused."""

    clusters: tuple[frozenset[str], ...]  # sorted by their smallest record id
    accepted: tuple[Link, ...]  # the edges that joined two groups (a spanning forest)
    refused: tuple[Link, ...]  # edges left between two different clusters


def sort_key(link: Link) -> tuple[float, str, str]:
    return (-link.weight, link.record_a, link.record_b)


def cluster(
    nodes: Iterable[str],
    links: Iterable[Link],
    not_same: Iterable[tuple[str, str]],
    thresholds: Thresholds,
) -> Clustering:
    """Cluster ``nodes`` along ``links`` (see the module docstring for the procedure).

    ``links`` must not contain a pair of ``not_same``; endpoints of links and judgements
    that are not in ``nodes`` are ignored.
    """
    node_set = set(nodes)
    ordered = sorted(
        (k for k in links if k.record_a in node_set and k.record_b in node_set), key=sort_key
    )
    adjacency: dict[str, set[str]] = {}
    for link in ordered:
        adjacency.setdefault(link.record_a, set()).add(link.record_b)
        adjacency.setdefault(link.record_b, set()).add(link.record_a)
    forbidden: dict[str, set[str]] = {}
    for a, b in not_same:
        if a in node_set and b in node_set:
            forbidden.setdefault(a, set()).add(b)
            forbidden.setdefault(b, set()).add(a)

    root: dict[str, str] = {n: n for n in node_set}
    members: dict[str, list[str]] = {n: [n] for n in node_set}

    def find(node: str) -> str:
        top = root[node]
        while root[top] != top:
            top = root[top]
        while root[node] != top:
            root[node], node = top, root[node]
        return top

    def conflicts(small: str, big: str) -> bool:
        return any(
            find(other) == big for node in members[small] for other in forbidden.get(node, ())
        )

    def weak_bridge(small: str, big: str, weight: float) -> bool:
        size_small, size_big = len(members[small]), len(members[big])
        if size_big == 1 or weight >= thresholds.bridge:
            return False
        between = sum(
            1 for node in members[small] for other in adjacency[node] if find(other) == big
        )
        return between < thresholds.bridge_share * size_small * size_big

    accepted: list[Link] = []
    model = [k for k in ordered if not k.judged]
    judged = [k for k in ordered if k.judged]  # sort_key ordered them by record ids
    for link in [*model, *judged]:
        a, b = find(link.record_a), find(link.record_b)
        if a == b:
            continue
        small, big = (a, b) if len(members[a]) <= len(members[b]) else (b, a)
        if conflicts(small, big):
            continue
        if not link.judged and weak_bridge(small, big, link.weight):
            continue
        root[small] = big
        members[big].extend(members.pop(small))
        accepted.append(link)

    clusters = sorted((frozenset(group) for group in members.values()), key=min)
    refused = tuple(k for k in ordered if find(k.record_a) != find(k.record_b))
    return Clustering(tuple(clusters), tuple(accepted), refused)


def graph_links(
    weights: Mapping[tuple[str, str], float],
    judgements: Mapping[tuple[str, str], bool],
    link_threshold: float,
) -> tuple[list[Link], list[tuple[str, str]]]:
    """The graph's edges and not-same pairs from scored pairs and judgements (same: True).

    A scored pair becomes an edge at or above ``link_threshold``; a "same" judgement is an
    edge of weight ``inf``; a "not same" judgement removes the pair's edge.
    """
    links = {
        pair_key(*pair): weight for pair, weight in weights.items() if weight >= link_threshold
    }
    not_same: list[tuple[str, str]] = []
    for pair, same in judgements.items():
        key = pair_key(*pair)
        if same:
            links[key] = math.inf
        else:
            links.pop(key, None)
            not_same.append(key)
    return [Link(a, b, w) for (a, b), w in links.items()], not_same
