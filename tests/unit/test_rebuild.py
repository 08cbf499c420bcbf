"""The pure parts of a rebuild: aliases resolved through later merges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.rebuild import final_targets

pytestmark = pytest.mark.unit


def test_aliases_follow_later_merges() -> None:
    assert final_targets({"P1": "P2", "P2": "P5", "P3": "P5", "P7": "P8"}) == {
        "P1": "P5", "P2": "P5", "P3": "P5", "P7": "P8",
    }  # fmt: skip


@given(st.lists(st.integers(1, 40), min_size=1, max_size=40))
def test_every_alias_ends_at_an_id_that_is_no_alias(merges: list[int]) -> None:
    # Ids merge into newer ones in turn, as the stream retires them (never a cycle).
    aliases = {f"P{n}": f"P{n + m}" for n, m in enumerate(merges, start=1)}
    resolved = final_targets(aliases)
    assert set(resolved) == set(aliases)
    assert not set(resolved.values()) & set(aliases)
