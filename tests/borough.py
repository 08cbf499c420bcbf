"""A small synthetic borough as PersonChanged events, for broker tests.

Stands in for the council simulator (``hub simulate``) until it is on main: residents in
households at UPRN addresses, each seen by one to three source systems, with the usual
faults (a typo'd NHS number, a lower-case postcode, a missing date of birth).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, replace

from stdnum.gb import nhs

from schemas.events import Address, Operation, Person, PersonChanged

SYSTEMS = ("council_tax", "housing", "education")
_FIRST = ("Margaret", "Robert", "Aisha", "Oluwaseun", "Zofia", "Mohammed", "Siobhan", "Wei")
_LAST = ("Okafor", "Smith", "Khan", "Nowak", "O'Brien", "Patel", "Jones-Williams", "Chen")
_STREETS = ("Acacia Avenue", "Camden Road", "Prince of Wales Road", "Kentish Town Road")
_POSTCODES = ("NW1 2DB", "NW5 1TL", "N7 9PW", "WC1H 9JE", "NW3 4QG")


def nhs_number(rng: random.Random) -> str:
    while True:
        stem = f"{rng.randint(100_000_000, 999_999_999)}"
        for digit in "0123456789":
            if nhs.is_valid(stem + digit):
                return stem + digit


@dataclass(frozen=True)
class Borough:
    events: list[PersonChanged]
    residents: int
    households: int


def borough(residents: int, *, seed: int = 1, systems: tuple[str, ...] = SYSTEMS) -> Borough:
    rng = random.Random(seed)  # test data, not secrets
    now = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
    events: list[PersonChanged] = []
    households = 0
    person = 0
    while person < residents:
        households += 1
        address = Address(
            line_1=f"{rng.randint(1, 240)} {rng.choice(_STREETS)}",
            town="London",
            postcode=rng.choice(_POSTCODES),
            uprn=str(5_000_000 + households),
        )
        surname = rng.choice(_LAST)
        for _ in range(min(rng.randint(1, 5), residents - person)):
            person += 1
            true = Person(
                first_name=rng.choice(_FIRST),
                last_name=surname,
                dob=dt.date(1940, 1, 1) + dt.timedelta(days=rng.randint(0, 30_000)),
                sex=rng.choice(("F", "M")),
                address=address,
                nhs_number=nhs_number(rng),
            )
            for system in rng.sample(systems, rng.randint(1, len(systems))):
                seen = true
                fault = rng.random()
                if fault < 0.05:  # a typo in the NHS number: fails mod 11 or changes person
                    digits = list(true.nhs_number or "")
                    digits[3] = str((int(digits[3]) + 1) % 10)
                    seen = replace(true, nhs_number="".join(digits))
                elif fault < 0.15:
                    postcode = (address.postcode or "").lower().replace(" ", "")
                    seen = replace(true, address=replace(address, postcode=postcode))
                elif fault < 0.2:
                    seen = replace(true, dob=None)
                events.append(
                    PersonChanged(
                        event_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        op=Operation.CREATE,
                        source_system=system,
                        source_record_id=f"{system[:2].upper()}{len(events):06d}",
                        source_version=1,
                        source_ts=now,
                        event_ts=now,
                        after=seen,
                    )
                )
    return Borough(events, residents, households)
