"""A true person written down by one source system, with that system's habits and mistakes.

:class:`Renderer` turns a :class:`Person` (with their household and an address) into the
fields of a :class:`PersonRecord` as one system would hold them. With ``clean=True`` it
writes what a careful clerk would: the system's own formats and no mistakes (used to work
out corrections).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from anyascii import anyascii

from sources.simulator import noise
from sources.simulator.config import ErrorRates
from sources.simulator.geography import address_lines
from sources.simulator.identifiers import broken_nhs_number, broken_ni_number, broken_upn
from sources.simulator.model import Address, Household, Person
from sources.simulator.names import short_form, spelling_variant
from sources.simulator.systems import Profile

PLACEHOLDER_DOB = date(1900, 1, 1)
Fields = dict[str, str | None]
_SIKH_NAMES = ("Singh", "Kaur")


@dataclass(frozen=True, slots=True)
class _Hand:
    """One clerk writing one record: the system's habits and a chance of each mistake."""

    profile: Profile
    rates: ErrorRates
    rng: random.Random
    scale: float  # multiplier on every error rate; 0 writes cleanly
    fields: Mapping[str, float]  # the fields this kind of record has, and how often

    @property
    def clean(self) -> bool:
        return self.scale == 0.0

    def chance(self, rate: float) -> bool:
        return self.rng.random() < min(1.0, rate * self.scale)

    def holds(self, field: str) -> bool:
        """Does this record have ``field`` at all (the system collects it, it was filled in)?"""
        share = self.fields.get(field, 0.0)
        if self.clean:
            return share > 0.0
        return self.rng.random() < share and not self.chance(self.rates.missing_field)

    def case(self, text: str) -> str:
        return written_case(self.profile, text)


def written_case(profile: Profile, text: str) -> str:
    """``text`` in the system's letters: without accents, in capitals, as it does."""
    if profile.ascii_only:
        text = anyascii(text)
    return text.upper() if profile.capitals else text


class Renderer:
    def __init__(self, rates: ErrorRates, persons: dict[str, Person]) -> None:
        self.rates = rates
        self.persons = persons

    def _hand(
        self, profile: Profile, rng: random.Random, scale: float = 1.0, role: str = ""
    ) -> _Hand:
        return _Hand(profile, self.rates, rng, profile.noise * scale, profile.fields_for(role))

    def person(
        self,
        profile: Profile,
        person: Person,
        household: Household,
        on: date,
        address: Address | None,
        *,
        role: str,
        rng: random.Random,
        extra_noise: float = 1.0,
        clean: bool = False,
    ) -> Fields:
        """Every field of a record except its ids, residence dates and time."""
        hand = self._hand(profile, rng, 0.0 if clean else extra_noise, role)
        first, middle, last = self._names(hand, person, on, role)
        record: Fields = {
            "first_name": first,
            "middle_name": middle if hand.holds("middle_name") else None,
            "last_name": last,
        }
        changed = person.name_changed_on
        knows = profile.keeps_previous_name and changed is not None and on >= changed
        if knows and person.birth_family and rng.random() < 0.7:
            record["previous_last_name"] = hand.case(person.birth_family)
        record["dob"] = self._dob(hand, person.dob) if hand.holds("dob") else None
        if hand.holds("sex"):
            sex = person.sex
            if hand.chance(self.rates.wrong_sex):
                sex = "M" if sex == "F" else "F"
            record["sex"] = ("Female" if sex == "F" else "Male") if profile.sex_words else sex
        record |= self._address(hand, address) if address else _no_address()
        record |= self._identifiers(hand, person)
        if hand.holds("phone"):
            record["phone"] = self._phone(hand, person, household, on)
        if hand.holds("email"):
            record["email"] = self._email(hand, person, household, on)
        return record

    def address(self, profile: Profile, address: Address, rng: random.Random) -> Fields:
        """The five address fields alone (for a record updated after a move)."""
        return self._address(self._hand(profile, rng), address)

    def surname(self, profile: Profile, person: Person, on: date, rng: random.Random) -> str:
        """The surname alone, as the system writes it after hearing of a change."""
        hand = self._hand(profile, rng)
        last = person.family_on(on)
        if (" " in last or "-" in last) and hand.chance(self.rates.surname_part):
            last = _surname_part(last, rng)
        if hand.chance(self.rates.typo):
            last = noise.typo(last, rng)
        return hand.case(last)

    # -- names ----------------------------------------------------------------------------
    def _names(
        self, hand: _Hand, person: Person, on: date, role: str
    ) -> tuple[str, str | None, str]:
        rates, rng, profile = self.rates, hand.rng, hand.profile
        first, middle, last = person.given, person.middle, person.family_on(on)
        own_words = profile.self_service or role == "parent"
        if hand.chance(rates.nickname * (2.0 if own_words else 1.0)):
            first = short_form(first, rng) or first
        if hand.chance(rates.spelling_variant):
            first = spelling_variant(first, rng) or first
        if hand.chance(rates.spelling_variant):
            last = spelling_variant(last, rng) or last
        if middle and hand.chance(rates.middle_in_first):
            first, middle = f"{first} {middle}", None
        if middle in _SIKH_NAMES and last not in _SIKH_NAMES and hand.chance(0.3):
            last, middle = middle, None  # the system took Singh or Kaur for the surname
        if (" " in last or "-" in last) and hand.chance(rates.surname_part):
            last = _surname_part(last, rng)
        if hand.chance(rates.typo):
            first = noise.typo(first, rng)
        if hand.chance(rates.typo):
            last = noise.typo(last, rng)
        if not profile.self_service and hand.chance(rates.initial_only):
            first = first[0]
        order_swap = rates.name_order_swap * (4.0 if person.tradition == "east_asian" else 1.0)
        if hand.chance(order_swap):
            first, last = last, first
        if middle and profile.capitals and rng.random() < 0.4:
            middle = middle[0]
        first, last = hand.case(first), hand.case(last)
        if profile.self_service and hand.chance(0.1):
            first, last = first.lower(), last.lower()
        return first, hand.case(middle) if middle else None, last

    # -- dates ----------------------------------------------------------------------------
    def _dob(self, hand: _Hand, dob: date) -> str:
        if hand.chance(self.rates.dob_placeholder):
            dob = PLACEHOLDER_DOB
        elif hand.chance(self.rates.dob_day_month_swap):
            dob = noise.swap_day_month(dob)
        elif hand.chance(self.rates.dob_typo):
            dob = noise.dob_typo(dob, hand.rng)
        return dob.strftime(hand.profile.dob_format)

    # -- identifiers ----------------------------------------------------------------------
    def _identifiers(self, hand: _Hand, person: Person) -> Fields:
        rng, broken = hand.rng, self.rates.invalid_identifier
        fields: Fields = {}
        if hand.holds("nhs_number"):
            number = person.nhs_number
            if hand.chance(broken):
                number = broken_nhs_number(number, rng)
            if not hand.clean and rng.random() < 0.3:
                number = f"{number[:3]} {number[3:6]} {number[6:]}"
            fields["nhs_number"] = number
        if person.ni_number and hand.holds("ni_number"):
            ni = person.ni_number
            if hand.chance(broken):
                ni = broken_ni_number(ni, person.dob, person.sex, rng)
            elif not hand.clean and rng.random() < 0.2:
                ni = f"{ni[:2]} {ni[2:4]} {ni[4:6]} {ni[6:8]} {ni[8:]}"
            elif not hand.clean and rng.random() < 0.05:
                ni = ni[:8]  # the suffix letter dropped
            fields["ni_number"] = ni
        if person.upn and hand.holds("upn"):
            fields["upn"] = broken_upn(person.upn, rng) if hand.chance(broken) else person.upn
        return fields

    # -- address --------------------------------------------------------------------------
    def _address(self, hand: _Hand, address: Address) -> Fields:
        rates, rng, profile = self.rates, hand.rng, hand.profile
        sub, building = address.sub_building, address.building_name
        number, street = address.building_number, address.street
        if sub and hand.chance(rates.flat_missing):
            sub = None
        variant = rng.randrange(5) if hand.chance(rates.address_variant) else -1
        if variant == 0:
            street = noise.abbreviate_street(street)
        elif variant == 1 and sub and sub.startswith("Flat ") and number and not building:
            flat = sub.removeprefix("Flat ")  # Flat A, 27 -> 27A; Flat 3, 27 -> 3/27
            number, sub = (f"{number}{flat}" if len(flat) == 1 else f"{flat}/{number}"), None
        elif variant == 2 and building:
            building = None  # the block's name left out
        elif variant == 3 and sub:
            sub = sub.replace("Ground Floor Flat", "GFF").replace("First Floor", "1st Floor")
        line_1, line_2 = address_lines(
            profile.address_style,
            sub=sub,
            building=building,
            number=number,
            street=street,
            locality=address.locality,
        )
        if variant == 4 and not profile.capitals:
            line_1 = line_1.upper()
        return {
            "address_line_1": hand.case(line_1),
            "address_line_2": hand.case(line_2) if line_2 else None,
            "town": self._town(hand, address),
            "postcode": self._postcode(hand, address.postcode),
            "uprn": self._uprn(hand, address),
        }

    def _town(self, hand: _Hand, address: Address) -> str | None:
        r = hand.rng.random()
        if not hand.clean and r < 0.08:
            return None
        if not hand.clean and r < 0.14 and address.locality:
            return hand.case(address.locality)
        return hand.case(address.town)

    def _postcode(self, hand: _Hand, postcode: str) -> str | None:
        written: str | None = postcode
        if hand.chance(self.rates.postcode_typo):
            written = noise.postcode_typo(postcode, hand.rng)
        elif hand.chance(self.rates.postcode_variant):
            written = noise.postcode_variant(postcode, hand.rng)
        elif hand.chance(self.rates.missing_field):
            written = None
        return written.upper() if written and hand.profile.capitals else written

    def _uprn(self, hand: _Hand, address: Address) -> str | None:
        if not address.in_borough or hand.rng.random() >= hand.profile.fields.get("uprn", 0.0):
            return None
        if address.parent_uprn and hand.chance(self.rates.parent_uprn):
            return address.parent_uprn  # the block's UPRN, not the flat's
        return address.uprn

    # -- contact details ------------------------------------------------------------------
    def _phone(self, hand: _Hand, person: Person, household: Household, on: date) -> str | None:
        number = person.mobile
        if person.age_on(on) < 16 or number is None:
            parent = self._parent(person)
            number = parent.mobile if parent else None
        if household.landline and (number is None or hand.chance(self.rates.shared_phone)):
            number = household.landline
        if number is None or hand.clean:
            return number
        return _phone_style(number, hand.rng.randrange(5))

    def _email(self, hand: _Hand, person: Person, household: Household, on: date) -> str | None:
        email = person.email
        if person.age_on(on) < 13 or email is None:
            parent = self._parent(person)
            email = parent.email if parent else None
        if household.email and (email is None or hand.chance(self.rates.shared_email)):
            email = household.email
        if email and hand.chance(0.05):
            email = email.upper() if hand.rng.random() < 0.5 else email.capitalize()
        return email

    def _parent(self, person: Person) -> Person | None:
        """A parent living with ``person`` (whose phone and email a child's record holds)."""
        for parent_id in (person.mother_id, person.father_id):
            parent = self.persons.get(parent_id or "")
            if parent is not None and parent.household_id == person.household_id:
                return parent
        return None


def _phone_style(number: str, style: int) -> str:
    if style == 1:
        return f"{number[:5]} {number[5:]}"
    if style == 2:
        return f"+44{number[1:]}"
    if style == 3:
        if number.startswith("020"):
            return f"(020) {number[3:7]} {number[7:]}"
        return f"+44 {number[1:5]} {number[5:]}"
    return number


def _no_address() -> Fields:
    return dict.fromkeys(("address_line_1", "address_line_2", "town", "postcode", "uprn"))


def _surname_part(surname: str, rng: random.Random) -> str:
    """A compound surname held in part, or punctuated another way."""
    separator = "-" if "-" in surname else " "
    head, _, tail = surname.partition(separator)
    other = f"{head} {tail}" if separator == "-" else f"{head}-{tail}"
    return rng.choice((head, tail, other, head + tail))
