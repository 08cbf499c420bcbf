"""The simulator's small parts: identifiers, damage to values, and the streaming seam."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matchers.identifiers import check_nhs_number, check_ni_number, check_postcode, check_upn
from sources.simulator import noise
from sources.simulator.config import SimulationConfig
from sources.simulator.identifiers import (
    Issuer,
    broken_nhs_number,
    broken_ni_number,
    broken_upn,
)
from sources.simulator.model import Event
from sources.simulator.simulation import simulate
from sources.simulator.streaming import event_key, replay

pytestmark = pytest.mark.unit


@given(st.integers(0, 2**32))
def test_issued_identifiers_are_valid_and_broken_ones_are_not(seed: int) -> None:
    rng = random.Random(seed)
    issuer = Issuer(rng)
    nhs, upn, ni = issuer.nhs_number(), issuer.upn(2015), issuer.ni_number()
    assert check_nhs_number(nhs) == (nhs, None)
    assert check_upn(upn) == (upn, None)
    assert check_ni_number(ni) == (ni, None)
    assert check_nhs_number(broken_nhs_number(nhs, rng))[1] == "nhs_number_check_digit"
    assert check_upn(broken_upn(upn, rng))[1] == "upn_check_letter"
    assert check_ni_number(broken_ni_number(ni, date(1990, 4, 2), "F", rng))[1] is not None


def test_issued_identifiers_are_unique() -> None:
    issuer = Issuer(random.Random(1))
    numbers = [issuer.nhs_number() for _ in range(5_000)]
    assert len(set(numbers)) == len(numbers)


@given(st.dates(date(1900, 1, 1), date(2025, 1, 1)))
def test_day_month_swap_is_its_own_inverse(day: date) -> None:
    swapped = noise.swap_day_month(day)
    assert noise.swap_day_month(swapped) == day
    assert swapped == day or (swapped.day, swapped.month) == (day.month, day.day)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=12), st.integers())
def test_a_typo_keeps_the_first_letter_and_changes_little(word: str, seed: int) -> None:
    slipped = noise.typo(word, random.Random(seed))
    assert slipped[0] == word[0]
    assert abs(len(slipped) - len(word)) <= 1


@given(st.integers())
def test_postcode_damage_keeps_the_format(seed: int) -> None:
    rng = random.Random(seed)
    assert check_postcode(noise.postcode_variant("NW5 2QE", rng))[0] == "NW5 2QE"
    typo, _ = check_postcode(noise.postcode_typo("NW5 2QE", rng))
    assert typo is not None and typo != "NW5 2QE" and typo.startswith("NW5 2")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_replay_gives_every_event_in_order_at_the_rate() -> None:
    events = simulate(SimulationConfig(residents=50, seed=3)).events[:40]
    clock = FakeClock()
    seen: list[Event] = []
    given_count = replay(events, seen.append, rate=20.0, clock=clock, sleep=clock.sleep)
    assert given_count == 40 and seen == events
    assert clock.now - 100.0 == pytest.approx(39 / 20.0)  # the 40th event is due at 1.95 s


def test_replay_without_a_rate_never_sleeps() -> None:
    events = simulate(SimulationConfig(residents=50, seed=3)).events[:10]
    clock = FakeClock()
    assert replay(events, lambda _: None, clock=clock, sleep=clock.sleep) == 10
    assert clock.slept == []
    with pytest.raises(ValueError, match="positive"):
        replay(events, lambda _: None, rate=0)


def test_event_keys_name_the_entity() -> None:
    sim = simulate(SimulationConfig(residents=100, seed=3), day=2)
    keys: dict[str, set[str]] = {}
    for event in sim.events:
        keys.setdefault(type(event).__name__, set()).add(event_key(event))
    assert keys["PersonChange"] == {t.record_id for t in sim.truth}
    assert len(keys["AddressRecord"]) == len(sim.addresses)
