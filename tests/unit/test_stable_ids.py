"""Stable ids: the oldest id survives a merge, the largest part keeps it on a split."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matchers.stable_ids import assign_ids, format_id, id_age

pytestmark = pytest.mark.unit


def allocator(start: int = 100):
    counter = itertools.count(start)
    return lambda n: [format_id("P", next(counter)) for _ in range(n)]


P1, P2, P3 = format_id("P", 1), format_id("P", 2), format_id("P", 3)


def test_merge_keeps_the_oldest_id() -> None:
    result = assign_ids({P2: frozenset("ab"), P1: frozenset("c")}, [frozenset("abc")], allocator())
    assert result.ids == {frozenset("abc"): P1}
    assert result.merged == {P1: (P2,)}
    assert not result.created and not result.split and not result.retired


def test_split_leaves_the_id_with_the_largest_part() -> None:
    result = assign_ids({P1: frozenset("abcde")}, [frozenset("ab"), frozenset("cde")], allocator())
    assert result.ids[frozenset("cde")] == P1
    new = result.ids[frozenset("ab")]
    assert result.split == {P1: (new,)} and result.created == (new,)
    assert id_age(new) > id_age(P1)


def test_equal_parts_tie_on_the_smallest_member() -> None:
    result = assign_ids({P1: frozenset("abcd")}, [frozenset("cd"), frozenset("ab")], allocator())
    assert result.ids[frozenset("ab")] == P1


def test_deleted_members_retire_an_id() -> None:
    result = assign_ids({P1: frozenset("a"), P2: frozenset("bc")}, [frozenset("b")], allocator())
    assert result.retired == (P1,)
    assert result.ids == {frozenset("b"): P2}


def test_split_and_merge_at_once() -> None:
    # P2 splits; its larger part joins P1's records, its smaller part joins P3's
    old = {P1: frozenset("a"), P2: frozenset("bcd"), P3: frozenset("e")}
    result = assign_ids(old, [frozenset("abc"), frozenset("de")], allocator())
    assert result.ids == {frozenset("abc"): P1, frozenset("de"): P3}
    assert result.merged == {P1: (P2,)}
    assert result.split == {P2: (P3,)}


groups = st.lists(st.frozensets(st.sampled_from("abcdefghij"), min_size=1), max_size=5)


@given(groups, groups)
def test_every_new_group_gets_a_distinct_id_and_old_ids_survive_only_once(
    old_groups: list[frozenset[str]], new_groups: list[frozenset[str]]
) -> None:
    # make both sides partitions of their own members
    def partition(gs: list[frozenset[str]]) -> list[frozenset[str]]:
        seen: set[str] = set()
        out = []
        for g in gs:
            fresh = g - seen
            seen |= fresh
            if fresh:
                out.append(fresh)
        return out

    old = {format_id("P", i + 1): g for i, g in enumerate(partition(old_groups))}
    new = partition(new_groups)
    result = assign_ids(old, new, allocator())
    assert set(result.ids) == set(new)
    assert len(set(result.ids.values())) == len(new)
    reused = [i for i in result.ids.values() if i in old]
    absorbed = [a for ids in result.merged.values() for a in ids]
    assert sorted(reused + absorbed + list(result.retired)) == sorted(old)
    for survivor, merged in result.merged.items():
        assert all(id_age(survivor) < id_age(m) for m in merged)
