"""The golden record of a person: one view built from all its source records by rules.

- **Address**: the most recent address from a trustworthy source. A record "has an address"
  when it has a UPRN, a normalised address or a postcode. Only records from the trusted
  sources count (all sources when none is configured, or when no trusted source has an
  address); the most recent wins by ``updated_at``, then a still-current residence (no
  ``residence_end``), then the later ``residence_start``, then the source's place in the
  trust order, then the record id. The whole address (lines, town, postcode, UPRN,
  residence dates) comes from that one record, never mixed from several, with one
  exception: when that record holds no UPRN and others of the person hold one for the
  same address (the same premise and postcode, one written out further than the other:
  ``flat a 28`` and ``flat a 28 wynmore road``), the UPRN they give most is the address's,
  so that household members whose chosen records differ only in that still share a key.
- **Name**: the best-attested (first, middle, last) name: held by most records; ties go to
  the fuller name (both first and last, then a middle name), then the most recently
  updated, then alphabetical order.
- **Date of birth and sex**: the most attested value; ties as for the name.
- **Identifiers**: every NHS number, National Insurance number, unique pupil number, phone
  and email any record holds, and every source record id.

Every tie ends in a comparison of values or record ids, so the golden record is a pure
function of the set of member records.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import TypeVar

from matchers.records import StandardRecord

T = TypeVar("T", bound=Hashable)


@dataclass(frozen=True, slots=True, order=True)
class SourceRef:
    """One source record of a person: the system and the record id."""

    source_system: str
    record_id: str


@dataclass(frozen=True, slots=True)
class GoldenRecord:
    """The survivorship view of one person. Tuples are sorted; missing values are None."""

    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    dob: str | None = None
    sex: str | None = None
    address_line_1: str | None = None
    address_line_2: str | None = None
    town: str | None = None
    postcode: str | None = None
    uprn: str | None = None
    address_key: str | None = None
    address_record_id: str | None = None  # the record the address was taken from
    residence_start: str | None = None
    residence_end: str | None = None
    nhs_numbers: tuple[str, ...] = ()
    ni_numbers: tuple[str, ...] = ()
    upns: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    sources: tuple[SourceRef, ...] = ()  # every member record, sorted

    @property
    def household_key(self) -> str | None:
        """Where the person lives, for household grouping: the UPRN, else the address."""
        if self.uprn:
            return f"uprn:{self.uprn}"
        if self.address_key:
            return f"address:{self.address_key}"
        return None

    @property
    def record_ids(self) -> tuple[str, ...]:
        return tuple(ref.record_id for ref in self.sources)


@dataclass(frozen=True, slots=True)
class SurvivorshipRules:
    """``trusted_address_sources``: source systems whose addresses are trusted, most
    trusted first; empty means every source is trusted."""

    trusted_address_sources: tuple[str, ...] = ()


def choose_address(
    records: Sequence[StandardRecord], rules: SurvivorshipRules
) -> StandardRecord | None:
    """The record whose address survives, or None when no record has an address."""
    with_address = [r for r in records if r.uprn or r.address_key or r.postcode]
    trusted = rules.trusted_address_sources
    if trusted:
        from_trusted = [r for r in with_address if r.source_system in trusted]
        with_address = from_trusted or with_address
    if len(with_address) <= 1:
        return with_address[0] if with_address else None
    order = {system: i for i, system in enumerate(trusted)}
    untrusted = len(order)

    def rank(r: StandardRecord) -> tuple[str, bool, str, int]:
        trust = -order.get(r.source_system or "", untrusted) if order else 0
        return (r.updated_at or "", r.residence_end is None, r.residence_start or "", trust)

    best = max(rank(r) for r in with_address)
    return min((r for r in with_address if rank(r) == best), key=lambda r: r.record_id)


def _vote(
    records: Sequence[StandardRecord],
    value: Callable[[StandardRecord], T | None],
    fullness: Callable[[T], tuple[int, ...]] = lambda _v: (),
) -> T | None:
    if len(records) == 1:
        return value(records[0])
    counts: dict[T, int] = {}
    latest: dict[T, str] = {}
    for record in records:
        v = value(record)
        if v is None:
            continue
        counts[v] = counts.get(v, 0) + 1
        recency = record.updated_at or ""
        if recency > latest.get(v, ""):
            latest[v] = recency
    if len(counts) <= 1:
        return next(iter(counts), None)
    ranked = {v: (n, fullness(v), latest.get(v, "")) for v, n in counts.items()}
    best = max(ranked.values())
    return min((v for v, rank in ranked.items() if rank == best), key=repr)


NameTuple = tuple[str | None, str | None, str | None]


def _name(record: StandardRecord) -> NameTuple | None:
    if not (record.first_name or record.last_name):
        return None
    return (record.first_name, record.middle_name, record.last_name)


def _name_fullness(name: NameTuple) -> tuple[int, ...]:
    first, middle, last = name
    return (int(bool(first and last)), int(bool(middle)))


def _same_place_uprn(address: StandardRecord, members: Sequence[StandardRecord]) -> str | None:
    """The UPRN that the person's other records give most for the address of ``address``
    (the same postcode, and one premise the start of the other); ties: the smallest."""
    key = address.address_text_key
    if not key:
        return None
    premise, postcode = key.rsplit("|", 1)
    counts: dict[str, int] = {}
    for record in members:
        other = record.address_text_key
        if not record.uprn or not other:
            continue
        other_premise, other_postcode = other.rsplit("|", 1)
        if other_postcode == postcode and (
            _starts(other_premise, premise) or _starts(premise, other_premise)
        ):
            counts[record.uprn] = counts.get(record.uprn, 0) + 1
    if not counts:
        return None
    best = max(counts.values())
    return min(u for u, n in counts.items() if n == best)


def _starts(text: str, prefix: str) -> bool:
    """Whether ``prefix`` is ``text`` or its first words."""
    return text == prefix or text.startswith(prefix + " ")


_record_id = attrgetter("record_id")


def _sorted(values: set[str]) -> tuple[str, ...]:
    return tuple(sorted(values)) if len(values) > 1 else tuple(values)


def golden_record(records: Iterable[StandardRecord], rules: SurvivorshipRules) -> GoldenRecord:
    """The golden record of a person made of ``records`` (see the module docstring)."""
    members = sorted(records, key=_record_id)
    names: list[StandardRecord] = []
    dobs: list[StandardRecord] = []
    sexes: list[StandardRecord] = []
    nhs, ni, upn, phones, emails = set(), set(), set(), set(), set()
    for r in members:  # one pass: which records hold what
        if r.first_name or r.last_name:
            names.append(r)
        if r.dob:
            dobs.append(r)
        if r.sex:
            sexes.append(r)
        if r.nhs_number:
            nhs.add(r.nhs_number)
        if r.ni_number:
            ni.add(r.ni_number)
        if r.upn:
            upn.add(r.upn)
        if r.phone:
            phones.add(r.phone)
        if r.email:
            emails.add(r.email)
    name = _vote(names, _name, _name_fullness) or (None, None, None)
    address = choose_address(members, rules)
    uprn = address.uprn if address else None
    address_key = address.address_key if address else None
    if address is not None and uprn is None:
        uprn = _same_place_uprn(address, members)
        if uprn is not None:
            address_key = f"uprn:{uprn}"
    return GoldenRecord(
        first_name=name[0],
        middle_name=name[1],
        last_name=name[2],
        dob=_vote(dobs, lambda r: r.dob),
        sex=_vote(sexes, lambda r: r.sex),
        address_line_1=address.address_line_1 if address else None,
        address_line_2=address.address_line_2 if address else None,
        town=address.town if address else None,
        postcode=address.postcode if address else None,
        uprn=uprn,
        address_key=address_key,
        address_record_id=address.record_id if address else None,
        residence_start=address.residence_start if address else None,
        residence_end=address.residence_end if address else None,
        nhs_numbers=_sorted(nhs),
        ni_numbers=_sorted(ni),
        upns=_sorted(upn),
        phones=_sorted(phones),
        emails=_sorted(emails),
        sources=tuple(sorted(SourceRef(r.source_system or "", r.record_id) for r in members)),
    )
