"""The incremental resolver: records in, persons and households out, one operation at a time.

**What the result is.** For a fixed model and thresholds, the persons are a pure function
of the current records and the judgements, people's and sources'
(:func:`matchers.batch.resolve_batch` computes it in one pass):

- *candidate pairs*: two records sharing a blocking key whose bucket (the records holding
  that key) has at most ``thresholds.block_cap`` records; larger buckets are over-common
  and give no candidates;
- *scored pairs*: the candidate pairs with their match weights (those at or above
  ``thresholds.stored`` are kept; lower ones count as the floor anyway);
- *persons*: the clusters :func:`matchers.clustering.cluster` forms from the scored pairs
  and the judgements.

**How an operation keeps it so.** The state stores, for every record, its blocking keys and
its stored scored pairs (``edges``). An upsert or delete of record ``r``:

1. drops ``r``'s stored pairs and moves ``r`` between buckets;
2. when a bucket crosses the cap upwards, drops the pairs inside it that no other
   shared, not over-common key justifies; when one falls back to the cap, scores the
   pairs inside it that had no stored pair (they are candidates again);
3. scores ``r`` against the members of its buckets that are not over-common and stores
   the pairs; raises review items for pairs in the review band;
4. re-clusters only the connected components (of the graph of links and "same"
   judgements) holding a record whose stored pairs or judgements changed
   (:meth:`Resolver.upsert_many` places several records by steps 1-3, one after another,
   then re-clusters the components of all of them once). A component
   without such a record has the same records, pairs and judgements as before, so its
   clusters are still right; a touched one is recomputed from scratch by the same
   deterministic procedure a batch run uses. Hence the final persons do not depend on
   arrival order and equal the batch result.

Ids are not part of that function: they follow :mod:`matchers.stable_ids` (oldest id
survives a merge, largest part keeps the id on a split). Persons whose records changed get
a new golden record (:mod:`matchers.survivorship`); households of the addresses they left or
joined are regrouped (:mod:`matchers.households`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field, replace
from itertools import islice
from typing import Any

from matchers.clustering import Clustering, Link, cluster_graph
from matchers.constraints import Traits, source_ages, traits
from matchers.decisions import Decision, Judgement, Thresholds, parents_born_by
from matchers.events import (
    Event,
    FieldWeight,
    HouseholdChanged,
    HouseholdMember,
    MatchDecided,
    PersonPart,
    PersonRemoved,
    PersonsMerged,
    PersonSplit,
    PersonUpserted,
    ReviewItemRaised,
)
from matchers.households import ServiceGroup, group_residents
from matchers.identity_state import (
    HouseholdEntry,
    IdAllocator,
    IdentityState,
    PersonEntry,
    StagedState,
)
from matchers.ports import KeyRules, PairScorer, Standardiser
from matchers.records import SourceRecord, StandardRecord
from matchers.stable_ids import IdAssignment, assign_ids, format_id, id_age
from matchers.survivorship import SurvivorshipRules, golden_record

Explainer = Callable[[StandardRecord, StandardRecord], Sequence[FieldWeight]]
KnownWeightsOf = Callable[[StandardRecord], Mapping[str, float] | None]  # KnownWeights's method

PERSON_PREFIX = "P"
# records whose traits are remembered (~370 bytes each); beyond, the oldest half is forgotten
_TRAITS_KEPT = 1 << 19
HOUSEHOLD_PREFIX = "H"


@dataclass
class ResolverStats:
    """Counts since the resolver was made (for summaries and metrics)."""

    upserts: int = 0
    deletes: int = 0
    unchanged: int = 0  # upserts of a record identical to the stored one (redelivery)
    judgements: int = 0
    pairs_scored: int = 0
    # record keys skipped because their bucket was over-common, by blocking rule
    over_common_skips: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)


@dataclass
class _Placed:
    """What placing a record found: the records to re-cluster, its best candidate, the
    number of candidates, and review items for pairs in the review band."""

    affected: set[str]
    best: tuple[str, float] | None = None
    candidates: int = 0
    reviews: list[Event] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PersonExplanation:
    """Why a person is what it is: the links that built it (a spanning forest of the
    accepted edges; weight ``inf`` is a human "same" judgement), the links to other
    records that clustering refused, and the judgements involved."""

    person_id: str
    record_ids: tuple[str, ...]
    model_version: str
    thresholds: Thresholds
    links: tuple[Link, ...]
    refused_links: tuple[Link, ...]
    judgements: tuple[Judgement, ...]
    refused_reasons: tuple[str, ...] = ()  # each refused link's (Clustering.reason)


class Resolver:
    """Applies creates, updates, deletes and judgements to the identity state."""

    def __init__(
        self,
        state: IdentityState,
        ids: IdAllocator,
        *,
        standardise: Standardiser,
        rules: KeyRules,
        scorer: PairScorer,
        thresholds: Thresholds,
        survivorship: SurvivorshipRules | None = None,
        explain: Explainer | None = None,
    ) -> None:
        self.state = state
        self.ids = ids
        self.standardise = standardise
        self.rules = rules
        self.scorer = scorer
        self.thresholds = thresholds
        self.survivorship = survivorship or SurvivorshipRules()
        self.explain = explain
        self.stats = ResolverStats()
        self._known_traits: dict[str, tuple[StandardRecord, str | None, Traits]] = {}
        # the sources the remembered traits were made with (adults-only, contacts)
        self._traits_sources: tuple[Mapping[str, int], tuple[str, ...]] | None = None
        # a scorer that also offers KnownWeights (records scored ahead)
        self._known_weights: KnownWeightsOf | None = getattr(scorer, "known_weights", None)

    @property
    def configuration(self) -> dict[str, Any]:
        """What, besides the records and judgements, decides the persons and households:
        a state built under one configuration must not be carried on under another."""
        return configuration(self.scorer.version, self.thresholds, self.survivorship)

    # -- operations --------------------------------------------------------------------
    def upsert(self, record: SourceRecord) -> list[Event]:
        """Create or update a source record; returns what happened."""
        return self.upsert_standard(self.standardise(record))

    def upsert_standard(self, record: StandardRecord) -> list[Event]:
        return self.upsert_many((record,))

    def upsert_many(self, records: Iterable[StandardRecord]) -> list[Event]:
        """Create or update standard records as one operation: each is placed in turn
        (scored against the index as it stands, the call's earlier records included),
        then the persons they touch are re-clustered once. The persons are those that
        upserting the records one at a time gives, since they are a function of the
        records (see the module docstring); ids and events are the operation's: a person
        made and merged again within the call is never announced."""
        tx = StagedState(self.state)
        placements: list[tuple[str, _Placed]] = []
        affected: set[str] = set()
        for record in records:
            if tx.records.one(record.record_id) == record:
                self.stats.unchanged += 1
                continue
            self.stats.upserts += 1
            placed = self._place(tx, record.record_id, record, staged=bool(placements))
            placements.append((record.record_id, placed))
            affected |= placed.affected
        if not placements:
            return []
        focus = {rid for rid, _ in placements}
        changes = self._recluster(tx, affected, focus=focus)
        events: list[Event] = []
        for rid, placed in placements:
            best, weight = placed.best or (None, None)
            decision = self.thresholds.decide(weight).value if weight is not None else "no_link"
            events.append(
                MatchDecided(
                    record_id=rid,
                    candidate_record_id=best,
                    decision=decision,
                    match_weight=weight,
                    model_version=self.scorer.version,
                    person_id=tx.person_of.one(rid),
                    candidates=placed.candidates,
                )
            )
        self.state.apply(tx.changes())
        for _, placed in placements:
            events.extend(placed.reviews)
        events.extend(changes)
        return events

    def delete(self, record_id: str) -> list[Event]:
        """Delete a source record; deleting an unknown record changes nothing."""
        tx = StagedState(self.state)
        if tx.records.one(record_id) is None:
            return []
        self.stats.deletes += 1
        affected = self._place(tx, record_id, None).affected
        affected.discard(record_id)
        events = self._recluster(tx, affected, gone=frozenset({record_id}))
        self.state.apply(tx.changes())
        return events

    def judge(self, judgement: Judgement) -> list[Event]:
        """Record a judgement, a person's or one a source states (:func:`stated_apart`); it
        binds from now on, whatever the model says. The pair keeps the latest verdict with
        the best parent fact stated (:meth:`Judgement.merged_with`); nothing happens when
        that is what it kept already."""
        tx = StagedState(self.state)
        a, b = judgement.pair
        current = tx.judgements.one(a).get(b)
        kept = judgement if current is None else current.merged_with(judgement)
        if kept == current:
            return []
        judgement = kept
        self.stats.judgements += 1
        tx.judgements.put(a, b, judgement)
        tx.judgements.put(b, a, judgement)
        present = set(tx.records.get([a, b]))
        events = self._recluster(tx, present) if present else []
        decided = MatchDecided(
            record_id=judgement.record_a,
            candidate_record_id=judgement.record_b,
            decision=(Decision.LINK if judgement.same else Decision.NO_LINK).value,
            match_weight=None,
            model_version=self.scorer.version,
            person_id=tx.person_of.one(judgement.record_a),
            decided_by="rule" if judgement.stated else "human",
        )
        self.state.apply(tx.changes())
        return [decided, *events]

    def set_service_group(self, group: ServiceGroup) -> None:
        """Create or replace a service's grouping of its records (kept beside households)."""
        tx = StagedState(self.state)
        old = tx.service_groups.one(group.key)
        old_members = old.record_ids if old else frozenset()
        for record_id in old_members - group.record_ids:
            tx.record_groups.remove(record_id, group.key)
        for record_id in group.record_ids - old_members:
            tx.record_groups.add(record_id, group.key)
        tx.service_groups.put(group.key, group if group.record_ids else None)
        self.state.apply(tx.changes())

    # -- step 1-3: a record's place in blocking buckets and its scored pairs -------------
    def _place(
        self,
        tx: StagedState,
        record_id: str,
        record: StandardRecord | None,
        *,
        staged: bool = False,
    ) -> _Placed:
        """Move ``record_id`` to its new content (None: deleted). ``affected``: the records
        whose stored pairs or judgements changed (including ``record_id``). ``staged``:
        the operation already placed other records (its buckets have staged changes)."""
        cap = self.thresholds.block_cap
        old_keys = tx.record_keys.one(record_id) or frozenset()
        new_keys = frozenset(self.rules.keys(record)) if record is not None else frozenset()
        affected = {record_id, *tx.judgements.one(record_id)}
        for other in list(tx.edges.one(record_id)):
            tx.remove_edge(record_id, other)
            affected.add(other)
        removed, added = old_keys - new_keys, new_keys - old_keys
        before = tx.buckets.sizes(old_keys | new_keys)
        after = dict(before)
        for key in removed:
            after[key] -= 1
        for key in added:
            after[key] += 1
        for key in removed:
            tx.buckets.remove(key, record_id)
        for key in added:
            tx.buckets.add(key, record_id)
        tx.records.put(record_id, record)
        tx.record_keys.put(record_id, new_keys if record is not None else None)
        now_common = [k for k in added if before[k] == cap]
        now_usable = [k for k in removed if before[k] == cap + 1]
        if now_common:
            affected |= self._drop_unjustified(tx, now_common, record_id)
        if now_usable:
            affected |= self._score_buckets(tx, now_usable, record_id)
        placed = _Placed(affected)
        if record is not None:
            usable = [k for k in new_keys if after[k] <= cap]
            self._score_record(tx, record, usable, placed, staged=staged)
            over_common = [k for k in new_keys if after[k] > cap]
            if over_common:
                self.stats.over_common_skips.update(k.partition(":")[0] for k in over_common)
        return placed

    def _drop_unjustified(self, tx: StagedState, keys: Iterable[str], exclude: str) -> set[str]:
        """Pairs inside buckets that just became over-common lose their edge unless another
        shared key that is not over-common still makes them candidates."""
        cap = self.thresholds.block_cap
        members = tx.buckets.members(keys)
        everyone = set().union(*members.values()) - {exclude}
        keys_of = tx.record_keys.get(everyone)
        sizes = tx.buckets.sizes(set().union(*keys_of.values()))
        edges = tx.edges.get(everyone)
        affected: set[str] = set()
        for bucket in members.values():
            for x in bucket:
                if x == exclude:
                    continue
                for y in [y for y in edges[x] if y in bucket and y != exclude and x < y]:
                    shared = keys_of[x] & keys_of[y]
                    if not any(sizes[k] <= cap for k in shared):
                        tx.remove_edge(x, y)
                        affected.update((x, y))
        return affected

    def _score_buckets(self, tx: StagedState, keys: Iterable[str], exclude: str) -> set[str]:
        """Buckets back at the cap make their pairs candidates again: score those not
        already stored."""
        members = tx.buckets.members(keys)
        everyone = sorted(set().union(*members.values()) - {exclude})
        records = tx.records.get(everyone)
        edges = tx.edges.get(everyone)
        affected: set[str] = set()
        todo: dict[str, set[str]] = {}
        for bucket in members.values():
            for x in bucket:
                for y in bucket:
                    if exclude not in (x, y) and x < y and y not in edges[x]:
                        todo.setdefault(x, set()).add(y)
        for x in sorted(todo):
            others = sorted(todo[x])
            weights = self.scorer.score_many(records[x], [records[y] for y in others])
            self.stats.pairs_scored += len(others)
            for y, weight in zip(others, weights, strict=True):
                if weight >= self.thresholds.stored:
                    tx.set_edge(x, y, weight)
                    affected.update((x, y))
        return affected

    def _score_record(
        self,
        tx: StagedState,
        record: StandardRecord,
        usable: list[str],
        placed: _Placed,
        *,
        staged: bool = False,
    ) -> None:
        """Score a record against the members of its usable buckets, store its pairs,
        decide each pair. Unless ``staged`` (other records placed in this operation), the
        only bucket change staged is this record's own, so the stored members minus the
        record are the candidates."""
        rid = record.record_id
        if staged:
            members = tx.buckets.union(usable)
        else:
            members = set().union(*tx.buckets.stored_members(usable).values())
        members.discard(rid)
        candidates = sorted(members)
        if not candidates:
            return
        weights = self._weights(tx, record, candidates)
        self.stats.pairs_scored += len(candidates)
        placed.candidates = len(candidates)
        judged = tx.judgements.one(rid)
        stored, link, review = self.thresholds.stored, self.thresholds.link, self.thresholds.review
        best, best_weight = "", -math.inf
        links = reviews = 0
        for other, weight in zip(candidates, weights, strict=True):
            if weight > best_weight:
                best, best_weight = other, weight
            if weight < stored:
                continue
            tx.set_edge(rid, other, weight)
            if weight >= link:
                links += 1
                placed.affected.add(other)
            elif weight >= review:
                reviews += 1
                if other not in judged:
                    item = self._review(record, _present(tx, other), weight, "review_band")
                    placed.reviews.append(item)
        placed.best = (best, best_weight)
        decisions = self.stats.decisions
        decisions[Decision.LINK.value] += links
        decisions[Decision.REVIEW.value] += reviews
        decisions[Decision.NO_LINK.value] += len(candidates) - links - reviews

    def _weights(
        self, tx: StagedState, record: StandardRecord, candidates: list[str]
    ) -> list[float]:
        """``record``'s weights against ``candidates``; the scorer's known weights (see
        :class:`matchers.ports.KnownWeights`) spare fetching the candidates they cover."""
        known = self._known_weights(record) if self._known_weights else None
        if known is None:
            others = [other for other in tx.records.each(candidates) if other is not None]
            if len(others) != len(candidates):
                raise RuntimeError("identity state inconsistent: a candidate record is missing")
            return self.scorer.score_many(record, others)
        weights = []
        for other in candidates:
            weight = known.get(other)
            if weight is None:
                weight = self.scorer.score(record, _present(tx, other))
            weights.append(weight)
        return weights

    def _review(
        self, a: StandardRecord, b: StandardRecord, weight: float, reason: str
    ) -> ReviewItemRaised:
        explanation = tuple(self.explain(a, b)) if self.explain else ()
        return ReviewItemRaised(
            a.record_id, b.record_id, weight, reason, a, b, explanation, self.scorer.version
        )

    # -- step 4: re-cluster the touched components ---------------------------------------
    def component(
        self, tx: StagedState, seeds: Iterable[str]
    ) -> tuple[set[str], dict[str, dict[str, float]], dict[tuple[str, str], bool | None]]:
        """The records connected to ``seeds`` by links and "same" judgements, their stored
        scored pairs (record -> partner -> weight), and the judgements among them."""
        link_at = self.thresholds.link
        frontier = sorted(tx.records.get(set(seeds)))
        nodes = set(frontier)
        scored: dict[str, dict[str, float]] = {}
        judgements: dict[tuple[str, str], bool | None] = {}
        while frontier:
            edges = tx.edges.get(frontier)
            judged = tx.judgements.get(frontier)
            partners = {y for x in frontier for y in judged[x]} - nodes
            present = tx.records.get(partners) if partners else {}
            reached: list[str] = []
            for x in frontier:
                own = judged[x]
                scored[x] = edges[x]
                if not own:  # (most records: no judgement, so links are followed)
                    for y, weight in edges[x].items():
                        if weight >= link_at and y not in nodes:
                            nodes.add(y)
                            reached.append(y)
                    continue
                for y, judgement in own.items():
                    if y in nodes or y in present:
                        judgements[judgement.pair] = judgement.verdict
                for y, weight in edges[x].items():
                    verdict = own.get(y)
                    follow = verdict.same if verdict else weight >= link_at
                    if follow and y not in nodes:
                        nodes.add(y)
                        reached.append(y)
                for y, judgement in own.items():
                    if judgement.same and y in present and y not in nodes:
                        nodes.add(y)
                        reached.append(y)
            frontier = reached
        return nodes, scored, judgements

    def _traits(self, tx: StagedState, nodes: set[str]) -> dict[str, Traits]:
        """The records' traits (with the bounds of the sources' statements that a record is
        a parent, among its judgements); those of a record object seen before, with the
        same bound, are remembered (the in-memory state hands out the same object until the
        record changes)."""
        known = self._known_traits
        if len(known) > _TRAITS_KEPT:  # (not all at once: that would be a cold start again)
            for record_id in list(islice(known, len(known) // 2)):
                del known[record_id]
        ages = source_ages(self.thresholds.adult_sources)
        contacts = self.thresholds.contact_sources
        if (ages, contacts) != self._traits_sources:  # (the bounds change with them)
            known.clear()
            self._traits_sources = (ages, contacts)
        judged = tx.judgements.get(nodes)
        found: dict[str, Traits] = {}
        for record_id, record in tx.records.get(nodes).items():
            own = judged[record_id]
            bound = parents_born_by(own.values()).get(record_id) if own else None
            seen = known.get(record_id)
            if seen is None or seen[0] is not record or seen[1] != bound:
                seen = known[record_id] = (
                    record,
                    bound,
                    traits(record, ages, bound, contact_sources=contacts),
                )
            found[record_id] = seen[2]
        return found

    def _recluster(
        self,
        tx: StagedState,
        seeds: Iterable[str],
        focus: AbstractSet[str] = frozenset(),
        gone: frozenset[str] = frozenset(),
    ) -> list[Event]:
        nodes, scored, judgements = self.component(tx, seeds)
        clustering = cluster_graph(
            nodes, scored, judgements, self.thresholds, self._traits(tx, nodes)
        )
        old_person_of = tx.person_of.get(nodes | gone)
        old_entries = tx.persons.get(set(old_person_of.values()))
        old_groups = {pid: entry.record_ids for pid, entry in old_entries.items()}
        stray = {r for g in old_groups.values() for r in g} - nodes - gone
        if stray:
            raise RuntimeError(f"identity state inconsistent: {len(stray)} records outside")
        assignment = assign_ids(old_groups, clustering.clusters, self._allocator(PERSON_PREFIX))

        events: list[Event] = []
        for record_id in gone:
            tx.person_of.put(record_id, None)
        changes: PersonChanges = {}
        for person_id in assignment.retired:
            tx.persons.put(person_id, None)
            changes[person_id] = (old_entries[person_id], None)
            events.append(PersonRemoved(person_id))
        events.extend(_split_events(old_groups, clustering.clusters, assignment))
        group_named = {person_id: group for group, person_id in assignment.ids.items()}
        aliases: dict[str, frozenset[str]] = {}
        for survivor, absorbed in assignment.merged.items():
            taken = set(absorbed)
            for person_id in absorbed:
                taken |= old_entries[person_id].aliases
                tx.persons.put(person_id, None)
                changes[person_id] = (old_entries[person_id], None)
            for alias in taken:
                tx.person_aliases.put(alias, survivor)
            aliases[survivor] = frozenset(taken)
            events.append(
                PersonsMerged(survivor, _sorted(absorbed), tuple(sorted(group_named[survivor])))
            )

        touched = {
            group: person_id
            for group, person_id in assignment.ids.items()
            if person_id not in old_entries
            or old_entries[person_id].record_ids != group
            or not focus.isdisjoint(group)
            or person_id in aliases
        }
        records = tx.records.get({r for group in touched for r in group})
        for group, person_id in touched.items():
            old = old_entries.get(person_id)
            golden = golden_record((records[r] for r in group), self.survivorship)
            entry = PersonEntry(
                person_id,
                group,
                golden,
                old.household_id if old else None,
                (old.aliases if old else frozenset()) | aliases.get(person_id, frozenset()),
                old.version + 1 if old else 1,
            )
            changes[person_id] = (old, entry)
            for record_id in group:
                if old_person_of.get(record_id) != person_id:
                    tx.person_of.put(record_id, person_id)
        events.extend(self._rehouse(tx, changes))
        events.extend(self._review_refused(tx, clustering, focus, old_person_of))
        return events

    def _review_refused(
        self,
        tx: StagedState,
        clustering: Clustering,
        focus: AbstractSet[str],
        old_person_of: Mapping[str, str],
    ) -> list[Event]:
        """A review item for each model link the clustering refuses that is new: one of
        its records was just placed (``focus``), it was scored in this operation (a bucket
        fell back under the cap), or its two records were one person before (a record that
        arrived later tore them apart). So every link refused in the end was raised with
        its weight, whatever the order the records came in."""
        scored = tx.edges.staged_set

        def new(link: Link) -> bool:
            a, b = link.record_a, link.record_b
            return (
                a in focus
                or b in focus
                or b in scored.get(a, ())
                or old_person_of.get(a, "") == old_person_of.get(b)
            )

        refused = [k for k in clustering.refused if not k.judged and new(k)]
        if not refused:
            return []
        records = tx.records.get({r for k in refused for r in (k.record_a, k.record_b)})
        return [
            self._review(records[k.record_a], records[k.record_b], k.weight, clustering.reason(k))
            for k in refused
        ]

    # -- households ------------------------------------------------------------------------
    def _rehouse(self, tx: StagedState, changes: PersonChanges) -> list[Event]:
        """Regroup the households of every address a changed person left or joined, then
        write the changed persons (with their household ids) and announce them."""
        keys = _moved_keys(tx, changes)
        entries = {pid: new for pid, (_old, new) in changes.items() if new is not None}
        if not keys and all(e.household_key or not e.household_id for e in entries.values()):
            # nobody moved: every household stays as it is
            return [self._announce(tx, person_id, entry) for person_id, entry in entries.items()]
        return self._regroup(tx, changes, keys, entries)

    def _regroup(
        self,
        tx: StagedState,
        changes: PersonChanges,
        keys: set[str],
        entries: dict[str, PersonEntry],
    ) -> list[Event]:
        """Group the residents of ``keys`` anew; write and announce the changed persons and
        every person whose household changed."""
        residents = tx.residents.members(keys)
        entries.update(tx.persons.get({p for g in residents.values() for p in g} - set(changes)))
        new_groups: dict[frozenset[str], str] = {}  # group -> its household key
        for key in sorted(keys):
            periods = {p: _period(entries[p]) for p in residents[key]}
            new_groups.update((group, key) for group in group_residents(periods))
        # the households being regrouped: those of every resident of the keys, and of
        # changed persons who lived at one of them
        old_ids = {entries[p].household_id for g in residents.values() for p in g}
        old_ids |= {o.household_id for o, _n in changes.values() if o and o.household_key in keys}
        old = tx.households.get(h for h in old_ids if h)
        assignment = assign_ids(
            {h: e.person_ids for h, e in old.items()},
            list(new_groups),
            self._allocator(HOUSEHOLD_PREFIX),
        )
        periods = {p: _period(e) for p, e in entries.items()}
        events = _write_households(tx, old, new_groups, assignment, periods)
        household_of = {p: h for group, h in assignment.ids.items() for p in group}
        for person_id, entry in entries.items():
            household_id = household_of.get(person_id, entry.household_id)
            if entry.household_key is None:
                household_id = None
            if person_id not in changes and entry.household_id == household_id:
                continue
            housed = entry
            if entry.household_id != household_id:
                housed = replace(entry, household_id=household_id)
            if person_id not in changes:  # only its household changed
                housed = replace(housed, version=entry.version + 1)
            events.append(self._announce(tx, person_id, housed))
        return events

    @staticmethod
    def _announce(tx: StagedState, person_id: str, entry: PersonEntry) -> PersonUpserted:
        """Write a changed person and say so."""
        tx.persons.put(person_id, entry)
        return PersonUpserted(
            person_id,
            entry.golden,
            tuple(sorted(entry.record_ids)),
            _sorted(entry.aliases),
            entry.household_id,
            entry.version,
        )

    def _allocator(self, prefix: str) -> Callable[[int], list[str]]:
        kind = "person" if prefix == PERSON_PREFIX else "household"
        return lambda n: [format_id(prefix, i) for i in self.ids.allocate(kind, n)]

    # -- explanations ---------------------------------------------------------------------
    def explain_person(self, person_id: str) -> PersonExplanation | None:
        """The links that built a person (None for an unknown id; aliases are followed)."""
        tx = StagedState(self.state)
        current = tx.person_aliases.one(person_id) or person_id
        entry = tx.persons.one(current)
        if entry is None:
            return None
        nodes, scored, verdicts = self.component(tx, entry.record_ids)
        clustering = cluster_graph(
            nodes, scored, verdicts, self.thresholds, self._traits(tx, nodes)
        )
        members = entry.record_ids

        def inside(k: Link) -> bool:
            return k.record_a in members and k.record_b in members

        def touching(k: Link) -> bool:
            return (k.record_a in members) != (k.record_b in members)

        judged = tx.judgements.get(members)
        judgements = {j for js in judged.values() for j in js.values()}
        refused = tuple(k for k in clustering.refused if touching(k) or inside(k))
        return PersonExplanation(
            person_id=current,
            record_ids=tuple(sorted(members)),
            model_version=self.scorer.version,
            thresholds=self.thresholds,
            links=tuple(k for k in clustering.accepted if inside(k)),
            refused_links=refused,
            judgements=tuple(sorted(judgements, key=lambda j: j.pair)),
            refused_reasons=tuple(clustering.reason(k) for k in refused),
        )


PersonChanges = dict[str, tuple[PersonEntry | None, PersonEntry | None]]


def configuration(
    model_version: str, thresholds: Thresholds, survivorship: SurvivorshipRules
) -> dict[str, Any]:
    """See :attr:`Resolver.configuration` (JSON-ready)."""
    return {
        "model_version": model_version,
        **asdict(thresholds),
        "trusted_address_sources": list(survivorship.trusted_address_sources),
    }


def _moved_keys(tx: StagedState, changes: PersonChanges) -> set[str]:
    """Move changed persons between the residents of household keys; the keys whose
    residents or residence periods changed."""
    keys: set[str] = set()
    for person_id, (old, new) in changes.items():
        old_key = old.household_key if old else None
        new_key = new.household_key if new else None
        if old is None or new is None or old_key != new_key:
            if old_key:
                tx.residents.remove(old_key, person_id)
            if new_key:
                tx.residents.add(new_key, person_id)
            keys.update(k for k in (old_key, new_key) if k)
        elif old_key and _period(old) != _period(new):
            keys.add(old_key)
    return keys


def _write_households(
    tx: StagedState,
    old: dict[str, HouseholdEntry],
    new_groups: dict[frozenset[str], str],
    assignment: IdAssignment,
    periods: dict[str, tuple[str | None, str | None]],
) -> list[Event]:
    events: list[Event] = []
    absorbed_by = {a: s for s, absorbed in assignment.merged.items() for a in absorbed}
    for household_id in assignment.retired:
        tx.households.put(household_id, None)
        gone = old[household_id]
        events.append(
            HouseholdChanged(
                household_id,
                gone.household_key,
                (),
                (),
                _sorted(gone.person_ids),
                version=gone.version + 1,
            )
        )
    for household_id, survivor in absorbed_by.items():
        tx.households.put(household_id, None)
        for alias in {household_id} | old[household_id].aliases:
            tx.household_aliases.put(alias, survivor)
    for group, household_id in assignment.ids.items():
        before = old.get(household_id)
        merged = assignment.merged.get(household_id, ())
        key = new_groups[group]
        # unchanged only if the same people still live at the same place (a household
        # whose people all moved together keeps its id and changes its key)
        if (
            before is not None
            and before.person_ids == group
            and before.household_key == key
            and not merged
        ):
            continue
        aliases = before.aliases if before else frozenset()
        lived_here = set(before.person_ids if before else ())
        for absorbed in merged:
            aliases |= {absorbed} | old[absorbed].aliases
            lived_here |= old[absorbed].person_ids
        version = before.version + 1 if before else 1
        tx.households.put(household_id, HouseholdEntry(household_id, key, group, aliases, version))
        events.append(
            HouseholdChanged(
                household_id,
                key,
                tuple(HouseholdMember(p, *periods[p]) for p in _sorted(group)),
                _sorted(group - lived_here),
                _sorted(lived_here - group),
                _sorted(merged),
                version,
            )
        )
    return events


def _split_events(
    old_groups: dict[str, frozenset[str]],
    clusters: Iterable[frozenset[str]],
    assignment: IdAssignment,
) -> list[Event]:
    """One PersonSplit per split person: where its records went, largest part first."""
    group_of = {r: group for group in clusters for r in group}
    events: list[Event] = []
    for old_id in assignment.split:
        parts: dict[frozenset[str], list[str]] = {}
        for record_id in old_groups[old_id]:
            if record_id in group_of:
                parts.setdefault(group_of[record_id], []).append(record_id)
        ordered = sorted(parts, key=lambda g: (-len(parts[g]), min(parts[g])))
        pieces = (PersonPart(assignment.ids[g], tuple(sorted(parts[g]))) for g in ordered)
        events.append(PersonSplit(old_id, tuple(pieces)))
    return events


def _present(tx: StagedState, record_id: str) -> StandardRecord:
    record = tx.records.one(record_id)
    if record is None:
        raise RuntimeError("identity state inconsistent: a candidate record is missing")
    return record


def _period(entry: PersonEntry | None) -> tuple[str | None, str | None]:
    if entry is None:
        return (None, None)
    return (entry.golden.residence_start, entry.golden.residence_end)


def _sorted(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(ids, key=id_age))
