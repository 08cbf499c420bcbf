"""Clustering scored pairs into persons: a deterministic procedure against weak chaining.

Input: the records, the scored candidate pairs (match weights; pairs below
``thresholds.floor`` may be left out), and the judgements: people's, and those a source
states (:func:`matchers.decisions.stated_apart`: two records it relates are two people).
The **links** are the scored pairs at or above ``thresholds.link`` that no judgement calls
"not the same". The procedure is a union-find over groups of records, starting with every
record alone:

1. **Records torn between two people** are set aside: a record linked, about equally
   strongly (within ``thresholds.ambiguity`` of its strongest link), to two records that
   can never be one person (a cannot-link rule) while it conflicts with neither. A dateless
   "John Smith" at the address of a father and a son of that name links to both; which of
   them it is, is for a person to decide. Its model links join nothing. Nor does a link
   weaker, by more than the margin, than one of its two records' link to a torn record,
   when that record conflicts with none of the people the torn one is torn between: it
   could be either of them, and it is more like the undecided record than like the
   other, so it is no more decided (a father's dateless council-tax record, much like his
   torn portal record and only just linked to his son, does not join the son).
   The same holds between groups: once steps 2 and 3 have run, a record linked, within
   the margin of its strongest link, to a record of its own group and to one of a group
   that a cannot-link rule refused to join with its own, while breaking none with that
   group, is torn as well (a mother's dateless contact record at a school, a little more
   like her child's dateless record, which carries her phone, than like her own, where a
   source says which record is the child's); the procedure then runs once more with those
   set aside too.

2. **Model links** of the other records, strongest first (ties by the pair's record ids).
   A link whose two records are already in one group changes nothing. Otherwise the two
   groups ``A`` and ``B`` are joined only if

   - no "not the same person" judgement holds between a record of ``A`` and one of ``B``,
   - no pair between them breaks a cannot-link rule (different NHS numbers, dates of
     birth years apart, a child's date of birth against a council-tax record:
     :mod:`matchers.constraints`, given ``traits``; a source's statement that two of its
     records are two people), and
   - the groups are well linked on average (average linkage): over all ``|A| * |B|``
     pairs between them, the mean of ``max(weight, floor)`` is at least
     ``thresholds.group``, where a pair never scored counts as ``floor``. Two single
     records always pass (their one pair is the link itself), so the rule bites exactly
     where chaining happens: one weak bridge between two groups of three averages to
     about ``(w + 8 * floor) / 9`` and is refused.

3. **"Same person" judgements**, in order of their record ids: each joins the groups its
   two records ended up in (a person looked at two records and said their persons are
   one), unless that would put a person's "not the same" pair together. A person's
   judgement overrides the cannot-link rules, a source's statement among them.

The result depends only on the input (records, weights, judgements), never on the order
the pairs are given in. Every decision looks only at a record's links or at the groups of
a link's two records, and groups never span two connected components of the graph of
links and "same" judgements; so clustering each component separately gives exactly the
clusters of one pass over the whole graph, which is what lets the incremental resolver
recompute only the components an update touches.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from matchers.constraints import Names, Summary, Traits, given_names_differ, no_slip, two_slips
from matchers.decisions import Thresholds


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
    torn: frozenset[str] = frozenset()  # records linked to two people (_torn, _torn_between)
    held: frozenset[tuple[str, str]] = frozenset()  # links held back near a torn record
    kept_apart: frozenset[tuple[str, str]] = frozenset()  # links a cannot-link rule refused

    def reason(self, link: Link) -> str:
        """Why a refused link goes to review: ``"ambiguous"`` (one of its records is torn,
        or it was held back near one), ``"constraint_conflict"`` (a cannot-link rule kept
        the groups of its two records apart: a judgement, a source's statement, different
        identifiers, dates of birth...), else ``"weak_bridge"``."""
        a, b = link.record_a, link.record_b
        if a in self.torn or b in self.torn or (a, b) in self.held:
            return "ambiguous"
        return "constraint_conflict" if (a, b) in self.kept_apart else "weak_bridge"


def sort_key(link: Link) -> tuple[float, str, str]:
    return (-link.weight, link.record_a, link.record_b)


def cluster(
    nodes: Iterable[str],
    scored: Iterable[Link],
    judgements: Mapping[tuple[str, str], bool | None],
    thresholds: Thresholds,
    traits: Mapping[str, Traits] | None = None,
) -> Clustering:
    """Cluster ``nodes`` (see the module docstring). ``judgements`` maps a sorted pair to
    True ("same person"), False ("not the same") or None ("not the same" as a source
    states it: :attr:`~matchers.decisions.Judgement.verdict`); pairs and judgements with a
    record outside ``nodes`` are ignored. Without ``traits`` no cannot-link rule applies."""
    adjacency: dict[str, dict[str, float]] = {}
    for pair in scored:
        adjacency.setdefault(pair.record_a, {})[pair.record_b] = pair.weight
        adjacency.setdefault(pair.record_b, {})[pair.record_a] = pair.weight
    return cluster_graph(nodes, adjacency, judgements, thresholds, traits)


def cluster_graph(
    nodes: Iterable[str],
    adjacency: Mapping[str, Mapping[str, float]],
    judgements: Mapping[tuple[str, str], bool | None],
    thresholds: Thresholds,
    traits: Mapping[str, Traits] | None = None,
) -> Clustering:
    """:func:`cluster` over scored pairs given as each record's map of partner -> weight
    (both directions; partners outside ``nodes`` are ignored). Each connected component
    of the links and "same" judgements is clustered on its own, which gives exactly the
    one pass's result (see the module docstring) in the one pass's order, and spares the
    cannot-link rules every component in which no two records may conflict: a batch of
    updates touches many people, and few of them hold two that may."""
    node_set = set(nodes)
    if len(node_set) == 1:
        return Clustering((frozenset(node_set),), (), ())
    graph, links, same = _prepare(node_set, adjacency, judgements, thresholds, traits)
    parts = _components(node_set, links, same)
    if len(parts) == 1:
        return graph.cluster(node_set, links, same)
    found = [graph.cluster(*part) for part in parts]
    return Clustering(
        tuple(sorted((c for f in found for c in f.clusters), key=min)),
        tuple(sorted((k for f in found for k in f.accepted), key=_in_order)),
        tuple(sorted((k for f in found for k in f.refused), key=_in_order)),
        frozenset().union(*(f.torn for f in found)),
        frozenset().union(*(f.held for f in found)),
        frozenset().union(*(f.kept_apart for f in found)),
    )


def _prepare(
    node_set: set[str],
    adjacency: Mapping[str, Mapping[str, float]],
    judgements: Mapping[tuple[str, str], bool | None],
    thresholds: Thresholds,
    traits: Mapping[str, Traits] | None,
) -> tuple[_Graph, list[Edge], list[Edge]]:
    """The links (strongest first) and "same" judgements among ``node_set``, and the rest
    of what clustering needs."""
    link_at = thresholds.link
    # (-weight, a, b) tuples sort strongest first, ties by record ids, at C speed
    links = sorted(
        (-weight, a, b)
        for a in node_set
        for b, weight in adjacency.get(a, _NO_PARTNERS).items()
        if weight >= link_at and a < b and b in node_set
    )
    if judgements:  # (a pair judged or stated "not the same" is no link)
        links = [k for k in links if judgements.get((k[1], k[2]), True)]
    forbidden: dict[str, set[str]] = {}  # a person's "not the same"
    stated: dict[str, set[str]] = {}  # a source's
    same: list[Edge] = []
    for (a, b), verdict in sorted(judgements.items()):
        if a not in node_set or b not in node_set:
            continue
        if verdict:
            same.append((-math.inf, a, b))
        else:
            apart = forbidden if verdict is False else stated
            apart.setdefault(a, set()).add(b)
            apart.setdefault(b, set()).add(a)
    return _Graph(adjacency, forbidden, stated, traits or {}, thresholds), links, same


def _in_order(link: Link) -> tuple[bool, float, str, str]:
    """The one pass's order of links: model links strongest first, then judgements."""
    return (link.judged, -link.weight, link.record_a, link.record_b)


Edge = tuple[float, str, str]  # (-weight, a, b)


def _components(
    nodes: set[str], links: list[Edge], same: list[Edge]
) -> list[tuple[set[str], list[Edge], list[Edge]]]:
    """The connected components of the links and "same" judgements: each one's records,
    links and judgements (in the order given)."""
    root = {n: n for n in nodes}

    def find(node: str) -> str:
        while root[node] != node:
            root[node] = node = root[root[node]]
        return node

    for _, a, b in itertools.chain(links, same):
        top_a, top_b = find(a), find(b)
        if top_a != top_b:
            root[top_a] = top_b
    parts: dict[str, tuple[set[str], list[Edge], list[Edge]]] = {}
    for node in nodes:
        parts.setdefault(find(node), (set(), [], []))[0].add(node)
    for edge in links:
        parts[find(edge[1])][1].append(edge)
    for edge in same:
        parts[find(edge[1])][2].append(edge)
    return list(parts.values())


@dataclass(frozen=True, slots=True)
class _Graph:
    """What clustering one component needs besides its records, links and judgements."""

    adjacency: Mapping[str, Mapping[str, float]]
    forbidden: dict[str, set[str]]
    stated: dict[str, set[str]]
    traits: Mapping[str, Traits]
    thresholds: Thresholds

    def cluster(self, nodes: set[str], links: list[Edge], same: list[Edge]) -> Clustering:
        """The procedure (the module docstring) over one component, or any set of them."""
        if not links and not same:
            return Clustering(tuple(sorted((frozenset((n,)) for n in nodes), key=min)), (), ())
        thresholds, traits = self.thresholds, self.traits
        if traits:
            kinds = {kind for node in nodes if (kind := traits.get(node)) is not None}
            if not _may_conflict(kinds, thresholds.dob_years):
                traits = {}  # no two of the records can conflict: no rule to check
        torn = _torn(links, traits, thresholds) if len(links) > 1 and traits else {}
        order = _untorn(links, torn, traits, thresholds) if torn else links

        def join_all() -> tuple[_Groups, list[Link]]:
            groups = _Groups(nodes, self.adjacency, self.forbidden, self.stated, traits, thresholds)
            accepted = [
                Link(a, b, -negative)
                for negative, a, b in [*order, *same]
                if groups.join(a, b, judged=negative == -math.inf)
            ]
            return groups, accepted

        groups, accepted = join_all()
        between = _torn_between(order, groups, traits, thresholds) if groups.kept_apart else {}
        if between:  # once more, with them set aside too
            torn = {**torn, **between}
            order = _untorn(links, torn, traits, thresholds)
            groups, accepted = join_all()
        clusters = sorted((frozenset(group) for group in groups.members.values()), key=min)
        find = groups.find
        refused = tuple(
            Link(a, b, -negative) for negative, a, b in [*links, *same] if find(a) != find(b)
        )
        held = (
            frozenset(
                (a, b) for _, a, b in set(links) - set(order) if a not in torn and b not in torn
            )
            if torn
            else frozenset()
        )
        kept_apart = frozenset(groups.kept_apart)
        return Clustering(
            tuple(clusters), tuple(accepted), refused, frozenset(torn), held, kept_apart
        )


def _untorn(
    links: list[tuple[float, str, str]],
    torn: Mapping[str, frozenset[Traits]],
    traits: Mapping[str, Traits],
    thresholds: Thresholds,
) -> list[tuple[float, str, str]]:
    """The links (strongest first) that may join two groups once the ``torn`` records are
    set aside: none of a torn record, and none weaker by more than the margin than one of
    its two records' strongest link to a torn record whose kinds (the people it is torn
    between) that record conflicts with none of."""
    margin, years = thresholds.ambiguity, thresholds.dob_years
    bar: dict[str, float] = {}  # record -> its strongest such link, less the margin
    for negative, a, b in links:
        if (a in torn) == (b in torn):
            continue
        record, kinds = (b, torn[a]) if a in torn else (a, torn[b])
        if record not in bar:
            own = traits.get(record, _NO_TRAITS)
            if not any(_kinds_conflict(kind, own, years) for kind in kinds):
                bar[record] = -negative - margin  # (the first: the strongest)
    lowest = -math.inf
    return [
        (negative, a, b)
        for negative, a, b in links
        if a not in torn
        and b not in torn
        and -negative >= bar.get(a, lowest)
        and -negative >= bar.get(b, lowest)
    ]


def _torn_between(
    order: list[tuple[float, str, str]],
    groups: _Groups,
    traits: Mapping[str, Traits],
    thresholds: Thresholds,
) -> dict[str, frozenset[Traits]]:
    """Records torn between two groups that ``groups`` (the procedure run once) refused to
    join by a cannot-link rule: linked, within ``thresholds.ambiguity`` of its strongest
    link in ``order``, to a record of its own group and to one of the other, and breaking
    no cannot-link rule with the other. This is :func:`_torn` for groups: the mother's
    dateless contact record at a school, a little more like her child's dateless record
    (it carries her phone) than like her own, where a source says which record is the
    child's. Each torn record's kinds: the traits of every record of the groups it is
    torn between."""
    find = groups.find
    apart = {frozenset((find(a), find(b))) for a, b in groups.kept_apart}
    sides = set().union(*apart)
    # only a record of such a group with a link to another group can be torn
    across = {r for _, a, b in order if find(a) != find(b) for r in (a, b) if find(r) in sides}
    linked: dict[str, list[tuple[float, str]]] = {}  # record -> (weight, other), strongest first
    for negative, a, b in order:
        if a in across:
            linked.setdefault(a, []).append((-negative, b))
        if b in across:
            linked.setdefault(b, []).append((-negative, a))
    margin = thresholds.ambiguity
    torn: dict[str, frozenset[Traits]] = {}
    for record, near_links in linked.items():
        bar = near_links[0][0] - margin
        near = {find(other) for weight, other in near_links if weight >= bar}
        own = find(record)
        if own not in near:
            continue
        others = [
            root
            for root in near - {own}
            if frozenset((own, root)) in apart and groups.may_join(record, root)
        ]
        if others:
            members = (m for root in (own, *others) for m in groups.members[root])
            torn[record] = frozenset(traits.get(m, _NO_TRAITS) for m in members)
    return torn


def _torn(
    links: Iterable[tuple[float, str, str]],
    traits: Mapping[str, Traits],
    thresholds: Thresholds,
) -> dict[str, frozenset[Traits]]:
    """Records torn between two people: linked, about equally strongly (within
    ``thresholds.ambiguity`` of their strongest link), to two records that can never be one
    person (a cannot-link rule) while conflicting with neither. A dateless "John Smith" at
    the address of a father and a son of that name links to both; which of them it is, is
    for a person to decide. ``links``: (-weight, a, b) of every link, strongest first.
    Each torn record's kinds: the traits of the records it links to that strongly."""
    margin, years = thresholds.ambiguity, thresholds.dob_years
    linked: dict[str, list[tuple[float, str]]] = {}  # record -> (weight, other), strongest first
    for negative, a, b in links:
        linked.setdefault(a, []).append((-negative, b))
        linked.setdefault(b, []).append((-negative, a))
    torn: dict[str, frozenset[Traits]] = {}
    for record, near_links in linked.items():
        if len(near_links) < 2:
            continue
        bar = near_links[0][0] - margin
        kinds = {traits.get(other, _NO_TRAITS) for weight, other in near_links if weight >= bar}
        kinds.discard(_NO_TRAITS)
        if len(kinds) < 2 or not _may_conflict(kinds, years):
            continue
        own = traits.get(record, _NO_TRAITS)
        # two kinds that conflict, neither conflicting with the record's own (pairs first:
        # they rarely conflict, so the record's own is seldom asked about)
        clear: dict[Traits, bool] = {}
        if any(
            _kinds_conflict(a, b, years)
            and _clear(a, own, years, clear)
            and _clear(b, own, years, clear)
            for a, b in itertools.combinations(kinds, 2)
        ):
            torn[record] = frozenset(kinds)
    return torn


def _clear(kind: Traits, own: Traits, years: int, known: dict[Traits, bool]) -> bool:
    """Whether ``kind`` does not conflict with ``own`` (remembered in ``known``)."""
    answer = known.get(kind)
    if answer is None:
        answer = known[kind] = not _kinds_conflict(kind, own, years)
    return answer


_NO_TRAITS = Traits()
_NO_HOME = _NO_TRAITS.home
_NO_PARTNERS: Mapping[str, float] = {}


@lru_cache(maxsize=1 << 17)
def _kinds_conflict(a: Traits, b: Traits, years: int) -> bool:
    """Whether two single records, given by their traits, conflict (a cannot-link rule);
    the same pairs come back at every re-clustering of a component."""
    return Summary.of(a).conflicts(Summary.of(b), years)


def _may_conflict(kinds: Collection[Traits], years: int) -> bool:
    """Whether some two of ``kinds`` may conflict: a quick test before the rules proper,
    true whenever :meth:`Summary.conflicts` would find two records that conflict. It
    holds when two of them hold different NHS numbers, UPNs or NI prefixes; a date of
    birth is later than a born-by date; two birth years are more than ``years`` apart, or
    two dates differ in day, month and year (:func:`~matchers.constraints.no_slip`); two
    with a date of birth, names and a home, both written as children, hold dates that
    differ in two of day, month and year (:func:`~matchers.constraints.two_slips`; no
    other difference of dates conflicts); or two such, children or not, share the date
    and hold given names that plainly differ (the twins rule, the only one that looks at
    names)."""
    if not kinds:
        return False
    nhs, upn, ni, dates, _names, _homes, born_by_dates, _children = zip(*kinds, strict=True)
    for values in (nhs, upn, ni):
        distinct = set(values)
        if len(distinct) > 1 and len(distinct - _ABSENT) > 1:
            return True
    dobs = set(dates) - _ABSENT
    if not dobs:
        return False
    born_by = set(born_by_dates)
    born_by.discard(None)
    latest = max(dobs)
    if born_by and latest > min(born_by):
        return True
    at_home = [(k.dob, k.names, k.child) for k in kinds if k.dob and k.names and k.home != _NO_HOME]
    children = {dob for dob, _, child in at_home if child}
    if years and (
        int(latest[:4]) - int(min(dobs)[:4]) > years
        or any(no_slip(a, b) for a, b in itertools.combinations(dobs, 2))  # (years close)
        or any(two_slips(a, b) for a, b in itertools.combinations(children, 2))
    ):
        return True
    named: dict[str, set[Names]] = {}
    for dob, names, _ in at_home:
        named.setdefault(dob, set()).add(names)
    return any(
        given_names_differ(a, b) or given_names_differ(b, a)
        for names in named.values()
        if len(names) > 1
        for a, b in itertools.combinations(names, 2)
    )


_ABSENT = frozenset((None, ""))


class _Groups:
    """The union-find of the procedure: groups of records and what is known about each."""

    def __init__(  # noqa: PLR0917 (one call, in order)
        self,
        nodes: set[str],
        adjacency: Mapping[str, Mapping[str, float]],
        forbidden: dict[str, set[str]],
        stated: dict[str, set[str]],
        traits: Mapping[str, Traits],
        thresholds: Thresholds,
    ) -> None:
        self.root = {n: n for n in nodes}
        self.members = {n: [n] for n in nodes}  # in joining order (sums add up in it)
        self.sets = {n: {n} for n in nodes}  # the same, to ask who is in a group
        self.adjacency = adjacency
        self.forbidden = forbidden  # a person's "not the same": no join at all
        self.stated = stated  # a source's: no join by the model
        self.traits = traits
        self.summaries: dict[str, Summary] = {}  # by group root, made when first needed
        # group pairs (and sizes) refused a join: True when a cannot-link rule refused it
        self.refused: dict[tuple[str, str, int, int], bool] = {}
        self.thresholds = thresholds
        self.kept_apart: list[tuple[str, str]] = []  # links a cannot-link rule refused

    def may_join(self, record: str, root: str) -> bool:
        """Whether ``record`` alone breaks no cannot-link rule with group ``root``."""
        theirs = self.sets[root]
        for apart in (self.forbidden, self.stated):
            if any(other in theirs for other in apart.get(record, ())):
                return False
        if not self.traits:
            return True
        own = Summary.of(self.traits.get(record, _NO_TRAITS))
        return not own.conflicts(self._summary(root), self.thresholds.dob_years)

    def find(self, node: str) -> str:
        root = self.root
        top = root[node]
        while root[top] != top:
            top = root[top]
        while root[node] != top:
            root[node], node = top, root[node]
        return top

    def join(self, record_a: str, record_b: str, *, judged: bool) -> bool:
        """Join the groups of a link's two records if the rules allow; whether it joined."""
        a, b = self.find(record_a), self.find(record_b)
        if a == b:
            return False
        members = self.members
        size_a, size_b = len(members[a]), len(members[b])
        small, big = (a, b) if size_a <= size_b else (b, a)
        if self.forbidden and self._apart(small, big, self.forbidden):
            self.kept_apart.append((record_a, record_b))
            return False
        if not judged and (size_a * size_b > 1 or self.traits):
            # groups only change by joining, so two roots with the same sizes are the same
            # two groups as last time: the answer is the same too
            state = (small, big, len(members[small]), len(members[big]))
            conflict = self.refused.get(state)
            if conflict is not None:
                if conflict:
                    self.kept_apart.append((record_a, record_b))
                return False
            if (self.stated and self._apart(small, big, self.stated)) or self._incompatible(
                small, big
            ):
                self.refused[state] = True
                self.kept_apart.append((record_a, record_b))
                return False
            if not self._well_linked(small, big):
                self.refused[state] = False
                return False
        self.root[small] = big
        moved = members.pop(small)
        members[big].extend(moved)
        sets = self.sets
        sets[big] |= sets.pop(small)
        absorbed, kept = self.summaries.pop(small, None), self.summaries.get(big)
        if absorbed is None and kept is not None and len(moved) == 1:
            absorbed = Summary.of(self.traits.get(small, _NO_TRAITS))  # (two records: none made)
        if absorbed is not None and kept is not None:
            kept.absorb(absorbed)
        else:
            self.summaries.pop(big, None)
        return True

    def _apart(self, small: str, big: str, apart: dict[str, set[str]]) -> bool:
        """Whether a pair of ``apart`` holds between the two groups."""
        theirs = self.sets[big]
        return any(other in theirs for node in self.members[small] for other in apart.get(node, ()))

    def _summary(self, root: str) -> Summary:
        summary = self.summaries.get(root)
        if summary is None:
            first, *rest = self.members[root]
            summary = Summary.of(self.traits.get(first, _NO_TRAITS))
            for node in rest:
                known = self.traits.get(node)
                if known is not None:
                    summary.absorb(Summary.of(known))
            self.summaries[root] = summary
        return summary

    def _incompatible(self, small: str, big: str) -> bool:
        if not self.traits:
            return False
        years = self.thresholds.dob_years
        members = self.members
        if len(members[small]) == 1 and len(members[big]) == 1:  # two records: (cached)
            traits = self.traits
            return _kinds_conflict(
                traits.get(small, _NO_TRAITS), traits.get(big, _NO_TRAITS), years
            )
        return self._summary(small).conflicts(self._summary(big), years)

    def _well_linked(self, small: str, big: str) -> bool:
        pairs = len(self.members[small]) * len(self.members[big])
        if pairs == 1:
            return True
        floor = self.thresholds.floor
        total, counted = 0.0, 0
        theirs, adjacency = self.sets[big], self.adjacency
        for node in self.members[small]:
            for other, weight in adjacency.get(node, _NO_PARTNERS).items():
                if other in theirs:
                    total += weight if weight > floor else floor
                    counted += 1
        return total + floor * (pairs - counted) >= self.thresholds.group * pairs
