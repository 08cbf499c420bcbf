"""Clustering scored pairs into persons: a deterministic procedure against weak chaining.

Input: the records, the scored candidate pairs (match weights; pairs below
``thresholds.floor`` may be left out), and the human judgements. The **links** are the
scored pairs at or above ``thresholds.link`` that nobody judged "not the same". The
procedure is a union-find over groups of records, starting with every record alone:

1. **Model links**, strongest first (ties by the pair's record ids). A link whose two
   records are already in one group changes nothing. Otherwise the two groups ``A`` and
   ``B`` are joined only if

   - no "not the same person" judgement holds between a record of ``A`` and one of ``B``,
     and
   - the groups are well linked on average (average linkage): over all ``|A| * |B|``
     pairs between them, the mean of ``max(weight, floor)`` is at least
     ``thresholds.group``, where a pair never scored counts as ``floor``. Two single
     records always pass (their one pair is the link itself), so the rule bites exactly
     where chaining happens: one weak bridge between two groups of three averages to
     about ``(w + 8 * floor) / 9`` and is refused.

2. **"Same person" judgements**, in order of their record ids: each joins the groups its
   two records ended up in (a person looked at two records and said their persons are
   one), unless that would put a "not the same" pair together.

The result depends only on the input (records, weights, judgements), never on the order
the pairs are given in. Every decision looks only at the groups of a link's two records,
and groups never span two connected components of the graph of links and "same"
judgements; so clustering each component separately gives exactly the clusters of one pass
over the whole graph, which is what lets the incremental resolver recompute only the
components an update touches.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from matchers.decisions import Thresholds, pair_key


@dataclass(frozen=True, slots=True)
class Link:
    """A pair of records (sorted) and its match weight (``inf`` for a "same" judgement)."""

    record_a: str
    record_b: str
    weight: float

    @property
    def judged(self) -> bool:
        return self.weight == math.inf


@dataclass(frozen=True, slots=True)
class Clustering:
    """Clusters, with the links that built them and the links that were refused."""

    clusters: tuple[frozenset[str], ...]  # sorted by their smallest record id
    accepted: tuple[Link, ...]  # the links that joined two groups (a spanning forest)
    refused: tuple[Link, ...]  # links left between two different clusters


def sort_key(link: Link) -> tuple[float, str, str]:
    return (-link.weight, link.record_a, link.record_b)


def cluster(
    nodes: Iterable[str],
    scored: Iterable[Link],
    judgements: Mapping[tuple[str, str], bool],
    thresholds: Thresholds,
) -> Clustering:
    """Cluster ``nodes`` (see the module docstring). ``judgements`` maps a sorted pair to
    True ("same person") or False ("not the same"); pairs and judgements with a record
    outside ``nodes`` are ignored."""
    node_set = set(nodes)
    weights, links = _index(node_set, scored, judgements, thresholds)
    forbidden: dict[str, set[str]] = {}
    same: list[Link] = []
    for (a, b), is_same in sorted(judgements.items()):
        if a not in node_set or b not in node_set:
            continue
        if is_same:
            same.append(Link(a, b, math.inf))
        else:
            forbidden.setdefault(a, set()).add(b)
            forbidden.setdefault(b, set()).add(a)
    floor = thresholds.floor

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

    def well_linked(small: str, big: str) -> bool:
        pairs = len(members[small]) * len(members[big])
        if pairs == 1:
            return True
        total, counted = 0.0, 0
        for node in members[small]:
            for other, weight in weights.get(node, {}).items():
                if find(other) == big:
                    total += weight
                    counted += 1
        return total + floor * (pairs - counted) >= thresholds.group * pairs

    accepted: list[Link] = []
    for link in [*links, *same]:
        a, b = find(link.record_a), find(link.record_b)
        if a == b:
            continue
        small, big = (a, b) if len(members[a]) <= len(members[b]) else (b, a)
        if conflicts(small, big):
            continue
        if not link.judged and not well_linked(small, big):
            continue
        root[small] = big
        members[big].extend(members.pop(small))
        accepted.append(link)

    clusters = sorted((frozenset(group) for group in members.values()), key=min)
    refused = tuple(k for k in [*links, *same] if find(k.record_a) != find(k.record_b))
    return Clustering(tuple(clusters), tuple(accepted), refused)


def _index(
    nodes: set[str],
    scored: Iterable[Link],
    judgements: Mapping[tuple[str, str], bool],
    thresholds: Thresholds,
) -> tuple[dict[str, dict[str, float]], list[Link]]:
    """Each node's pair weights (floored) and the links, strongest first."""
    weights: dict[str, dict[str, float]] = {}
    links: list[Link] = []
    for pair in scored:
        a, b = pair.record_a, pair.record_b
        if a not in nodes or b not in nodes:
            continue
        weight = max(pair.weight, thresholds.floor)
        weights.setdefault(a, {})[b] = weight
        weights.setdefault(b, {})[a] = weight
        if pair.weight >= thresholds.link and judgements.get(pair_key(a, b)) is not False:
            links.append(Link(*pair_key(a, b), pair.weight))
    links.sort(key=sort_key)
    return weights, links
