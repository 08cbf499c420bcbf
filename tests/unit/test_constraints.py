"""Cannot-link rules: different identifiers or far-apart births keep records apart."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matchers.clustering import Link, cluster
from matchers.constraints import (
    ADULT_SOURCES,
    CONTACT_SOURCES,
    Summary,
    Traits,
    births_conflict,
    conflict,
    given_names_differ,
    traits,
)
from matchers.decisions import Thresholds
from matchers.records import SourceRecord, StandardRecord
from matchers.standardise import standardise

pytestmark = pytest.mark.unit

RULE = Thresholds(link=6.0, review=2.0, group=-5.0, floor=-10.0, dob_years=10)


def default_traits(record: StandardRecord) -> Traits:
    """A record's traits under the default adults-only and contacts sources."""
    return traits(record, ADULT_SOURCES, contact_sources=CONTACT_SOURCES)


def test_births_far_apart_conflict_unless_the_year_looks_like_a_typo() -> None:
    assert births_conflict("1980-03-04", "2012-07-09", 10)
    assert not births_conflict("1980-03-04", "1988-07-04", 10)  # close enough
    assert not births_conflict("1980-03-04", "2080-03-04", 10)  # same day and month
    assert not births_conflict("1980-03-04", "2008-04-03", 10)  # day and month swapped
    assert not births_conflict("1980-03-04", "2012-07-09", 0)  # rule off


def test_a_year_with_one_wrong_or_two_swapped_digits_is_a_typo_if_month_or_day_agree() -> None:
    assert not births_conflict("1813-01-07", "1843-01-01", 10)  # one digit, same month
    assert not births_conflict("1985-06-02", "1958-09-02", 10)  # swapped digits, same day
    assert births_conflict("1970-03-04", "1990-07-09", 10)  # one digit, nothing else agrees
    assert births_conflict("1999-08-22", "2017-08-21", 10)  # no typo makes 1999 of 2017
    assert births_conflict("1965-03-04", "1956-07-04", 0) is False  # rule off


@given(st.dates(), st.dates(), st.integers(0, 30))
def test_births_conflict_is_symmetric(a: date, b: date, years: int) -> None:
    left, right = a.isoformat(), b.isoformat()
    assert births_conflict(left, right, years) == births_conflict(right, left, years)


def test_different_identifiers_conflict() -> None:
    a = StandardRecord("a", nhs_number="9434765919")
    assert conflict(a, StandardRecord("b", nhs_number="9434765870"), 10)
    assert not conflict(a, StandardRecord("b", nhs_number="9434765919"), 10)
    assert not conflict(a, StandardRecord("b"), 10)  # missing is not different
    ni_a, ni_b = (
        StandardRecord("a", ni_number="QQ123456C"),
        StandardRecord("b", ni_number="QQ123456"),
    )
    assert not conflict(ni_a, ni_b, 10)  # the suffix letter varies


def test_strong_links_cannot_join_records_with_different_nhs_numbers() -> None:
    records = {
        "twin1": Traits(nhs_number="9434765919", dob="2010-01-01"),
        "twin2": Traits(nhs_number="9434765870", dob="2010-01-01"),
        "x": Traits(dob="2010-01-01"),
    }
    links = [Link("twin1", "twin2", 25.0), Link("twin1", "x", 20.0), Link("twin2", "x", 15.0)]
    result = cluster(records, links, {}, RULE, records)
    assert set(result.clusters) == {frozenset({"twin1", "x"}), frozenset({"twin2"})}
    # a person's "same" judgement overrides the rule
    judged = cluster(records, links, {("twin1", "twin2"): True}, RULE, records)
    assert judged.clusters == (frozenset(records),)


def test_parent_and_child_stay_apart_even_when_chained_through_a_dateless_record() -> None:
    records = {
        "dad": Traits(dob="1975-02-03"),
        "son": Traits(dob="2005-08-09"),
        "nodate": Traits(),
    }
    links = [Link("dad", "nodate", 15.0), Link("nodate", "son", 11.0), Link("dad", "son", 12.0)]
    result = cluster(records, links, {}, RULE, records)
    assert set(result.clusters) == {frozenset({"dad", "nodate"}), frozenset({"son"})}


def test_a_record_linked_about_equally_to_two_people_joins_neither() -> None:
    # a dateless "John Smith" at the address of a father and a son of that name
    records = {
        "dad": Traits(dob="1975-02-03"),
        "dad2": Traits(dob="1975-02-03"),
        "son": Traits(dob="2005-08-09"),
        "nodate": Traits(),
    }
    links = [
        Link("dad", "dad2", 20.0),
        Link("dad", "nodate", 9.0),
        Link("dad2", "nodate", 8.0),
        Link("nodate", "son", 7.5),
    ]
    result = cluster(records, links, {}, RULE, records)
    assert set(result.clusters) == {
        frozenset({"dad", "dad2"}),
        frozenset({"son"}),
        frozenset({"nodate"}),
    }
    assert result.torn == {"nodate"}
    assert {(k.record_a, k.record_b) for k in result.refused} == {
        ("dad", "nodate"),
        ("dad2", "nodate"),
        ("nodate", "son"),
    }
    # clearly closer to one of them (more than the margin): no doubt
    clear = [*links[:3], Link("nodate", "son", 9.0 - RULE.ambiguity - 0.5)]
    assert cluster(records, clear, {}, RULE, records).torn == frozenset()
    # a person's "same" judgement still joins it
    judged = cluster(records, links, {("dad", "nodate"): True}, RULE, records)
    assert frozenset({"dad", "dad2", "nodate"}) in judged.clusters


def test_a_record_much_like_a_torn_one_does_not_join_through_a_weaker_link() -> None:
    # the father's dateless portal record is torn between him and his son (no date of
    # birth for the father: his council-tax record bounds it); his dateless council-tax
    # record, much like the portal one, is only just linked to the son
    records = {
        "dad": Traits(born_by="1970-01-01"),
        "son": Traits(dob="1990-07-30"),
        "portal": Traits(),
        "tax": Traits(),
    }
    links = [
        Link("portal", "dad", 16.0),
        Link("portal", "son", 15.5),
        Link("portal", "tax", 16.0),
        Link("son", "tax", 7.0),
    ]
    result = cluster(records, links, {}, RULE, records)
    assert result.torn == {"portal"}
    assert result.held == {("son", "tax")}
    assert len(result.clusters) == 4
    assert ("son", "tax") in {(k.record_a, k.record_b) for k in result.refused}
    # a link within the margin of its link to the torn record is its own evidence
    close = [*links[:3], Link("son", "tax", 16.0 - RULE.ambiguity)]
    result = cluster(records, close, {}, RULE, records)
    assert frozenset({"son", "tax"}) in result.clusters
    assert result.held == frozenset()
    # the father and the son themselves are no lookalikes: their own weaker links stand
    family = {**records, "dad2": Traits(dob="1965-03-04"), "son2": Traits(dob="1990-07-30")}
    more = [*links, Link("dad", "dad2", 10.0), Link("son", "son2", 11.0)]
    result = cluster(family, more, {}, RULE, family)
    assert result.held == {("son", "tax")}
    assert {frozenset({"dad", "dad2"}), frozenset({"son", "son2"})} <= set(result.clusters)


def test_a_relationship_keeps_two_records_apart_unless_a_person_joins_them() -> None:
    # a source says "mum" is the parent of "kid" (None: "not the same" as a source states it)
    records = {"mum": Traits(), "kid": Traits(), "kid2": Traits()}
    links = [Link("kid", "mum", 20.0), Link("kid", "kid2", 12.0), Link("kid2", "mum", 12.0)]
    stated: dict[tuple[str, str], bool | None] = {("kid", "mum"): None}
    result = cluster(records, links, stated, RULE, records)
    assert frozenset({"mum"}) in result.clusters
    assert ("kid", "mum") not in {(k.record_a, k.record_b) for k in result.refused}  # no link
    # a person who says kid2 and mum are one joins them, kid with them (a person's word
    # overrides a source's statement, as it overrides the cannot-link rules)
    judged = cluster(records, links, {**stated, ("kid2", "mum"): True}, RULE, records)
    assert judged.clusters == (frozenset(records),)
    # a person's own "not the same" does not give way
    apart = {("kid", "mum"): False, ("kid2", "mum"): True}
    clusters = cluster(records, links, apart, RULE, records).clusters
    assert not any({"kid", "mum"} <= group for group in clusters)


def test_a_record_torn_between_two_groups_kept_apart_joins_neither() -> None:
    # a mother's dateless contact record in a school ("edu") is a little more like her
    # child's dateless housing record (it carries her phone and email) than like her own
    # portal record; a source says the child is her housing record's child
    records = {
        "portal": Traits(dob="1997-03-15"),
        "housing": Traits(dob="1997-03-15"),
        "edu": Traits(),
        "kid": Traits(),
    }
    links = [
        Link("housing", "portal", 15.0),
        Link("edu", "kid", 8.9),
        Link("edu", "portal", 7.9),
        Link("edu", "housing", 6.0),
        Link("kid", "portal", 7.0),
    ]
    stated: dict[tuple[str, str], bool | None] = {("housing", "kid"): None}
    result = cluster(records, links, stated, RULE, records)
    assert set(result.clusters) == {
        frozenset({"housing", "portal"}),
        frozenset({"edu"}),
        frozenset({"kid"}),
    }
    assert result.torn == {"edu"}  # (not "kid": the source keeps it from the mother)
    assert result.reason(Link("edu", "kid", 8.9)) == "ambiguous"
    # without the relationship nothing keeps the two groups apart: one person
    assert cluster(records, links, {}, RULE, records).clusters == (frozenset(records),)
    # clearly closer to one group (more than the margin): no doubt
    clear = [links[0], Link("edu", "kid", 10.5), *links[2:]]
    assert frozenset({"edu", "kid"}) in cluster(records, clear, stated, RULE, records).clusters
    # the same when what keeps them apart is a cannot-link rule: a son's dated and
    # dateless records, his father's dated one, and a dateless record like either
    family = {"son": Traits(dob="1990-07-30"), "son2": Traits(), "dad": Traits(dob="1960-01-02")}
    family["x"] = Traits()
    chained = [Link("son", "son2", 12.0), Link("son2", "x", 9.0), Link("dad", "x", 8.0)]
    result = cluster(family, chained, {}, RULE, family)
    assert result.torn == {"x"}
    assert frozenset({"son", "son2"}) in result.clusters


def test_torn_between_groups_looks_only_at_groups_a_cannot_link_rule_kept_apart() -> None:
    rule = Thresholds(link=6.0, review=2.0, group=-5.0, floor=-10.0, dob_years=10)
    family = {
        "son": Traits(dob="1990-07-30"),
        "son2": Traits(),
        "son3": Traits(),
        "x": Traits(),
        "dad2": Traits(),
        "dad": Traits(dob="1960-01-02"),
    }
    links = [
        *[Link(a, b, 12.0) for a, b in (("son", "son2"), ("son", "son3"), ("son2", "son3"))],
        Link("son2", "x", 9.0),
        Link("son3", "x", 9.0),
        Link("dad2", "x", 8.0),
        Link("dad", "dad2", 7.0),
    ]
    # the father's group and the son's were kept apart by the average, not by a rule
    alone = cluster(family, links, {}, rule, family)
    assert alone.torn == frozenset()
    assert frozenset({"son", "son2", "son3", "x"}) in alone.clusters
    # a pair elsewhere that a rule keeps apart changes nothing here
    others = {**family, "p": Traits(dob="1950-01-01"), "q": Traits(dob="2000-06-17")}
    whole = cluster(others, [*links, Link("p", "q", 10.0)], {}, rule, others)
    assert set(alone.clusters) <= set(whole.clusters)
    assert whole.torn == frozenset()

    # a record linked much more strongly to a group that refused it on average is not
    # torn between that group and its own, however the groups differ
    big = [f"b{i}" for i in range(5)]
    people = {**{b: Traits() for b in big}, "b2": Traits(dob="1960-01-02")}
    people |= {"x": Traits(), "a1": Traits(dob="1990-07-30")}
    links = [*clique_of(big, 14.0), Link("b0", "x", 10.0), Link("a1", "x", 7.0)]
    result = cluster(people, links, {}, rule, people)
    assert result.torn == frozenset()
    assert frozenset({"a1", "x"}) in result.clusters

    # the son's own weaker link stands: he conflicts with the father's group
    family = {"son": Traits(dob="1990-07-30"), "son2": Traits(), "x": Traits()}
    family |= {"dad2": Traits(), "dad": Traits(dob="1960-01-02")}
    links = [
        Link("dad", "dad2", 12.0),
        Link("son", "x", 9.0),
        Link("dad2", "x", 8.0),
        Link("son", "son2", 6.5),
    ]
    result = cluster(family, links, {}, rule, family)
    assert result.torn == {"x"}
    assert frozenset({"son", "son2"}) in result.clusters


def clique_of(names: list[str], weight: float) -> list[Link]:
    return [Link(a, b, weight) for i, a in enumerate(names) for b in names[i + 1 :]]


def twin(given: str, middle: str | None = None, *, home: str | None = "u1") -> StandardRecord:
    return StandardRecord(
        given, first_name=given, middle_name=middle, last_name="green", dob="2009-10-12", uprn=home
    )


def test_twins_at_one_home_with_two_given_names_conflict() -> None:
    assert conflict(twin("emily"), twin("ethan"), 10)
    assert conflict(twin("emily"), twin("ethan-harry"), 10)
    assert not conflict(twin("emily"), twin("ethan", home="u2"), 10)  # no shared home
    assert not conflict(twin("emily"), twin("ethan", home=None), 10)
    other_day = StandardRecord("x", first_name="ethan", last_name="green", dob="2009-10-13")
    assert not conflict(twin("emily"), other_day, 10)


def test_twins_whose_names_only_share_a_third_are_twins() -> None:
    """The ``nicknames`` table links Robert and William through Bill: twins may bear both."""
    for a, b in (("robert", "william"), ("john", "nathan"), ("caroline", "charlotte")):
        assert conflict(twin(a), twin(b), 10)
    # nor are two names one because the table puts both in one nickname group
    for a, b in (("lewis", "louise"), ("amy", "emily"), ("ian", "jack")):
        assert conflict(twin(a), twin(b), 10)
    assert not conflict(twin("bob"), twin("rob"), 10)  # (two short forms of Robert)
    assert not conflict(twin("wiliam"), twin("bill"), 10)  # (a misspelt formal name)


def test_twins_written_as_children_at_one_address_conflict_without_a_uprn() -> None:
    """A nursery or school often holds no UPRN: for a child, the address (premise and
    postcode) is a home too. Not for adults, whose records spell given names more ways."""

    def kaya(given: str, updated: str | None) -> StandardRecord:
        home = "12 ivy road|NW3 5DD"
        return StandardRecord(given, first_name=given, last_name="kaya", dob="2022-04-28",
                              address_text_key=home, updated_at=updated)  # fmt: skip

    assert conflict(kaya("mehmet", "2024-01-05T10:00:00Z"), kaya("suleyman", "2025-02-01"), 10)
    assert not conflict(kaya("mehmet", "2041-01-05"), kaya("suleyman", "2041-01-05"), 10)
    assert not conflict(kaya("mehmet", "2024-01-05"), kaya("suleyman", None), 10)
    assert not conflict(kaya("mehmet", "2024-01-05"), kaya("mehmet", "2025-02-01"), 10)

    rule = Thresholds(link=1.0, review=-4.0, group=-5.0, floor=-10.0)
    for written, persons in (("2024-01-05", 2), ("2041-01-05", 1)):  # (children, adults)
        records = (kaya("mehmet", written), kaya("suleyman", written))
        found = cluster(["mehmet", "suleyman"], [Link("mehmet", "suleyman", 3.0)], {}, rule,
                        {r.record_id: default_traits(r) for r in records})  # fmt: skip
        assert len(found.clusters) == persons


def test_two_children_at_one_home_born_more_than_one_slip_apart_conflict() -> None:
    """Sisters, both Daniela Radu, born in March and in May of one year, share a home: two
    children's dates that differ in two of day, month and year are two children. One
    slip (a wrong day, day and month swapped) may be one child; adults' dates, or dates
    away from a home, are left to the other rules."""

    def radu(born: str, written: str = "2024-01-05", uprn: str = "u1") -> StandardRecord:
        return StandardRecord(f"{born}@{written}@{uprn}", first_name="daniela", last_name="radu",
                              dob=born, uprn=uprn, updated_at=written)  # fmt: skip

    assert conflict(radu("2021-05-26"), radu("2021-03-23"), 2)
    assert conflict(radu("2021-11-16"), radu("2023-11-21"), 2)  # brothers, one month
    assert not conflict(radu("2021-05-26"), radu("2021-05-23"), 2)  # a wrong day
    assert not conflict(radu("2021-05-06"), radu("2021-06-05"), 2)  # day and month swapped
    assert not conflict(radu("2021-05-26"), radu("2021-03-23", uprn="u2"), 2)  # no home
    assert not conflict(radu("2021-05-26", "2041-01-05"), radu("2021-03-23", "2041-01-05"), 2)
    assert not conflict(radu("2021-05-26"), radu("2021-03-23"), 0)  # rule off

    rule = Thresholds(link=1.0, review=-4.0, group=-6.0, floor=-10.0, dob_years=2)
    for written, persons in (("2024-01-05", 2), ("2041-01-05", 1)):  # (children, adults)
        records = (radu("2021-05-26", written), radu("2021-03-23", written))
        ids = [r.record_id for r in records]
        found = cluster(ids, [Link(*sorted(ids), 9.0)], {}, rule,
                        {r.record_id: default_traits(r) for r in records})  # fmt: skip
        assert len(found.clusters) == persons


def test_a_parent_and_child_of_one_birthday_at_one_home_conflict() -> None:
    def sam(born: str, home: str | None) -> StandardRecord:
        return StandardRecord(born, first_name="sam", last_name="wood", dob=born, uprn=home)

    assert conflict(sam("1975-06-07", "u1"), sam("2005-06-07", "u1"), 10)
    assert not conflict(sam("1975-06-07", "u1"), sam("2005-06-07", "u2"), 10)  # a wrong year?
    assert not conflict(sam("1975-06-07", "u1"), sam("1985-06-07", "u1"), 10)  # one digit
    assert not conflict(sam("1975-06-07", "u1"), sam("2005-06-07", "u1"), 0)  # rule off


def test_births_that_differ_in_day_month_and_year_conflict_however_close() -> None:
    assert births_conflict("2016-08-23", "2018-03-10", 2)  # brothers, John and Jack
    assert births_conflict("2016-08-23", "2016-03-10", 2) is False  # the same year
    assert not births_conflict("2016-08-23", "2017-08-24", 2)  # a wrong day and year
    assert not births_conflict("2016-08-03", "2015-03-08", 2)  # day and month swapped
    assert not births_conflict("2016-08-23", "2018-03-10", 0)  # rule off


def test_two_records_with_only_this_rule_between_them_stay_apart() -> None:
    """Clustering skips the rules when its quick test finds no two records that may
    conflict: it must see this rule too."""

    def thomas(given: str, born: str) -> StandardRecord:
        return StandardRecord(given, first_name=given, last_name="thomas", dob=born)

    records = (thomas("john", "2016-08-23"), thomas("jack", "2018-03-10"))
    rule = Thresholds(link=6.0, review=2.0, group=-5.0, floor=-10.0, dob_years=2)
    found = cluster(["john", "jack"], [Link("jack", "john", 9.0)], {}, rule,
                    {r.record_id: default_traits(r) for r in records})  # fmt: skip
    assert len(found.clusters) == 2


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("emily", "emily"),
        ("robert", "bob"),  # a known form
        ("ava", "aav"),  # letters swapped
        ("katherine", "kathrine"),  # one letter
        ("olivia", "liv"),  # one holds the other
        ("jaswinder", "jas-singh"),  # a part of a double name
        ("e", "ethan"),  # an initial
        ("o", "bashir"),  # an initial may stand for a name the other record lacks
    ],
)
def test_one_name_written_two_ways_is_not_twins(a: str, b: str) -> None:
    assert not conflict(twin(a), twin(b), 10)


def test_an_initial_that_stands_for_none_of_a_full_names_names_is_a_twin() -> None:
    # borough twins: "O Khalid" (NHS number, early years) and "Bashir Ali Khalid", one day,
    # one phone; the record that holds a given and a middle name is known in full
    assert conflict(twin("o"), twin("bashir", "ali"), 10)
    assert conflict(twin("bashir", "ali"), twin("o"), 10)
    assert not conflict(twin("b"), twin("bashir", "ali"), 10)  # B for Bashir
    assert not conflict(twin("a"), twin("bashir", "ali"), 10)  # known by the middle name
    assert not conflict(twin("w"), twin("bill", "ali"), 10)  # W for William, Bill's full form
    assert not conflict(twin("o", "bashir"), twin("bashir", "ali"), 10)  # Bashir a middle name
    assert not conflict(twin("o"), twin("b"), 10)  # two initials: either may be a middle name


def test_a_given_name_that_is_also_both_family_names_is_not_a_swap() -> None:
    # borough twins Hassan Hassan and Khaled Hassan: "Hassan" is the first one's own given
    # name, not the second one's family name written in the wrong field
    def hassan(given: str, family: str) -> StandardRecord:
        return StandardRecord(
            given, first_name=given, last_name=family, dob="2023-04-23", uprn="u1"
        )

    assert conflict(hassan("hassan", "hassan"), hassan("khaled", "hassan"), 10)
    assert not conflict(hassan("hassan", "khaled"), hassan("khaled", "hassan"), 10)  # swapped
    assert not conflict(hassan("hassan", "hassan"), hassan("hassan", "khaled"), 10)


@given(
    st.tuples(
        st.sampled_from(["o", "b", "bashir", "bill", "hassan", "khaled"]),
        st.sampled_from([None, "a", "ali", "bashir"]),
        st.sampled_from([None, "hassan", "khaled"]),
    ),
    st.tuples(
        st.sampled_from(["o", "w", "william", "omar", "hassan"]),
        st.sampled_from([None, "o", "omar", "ali"]),
        st.sampled_from([None, "hassan", "khaled"]),
    ),
)
def test_given_names_differ_is_symmetric(
    a: tuple[str, str | None, str | None], b: tuple[str, str | None, str | None]
) -> None:
    assert given_names_differ(a, b) == given_names_differ(b, a)


def test_known_by_a_middle_name_or_with_names_swapped_is_not_twins() -> None:
    assert not conflict(twin("harry"), twin("ethan", "harry"), 10)
    swapped = StandardRecord(
        "s", first_name="green", last_name="ethan", dob="2009-10-12", uprn="u1"
    )
    assert not conflict(twin("ethan"), swapped, 10)


def test_an_adults_only_record_bounds_the_date_of_birth() -> None:
    def record(source: str | None, updated: str | None) -> StandardRecord:
        return StandardRecord("r", source_system=source, first_name="jack", updated_at=updated)

    def born_by(source: str, updated: str | None) -> str | None:
        return traits(
            record(source, updated), ADULT_SOURCES, contact_sources=CONTACT_SOURCES
        ).born_by

    assert born_by("council_tax", "2025-03-06T10:00:00Z") == "2007-03-06"
    assert born_by("electoral_roll", "2025-03-26T10:00:00Z") == "2011-03-26"
    assert born_by("adult_social_care", "2025-03-26T10:00:00Z") == "2011-03-26"
    assert born_by("libraries", "2025-03-26T10:00:00Z") is None
    assert born_by("council_tax", None) is None
    assert born_by("council_tax", "not a date") is None
    assert born_by("council_tax", "1970-01-01T00:00:00Z") is None  # placeholder
    assert (
        traits(record("libraries", "2025-03-26"), {"libraries": 4}, contact_sources=()).born_by
        == "2021-03-26"
    )
    # a time written the UK way is read too (it was not, and the bound was lost: a child of
    # the council-tax payer's name joined his person)
    uk = standardise(SourceRecord("council_tax:7", source_system="council_tax",
                                  first_name="Jack", updated_at="06/03/2025 10:00"))  # fmt: skip
    assert default_traits(uk).born_by == "2007-03-06"
    # and a file with no source_system column: the record id names the system, as it does
    # for the stream (no adults-only rule applied to such a file before)
    unnamed = standardise(SourceRecord("council_tax:7", first_name="Jack",
                                       updated_at="2025-03-06T10:00:00Z"))  # fmt: skip
    assert default_traits(unnamed).born_by == "2007-03-06"


def test_a_child_cannot_be_the_council_tax_payer_of_the_same_name() -> None:
    # borough: Jack Taylor (council tax, electoral roll, no date of birth) and his son Jack
    # Max Taylor (born 2020, early years and school) were one person
    dad = StandardRecord(
        "council_tax:CTP0155992", source_system="council_tax", first_name="jack",
        last_name="taylor", uprn="5028706282", updated_at="2025-03-06T09:00:00Z",
    )  # fmt: skip
    son = StandardRecord(
        "early_years:EY232824", source_system="early_years", first_name="jack",
        middle_name="max", last_name="taylor", dob="2020-08-28", updated_at="2025-03-25",
    )  # fmt: skip
    assert conflict(dad, son, 2)
    assert conflict(son, dad, 2)
    born_2007 = StandardRecord("s", first_name="jack", dob="2007-03-06")  # 18 that day
    assert not conflict(dad, born_2007, 2)
    assert conflict(dad, StandardRecord("s", dob="2007-03-07"), 2)
    assert not conflict(dad, StandardRecord("s", first_name="jack"), 2)  # no date


@pytest.mark.parametrize(
    ("dob", "upn"),
    [("01/01/1900", None), ("31/31/2010", None), ("2041-07-01", None), (None, "N202212914797"),
     (None, "X1"), (None, None), ("2010-10-31", None)],
)  # fmt: skip
def test_a_school_record_is_a_contact_or_not_alike_in_hub_link_and_in_a_worker(
    dob: str | None, upn: str | None
) -> None:
    """A worker matches a record as its validation left it (an unreadable date or UPN left
    out); ``hub link`` matches the file's record: both must bound it alike."""
    from streams.validation import held_by_a_worker

    record = SourceRecord("education:1", "education", first_name="Amaka", last_name="Uzoma",
                          dob=dob, upn=upn, updated_at="2025-05-28T11:03:25Z")  # fmt: skip
    held = held_by_a_worker(record, "education", date(2026, 11, 27))
    assert isinstance(held, SourceRecord)
    in_link, in_worker = default_traits(standardise(record)), default_traits(standardise(held))
    assert in_link.born_by == in_worker.born_by


def test_a_schools_contact_is_an_adult() -> None:
    """Borough: the father a school holds as a contact, "Joshua Roerts" (no date of birth,
    no UPN), carrying the home's landline that his son's school record carries too, joined
    the son (born 2010) of the same name. A record of a contacts source with neither a
    date of birth nor a UPN is an adult's; a pupil's record missing one of the two, or
    holding one that standardisation left out as unreadable, is not taken for one, nor is
    a record of another source."""

    def school(record_id: str, **fields: str) -> StandardRecord:
        return StandardRecord(record_id, source_system="education", first_name="joshua",
                              last_name="roberts", phone="+442074325596",
                              updated_at="2025-05-28T11:03:25Z", **fields)  # fmt: skip

    contact = school("education:EDU172105")
    son = school("education:EDU172099", dob="2010-10-31", upn="N202212914796")
    father = StandardRecord("libraries:1", source_system="libraries", first_name="joshua",
                            last_name="roberts", dob="1978-07-16")  # fmt: skip
    assert default_traits(contact).born_by == "2007-05-28"
    assert conflict(contact, son, 10) and conflict(son, contact, 10)
    assert not conflict(contact, father, 10)
    assert not conflict(contact, son, 10, contact_sources=())  # (HUB_CONTACT_SOURCES empty)
    pupil_without_date = school("education:3", upn="N202212914796")
    pupil_without_upn = school("education:4", dob="2010-10-31")
    library = replace(contact, record_id="libraries:5", source_system="libraries")
    placeholder = replace(contact, record_id="education:6", flags=frozenset({"dob_placeholder"}))
    for record in (pupil_without_date, pupil_without_upn, library, placeholder):
        assert default_traits(record).born_by is None
        assert not conflict(record, son, 10)
    # a date or UPN no one can read is left out, flag and all, before a worker matches the
    # record: it is no sign of a pupil here either, or `hub link` and the stream would differ
    unreadable_upn = replace(contact, record_id="education:7", flags=frozenset({"upn_format"}))
    assert default_traits(unreadable_upn).born_by == "2007-05-28"
    # through clustering: linked more strongly to the son than to the father, the contact
    # joins the father, as it would with the son's school saying who is whose parent
    records_of = (contact, son, father)
    records = {r.record_id: default_traits(r) for r in records_of}
    links = [Link(contact.record_id, son.record_id, 14.0),
             Link(contact.record_id, father.record_id, 9.0)]  # fmt: skip
    found = cluster(records, links, {}, RULE, records)
    assert frozenset({contact.record_id, father.record_id}) in found.clusters
    off = {r.record_id: traits(r, ADULT_SOURCES, contact_sources=()) for r in records_of}
    assert (
        frozenset({contact.record_id, son.record_id}) in cluster(off, links, {}, RULE, off).clusters
    )


def test_a_dateless_parents_group_and_a_childs_group_stay_apart() -> None:
    # borough: Patrick Taylor's records (electoral roll and parking, no date of birth)
    # linked strongly to his son's school record (born 2019), and through it were one
    # person; the electoral roll record bounds the father's group
    records = {
        "ele": Traits(born_by="2011-03-01", names=("patrick", "lewis", "taylor")),
        "park": Traits(names=("patrick", None, "taylor")),
        "portal": Traits(names=("pat", None, "taylor")),
        "son": Traits(dob="2019-09-09", names=("patrick", None, "taylor")),
    }
    links = [
        Link("ele", "park", 12.0),
        Link("park", "portal", 10.0),
        Link("ele", "son", 7.8),
        Link("portal", "son", 2.0),
    ]
    result = cluster(records, links, {}, RULE, records)
    assert frozenset({"son"}) in result.clusters
    assert frozenset({"ele", "park", "portal"}) in result.clusters


def test_a_record_torn_between_a_council_tax_payer_and_a_child_joins_neither() -> None:
    # a dateless contact record linked about equally to the father (council tax, no date
    # of birth) and to the son of his name (born 2015): which of them it is, a person says
    records = {
        "dad": Traits(born_by="2006-10-16"),
        "son": Traits(dob="2015-06-29"),
        "contact": Traits(),
    }
    links = [Link("contact", "dad", 9.0), Link("contact", "son", 8.5)]
    result = cluster(records, links, {}, RULE, records)
    assert result.torn == {"contact"}
    assert len(result.clusters) == 3


values = st.sampled_from([None, "1"]) | st.sampled_from(["2", "3"])
dobs = st.sampled_from([None, "1980-01-02", "1981-05-06", "2001-02-01", "2005-09-09"])
names = st.sampled_from([None, ("emily", None, "green"), ("ethan", None, "green")])
homes = st.sampled_from([(None, None, None), ("u1", None, None), ("u2", None, "e@x")])
born_by = st.sampled_from([None, "1990-01-01", "2003-02-01", "2011-06-30"])
record_traits = st.builds(
    Traits,
    nhs_number=values,
    upn=values,
    ni_prefix=values,
    dob=dobs,
    names=names,
    home=homes,
    born_by=born_by,
)


@given(
    st.lists(record_traits, min_size=1, max_size=4), st.lists(record_traits, min_size=1, max_size=4)
)
def test_group_summaries_agree_with_checking_every_pair(
    left: list[Traits], right: list[Traits]
) -> None:
    def summary(group: list[Traits]) -> Summary:
        total = Summary.of(group[0])
        for t in group[1:]:
            total.absorb(Summary.of(t))
        return total

    def pairwise(a: Traits, b: Traits) -> bool:
        return Summary.of(a).conflicts(Summary.of(b), 10)

    expected = any(pairwise(a, b) for a in left for b in right)
    assert summary(left).conflicts(summary(right), 10) == expected


def test_traits_of_a_record() -> None:
    record = StandardRecord("a", nhs_number="9434765919", ni_number="QQ123456C", dob="1980-01-02")
    assert default_traits(record) == Traits("9434765919", None, "QQ123456", "1980-01-02")
