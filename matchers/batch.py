"""The batch result: the persons and households of a set of records, in one pass.

This is the definition the incremental :class:`~matchers.resolver.Resolver` must reproduce
(see its module docstring): candidate pairs from blocking buckets of at most
``thresholds.block_cap`` records, scored; clusters of them and of the judgements by
:func:`matchers.clustering.cluster`, golden
records by :mod:`matchers.survivorship`, households by :mod:`matchers.households`.
Ids here are fresh and numbered by each group's smallest member.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from matchers.clustering import Clustering, cluster_graph
from matchers.constraints import source_ages, traits
from matchers.decisions import Judgement, Thresholds, parents_born_by
from matchers.households import group_residents
from matchers.ports import KeyRules, PairScorer
from matchers.records import StandardRecord
from matchers.stable_ids import format_id
from matchers.survivorship import GoldenRecord, SurvivorshipRules, golden_record


@dataclass(frozen=True, slots=True)
class BatchResult:
    clustering: Clustering
    person_of: dict[str, str]  # record id -> person id
    goldens: dict[str, GoldenRecord]  # person id -> golden record
    household_of: dict[str, str]  # person id -> household id (persons with an address)
    pairs_scored: int
    over_common_keys: int


def candidate_pairs(
    records: Iterable[StandardRecord], rules: KeyRules, cap: int
) -> tuple[dict[str, set[str]], int]:
    """Each record's candidates with a greater id, and how many keys were over-common."""
    buckets: dict[str, list[str]] = {}
    for record in records:
        for key in rules.keys(record):
            buckets.setdefault(key, []).append(record.record_id)
    partners: dict[str, set[str]] = {}
    over_common = 0
    for members in buckets.values():
        if len(members) > cap:
            over_common += 1
            continue
        for x in members:
            for y in members:
                if x < y:
                    partners.setdefault(x, set()).add(y)
    return partners, over_common


def latest_judgements(judgements: Iterable[Judgement]) -> dict[tuple[str, str], Judgement]:
    """What each pair keeps of its judgements: the latest, with the best parent fact a
    source stated (:meth:`Judgement.merged_with`)."""
    latest: dict[tuple[str, str], Judgement] = {}
    for judgement in judgements:
        current = latest.get(judgement.pair)
        latest[judgement.pair] = judgement if current is None else current.merged_with(judgement)
    return latest


def judgements_by_record(judgements: Iterable[Judgement]) -> dict[str, dict[str, Judgement]]:
    """Each record's judgements by the other record (both ways), as the identity state
    keeps them (give the latest of each pair: :func:`latest_judgements`)."""
    by_record: dict[str, dict[str, Judgement]] = {}
    for judgement in judgements:
        a, b = judgement.pair
        by_record.setdefault(a, {})[b] = judgement
        by_record.setdefault(b, {})[a] = judgement
    return by_record


def resolve_batch(
    records: Iterable[StandardRecord],
    rules: KeyRules,
    scorer: PairScorer,
    thresholds: Thresholds,
    *,
    judgements: Iterable[Judgement] = (),
    survivorship: SurvivorshipRules | None = None,
) -> BatchResult:
    by_id = {r.record_id: r for r in records}
    partners, over_common = candidate_pairs(by_id.values(), rules, thresholds.block_cap)
    scored: dict[str, dict[str, float]] = {}
    pairs_scored = 0
    for x in sorted(partners):
        others = sorted(partners[x])
        pairs_scored += len(others)
        weights = scorer.score_many(by_id[x], [by_id[y] for y in others])
        for y, w in zip(others, weights, strict=True):
            if w >= thresholds.stored:
                scored.setdefault(x, {})[y] = w
                scored.setdefault(y, {})[x] = w
    result = resolve_scored(
        by_id, scored, thresholds, judgements=judgements, survivorship=survivorship
    )
    return replace(result, pairs_scored=pairs_scored, over_common_keys=over_common)


def resolve_scored(
    by_id: Mapping[str, StandardRecord],
    scored: Mapping[str, Mapping[str, float]],
    thresholds: Thresholds,
    *,
    judgements: Iterable[Judgement] = (),
    survivorship: SurvivorshipRules | None = None,
) -> BatchResult:
    """The rest of :func:`resolve_batch` once the candidate pairs are scored elsewhere (a
    bulk bootstrap scores them with Splink): ``scored`` holds each record's partners and
    match weights in both directions, pairs below ``thresholds.stored`` left out."""
    latest = latest_judgements(judgements)
    judged = {
        pair: j.verdict for pair, j in latest.items() if pair[0] in by_id and pair[1] in by_id
    }
    ages = source_ages(thresholds.adult_sources)
    parents = parents_born_by(latest.values())
    traits_of = {
        record_id: traits(
            record, ages, parents.get(record_id), contact_sources=thresholds.contact_sources
        )
        for record_id, record in by_id.items()
    }
    clustering = cluster_graph(by_id, scored, judged, thresholds, traits_of)

    rules_ = survivorship or SurvivorshipRules()
    person_of: dict[str, str] = {}
    goldens: dict[str, GoldenRecord] = {}
    for number, group in enumerate(clustering.clusters, start=1):
        person_id = format_id("P", number)
        goldens[person_id] = golden_record((by_id[r] for r in group), rules_)
        for record_id in group:
            person_of[record_id] = person_id

    residents: dict[str, dict[str, tuple[str | None, str | None]]] = {}
    for person_id, golden in goldens.items():
        if golden.household_key:
            residents.setdefault(golden.household_key, {})[person_id] = (
                golden.residence_start,
                golden.residence_end,
            )
    groups = [g for periods in residents.values() for g in group_residents(periods)]
    household_of: dict[str, str] = {}
    for number, group in enumerate(sorted(groups, key=min), start=1):
        for person_id in group:
            household_of[person_id] = format_id("H", number)
    return BatchResult(clustering, person_of, goldens, household_of, 0, 0)
