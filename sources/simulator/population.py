"""The true population: households of people with names, dates of birth and identifiers.

Households are drawn by kind (people living alone, couples, families, lone parents,
sharers, three generations, parents with a grown-up child) until the borough has the
requested number of residents. Family members get names by their tradition's rules
(``names.py``), a partner may have changed surname at the start of the partnership (the
date matters: systems that knew her before may never hear of it), some families have
twins, some sons carry their father's name, some households moved within the borough in
the last five years, and some former households left records behind.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sources.simulator import names
from sources.simulator.config import SimulationConfig
from sources.simulator.geography import Borough, build_borough
from sources.simulator.identifiers import Issuer
from sources.simulator.model import Address, Household, Person

KINDS = (
    ("single", 0.30),
    ("couple", 0.22),
    ("family", 0.20),
    ("lone_parent", 0.10),
    ("sharers", 0.08),
    ("multigenerational", 0.05),
    ("parents_with_adult_child", 0.05),
)
_KIND_NAMES = tuple(k for k, _ in KINDS)
_KIND_WEIGHTS = tuple(w for _, w in KINDS)
_SOUTH_ASIAN = frozenset({"bangladeshi", "pakistani", "indian", "sikh"})
MEAN_HOUSEHOLD_SIZE = 2.5


@dataclass(slots=True)
class World:
    """The borough and everyone in it, as the simulated days go by."""

    config: SimulationConfig
    borough: Borough
    issuer: Issuer
    persons: dict[str, Person] = field(default_factory=dict)
    households: dict[str, Household] = field(default_factory=dict)
    vacant_houses: list[Address] = field(default_factory=list)  # and converted flats
    vacant_block_flats: list[Address] = field(default_factory=list)
    next_person: int = 1
    next_household: int = 1

    @property
    def day_one(self) -> date:
        return self.config.day_one

    def current_households(self) -> list[Household]:
        return [h for h in self.households.values() if h.left_on is None]

    def residents(self) -> int:
        return sum(len(h.members) for h in self.current_households())

    def take_home(self, rng: random.Random, council: bool) -> Address:
        """A vacant home: a flat in a block for most council tenants."""
        blocks, houses = self.vacant_block_flats, self.vacant_houses
        pool = blocks if (council and rng.random() < 0.8) or not houses else houses
        if not pool:
            pool = houses or blocks
        if not pool:
            raise RuntimeError("the borough has no vacant homes left")
        index = rng.randrange(len(pool))
        home = pool[index]
        pool[index] = pool[-1]
        pool.pop()
        return home

    def release(self, home: Address) -> None:
        pool = self.vacant_block_flats if _in_block(home) else self.vacant_houses
        pool.append(home)


def _in_block(home: Address) -> bool:
    return home.building_name is not None and home.sub_building is not None


def _birth(rng: random.Random, on: date, youngest: int, oldest: int) -> date:
    """A date of birth giving an age between ``youngest`` and ``oldest`` on ``on``."""
    latest = _years_before(on, youngest)
    earliest = _years_before(on, oldest + 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randrange(max(1, (latest - earliest).days + 1)))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _between(rng: random.Random, start: date, end: date) -> date:
    if end <= start:
        return start
    return start + timedelta(days=rng.randrange((end - start).days + 1))


class PopulationBuilder:
    """Makes households and their people; used for day 1 and for later arrivals."""

    def __init__(self, world: World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.rates = world.config.population

    # -- people -----------------------------------------------------------------------------
    def _person(
        self, household_id: str, tradition: names.Tradition, sex: str, dob: date, family: str
    ) -> Person:
        rng, world = self.rng, self.world
        given = tradition.given(rng, sex, dob.year)
        middle = None
        if tradition.key == "sikh":
            middle = "Kaur" if sex == "F" else "Singh"
        elif rng.random() < tradition.middle_name_rate:
            middle = tradition.given(rng, sex, dob.year)
            if middle == given:
                middle = None
        person = Person(
            person_id=f"P{world.next_person:06d}",
            household_id=household_id,
            tradition=tradition.key,
            given=given,
            middle=middle,
            family=self._own_surname(tradition, sex, dob, family),
            dob=dob,
            sex=sex,
            nhs_number=world.issuer.nhs_number(),
        )
        world.next_person += 1
        age = person.age_on(world.day_one)
        if age >= 16 and (
            tradition.key in ("british", "irish", "caribbean") or rng.random() > 0.06
        ):
            person.ni_number = world.issuer.ni_number()
        if 4 <= age <= 19:
            person.upn = world.issuer.upn(dob.year + 4, home=rng.random() < 0.8)
        if (age >= 18 and rng.random() < 0.95) or (12 <= age < 18 and rng.random() < 0.8):
            person.mobile = world.issuer.mobile()
        email_rate = 0.4 if age >= 75 else 0.8 if age >= 18 else 0.5 if age >= 13 else 0.0
        if rng.random() < email_rate:
            person.email = world.issuer.email(given, person.family, dob.year)
        world.persons[person.person_id] = person
        return person

    def _own_surname(self, tradition: names.Tradition, sex: str, dob: date, family: str) -> str:
        if sex == "M":
            return family
        if tradition.key == "bangladeshi" and dob.year < 2000 and self.rng.random() < 0.3:
            return "Begum" if self.rng.random() < 0.8 else "Khatun"
        return tradition.feminine(family)

    def _surname(self, tradition: names.Tradition) -> str:
        surname = tradition.surnames.draw(self.rng)
        if tradition.key in names.TWO_SURNAMES and self.rng.random() < 0.7:
            second = tradition.surnames.draw(self.rng)
            if second != surname:
                surname = f"{surname} {second}"
        return surname

    def _partner_tradition(self, tradition: names.Tradition) -> names.Tradition:
        if self.rng.random() < self.rates.mixed_heritage_couple:
            return names.draw_tradition(self.rng)
        return tradition

    def _adult_age(self) -> tuple[int, int]:
        r = self.rng.random()
        return (22, 45) if r < 0.58 else (46, 69) if r < 0.85 else (70, 95)

    # -- households ---------------------------------------------------------------------
    def household(self, moved_in: date | None = None, kind: str | None = None) -> Household:
        rng, world = self.rng, self.world
        tradition = names.draw_tradition(rng)
        kind = kind or rng.choices(_KIND_NAMES, weights=_KIND_WEIGHTS)[0]
        if kind == "family" and tradition.key in _SOUTH_ASIAN and rng.random() < 0.3:
            kind = "multigenerational"
        household_id = f"H{world.next_household:05d}"
        world.next_household += 1
        need = rng.choices((0, 1, 2, 3), weights=(80, 11, 6.5, 2.5))[0]
        if kind == "lone_parent":
            need = min(3, need + rng.choice((0, 0, 1, 1, 2)))
        council_rate = self.rates.council_tenants * (1.8 if need >= 1 else 0.85)
        tenure = "council" if rng.random() < council_rate else rng.choice(("owner", "private_rent"))
        if tenure == "council" and need == 0 and rng.random() < 0.1:
            need = 1
        members = self._members(household_id, kind, tradition)
        day_one = world.day_one
        adults = [p for p in members if p.age_on(day_one) >= 18]
        youngest_adult = min((p.age_on(day_one) for p in adults), default=18)
        if moved_in is None:
            span = 5 if tenure == "private_rent" else min(35, max(1, youngest_adult - 18))
            moved_in = day_one - timedelta(days=rng.randrange(30, 30 + 365 * span))
        address = world.take_home(rng, tenure == "council")
        car_rate = self.rates.car_owners * (0.5 if tenure == "council" else 1.3)
        household = Household(
            household_id=household_id,
            address=address,
            moved_in=moved_in,
            members=[p.person_id for p in members],
            kind=kind,
            tenure=tenure,
            need=need,
            landline=world.issuer.landline() if rng.random() < 0.4 else None,
            has_car=rng.random() < car_rate,
        )
        if rng.random() < 0.1 and adults:
            first = adults[0]
            household.email = world.issuer.email(first.family, "family", first.dob.year)
        world.households[household_id] = household
        return household

    def _members(self, household_id: str, kind: str, tradition: names.Tradition) -> list[Person]:
        rng, day_one = self.rng, self.world.day_one
        if kind == "single":
            dob = _birth(rng, day_one, *self._adult_age())
            surname = self._surname(tradition)
            return [self._person(household_id, tradition, rng.choice("FM"), dob, surname)]
        if kind == "sharers":
            people = []
            for _ in range(rng.choice((2, 2, 3, 3, 4, 5))):
                own = names.draw_tradition(rng)
                dob = _birth(rng, day_one, 19, 40)
                surname = self._surname(own)
                people.append(self._person(household_id, own, rng.choice("FM"), dob, surname))
            return people
        if kind == "couple":
            dob = _birth(rng, day_one, *self._adult_age())
            return self._family(household_id, tradition, dob, [], couple=True)
        if kind == "lone_parent":
            roles = ["child"] * rng.choices((1, 2, 3), weights=(50, 35, 15))[0]
            if rng.random() < 0.15:
                roles.append("adult_child")
            dob = _birth(rng, day_one, 19, 55)
            return self._family(household_id, tradition, dob, roles, couple=False)
        if kind == "parents_with_adult_child":
            dob = _birth(rng, day_one, 48, 78)
            couple = rng.random() < 0.7
            return self._family(household_id, tradition, dob, ["adult_child"], couple=couple)
        roles = ["child"] * rng.choices((1, 2, 3, 4), weights=(35, 40, 18, 7))[0]
        if rng.random() < 0.25:
            roles.append("adult_child")
        if kind == "multigenerational":
            roles += ["grandparent"] * rng.choice((1, 1, 2))
        dob = _birth(rng, day_one, 24, 55)
        return self._family(household_id, tradition, dob, roles, couple=True)

    def _family(
        self,
        household_id: str,
        tradition: names.Tradition,
        dob: date,
        roles: list[str],
        couple: bool,
    ) -> list[Person]:
        """A couple or a lone parent, with children, grown-up children and grandparents."""
        rng, day_one = self.rng, self.world.day_one
        surname = self._surname(tradition)
        if couple:
            first = self._person(household_id, tradition, "M", dob, surname)
            partner_tradition = self._partner_tradition(tradition)
            her_dob = dob + timedelta(days=rng.randint(-6 * 365, 3 * 365))
            her_dob = min(her_dob, _years_before(day_one, 20))
            her_surname = self._surname(partner_tradition)
            partner = self._person(household_id, partner_tradition, "F", her_dob, her_surname)
            first.partner_id, partner.partner_id = partner.person_id, first.person_id
            parents = [first, partner]
        else:
            sex = "F" if rng.random() < 0.85 else "M"
            first = self._person(household_id, tradition, sex, dob, surname)
            parents = [first]
        if not couple and first.sex == "F" and roles and rng.random() < 0.5:
            surname = self._surname(tradition)  # the children carry their absent father's name
        children = self._children(household_id, tradition, parents, roles, surname)
        if couple:
            self._partnership(tradition, parents[0], parents[1], children)
        return parents + children + self._grandparents(household_id, tradition, first, roles)

    def _children(
        self,
        household_id: str,
        tradition: names.Tradition,
        parents: list[Person],
        roles: list[str],
        surname: str,
    ) -> list[Person]:
        rng, day_one = self.rng, self.world.day_one
        mother = next((p for p in parents if p.sex == "F"), None)
        father = next((p for p in parents if p.sex == "M"), None)
        youngest_parent = max(p.dob for p in parents)
        earliest = _years_before(youngest_parent, -18)  # the day the youngest parent turned 18
        children: list[Person] = []
        for role in roles:
            if role == "child":
                low, high = _years_before(day_one, 17), day_one - timedelta(days=20)
            elif role == "adult_child":
                low, high = _years_before(day_one, 40), _years_before(day_one, 18)
            else:
                continue
            dob = _between(rng, max(earliest, low), high)
            sex = rng.choice("FM")
            family = self._child_surname(tradition, surname, father, mother)
            child = self._person(household_id, tradition, sex, dob, family)
            child.mother_id = mother.person_id if mother else None
            child.father_id = father.person_id if father else None
            if father is not None and sex == "M" and rng.random() < self._junior_rate(role):
                child.given = father.given  # named after his father
                if father.middle and rng.random() < 0.5:
                    child.middle = father.middle
            children.append(child)
        young = [c for c in children if c.age_on(day_one) < 18]
        if len(young) >= 2 and rng.random() < self.rates.twin_families:
            self._twins(tradition, young[0], young[1])
        return children

    def _twins(self, tradition: names.Tradition, first: Person, second: Person) -> None:
        second.dob = first.dob
        if first.upn:
            second.upn = self.world.issuer.upn(first.dob.year + 4)
        elif second.upn:
            second.upn = None
        first.twin_id, second.twin_id = second.person_id, first.person_id
        if self.rng.random() < 0.4:  # twins named alike: the same initial
            pool = tradition.female if second.sex == "F" else tradition.male
            alike = [n for n in pool.names if n[0] == first.given[0] and n != first.given]
            if alike:
                second.given = self.rng.choice(alike)

    def _junior_rate(self, role: str) -> float:
        return self.rates.junior_same_name * (2.5 if role == "adult_child" else 1.0)

    def _child_surname(
        self,
        tradition: names.Tradition,
        surname: str,
        father: Person | None,
        mother: Person | None,
    ) -> str:
        if father is not None and tradition.key == "somali":
            return father.given if self.rng.random() < 0.5 else (father.middle or father.given)
        if father is not None and mother is not None and tradition.key in names.TWO_SURNAMES:
            return f"{father.family.split(' ')[0]} {mother.family.split(' ')[0]}"
        return surname

    def _partnership(
        self, tradition: names.Tradition, him: Person, her: Person, children: list[Person]
    ) -> None:
        """Set when they became partners and whether (and to what) she changed surname."""
        rng, day_one = self.rng, self.world.day_one
        start = max(_years_before(him.dob, -20), _years_before(her.dob, -20))
        firsts = [c.dob for c in children]
        end = min(firsts) if firsts else day_one - timedelta(days=60)
        began = _between(rng, min(start, end), end)
        own = her.family
        if tradition.key in names.DOUBLE_BARRELLING and rng.random() < self.rates.double_barrelled:
            combined = f"{own}-{him.family}"
            for person, before in ((her, own), (him, him.family)):
                person.birth_family, person.family, person.name_changed_on = before, combined, began
            for child in children:
                child.family = combined
            return
        if tradition.key in ("spanish", "portuguese", "somali") and her.tradition == tradition.key:
            return
        if tradition.key == "bangladeshi" and her.tradition == "bangladeshi":
            r = rng.random()
            new = "Begum" if r < 0.4 else "Khatun" if r < 0.5 else him.family if r < 0.8 else own
        elif tradition.key == "sikh" and her.tradition == "sikh":
            new = him.family if rng.random() < 0.7 else "Kaur"
        elif rng.random() < self.rates.partner_takes_surname:
            new = names.BY_KEY[him.tradition].feminine(him.family)
        else:
            new = own
        if new != own:
            her.birth_family, her.family, her.name_changed_on = own, new, began

    def _grandparents(
        self, household_id: str, tradition: names.Tradition, parent: Person, roles: list[str]
    ) -> list[Person]:
        rng, day_one = self.rng, self.world.day_one
        elders = []
        for i in range(roles.count("grandparent")):
            sex = "F" if (i == 0 and rng.random() < 0.65) or i == 1 else "M"
            low = max(58, parent.age_on(day_one) + 18)
            dob = _birth(rng, day_one, min(low, 95), min(low + 25, 100))
            family = parent.birth_family or parent.family
            elder = self._person(household_id, tradition, sex, dob, family)
            if sex == "M":
                parent.father_id = elder.person_id
            else:
                parent.mother_id = elder.person_id
            elders.append(elder)
        return elders


def build_world(config: SimulationConfig) -> World:
    """The borough on day 1: current households up to ``config.residents`` and former ones."""
    seed = config.seed
    rng = random.Random(f"{seed}:population")
    households_wanted = config.residents / MEAN_HOUSEHOLD_SIZE
    borough = build_borough(random.Random(f"{seed}:borough"), int(households_wanted * 1.25) + 25)
    world = World(config=config, borough=borough, issuer=Issuer(random.Random(f"{seed}:ids")))
    world.vacant_houses = [a for a in borough.homes if not _in_block(a)]
    world.vacant_block_flats = [a for a in borough.homes if _in_block(a)]
    builder = PopulationBuilder(world, rng)
    residents = 0
    while residents < config.residents:
        residents += len(builder.household().members)
    _former_households(world, builder, rng)
    _movers(world, rng)
    return world


def _movers(world: World, rng: random.Random) -> None:
    """Some households moved within the borough in the last five years."""
    day_one = world.day_one
    homes = world.borough.homes
    for household in world.current_households():
        if rng.random() >= world.config.population.movers:
            continue
        household.moved_in = day_one - timedelta(days=rng.randrange(20, 5 * 365))
        household.previous_moved_in = household.moved_in - timedelta(
            days=rng.randrange(365, 12 * 365)
        )
        previous = rng.choice(homes)  # may be someone else's home now
        while previous.uprn == household.address.uprn:
            previous = rng.choice(homes)
        household.previous_address = previous


def _former_households(world: World, builder: PopulationBuilder, rng: random.Random) -> None:
    """Households that left the borough in the last three years; their homes are let again."""
    current = world.current_households()
    count = round(len(current) * world.config.population.former_households)
    for _ in range(count):
        household = builder.household()
        household.left_on = world.day_one - timedelta(days=rng.randrange(15, 3 * 365))
        household.moved_in = min(
            household.moved_in, household.left_on - timedelta(days=rng.randrange(200, 3000))
        )
        if rng.random() < 0.6:
            household.forwarding_address = rng.choice(world.borough.elsewhere)
        world.release(household.address)
        if rng.random() < 0.5:  # the home was let again: someone else lives there now
            household.address = rng.choice(current).address
