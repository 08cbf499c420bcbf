"""The ids of the hub's output events and review items."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.outputs import _ID_SPACE, name_id, review_id

pytestmark = pytest.mark.unit


@given(st.text())
def test_name_id_is_the_version_5_uuid_of_the_name(name: str) -> None:
    assert name_id(name) == str(uuid.uuid5(_ID_SPACE, name))


def test_a_review_item_has_one_id_whichever_way_round_its_pair_is() -> None:
    assert review_id("a:1", "b:2") == review_id("b:2", "a:1") != review_id("a:1", "b:3")
