"""Households at one address: residents whose periods overlap, directly or in a chain."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matchers.households import group_residents

pytestmark = pytest.mark.unit


def test_overlapping_residents_form_one_household_and_later_ones_another() -> None:
    residents = {
        "mum": ("2010-01-01", None),
        "son": ("2012-06-01", "2020-01-01"),
        "old_tenant": ("2000-01-01", "2009-12-31"),
        "lodger": ("2019-06-01", None),
    }
    assert group_residents(residents) == [
        frozenset({"mum", "son", "lodger"}),
        frozenset({"old_tenant"}),
    ]


def test_unknown_dates_mean_always_there() -> None:
    residents = {"a": (None, None), "b": ("2000-01-01", "2001-01-01"), "c": ("2020-01-01", None)}
    assert group_residents(residents) == [frozenset("abc")]


def test_a_chain_of_overlaps_is_one_household() -> None:
    residents = {"a": ("2000", "2005"), "b": ("2004", "2010"), "c": ("2009", "2015")}
    assert group_residents(residents) == [frozenset("abc")]


def test_a_period_ending_before_it_starts_counts_as_unknown() -> None:
    residents = {"a": ("2010", "2005"), "b": ("2000", "2001")}
    assert group_residents(residents) == [frozenset("ab")]


dates = st.sampled_from([None, "2000", "2003", "2006", "2009"])


@given(st.dictionaries(st.sampled_from("abcdefg"), st.tuples(dates, dates), max_size=7))
def test_groups_are_exactly_the_overlap_components(
    residents: dict[str, tuple[str | None, str | None]],
) -> None:
    def period(p: str) -> tuple[str, str]:
        start, end = residents[p]
        if start and end and end < start:
            return ("", "9999")
        return (start or "", end or "9999")

    def overlap(a: str, b: str) -> bool:
        (s1, e1), (s2, e2) = period(a), period(b)
        return s1 <= e2 and s2 <= e1

    groups = group_residents(residents)
    assert sorted(p for g in groups for p in g) == sorted(residents)
    for group in groups:  # connected inside
        members = sorted(group)
        reached, todo = {members[0]}, [members[0]]
        while todo:
            x = todo.pop()
            for y in members:
                if y not in reached and overlap(x, y):
                    reached.add(y)
                    todo.append(y)
        assert reached == group
    for g1 in groups:  # no overlap across groups
        for g2 in groups:
            if g1 != g2:
                assert not any(overlap(a, b) for a in g1 for b in g2)
