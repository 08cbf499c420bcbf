"""Blocking keys: named rule values, no placeholder keys, over-common blocks skipped."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matchers.blocking import (
    DEFAULT_MAX_BLOCK_SIZE,
    RULES,
    BlockingRules,
    candidate_pairs,
    prune_rules,
    rule_columns,
    rule_masks,
)
from matchers.records import SourceRecord
from matchers.standardise import standardise

pytestmark = pytest.mark.unit


def person(record_id: str, **fields: str) -> SourceRecord:
    return SourceRecord(record_id=record_id, **fields)


ANNE = person(
    "a",
    first_name="Anne",
    last_name="Smith",
    dob="1980-02-01",
    postcode="NW1 2DB",
    nhs_number="9434765919",
    ni_number="JG103759A",
    uprn="100023",
)


def test_keys_are_rule_name_and_value() -> None:
    keys = BlockingRules().keys(standardise(ANNE))
    assert "nhs:9434765919" in keys
    assert "ni:JG103759" in keys
    assert "name:ann|smith" in keys
    assert "dob_fk3:1980-02-01|smi" in keys
    assert "pc_dob:NW1 2DB|1980-02-01" in keys
    assert "uprn_fi:100023|a" in keys
    assert all(key.split(":", 1)[0] in RULES for key in keys)


def test_ni_number_with_and_without_suffix_share_a_key() -> None:
    rules = BlockingRules(("ni",))
    with_suffix = rules.keys(standardise(person("1", ni_number="JG103759A")))
    without = rules.keys(standardise(person("2", ni_number="JG 10 37 59")))
    assert with_suffix == without == {"ni:JG103759"}


def test_one_name_in_the_given_name_field_blocks_as_a_family_name() -> None:
    rules = BlockingRules(("dob_fk3",))
    full = rules.keys(standardise(person("1", first_name="John", last_name="Bingham",
                                         dob="1784-01-04")))  # fmt: skip
    only_one = rules.keys(standardise(person("2", first_name="Bingham", dob="1784-01-04")))
    assert full == only_one


def test_placeholders_never_make_keys() -> None:
    record = standardise(
        person(
            "p",
            first_name="Unknown",
            last_name="Baby",
            dob="01/01/1900",
            postcode="ZZ99 3VZ",
            nhs_number="0000000000",
            email="noemail@council.gov.uk",
            phone="00000 000000",
        )
    )
    assert BlockingRules().keys(record) == frozenset()


def test_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="nope"):
        BlockingRules(("nhs", "nope"))


def test_candidates_share_a_key() -> None:
    records = [
        standardise(ANNE),
        standardise(person("b", first_name="Annie", last_name="Smith", dob="01/02/1980")),
        standardise(person("c", first_name="Bob", last_name="Jones", dob="1975-05-05")),
    ]
    result = candidate_pairs(records)
    assert result.pairs == {("a", "b")}
    assert result.over_common_keys == frozenset()


def test_over_common_keys_are_skipped_and_reported() -> None:
    office = [
        standardise(person(f"r{i:03d}", first_name=f"Name{i}", phone="020 7974 4444"))
        for i in range(DEFAULT_MAX_BLOCK_SIZE + 1)
    ]
    result = candidate_pairs(office, BlockingRules(("phone",)))
    assert result.pairs == frozenset()
    assert result.over_common_keys == {"phone:+442079744444"}
    small = candidate_pairs(office[:3], BlockingRules(("phone",)))
    assert small.pairs == {("r000", "r001"), ("r000", "r002"), ("r001", "r002")}


def test_rule_columns_hold_the_values_sql_blocks_on() -> None:
    records = [standardise(ANNE), standardise(person("x"))]
    columns = rule_columns(records, BlockingRules(("nhs", "name")))
    assert columns == {"block_nhs": ["9434765919", None], "block_name": ["ann|smith", None]}


names = st.one_of(st.none(), st.sampled_from(["Anne", "Ann", "Bob", "Robert", "Smith", "O'Neil"]))
records = st.builds(
    SourceRecord,
    record_id=st.uuids().map(str),
    first_name=names,
    last_name=names,
    dob=st.one_of(st.none(), st.sampled_from(["1980-02-01", "01/02/1980", "1900-01-01"])),
    postcode=st.one_of(st.none(), st.sampled_from(["NW1 2DB", "NW1 2DE", "ZZ99 3VZ"])),
    town=st.one_of(st.none(), st.just("London")),
)


@given(records)
def test_keys_are_exactly_the_non_null_rule_values(source: SourceRecord) -> None:
    rules = BlockingRules()
    record = standardise(source)
    values = rules.rule_values(record)
    assert set(values) == set(RULES)
    assert rules.keys(record) == {f"{rule}:{v}" for rule, v in values.items() if v is not None}


@given(st.lists(records, max_size=12, unique_by=lambda r: r.record_id))
def test_candidates_are_the_pairs_with_a_shared_value(sources: list[SourceRecord]) -> None:
    rules = BlockingRules()
    standard = [standardise(s) for s in sources]
    columns = rule_columns(standard, rules)
    expected = set()
    for i, a in enumerate(standard):
        for j, b in enumerate(standard[i + 1 :], start=i + 1):
            shared = any(
                column[i] is not None and column[i] == column[j] for column in columns.values()
            )
            if shared:
                expected.add(tuple(sorted((a.record_id, b.record_id))))
    assert candidate_pairs(standard, rules).pairs == expected


def test_rule_masks_mark_every_rule_that_proposes_a_pair() -> None:
    rules = BlockingRules(("nhs", "name", "pc_dob"))
    records = [
        standardise(ANNE),
        standardise(person("b", first_name="Ann", last_name="Smith", nhs_number="9434765919")),
        standardise(
            person("c", first_name="Ann", last_name="Smith", postcode="NW1 2DB", dob="1980-02-01")
        ),
    ]
    masks = rule_masks(records, rules)
    assert masks == {("a", "b"): 0b011, ("a", "c"): 0b110, ("b", "c"): 0b010}
    assert set(masks) == candidate_pairs(records, rules).pairs


def test_pruning_drops_rules_that_find_nothing_new() -> None:
    rules = BlockingRules(("nhs", "name", "town_fg", "pc_dob"))
    # pairs: found by name only (likely matches), by name and town_fg, by town_fg only
    # (unlikely matches), by nhs only (never pruned), by pc_dob only (a likely match).
    masks = [0b0010, 0b0110, 0b0100, 0b0100, 0b0001, 0b1000]
    probabilities = [0.9, 0.95, 0.0001, 0.0002, 0.001, 0.8]
    kept, dropped = prune_rules(rules, masks, probabilities, min_share=0.01)
    assert kept.names == ("nhs", "name", "pc_dob")
    assert dropped == {"town_fg": pytest.approx(0.0003)}
    assert kept.max_block_size == rules.max_block_size
    everything, nothing = prune_rules(rules, masks, probabilities, min_share=0.0, min_yield=0.0)
    assert everything.names == rules.names
    assert nothing == {}


def test_pruning_drops_rules_whose_own_pairs_are_almost_never_matches() -> None:
    rules = BlockingRules(("name", "town_fg"))
    # town_fg alone finds 1.5 expected matches, but among 1,000 pairs (a 0.15% yield)
    masks = [0b01] * 10 + [0b10] * 1000
    probabilities = [0.9] * 10 + [0.0015] * 1000
    kept, dropped = prune_rules(rules, masks, probabilities, min_share=0.001, min_yield=0.002)
    assert kept.names == ("name",)
    assert dropped == {"town_fg": pytest.approx(1.5)}
    # a better yield keeps it
    kept, _ = prune_rules(rules, masks, probabilities, min_share=0.001, min_yield=0.001)
    assert kept.names == rules.names
