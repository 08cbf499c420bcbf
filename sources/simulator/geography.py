"""A made-up inner-London borough: streets, council blocks, postcodes and UPRNs.

The postcode districts and localities are real north-London ones (NW1, NW5, N7 ...); the
streets, buildings and postcode units are invented, consistent within one borough: a
street lies in one district, a unit covers about fifteen neighbouring addresses, a block
of flats has its own unit. Houses converted into flats and blocks have a parent UPRN (the
building), as in a real gazetteer. Every postcode has the valid UK format; UPRNs have ten
digits (the limit is twelve).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime

from sources.simulator.model import Address, AddressRecord

GAZETTEER = "property_gazetteer"  # the source system that holds only addresses
TOWN = "London"
# (district, locality, share of addresses, sectors used)
DISTRICTS: tuple[tuple[str, str, float, str], ...] = (
    ("NW1", "Camden Town", 0.24, "0789"),
    ("NW5", "Kentish Town", 0.2, "1234"),
    ("NW3", "Belsize Park", 0.12, "2345"),
    ("N7", "Tufnell Park", 0.14, "0689"),
    ("N19", "Dartmouth Park", 0.1, "345"),
    ("NW6", "West Hampstead", 0.1, "1237"),
    ("WC1", "Bloomsbury", 0.1, "HNX"),  # WC1H 9AB style: sectors come after the letter
)
_STEMS_A = (  # noqa: SIM905 (a word list reads best as words)
    "Ash Beech Bram Cal Carl Dun Elm Fen Glen Hart Hol Ivy Kings Lark Lyn Mar Nor Oak Pen "
    "Queens Raven Rose Sel Thorn Wal Wey Whit Wil Wyn Yew Alder Bel Chal Dart Fair Gran "
    "Hay Kel Lang Mel Mon Rad San Stan Sum Tal Ver Wes"
).split()
_STEMS_B = (  # noqa: SIM905 (a word list reads best as words)
    "bourne bury combe croft dale den don field ford ham hurst leigh ley mere mont more "
    "ton well wick wood worth gate holme by"
).split()
_STREET_TYPES = (
    ("Road", 30),
    ("Street", 18),
    ("Grove", 6),
    ("Gardens", 6),
    ("Crescent", 5),
    ("Place", 5),
    ("Terrace", 5),
    ("Avenue", 5),
    ("Lane", 4),
    ("Square", 3),
    ("Close", 4),
    ("Mews", 3),
    ("Way", 3),
    ("Villas", 2),
    ("Walk", 1),
)
_BLOCK_TYPES = ("House", "Court", "Lodge", "Mansions", "Tower", "Point")
_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_FLOOR_FLATS = ("Basement Flat", "Ground Floor Flat", "First Floor Flat", "Second Floor Flat")
ELSEWHERE = (
    ("Luton", "LU2"),
    ("Croydon", "CR0"),
    ("Enfield", "EN1"),
    ("Leicester", "LE5"),
    ("Birmingham", "B10"),
    ("Manchester", "M14"),
    ("Harlow", "CM20"),
    ("Watford", "WD24"),
    ("Slough", "SL1"),
    ("Bristol", "BS5"),
    ("Edmonton", "N9"),
    ("Barking", "IG11"),
)


@dataclass(frozen=True, slots=True)
class Borough:
    """Every property of the borough, in gazetteer order, and where each kind of home is."""

    addresses: tuple[Address, ...]  # including parent buildings (nobody lives in those)
    homes: tuple[Address, ...]  # houses and flats
    elsewhere: tuple[Address, ...]  # a few addresses outside the borough, for leavers


class _Postcodes:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def new(self, district: str, sectors: str) -> str:
        while True:
            sector = self._rng.choice(sectors)
            letters = self._rng.choice(_UNIT_LETTERS) + self._rng.choice(_UNIT_LETTERS)
            if sector.isalpha():  # WC1H 9AB: the district gets the letter, the sector a digit
                code = f"{district}{sector} {self._rng.randint(1, 9)}{letters}"
            else:
                code = f"{district} {sector}{letters}"
            if code not in self._used:
                self._used.add(code)
                return code


@dataclass(slots=True)
class _Street:
    """Lays out one street's properties; UPRNs are given once the whole borough exists."""

    name: str
    locality: str
    usrn: str
    drafts: list[tuple[Address, int | None]]  # (address without UPRN, index of its parent)

    def add(self, address: Address, parent: int | None = None) -> int:
        self.drafts.append((address, parent))
        return len(self.drafts) - 1

    def address(
        self,
        postcode: str,
        kind: str,
        *,
        number: str | None = None,
        sub: str | None = None,
        building: str | None = None,
    ) -> Address:
        return Address(
            uprn="",
            parent_uprn=None,
            sub_building=sub,
            building_name=building,
            building_number=number,
            street=self.name,
            locality=self.locality,
            town=TOWN,
            postcode=postcode,
            property_type=kind,
            usrn=self.usrn,
        )


def build_borough(rng: random.Random, homes_wanted: int) -> Borough:
    """Streets until the borough has at least ``homes_wanted`` homes."""
    postcodes = _Postcodes(rng)
    names = [a + b for a in _STEMS_A for b in _STEMS_B]
    rng.shuffle(names)
    street_types = [t for t, _ in _STREET_TYPES]
    street_weights = [w for _, w in _STREET_TYPES]
    district_weights = [d[2] for d in DISTRICTS]
    drafts: list[tuple[Address, int | None]] = []
    homes = 0
    streets = 0
    while homes < homes_wanted:
        stem = names[streets % len(names)]  # more than 1,200 names before any comes again
        streets += 1
        district, locality, _, sectors = rng.choices(DISTRICTS, weights=district_weights)[0]
        kind = rng.choices(street_types, weights=street_weights)[0]
        street = _Street(f"{stem} {kind}", locality, f"{22_000_000 + 7 * streets:08d}", drafts)
        postcode = postcodes.new(district, sectors)
        in_unit = 0
        for number in range(1, rng.randint(12, 70)):
            if in_unit >= rng.randint(10, 20):
                postcode, in_unit = postcodes.new(district, sectors), 0
            in_unit += 1
            if rng.random() < 0.28:  # a house converted into flats
                parent = street.add(street.address(postcode, "building", number=str(number)))
                floors = rng.random() < 0.3
                for flat in range(rng.randint(2, 4)):
                    label = _FLOOR_FLATS[flat] if floors else f"Flat {'ABCD'[flat]}"
                    flat_address = street.address(postcode, "flat", number=str(number), sub=label)
                    street.add(flat_address, parent)
                    homes += 1
            else:
                street.add(street.address(postcode, "house", number=str(number)))
                homes += 1
        if rng.random() < 0.4:  # a council block or a mansion block on this street
            block = f"{rng.choice(names)} {rng.choice(_BLOCK_TYPES)}"
            block_code = postcodes.new(district, sectors)
            block_number = str(rng.randint(1, 120)) if rng.random() < 0.3 else None
            building = street.address(block_code, "building", number=block_number, building=block)
            parent = street.add(building)
            for flat in range(1, rng.randint(12, 60)):
                if flat % 40 == 0:
                    block_code = postcodes.new(district, sectors)
                flat_address = street.address(
                    block_code, "flat", number=block_number, sub=f"Flat {flat}", building=block
                )
                street.add(flat_address, parent)
                homes += 1
    uprns = sorted(rng.sample(range(5_021_000_000, 5_029_999_999), len(drafts)))
    addresses = tuple(
        replace(draft, uprn=str(uprn), parent_uprn=None if parent is None else str(uprns[parent]))
        for (draft, parent), uprn in zip(drafts, uprns, strict=True)
    )
    return Borough(
        addresses=addresses,
        homes=tuple(a for a in addresses if a.property_type != "building"),
        elsewhere=_elsewhere(rng, postcodes, max(20, homes_wanted // 40)),
    )


def _elsewhere(rng: random.Random, postcodes: _Postcodes, count: int) -> tuple[Address, ...]:
    out = []
    for i in range(count):
        town, district = rng.choice(ELSEWHERE)
        stem = rng.choice(_STEMS_A) + rng.choice(_STEMS_B)
        out.append(
            Address(
                uprn=str(rng.randint(10_000_000_000, 99_999_999_999)),
                parent_uprn=None,
                sub_building=None,
                building_name=None,
                building_number=str(rng.randint(1, 200)),
                street=f"{stem} {rng.choice(('Road', 'Avenue', 'Close', 'Drive', 'Way'))}",
                locality="",
                town=town,
                postcode=postcodes.new(district, "123456789"),
                property_type="house",
                usrn=f"{90_000_000 + i:08d}",
                in_borough=False,
            )
        )
    return tuple(out)


def gazetteer(borough: Borough, at: datetime) -> list[AddressRecord]:
    """The property gazetteer's records: every address of the borough, one per UPRN."""
    out = []
    for address in borough.addresses:
        line_1, line_2 = address_lines(
            "split",
            sub=address.sub_building,
            building=address.building_name,
            number=address.building_number,
            street=address.street,
            locality="",
        )
        out.append(
            AddressRecord(
                record_id=f"{GAZETTEER}:{address.uprn}",
                uprn=address.uprn,
                parent_uprn=address.parent_uprn,
                usrn=address.usrn,
                sub_building=address.sub_building,
                building_name=address.building_name,
                building_number=address.building_number,
                street=address.street,
                locality=address.locality,
                town=address.town,
                postcode=address.postcode,
                address_line_1=line_1,
                address_line_2=line_2,
                property_type=address.property_type,
                updated_at=at,
            )
        )
    return out


def address_lines(
    style: str,
    *,
    sub: str | None,
    building: str | None,
    number: str | None,
    street: str,
    locality: str,
) -> tuple[str, str | None]:
    """Two address lines in one of three layouts: split, joined or legacy."""
    premises = " ".join(p for p in (sub, building) if p)
    road = f"{number} {street}" if number else street
    if style == "joined":
        return (f"{premises}, {road}" if premises else road), (locality or None)
    if style == "legacy":  # the number on its own line or after the flat, the street below
        if premises:
            return (f"{premises}, {number}" if number else premises), street
        return (number or street), (street if number else locality or None)
    if premises:
        return premises, road
    return road, (locality or None)
