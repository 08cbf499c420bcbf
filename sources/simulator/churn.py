"""What happens on each day after day 1: moves, arrivals, departures, deaths, new surnames,
new phone numbers, new service records, corrections, and duplicates found and removed.

Each day has its own random streams and days are simulated in order, so day 2 is the same
whether the run stops at day 2 or goes on to day 5.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sources.simulator import names
from sources.simulator.config import ChurnRates
from sources.simulator.ledger import Ledger, Tracked, moment
from sources.simulator.model import Household, Person
from sources.simulator.population import PopulationBuilder, World
from sources.simulator.systems import Plan, SourceIds, plan_household

# Services a resident may newly sign up to on any day, with relative weights and the role.
_NEW_SERVICES = (
    ("libraries", 3, "borrower"),
    ("citizen_portal", 4, "account"),
    ("customer_service", 5, "contact"),
    ("parking_permits", 1, "permit_holder"),
    ("accessible_transport", 1, "pass_holder"),
    ("electoral_roll", 2, "elector"),
)
# Systems where someone who forgets they have a record easily makes a second one.
_EASY_DUPLICATES = frozenset({"customer_service", "citizen_portal"})


@dataclass(slots=True)
class _Day:
    world: World
    ledger: Ledger
    ids: SourceIds
    day: date
    rng: random.Random
    rates: ChurnRates

    @property
    def start(self) -> datetime:
        return datetime.combine(self.day, time(0, 0), tzinfo=UTC)

    def live_records(self, person_ids: list[str]) -> list[Tracked]:
        """The records of these people that exist at the start of the day."""
        out = []
        for person_id in person_ids:
            for record_id in self.ledger.by_person.get(person_id, []):
                tracked = self.ledger.records[record_id]
                if tracked.live_at(self.start):
                    out.append(tracked)
        return out


def simulate_day(world: World, ledger: Ledger, ids: SourceIds, day: date) -> None:
    config = world.config
    ledger.rng = random.Random(f"{config.seed}:ledger:{day.isoformat()}")
    today = _Day(world, ledger, ids, day, random.Random(f"{config.seed}:day:{day}"), config.churn)
    households = world.current_households()
    _moves(today, households)
    _arrivals(today, len(households))
    _departures(today, households)
    for household in world.current_households():
        for person_id in list(household.members):
            _life_events(today, household, world.persons[person_id])
        if not household.members:  # the last resident died: the home is empty
            household.left_on = day
            world.release(household.address)
    _source_upkeep(today)


def _moves(today: _Day, households: list[Household]) -> None:
    world, rng = today.world, today.rng
    for household in households:
        if rng.random() >= today.rates.moves:
            continue
        old = household.address
        household.previous_address, household.previous_moved_in = old, household.moved_in
        household.address = world.take_home(rng, household.tenure == "council")
        household.moved_in = today.day
        world.release(old)
        for tracked in today.live_records(household.members):
            today.ledger.moved(tracked, household, today.day)


def _arrivals(today: _Day, households: int) -> None:
    world, rng, ledger = today.world, today.rng, today.ledger
    arrivals = sum(1 for _ in range(households) if rng.random() < today.rates.arrivals)
    builder = PopulationBuilder(world, rng)
    for _ in range(arrivals):
        household = builder.household(moved_in=today.day)
        plans = plan_household(
            household,
            world.persons,
            today.ids,
            rng,
            day_one=world.day_one,
            history_start=today.day,
            arrival=True,
            duplicate_scale=world.config.errors.duplicate,
        )
        for plan in plans:
            ledger.follow_history(ledger.open(plan), plan.known_since)


def _departures(today: _Day, households: list[Household]) -> None:
    world, rng = today.world, today.rng
    for household in households:
        if household.left_on is not None or rng.random() >= today.rates.departures:
            continue
        household.left_on = today.day
        if rng.random() < 0.5:
            household.forwarding_address = rng.choice(world.borough.elsewhere)
        world.release(household.address)
        for tracked in today.live_records(household.members):
            today.ledger.left(tracked, household, today.day)


def _life_events(today: _Day, household: Household, person: Person) -> None:
    """A death, a new surname, a new phone number, a new service: each rare, all possible."""
    rng, rates, ledger, day = today.rng, today.rates, today.ledger, today.day
    age = person.age_on(day)
    if age >= 70 and rng.random() < rates.deaths:
        person.died_on = day
        household.members.remove(person.person_id)
        for tracked in today.live_records([person.person_id]):
            ledger.died(tracked, day)
        return
    if age >= 18 and person.birth_family is None and rng.random() < rates.name_changes:
        partner = today.world.persons.get(person.partner_id or "")
        tradition = names.BY_KEY[person.tradition]
        new = partner.family if partner and partner.family != person.family else None
        new = new or tradition.feminine(tradition.surnames.draw(rng))
        person.birth_family, person.family, person.name_changed_on = person.family, new, day
        for tracked in today.live_records([person.person_id]):
            ledger.renamed(tracked, person, day)
    if age >= 16 and rng.random() < rates.contact_changes:
        person.mobile = today.world.issuer.mobile()
        for tracked in today.live_records([person.person_id]):
            ledger.new_phone(tracked, day)
    if age >= 2 and rng.random() < rates.new_service_records:
        _new_service_record(today, household, person)


def _new_service_record(today: _Day, household: Household, person: Person) -> None:
    rng = today.rng
    system, _, role = rng.choices(_NEW_SERVICES, weights=[w for _, w, _ in _NEW_SERVICES])[0]
    if system != "libraries" and person.age_on(today.day) < 18:
        return
    held = any(t.system == system for t in today.live_records([person.person_id]))
    if held and (system not in _EASY_DUPLICATES or rng.random() > 0.3):
        return
    plan = Plan(system, person.person_id, household.household_id, role, today.day, None, held)
    today.ledger.open(plan)


def _source_upkeep(today: _Day) -> None:
    """Sources correct a wrong field now and then, and find and delete some duplicates."""
    rng, rates, ledger = today.rng, today.rates, today.ledger
    for tracked in ledger.live_records(today.start):
        if rng.random() < rates.corrections:
            ledger.correct(tracked, today.day)
        elif tracked.duplicate and rng.random() < rates.duplicate_merges:
            ledger.delete(tracked, moment(today.day, rng), "duplicate_merged")
