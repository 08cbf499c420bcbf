"""The incremental resolver: decisions, merges and splits with stable ids, judgements,
review items, households and the person query, over the toy model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import TypeVar

import orjson
import pytest

from matchers.decisions import Judgement, parents_born_by, stated_apart
from matchers.events import (
    HouseholdChanged,
    MatchDecided,
    PersonPart,
    PersonRemoved,
    PersonsMerged,
    PersonSplit,
    PersonUpserted,
    ReviewItemRaised,
)
from matchers.households import ServiceGroup
from matchers.records import SourceRecord
from matchers.views import person_of_record, person_view
from tests.support.resolving import THRESHOLDS, batch, make_resolver

pytestmark = pytest.mark.unit

# a and b do not link (b has no date of birth); c links to both.
A = SourceRecord("a", "housing", "Ann", None, "Smith", "1980-01-01", postcode="NW1 1AA")
B = SourceRecord("b", "libraries", "Ann", None, "Smith", email="ann@example.org")
C = SourceRecord("c", "council_tax", "Ann", None, "Smith", "1980-01-01", email="ann@example.org")


T = TypeVar("T")


def of_type(events: Sequence[object], kind: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, kind)]


def test_a_new_record_that_links_two_persons_merges_them_and_the_oldest_id_survives() -> None:
    resolver, state = make_resolver()
    resolver.upsert(A)
    resolver.upsert(B)
    pa, pb = person_of_record(state, "a"), person_of_record(state, "b")
    assert pa and pb and pa != pb
    events = resolver.upsert(C)
    assert of_type(events, PersonsMerged) == [PersonsMerged(pa, (pb,), ("a", "b", "c"))]
    assert {person_of_record(state, r) for r in "abc"} == {pa}
    upserted = of_type(events, PersonUpserted)
    assert [(e.person_id, e.record_ids, e.alias_ids, e.version) for e in upserted] == [
        (pa, ("a", "b", "c"), (pb,), 2)  # the second version of pa
    ]
    assert upserted[0].golden.record_ids == ("c", "a", "b")  # sorted by (system, record)
    # the decision: c's best candidate is a (8 against 6 for b), linked; c is now in pa
    assert of_type(events, MatchDecided) == [
        MatchDecided("c", "a", "link", 8.0, "toy-1", pa, "model", 2)
    ]
    # the old id still finds the person
    view = person_view(state, pb)
    assert view is not None and view.person.person_id == pa


def test_an_update_that_removes_the_links_splits_and_the_largest_part_keeps_the_id() -> None:
    resolver, state = make_resolver()
    b2 = SourceRecord("b2", "parking", "Ann", None, "Smith", email="ann@example.org")
    for record in (A, B, b2, C):
        resolver.upsert(record)
    person = person_of_record(state, "a")
    assert state.partition() == {frozenset({"a", "b", "b2", "c"})}
    moved = SourceRecord("c", "council_tax", "Zoe", None, "Brown", "1999-09-09")
    events = resolver.upsert(moved)
    assert state.partition() == {frozenset("a"), frozenset({"b", "b2"}), frozenset("c")}
    assert {person_of_record(state, r) for r in ("b", "b2")} == {person}
    (split,) = of_type(events, PersonSplit)
    pa, pc = person_of_record(state, "a"), person_of_record(state, "c")
    assert split == PersonSplit(
        person or "",
        (
            PersonPart(person or "", ("b", "b2")),
            PersonPart(pa or "", ("a",)),
            PersonPart(pc or "", ("c",)),
        ),
    )
    assert person not in {pa, pc}


def test_deleting_the_last_record_retires_the_person() -> None:
    resolver, state = make_resolver()
    resolver.upsert(B)
    person = person_of_record(state, "b")
    assert person is not None
    events = resolver.delete("b")
    assert PersonRemoved(person) in events
    assert state.partition() == set()
    assert resolver.delete("b") == []  # deleting again changes nothing


def test_redelivery_of_the_same_record_changes_nothing() -> None:
    resolver, _state = make_resolver()
    assert resolver.upsert(A)
    assert resolver.upsert(A) == []
    assert resolver.stats.unchanged == 1


def test_not_same_judgement_splits_and_later_evidence_cannot_override_it() -> None:
    resolver, state = make_resolver()
    for record in (A, C):
        resolver.upsert(record)
    assert len(state.partition()) == 1
    resolver.judge(Judgement("a", "c", same=False, by="officer1", at="2026-01-02T10:00:00"))
    assert state.partition() == {frozenset("a"), frozenset("c")}
    # a third record linking both cannot chain them back together
    twin = SourceRecord("e", "housing", "Ann", None, "Smith", "1980-01-01", postcode="NW1 1AA")
    resolver.upsert(twin)
    assert all(not {"a", "c"} <= group for group in state.partition())
    # re-sending the same content of c does not bring it back either
    resolver.upsert(SourceRecord("c", "council_tax", "Ann", None, "Smith", "1980-01-01"))
    assert all(not {"a", "c"} <= group for group in state.partition())


def test_same_judgement_links_records_the_model_keeps_apart_and_latest_wins() -> None:
    resolver, state = make_resolver()
    resolver.upsert(A)
    resolver.upsert(B)
    assert len(state.partition()) == 2
    events = resolver.judge(Judgement("b", "a", same=True, by="officer1", at="2026-01-02"))
    assert of_type(events, PersonsMerged)
    assert state.partition() == {frozenset("ab")}
    older = Judgement("a", "b", same=False, by="officer2", at="2026-01-01")
    assert resolver.judge(older) == []  # an older judgement does not replace a newer one
    newer = Judgement("a", "b", same=False, by="officer2", at="2026-01-03")
    assert of_type(resolver.judge(newer), PersonSplit)
    assert state.partition() == {frozenset("a"), frozenset("b")}


def test_a_relationship_keeps_two_records_apart_until_a_person_says_they_are_one() -> None:
    resolver, state = make_resolver()
    # the housing system says c is a's parent: two people, whatever their records say
    stated = stated_apart("c", "a", "housing")
    assert stated.stated and stated.pair == ("a", "c") and not stated.same
    events = resolver.judge(stated)
    assert [(e.decision, e.decided_by) for e in of_type(events, MatchDecided)] == [
        ("no_link", "rule")
    ]
    resolver.upsert(A)
    resolver.upsert(C)
    assert state.partition() == {frozenset("a"), frozenset("c")}
    assert resolver.judge(stated) == []  # (stated again: nothing changes)
    # a person's judgement of the pair wins, whenever it was made
    same = Judgement("a", "c", same=True, by="officer1", at="2001-01-01")
    assert not same.stated
    assert of_type(resolver.judge(same), PersonsMerged)
    assert state.partition() == {frozenset("ac")}
    assert resolver.judge(stated) == []


def test_judgement_about_records_not_yet_seen_applies_when_they_arrive() -> None:
    resolver, state = make_resolver()
    resolver.judge(Judgement("a", "c", same=False, by="officer1", at="2026-01-02"))
    resolver.upsert(A)
    resolver.upsert(C)
    assert state.partition() == {frozenset("a"), frozenset("c")}


def test_review_band_pair_raises_a_review_item_with_both_records_and_the_waterfall() -> None:
    resolver, _state = make_resolver()
    resolver.upsert(A)
    # same name and postcode, no date of birth: -10 + 5 + 5 + 4 = 4 (review band 2..6)
    events = resolver.upsert(
        SourceRecord("f", "libraries", "Ann", None, "Smith", postcode="NW1 1AA")
    )
    items = of_type(events, ReviewItemRaised)
    assert len(items) == 1
    item = items[0]
    assert (item.record_id, item.other_record_id, item.reason) == ("f", "a", "review_band")
    assert item.match_weight == pytest.approx(4.0)
    assert item.record.record_id == "f" and item.other_record.record_id == "a"
    assert sum(line.match_weight for line in item.explanation) == pytest.approx(4.0)
    assert item.model_version == "toy-1"
    decided = of_type(events, MatchDecided)
    assert [(d.candidate_record_id, d.decision, d.match_weight) for d in decided] == [
        ("a", "review", 4.0)
    ]


def test_a_record_torn_between_father_and_son_joins_neither_and_is_raised_for_review() -> None:
    resolver, state = make_resolver()
    father = [
        SourceRecord("s1", "housing", "John", None, "Smith", "1950-03-03", postcode="E1 1AA",
                     email="js@x.org"),
        SourceRecord("s2", "adult_care", "John", None, "Smith", "1950-03-03", postcode="E1 1AA"),
        SourceRecord("s3", "council_tax", "John", None, "Smith", "1950-03-03", postcode="E1 1AA"),
    ]  # fmt: skip
    son = [
        SourceRecord("j1", "education", "John", None, "Smith", "2010-07-07", postcode="E1 1AA",
                     email="js@x.org"),
        SourceRecord("j2", "child_care", "John", None, "Smith", "2010-07-07", postcode="E1 1AA"),
    ]  # fmt: skip
    for record in [*father, *son]:
        resolver.upsert(record)
    assert state.partition() == {frozenset({"s1", "s2", "s3"}), frozenset({"j1", "j2"})}
    # name and the shared email only: links to s1 and j1 alike (-10 + 5 + 5 + 6 = 6), and
    # the two can never be one person (births 60 years apart): it joins neither
    bridge = SourceRecord("x", "libraries", "John", None, "Smith", email="js@x.org")
    events = resolver.upsert(bridge)
    assert state.partition() == {
        frozenset({"s1", "s2", "s3"}),
        frozenset({"j1", "j2"}),
        frozenset({"x"}),
    }
    items = [e for e in of_type(events, ReviewItemRaised) if e.reason == "ambiguous"]
    assert sorted((i.record_id, i.other_record_id, i.match_weight) for i in items) == [
        ("j1", "x", 6.0),
        ("s1", "x", 6.0),
    ]

    # the son's records last: x first joins the father, then the son tears it away, and
    # its link to the father goes to review too (it was one person with him until then)
    resolver, state = make_resolver()
    for record in [*father, bridge]:
        resolver.upsert(record)
    assert frozenset({"s1", "s2", "s3", "x"}) in state.partition()
    events = [e for record in son for e in resolver.upsert(record)]
    assert frozenset({"x"}) in state.partition()
    items = [e for e in of_type(events, ReviewItemRaised) if e.reason == "ambiguous"]
    assert sorted((i.record_id, i.other_record_id) for i in items) == [
        ("j1", "x"),
        ("s1", "x"),
    ]


def test_households_change_when_people_move_and_ids_stay_stable() -> None:
    resolver, state = make_resolver()
    mum = SourceRecord("m", "housing", "Mary", None, "Jones", "1970-01-01", uprn="100",
                       residence_start="2015-01-01", updated_at="2020-01-01")  # fmt: skip
    son = SourceRecord("s", "education", "Tom", None, "Jones", "2005-05-05", uprn="100",
                       residence_start="2015-01-01", updated_at="2020-01-01")  # fmt: skip
    resolver.upsert(mum)
    events = resolver.upsert(son)
    changed = of_type(events, HouseholdChanged)
    household = changed[-1].household_id
    mum_id, son_id = person_of_record(state, "m"), person_of_record(state, "s")
    assert [m.person_id for m in changed[-1].members] == sorted((mum_id, son_id))
    assert changed[-1].members[0].start == "2015-01-01"
    assert changed[-1].moved_in == (son_id,)
    # the son moves out: a newer record for him at another address
    moved = SourceRecord("s2", "council_tax", "Tom", None, "Jones", "2005-05-05", uprn="200",
                         residence_start="2024-01-01", updated_at="2024-01-02")  # fmt: skip
    events = resolver.upsert(moved)
    assert person_of_record(state, "s2") == son_id
    by_id = {e.household_id: e for e in of_type(events, HouseholdChanged)}
    assert [m.person_id for m in by_id[household].members] == [mum_id]  # kept the id
    assert by_id[household].moved_out == (son_id,)
    assert by_id[household].version == changed[-1].version + 1
    new_home = [e for h, e in by_id.items() if h != household]
    assert len(new_home) == 1 and [m.person_id for m in new_home[0].members] == [son_id]
    assert new_home[0].household_key == "uprn:200"


def test_residents_at_different_times_are_different_households() -> None:
    resolver, state = make_resolver()
    before = SourceRecord("o", "housing", "Old", None, "Tenant", "1950-01-01", uprn="300",
                          residence_start="2000-01-01", residence_end="2010-01-01")  # fmt: skip
    after = SourceRecord("n", "housing", "New", None, "Tenant", "1990-01-01", uprn="300",
                         residence_start="2012-01-01")  # fmt: skip
    resolver.upsert(before)
    resolver.upsert(after)
    assert state.household_partition() == {frozenset("o"), frozenset("n")}


def test_person_view_lists_every_source_record_household_and_service_groups() -> None:
    resolver, state = make_resolver()
    records = [
        SourceRecord("housing:1", "housing", "Mary", None, "Jones", "1970-01-01", uprn="100",
                     nhs_number="9434765919"),
        SourceRecord("health:7", "health", "Mary", None, "Jones", "1970-01-01",
                     nhs_number="9434765919"),
        SourceRecord("education:3", "education", "Tom", None, "Jones", "2005-05-05", uprn="100"),
    ]  # fmt: skip
    for record in records:
        resolver.upsert(record)
    resolver.set_service_group(
        ServiceGroup("cms", "family_group", "F1", frozenset({"education:3", "cms:9"}))
    )
    mary = person_of_record(state, "housing:1")
    assert mary is not None
    view = person_view(state, mary)
    assert view is not None
    assert {(s.source_system, s.record_id) for s in view.person.golden.sources} == {
        ("housing", "housing:1"),
        ("health", "health:7"),
    }
    assert view.person.golden.nhs_numbers == ("9434765919",)
    assert view.household is not None
    members = {m.person_id: m.golden.record_ids for m in view.household.members}
    tom = person_of_record(state, "education:3")
    assert members == {mary: view.person.golden.record_ids, tom: ("education:3",)}
    assert view.service_groups == ()  # Mary's records are in no service group
    tom_view = person_view(state, tom or "")
    assert tom_view is not None
    (group,) = tom_view.service_groups
    assert (group.kind, group.group_id, group.unknown_record_ids) == (
        "family_group",
        "F1",
        ("cms:9",),
    )
    assert [m.person_id for m in group.members] == [tom]


def test_person_explanation_shows_the_links_model_version_and_thresholds() -> None:
    resolver, state = make_resolver()
    for record in (A, B, C):
        resolver.upsert(record)
    resolver.judge(Judgement("a", "b", same=True, by="officer1", at="2026-01-02"))
    person = person_of_record(state, "a")
    explanation = resolver.explain_person(person or "")
    assert explanation is not None
    assert explanation.model_version == "toy-1"
    assert explanation.thresholds == resolver.thresholds
    assert explanation.record_ids == ("a", "b", "c")
    assert len(explanation.links) == 2  # a spanning tree of three records
    assert any(k.weight == math.inf for k in explanation.links) or all(
        k.weight >= resolver.thresholds.link for k in explanation.links
    )
    assert [j.pair for j in explanation.judgements] == [("a", "b")]
    assert resolver.explain_person("P999999999") is None


def test_a_resolvers_configuration_names_the_model_and_every_threshold() -> None:
    from streams.identity import CONFIGURED_BY  # (each part's setting, for the worker's error)

    resolver, _ = make_resolver()
    configuration = resolver.configuration
    assert configuration["model_version"] == resolver.scorer.version
    assert configuration["link"] == resolver.thresholds.link
    assert configuration.keys() == CONFIGURED_BY.keys()


def test_a_council_names_its_own_adults_only_sources_and_a_child_never_joins_their_records() -> (
    None
):
    child = SourceRecord("k", "education", "Jack", None, "Taylor", "2020-08-28",
                         postcode="NW5 4YW", email="t@x.org")  # fmt: skip
    caller = SourceRecord("c", "customer_service", "Jack", None, "Taylor", postcode="NW5 4YW",
                          email="t@x.org", updated_at="2025-05-20T10:00:00Z")  # fmt: skip
    default, state = make_resolver()
    for record in (child, caller):
        default.upsert(record)
    assert state.partition() == {frozenset({"k", "c"})}  # nothing tells them apart
    # a contact centre that records only adult callers: its record's person was born by
    # 2007-05-20, so it cannot be the boy born 2020 (the father, of the same name)
    adults_only = replace(THRESHOLDS, adult_sources=(*THRESHOLDS.adult_sources,
                                                     ("customer_service", 18)))  # fmt: skip
    resolver, state = make_resolver(adults_only)
    for record in (child, caller):
        resolver.upsert(record)
    assert state.partition() == {frozenset({"k"}), frozenset({"c"})}
    # a resolver given other thresholds re-makes the traits it keeps (their bounds changed)
    default.thresholds = adults_only
    default.upsert(replace(child, record_id="k2"))  # re-clusters the component
    assert default.state.partition() == {frozenset({"k", "k2"}), frozenset({"c"})}
    assert resolver.configuration["adult_sources"] == (
        ("adult_social_care", 14), ("council_tax", 18), ("customer_service", 18),
        ("electoral_roll", 14),
    )  # fmt: skip


def test_a_schools_contact_never_joins_a_child_unless_the_council_names_no_contacts_source() -> (
    None
):
    # (the borough's Joshua Roberts) the school holds the father as a contact, with neither a
    # date of birth nor a UPN, and the son of his name, born 2010, with both
    son = SourceRecord("education:s", "education", "Joshua", None, "Roberts", "2010-10-31",
                       upn="N202212914796", postcode="N19 5WJ", email="r@x.org")  # fmt: skip
    contact = SourceRecord("education:f", "education", "Joshua", None, "Roberts",
                           postcode="N19 5WJ", email="r@x.org",
                           updated_at="2025-05-28T11:03:25Z")  # fmt: skip
    resolver, state = make_resolver()
    for record in (son, contact):
        resolver.upsert(record)
    assert state.partition() == {frozenset({"education:s"}), frozenset({"education:f"})}
    assert resolver.configuration["contact_sources"] == ("education",)
    # a council whose school system is named otherwise, or none: nothing tells them apart
    none_named = replace(THRESHOLDS, contact_sources=())
    plain, plain_state = make_resolver(none_named)
    for record in (son, contact):
        plain.upsert(record)
    assert plain_state.partition() == {frozenset({"education:s", "education:f"})}
    standard = [plain.standardise(r) for r in (son, contact)]  # and in one pass (a rebuild)
    for thresholds, resolved in ((THRESHOLDS, state), (none_named, plain_state)):
        assert set(batch(standard, thresholds).clustering.clusters) == resolved.partition()
    # a resolver given other sources re-makes the traits it keeps (their bounds changed)
    plain.thresholds = THRESHOLDS
    plain.upsert(replace(son, record_id="education:s2"))  # re-clusters the component
    assert plain_state.partition() == {
        frozenset({"education:s", "education:s2"}), frozenset({"education:f"}),
    }  # fmt: skip


def test_a_record_a_source_holds_as_a_parent_never_joins_a_child_born_too_late() -> None:
    # (the borough's Charlie Adams) a school holds the father as a dateless contact, parent
    # of his elder son since 2009; the nursery holds his baby, of his name, born 2024
    baby = SourceRecord("early_years:b", "early_years", "C", "Jack", "Adams", "2024-01-24",
                        postcode="NW1 1AA", email="adams@x.org")  # fmt: skip
    contact = SourceRecord("education:f", "education", "C", "Jack", "Adams",
                           postcode="NW1 1AA", email="adams@x.org")  # fmt: skip
    parent = stated_apart("education:f", "education:s", "education", parent="education:f",
                          since=date(2009, 6, 27))  # fmt: skip
    assert (parent.parent, parent.since) == ("education:f", "2009-06-27")
    assert parents_born_by([parent]) == {"education:f": "1997-06-27"}
    plain, state = make_resolver()
    for record in (baby, contact):
        plain.upsert(record)
    assert state.partition() == {frozenset({"early_years:b", "education:f"})}  # nothing else
    # the statement arriving later parts them; arriving first, they never join
    events = plain.judge(parent)
    assert of_type(events, PersonSplit)
    # their link goes to review, named for what refused it
    assert [(e.record_id, e.other_record_id, e.reason) for e in of_type(events, ReviewItemRaised)
            ] == [("early_years:b", "education:f", "constraint_conflict")]  # fmt: skip
    explained = plain.explain_person(person_of_record(state, "education:f") or "")
    assert explained is not None
    assert [(k.record_a, k.record_b) for k in explained.refused_links] == [
        ("early_years:b", "education:f")
    ]
    assert explained.refused_reasons == ("constraint_conflict",)
    assert state.partition() == {frozenset({"early_years:b"}), frozenset({"education:f"})}
    first, state = make_resolver()
    first.judge(parent)
    for record in (contact, baby):
        first.upsert(record)
    assert state.partition() == {frozenset({"early_years:b"}), frozenset({"education:f"})}
    standard = [first.standardise(r) for r in (baby, contact)]
    assert set(batch(standard, judgements=[parent]).clustering.clusters) == state.partition()
    # the same statement without who is the parent, or with a placeholder start, bounds nothing
    for unknown in (None, date(1900, 1, 1)):
        again, state = make_resolver()
        unbound = stated_apart("education:f", "education:s", "education",
                               parent="education:f", since=unknown)  # fmt: skip
        assert unbound.parent is None and unbound.since is None
        again.judge(unbound)
        for record in (baby, contact):
            again.upsert(record)
        assert state.partition() == {frozenset({"early_years:b", "education:f"})}
    # who is the parent is a fact, not a verdict: an officer's word on the pair, before or
    # after the statement, keeps it (here: father and son are two people, as stated)
    officer = Judgement("education:f", "education:s", False, "officer-1", "2026-11-27T10:00")
    for order in ((officer, parent), (parent, officer)):
        judged, state = make_resolver()
        for judgement in order:
            judged.judge(judgement)
        for record in (baby, contact):
            judged.upsert(record)
        assert state.partition() == {frozenset({"early_years:b"}), frozenset({"education:f"})}
        kept = state.judgements(["education:f"])["education:f"]["education:s"]
        assert (kept.by, kept.parent, kept.since) == ("officer-1", "education:f", "2009-06-27")
    with pytest.raises(ValueError, match="parent"):
        Judgement("a", "b", False, "source:x", "", parent="c", since="2009-01-01")
    with pytest.raises(ValueError, match="not a date"):
        Judgement("a", "b", False, "source:x", "", parent="a", since="20090101")


def test_a_configuration_difference_is_named_by_its_setting_and_written_as_it_is_set() -> None:
    from streams.identity import ConfigurationMismatch

    mine, _ = make_resolver()
    configuration = orjson.loads(orjson.dumps(mine.configuration))  # (as the worker has it)
    built_before = {k: v for k, v in configuration.items() if k != "adult_sources"}
    message = str(ConfigurationMismatch(built_before, configuration))
    assert "HUB_ADULT_SOURCES adult_social_care:14,council_tax:18,electoral_roll:14 here, " \
        "None in the state. " in message  # fmt: skip
    assert "HUB_LINK_THRESHOLD" not in message  # only what differs
    message = str(ConfigurationMismatch(configuration | {"adult_sources": []}, configuration))
    assert ", (none) in the state" in message
