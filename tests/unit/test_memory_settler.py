"""A worker settles its memory between batches: young cyclic garbage is collected, the
survivors are frozen out of the cyclic collector's sight, at most once an interval."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from streams.app import MemorySettler

pytestmark = pytest.mark.unit


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # (the test process's objects go back to the collector)


def test_it_collects_dropped_cycles_and_freezes_what_lives_on() -> None:
    now = [100.0]
    settler = MemorySettler(2.0, clock=lambda: now[0])
    cycle = Node()
    cycle.other = Node()
    cycle.other.other = cycle
    dropped = weakref.ref(cycle)
    del cycle  # unreachable, but only the cyclic collector frees it
    kept = {"record": Node()}
    frozen_before = gc.get_freeze_count()

    now[0] += 2.0
    assert settler.settle()

    assert dropped() is None  # collected, not frozen
    assert gc.get_freeze_count() > frozen_before
    assert not any(o is kept for o in gc.get_objects())  # out of the collector's sight
    assert kept["record"].other is None  # and still there


def test_it_settles_at_most_once_an_interval() -> None:
    now = [0.0]
    settler = MemorySettler(2.0, clock=lambda: now[0])
    now[0] = 1.9
    assert not settler.settle()
    now[0] = 2.0
    assert settler.settle()
    now[0] = 3.5
    assert not settler.settle()
    now[0] = 4.0
    assert settler.settle()
