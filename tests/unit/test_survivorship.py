"""Golden records: most recent trusted address, best-attested name, every identifier."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matchers.records import StandardRecord
from matchers.survivorship import SourceRef, SurvivorshipRules, golden_record

pytestmark = pytest.mark.unit


def record(record_id: str, system: str, **values: str | None) -> StandardRecord:
    return StandardRecord(record_id=record_id, source_system=system, **values)  # type: ignore[arg-type]


HOME = {"address_line_1": "1 high street", "postcode": "NW1 1AA", "uprn": "100"}
NEW_HOME = {"address_line_1": "9 low road", "postcode": "E1 1AA", "uprn": "200"}


def test_most_recent_address_wins_and_comes_whole_from_one_record() -> None:
    old = record("a", "housing", updated_at="2020-01-01", residence_start="2010-01-01", **HOME)
    new = record("b", "libraries", updated_at="2024-05-01", address_line_1="9 low road",
                 postcode="E1 1AA")  # fmt: skip
    golden = golden_record([old, new], SurvivorshipRules())
    assert (golden.address_line_1, golden.postcode, golden.uprn) == ("9 low road", "E1 1AA", None)
    assert golden.address_record_id == "b" and golden.residence_start is None


def test_only_trusted_sources_give_the_address_when_they_have_one() -> None:
    trusted = record("a", "council_tax", updated_at="2020-01-01", **HOME)
    untrusted = record("b", "libraries", updated_at="2024-05-01", **NEW_HOME)
    rules = SurvivorshipRules(("council_tax", "electoral_roll"))
    assert golden_record([trusted, untrusted], rules).uprn == "100"
    # no trusted source has an address: fall back to the others
    no_address = record("c", "council_tax", updated_at="2025-01-01")
    assert golden_record([no_address, untrusted], rules).uprn == "200"


def test_a_finished_residence_loses_to_a_current_one_at_the_same_time() -> None:
    left = record("a", "housing", updated_at="2024-01-01", residence_end="2023-12-31", **HOME)
    current = record("b", "housing", updated_at="2024-01-01", **NEW_HOME)
    assert golden_record([left, current], SurvivorshipRules()).uprn == "200"


def test_best_attested_name_and_every_identifier() -> None:
    records = [
        record("a", "health", first_name="robert", last_name="jones", nhs_number="9434765919"),
        record("b", "housing", first_name="bob", last_name="jones", phone="+447700900123"),
        record("c", "council_tax", first_name="robert", last_name="jones", ni_number="QQ123456C"),
        record("d", "education", first_name="robert", middle_name="ian", last_name="jones",
               email="r@example.org", nhs_number="9434765870"),
    ]  # fmt: skip
    golden = golden_record(records, SurvivorshipRules())
    assert (golden.first_name, golden.middle_name, golden.last_name) == ("robert", None, "jones")
    assert golden.nhs_numbers == ("9434765870", "9434765919")
    assert golden.ni_numbers == ("QQ123456C",)
    assert golden.phones == ("+447700900123",) and golden.emails == ("r@example.org",)
    assert golden.sources == (
        SourceRef("council_tax", "c"),
        SourceRef("education", "d"),
        SourceRef("health", "a"),
        SourceRef("housing", "b"),
    )


def test_name_tie_goes_to_the_fuller_then_most_recent_name() -> None:
    a = record("a", "x", first_name="ann", last_name="lee", updated_at="2020-01-01")
    b = record("b", "x", first_name="ann", middle_name="may", last_name="lee")
    assert golden_record([a, b], SurvivorshipRules()).middle_name == "may"
    c = record("c", "x", first_name="anne", last_name="lee", updated_at="2024-01-01")
    assert golden_record([a, c], SurvivorshipRules()).first_name == "anne"


values = st.sampled_from([None, "a", "b"])


@st.composite
def records(draw: st.DrawFn) -> list[StandardRecord]:
    n = draw(st.integers(1, 6))
    return [
        StandardRecord(
            record_id=f"r{i}",
            source_system=draw(st.sampled_from(["housing", "council_tax"])),
            first_name=draw(values),
            last_name=draw(values),
            dob=draw(st.sampled_from([None, "2000-01-01", "2001-01-01"])),
            postcode=draw(st.sampled_from([None, "NW1 1AA", "E1 1AA"])),
            updated_at=draw(st.sampled_from([None, "2020", "2021"])),
            residence_end=draw(st.sampled_from([None, "2019"])),
        )
        for i in range(n)
    ]


@given(records(), st.randoms(use_true_random=False), st.booleans())
def test_golden_record_does_not_depend_on_record_order(
    members: list[StandardRecord], rnd: random.Random, trusted: bool
) -> None:
    rules = SurvivorshipRules(("council_tax",) if trusted else ())
    first = golden_record(members, rules)
    rnd.shuffle(members)
    assert golden_record(members, rules) == first


def test_an_address_without_a_uprn_takes_the_persons_uprn_for_the_same_place() -> None:
    from matchers.records import SourceRecord
    from matchers.standardise import standardise

    def source(
        record_id: str, line_1: str, postcode: str, uprn: str | None, at: str
    ) -> StandardRecord:
        return standardise(SourceRecord(record_id, "x", address_line_1=line_1,
                                        postcode=postcode, uprn=uprn, updated_at=at))  # fmt: skip

    taxed = source("a", "Flat A, 28 Wynmore Road", "NW1 9EF", "5022228021", "2020-01-01")
    short = source("b", "Flat A, 28", "NW1 9EF", None, "2024-01-01")  # the most recent
    golden = golden_record([taxed, short], SurvivorshipRules())
    assert golden.address_record_id == "b"
    assert golden.uprn == "5022228021"
    assert golden.household_key == "uprn:5022228021"
    # another place (a different flat) lends no UPRN
    elsewhere = source("c", "Flat B, 28 Wynmore Road", "NW1 9EF", "5022228099", "2020-01-01")
    assert golden_record([elsewhere, short], SurvivorshipRules()).uprn is None
