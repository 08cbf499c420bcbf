"""The council's source systems: how each one holds a person, and whom each one knows.

A :class:`Profile` says how a system writes its records (which fields it collects, date and
sex formats, capitals, accents, how it lays out an address, how sloppy it is, how often it
hears of a move, how often it creates a second record for someone it already has).
:func:`plan_household` decides, household by household, which system knows which member and
since when: council tax knows the liable adults, education the pupils and their parents,
adult social care older residents and their carers, the case-management system (Mosaic)
families in need, and so on.

The partner datasets (DWP out-of-work benefits, youth justice, NEET tracking, police
domestic-abuse notifications) are systems too: their indicators are keyed by their own
person records, which the hub must link like any other.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sources.simulator.model import Household, Person

COUNCIL_SYSTEMS: tuple[str, ...] = (
    "council_tax",
    "housing",
    "housing_benefits",
    "education",
    "early_years",
    "adult_social_care",
    "child_social_care",
    "electoral_roll",
    "libraries",
    "parking_permits",
    "accessible_transport",
    "citizen_portal",
    "customer_service",
    "mosaic",
)
PARTNER_SYSTEMS: tuple[str, ...] = (
    "dwp_benefits",
    "youth_justice",
    "neet_tracking",
    "police_notifications",
)
PERSON_SYSTEMS: tuple[str, ...] = COUNCIL_SYSTEMS + PARTNER_SYSTEMS


@dataclass(frozen=True, slots=True)
class Profile:
    """How one system holds a person."""

    system: str
    record_id: str  # format of its own record ids, e.g. "CTP{:07d}"
    group_id: str | None  # format of its group ids (accounts, claims, family groups)
    fields: Mapping[str, float]  # probability the system holds each optional field
    dob_format: str = "%Y-%m-%d"
    sex_words: bool = False  # "Male"/"Female" rather than "M"/"F"
    capitals: bool = False  # names and addresses in capitals (older systems)
    ascii_only: bool = False  # accents dropped (Łukasz -> Lukasz)
    address_style: str = "split"  # split | joined | legacy
    noise: float = 1.0  # multiplier on the error rates
    stale: float = 1.0  # multiplier on the chance of never hearing of a move or new name
    duplicates: float = 0.02  # share of people who get a second record
    self_service: bool = False  # residents type their own details (short names, lower case)
    keeps_previous_name: bool = False
    tracks_residence: bool = False  # fills residence_start / residence_end
    account_per_address: bool = False  # a move ends the record and opens a new one
    on_leaving: str = "end"  # what a notified system does when someone leaves: end | delete
    notify_lag_days: float = 1.0  # multiplier on the mean delay before recording a change
    contact_fields: Mapping[str, float] | None = None  # what it holds about a parent contact

    def fields_for(self, role: str) -> Mapping[str, float]:
        if role == "parent" and self.contact_fields is not None:
            return self.contact_fields
        return self.fields


def _f(**fields: float) -> dict[str, float]:
    return fields


PROFILES: dict[str, Profile] = {
    p.system: p
    for p in (
        Profile(
            "council_tax",
            "CTP{:07d}",
            "CTA{:08d}",
            _f(middle_name=0.3, dob=0.35, sex=0.2, ni_number=0.15, phone=0.5, email=0.4, uprn=0.98),
            dob_format="%d/%m/%Y",
            capitals=True,
            ascii_only=True,
            address_style="legacy",
            noise=0.8,
            stale=0.3,
            duplicates=0.01,
            keeps_previous_name=True,
            tracks_residence=True,
            account_per_address=True,
            notify_lag_days=0.4,
        ),
        Profile(
            "housing",
            "HSG{:06d}",
            "TEN{:06d}",
            _f(
                middle_name=0.4,
                dob=0.95,
                sex=0.9,
                ni_number=0.6,
                nhs_number=0.1,
                phone=0.8,
                email=0.5,
                uprn=0.95,
            ),
            ascii_only=True,
            stale=0.4,
            tracks_residence=True,
        ),
        Profile(
            "housing_benefits",
            "HB{:07d}",
            "CLM{:07d}",
            _f(middle_name=0.6, dob=1.0, sex=0.9, ni_number=0.97, phone=0.6, email=0.3, uprn=0.95),
            dob_format="%d/%m/%Y",
            capitals=True,
            ascii_only=True,
            noise=0.7,
            stale=0.3,
            duplicates=0.01,
            keeps_previous_name=True,
            tracks_residence=True,
            notify_lag_days=0.6,
        ),
        Profile(
            "education",
            "EDU{:06d}",
            None,
            _f(
                middle_name=0.8,
                dob=1.0,
                sex=1.0,
                upn=0.98,
                nhs_number=0.15,
                phone=0.95,
                email=0.8,
                uprn=0.3,
            ),
            noise=0.8,
            stale=0.6,
            on_leaving="delete",
            contact_fields=_f(middle_name=0.1, dob=0.05, sex=0.5, phone=0.98, email=0.85),
        ),
        Profile(
            "early_years",
            "EY{:06d}",
            None,
            _f(middle_name=0.5, dob=1.0, sex=0.95, nhs_number=0.6, phone=0.9, email=0.6),
            stale=1.0,
            contact_fields=_f(dob=0.3, sex=0.5, nhs_number=0.1, phone=0.95, email=0.7),
        ),
        Profile(
            "adult_social_care",
            "ASC{:06d}",
            None,
            _f(
                middle_name=0.6,
                dob=1.0,
                sex=1.0,
                nhs_number=0.9,
                ni_number=0.4,
                phone=0.8,
                email=0.2,
                uprn=0.5,
            ),
            ascii_only=True,
            noise=0.8,
            stale=0.6,
            keeps_previous_name=True,
        ),
        Profile(
            "child_social_care",
            "CSC{:06d}",
            None,
            _f(middle_name=0.6, dob=0.97, sex=1.0, nhs_number=0.7, upn=0.5, phone=0.7, email=0.3),
            dob_format="%d/%m/%Y",
            ascii_only=True,
            stale=0.8,
            duplicates=0.03,
        ),
        Profile(
            "electoral_roll",
            "ELE{:07d}",
            None,
            _f(middle_name=0.95, dob=0.85, ni_number=0.85, phone=0.3, email=0.4, uprn=0.99),
            ascii_only=True,
            noise=0.7,
            stale=1.2,
            duplicates=0.01,
            keeps_previous_name=True,
            tracks_residence=True,
            on_leaving="delete",
            notify_lag_days=3.0,
        ),
        Profile(
            "libraries",
            "2101{:010d}",
            None,
            _f(middle_name=0.1, dob=0.8, sex=0.3, phone=0.6, email=0.7),
            dob_format="%d/%m/%Y",
            ascii_only=True,
            address_style="joined",
            noise=1.2,
            stale=1.8,
            duplicates=0.04,
            notify_lag_days=2.0,
        ),
        Profile(
            "parking_permits",
            "PP{:06d}",
            None,
            _f(dob=0.5, sex=0.2, phone=0.9, email=0.9, uprn=0.8),
            capitals=True,
            ascii_only=True,
            address_style="joined",
            stale=0.5,
            on_leaving="delete",
        ),
        Profile(
            "accessible_transport",
            "AT{:06d}",
            None,
            _f(
                middle_name=0.4,
                dob=1.0,
                sex=0.8,
                nhs_number=0.3,
                ni_number=0.3,
                phone=0.8,
                email=0.3,
            ),
            dob_format="%d/%m/%Y",
            ascii_only=True,
            stale=0.9,
        ),
        Profile(
            "citizen_portal",
            "CP{:08d}",
            None,
            _f(middle_name=0.1, dob=0.6, sex=0.3, phone=0.6, email=1.0, uprn=0.6),
            address_style="joined",
            noise=1.3,
            stale=1.0,
            duplicates=0.06,
            self_service=True,
        ),
        Profile(
            "customer_service",
            "CRM{:08d}",
            None,
            _f(middle_name=0.05, dob=0.4, sex=0.3, phone=0.9, email=0.4, uprn=0.3),
            dob_format="%d/%m/%Y",
            ascii_only=True,
            address_style="joined",
            noise=1.8,
            stale=1.4,
            duplicates=0.12,
        ),
        Profile(
            "mosaic",
            "{:07d}",
            "FG{:06d}",
            _f(
                middle_name=0.7,
                dob=0.98,
                sex=1.0,
                nhs_number=0.85,
                upn=0.6,
                ni_number=0.3,
                phone=0.8,
                email=0.4,
                uprn=0.6,
            ),
            noise=0.7,
            stale=0.5,
            duplicates=0.03,
            keeps_previous_name=True,
        ),
        Profile(
            "dwp_benefits",
            "DWP{:07d}",
            None,
            _f(middle_name=0.6, dob=1.0, sex=1.0, ni_number=1.0),
            capitals=True,
            ascii_only=True,
            noise=0.5,
            stale=0.3,
            duplicates=0.0,
            keeps_previous_name=True,
        ),
        Profile(
            "youth_justice",
            "YJ{:05d}",
            None,
            _f(middle_name=0.5, dob=1.0, sex=1.0, upn=0.4, nhs_number=0.2, phone=0.5),
            dob_format="%d/%m/%Y",
            ascii_only=True,
            noise=1.2,
            stale=0.7,
            duplicates=0.03,
        ),
        Profile(
            "neet_tracking",
            "CCIS{:06d}",
            None,
            _f(middle_name=0.5, dob=1.0, sex=1.0, upn=0.8, phone=0.6, email=0.4),
            noise=0.8,
            stale=0.7,
            duplicates=0.01,
        ),
        Profile(
            "police_notifications",
            "POL{:07d}",
            None,
            _f(middle_name=0.3, dob=0.8, sex=0.9, phone=0.3),
            dob_format="%d/%m/%Y",
            capitals=True,
            ascii_only=True,
            address_style="joined",
            noise=2.0,
            stale=1.0,
            duplicates=0.1,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Plan:
    """One system will hold one person from ``known_since`` (as ``role``, maybe in a group)."""

    system: str
    person_id: str
    household_id: str
    role: str
    known_since: date
    group: str | None = None
    duplicate: bool = False


class SourceIds:
    """Each system's own record and group ids: increasing, with gaps, unique."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._next: dict[str, int] = {}

    def _issue(self, key: str) -> int:
        value = self._next.get(key)
        if value is None:
            value = self._rng.randrange(10_000, 400_000)
        self._next[key] = value + self._rng.randint(1, 9)
        return value

    def record(self, system: str) -> str:
        return PROFILES[system].record_id.format(self._issue(system))

    def group(self, system: str) -> str:
        template = PROFILES[system].group_id
        if template is None:
            raise ValueError(f"{system} has no groups")
        return template.format(self._issue(system + ":group"))


_ELECTOR_FACTOR = {
    "british": 0.88,
    "irish": 0.88,
    "caribbean": 0.85,
    "bangladeshi": 0.85,
    "pakistani": 0.85,
    "indian": 0.85,
    "sikh": 0.88,
    "west_african": 0.8,
    "somali": 0.75,
}


@dataclass(slots=True)
class _Planner:
    household: Household
    members: list[Person]
    rng: random.Random
    ids: SourceIds
    day_one: date
    history_start: date
    arrival: bool  # the household arrives during the simulated days
    plans: list[Plan] = field(default_factory=list)
    clients: list[Person] = field(default_factory=list)  # known to adult social care
    children_in_need: list[Person] = field(default_factory=list)  # known to children's care

    @property
    def reference_day(self) -> date:
        """The day ages are taken on (the day the household left, for former households)."""
        h = self.household
        return h.left_on or (h.moved_in if self.arrival else self.day_one)

    @property
    def need(self) -> int:
        return self.household.need

    def age(self, person: Person) -> int:
        return person.age_on(self.reference_day)

    def adults(self) -> list[Person]:
        return [p for p in self.members if self.age(p) >= 18]

    def children(self) -> list[Person]:
        return [p for p in self.members if self.age(p) < 18]

    def since(self, person: Person, system: str, min_age: int) -> date | None:
        h, rng = self.household, self.rng
        grown = _years_after(person.dob, min_age)
        if self.arrival:
            mean = 10 * PROFILES[system].notify_lag_days
            return max(h.moved_in + timedelta(days=1 + int(rng.expovariate(1 / mean))), grown)
        low = max(self.history_start, h.arrived, grown)
        high = (h.left_on or self.day_one) - timedelta(days=1)
        if high < low:
            return None
        return low + timedelta(days=rng.randrange((high - low).days + 1))

    def add(
        self,
        system: str,
        person: Person,
        role: str,
        chance: float,
        *,
        min_age: int = 0,
        group: str | None = None,
    ) -> bool:
        """With probability ``chance``, ``system`` holds ``person`` (from some day on)."""
        if self.rng.random() >= chance:
            return False
        since = self.since(person, system, min_age)
        if since is None:
            return False
        self.plans.append(
            Plan(system, person.person_id, self.household.household_id, role, since, group)
        )
        return True

    def add_parents(
        self, system: str, children: list[Person], *, mother: float, father: float
    ) -> None:
        """The parents of ``children`` as contacts (a lone parent nearly always)."""
        members = {p.person_id: p for p in self.members}
        done: set[str] = set()
        for child in children:
            lone = child.mother_id is None or child.father_id is None
            for parent_id, chance in ((child.mother_id, mother), (child.father_id, father)):
                parent = members.get(parent_id or "")
                if parent is None or parent.person_id in done:
                    continue
                done.add(parent.person_id)
                self.add(
                    system, parent, "parent", max(chance, 0.85) if lone else chance, min_age=16
                )

    def add_duplicates(self, scale: float) -> None:
        """Some people get a second record in a system that already holds them."""
        persons = {p.person_id: p for p in self.members}
        for plan in list(self.plans):
            if self.rng.random() >= PROFILES[plan.system].duplicates * scale:
                continue
            since = self.since(persons[plan.person_id], plan.system, 0)
            if since is not None:
                self.plans.append(
                    replace(
                        plan, known_since=max(since, plan.known_since), group=None, duplicate=True
                    )
                )


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def plan_household(
    household: Household,
    persons: Mapping[str, Person],
    ids: SourceIds,
    rng: random.Random,
    *,
    day_one: date,
    history_start: date,
    arrival: bool = False,
    duplicate_scale: float = 1.0,
) -> list[Plan]:
    """Which systems know which members of ``household``, since when, in which groups."""
    members = [persons[pid] for pid in household.members]
    planner = _Planner(household, members, rng, ids, day_one, history_start, arrival)
    for plan_system in (
        _council_tax,
        _housing,
        _housing_benefits,
        _education,
        _early_years,
        _adult_social_care,
        _child_social_care,
        _universal_services,
        _parking_permits,
        _mosaic,
        _partner_datasets,
    ):
        plan_system(planner)
    planner.add_duplicates(duplicate_scale)
    return planner.plans


def _council_tax(planner: _Planner) -> None:
    """The liable adults: a couple jointly, sharers jointly or one of them, else the eldest."""
    adults = planner.adults()
    if not adults:
        return
    first = adults[0]
    liable = [first]
    partner = next((p for p in adults if p.partner_id == first.person_id), None)
    if partner is not None and planner.rng.random() < 0.7:
        liable.append(partner)
    if planner.household.kind == "sharers" and planner.rng.random() < 0.6:
        liable = adults
    account = planner.ids.group("council_tax")
    for person in liable:
        planner.add("council_tax", person, "liable", 0.99, min_age=18, group=account)


def _housing(planner: _Planner) -> None:
    """Council tenants: the lead and joint tenants and the household members."""
    if planner.household.tenure != "council":
        return
    tenancy = planner.ids.group("housing")
    lead = planner.members[0]
    for person in planner.members:
        role = "lead_tenant" if person is lead else "member"
        if person.partner_id == lead.person_id:
            role = "joint_tenant"
        chance = 0.97 if planner.age(person) >= 18 else 0.85
        planner.add("housing", person, role, chance, group=tenancy)


def _housing_benefits(planner: _Planner) -> None:
    """A claim unit: the claimant, a partner and the dependent children."""
    adults, need = planner.adults(), planner.need
    if not adults or need == 0 or planner.household.tenure == "owner":
        return
    if planner.rng.random() >= 0.45 + 0.15 * need:
        return
    claim = planner.ids.group("housing_benefits")
    claimant = adults[0]
    planner.add("housing_benefits", claimant, "claimant", 0.99, min_age=18, group=claim)
    for person in planner.members:
        if person.partner_id == claimant.person_id:
            planner.add("housing_benefits", person, "partner", 0.95, min_age=18, group=claim)
        elif planner.age(person) < 18:
            planner.add("housing_benefits", person, "dependant", 0.9, group=claim)


def _education(planner: _Planner) -> None:
    """Pupils from reception to sixth form, and their parents as contacts."""
    pupils = []
    for person in planner.members:
        age = planner.age(person)
        if 4 <= age <= 18:
            chance = 0.92 if age < 16 else 0.55
            if planner.add("education", person, "pupil", chance, min_age=4):
                pupils.append(person)
    planner.add_parents("education", pupils, mother=0.85, father=0.6)


def _early_years(planner: _Planner) -> None:
    little = [c for c in planner.members if planner.age(c) < 5]
    known = [c for c in little if planner.add("early_years", c, "child", 0.6)]
    planner.add_parents("early_years", known, mother=0.5, father=0.2)


def _adult_social_care(planner: _Planner) -> None:
    """Clients (mostly older people) and, for half of them, a carer in the household."""
    adults = planner.adults()
    for person in adults:
        age = planner.age(person)
        if age < 65:
            chance = 0.015 + 0.02 * planner.need
        else:
            chance = 0.05 if age < 75 else 0.14 if age < 85 else 0.38
        if planner.add("adult_social_care", person, "client", chance, min_age=18):
            planner.clients.append(person)
    for client in planner.clients:
        for carer in adults:
            close = client.person_id in (carer.partner_id, carer.mother_id, carer.father_id)
            if carer is not client and close:
                planner.add("adult_social_care", carer, "carer", 0.5, min_age=18)
                break


def _child_social_care(planner: _Planner) -> None:
    chance = (0.004, 0.03, 0.18, 0.6)[planner.need]
    for child in planner.children():
        if planner.add("child_social_care", child, "child", chance):
            planner.children_in_need.append(child)
    planner.add_parents("child_social_care", planner.children_in_need, mother=0.85, father=0.6)


def _universal_services(planner: _Planner) -> None:
    """Services anyone may use: the electoral roll, libraries, transport passes, the
    citizen portal and the contact centre."""
    sharers = planner.household.kind == "sharers"
    for person in planner.members:
        age = planner.age(person)
        if age >= 17:
            eligible = _ELECTOR_FACTOR.get(person.tradition, 0.6) * (0.75 if sharers else 1.0)
            attainer = 0.4 if age == 17 else 1.0
            planner.add("electoral_roll", person, "elector", eligible * attainer, min_age=17)
        library = 0.35 if 5 <= age < 16 else 0.3 if age >= 65 else 0.22 if age >= 16 else 0.1
        planner.add("libraries", person, "borrower", library, min_age=2)
        transport = 0.55 if age >= 66 else 0.35 if person in planner.clients else 0.005
        planner.add("accessible_transport", person, "pass_holder", transport, min_age=16)
        if 18 <= age <= 80:
            portal = 0.45 if age < 45 else 0.35 if age < 65 else 0.15
            planner.add("citizen_portal", person, "account", portal, min_age=18)
        if age >= 18:
            contact = 0.2 + 0.12 * planner.need
            planner.add("customer_service", person, "contact", contact, min_age=18)


def _parking_permits(planner: _Planner) -> None:
    adults = planner.adults()
    if planner.household.has_car and adults:
        planner.add("parking_permits", adults[0], "permit_holder", 0.95, min_age=18)
        if len(adults) > 1:
            planner.add("parking_permits", adults[1], "permit_holder", 0.2, min_age=18)


def _mosaic(planner: _Planner) -> None:
    """Families in need are a family group; children in need and adult clients are cases."""
    in_group = planner.need >= 2 and planner.rng.random() < 0.9
    group = planner.ids.group("mosaic") if in_group else None
    for person in planner.members:
        if in_group:
            planner.add("mosaic", person, "family_member", 0.95, group=group)
        elif person in planner.children_in_need:
            planner.add("mosaic", person, "child", 0.8)
        elif person in planner.clients:
            planner.add("mosaic", person, "client", 0.5, min_age=18)


def _partner_datasets(planner: _Planner) -> None:
    """Out-of-work benefits, youth justice, NEET tracking, police notifications."""
    need = planner.need
    for person in planner.members:
        age = planner.age(person)
        if 18 <= age < 66:
            claim = (0.04, 0.35, 0.6, 0.8)[need]
            planner.add("dwp_benefits", person, "claimant", claim, min_age=18)
        if 10 <= age <= 17:
            offending = (0.003, 0.02, 0.1, 0.25)[need]
            planner.add("youth_justice", person, "young_person", offending, min_age=10)
        if 16 <= age <= 18:
            planner.add("neet_tracking", person, "young_person", 0.85, min_age=16)
    if planner.rng.random() < (0.005, 0.03, 0.15, 0.5)[need]:
        for person in planner.members:
            role = "adult" if planner.age(person) >= 18 else "child"
            planner.add("police_notifications", person, role, 0.9 if role == "adult" else 0.8)
