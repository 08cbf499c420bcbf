"""Households: persons living at one address at overlapping times.

A person's address is their golden record's (the most recent trustworthy address, see
:mod:`matchers.survivorship`); its household key is the UPRN, else the normalised address.
Persons with the same key form one household when their residence periods overlap,
directly or through others (an interval graph's connected components): a family that moved
out before the next one moved in is a different household at the same address. An unknown
start means "always", an unknown end "still there"; a period that ends before it starts
counts as unknown. A person without an address has no household.

The groupings each service keeps (case-management family groups, benefit claim units,
council-tax accounts) are :class:`ServiceGroup` s kept beside households, never merged
into them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Period = tuple[str | None, str | None]  # (start, end) ISO dates; None = open


@dataclass(frozen=True, slots=True)
class ServiceGroup:
    """A grouping one service keeps: e.g. a family group in case management, a benefit
    claim unit, a council-tax account. ``record_ids`` are that system's source records."""

    source_system: str
    kind: str  # "family_group", "claim_unit", "council_tax_account", ...
    group_id: str
    record_ids: frozenset[str]

    @property
    def key(self) -> str:
        return f"{self.source_system}:{self.kind}:{self.group_id}"


def _valid(period: Period) -> Period:
    """A period that ends before it starts is wrong data: treat its dates as unknown."""
    start, end = period
    if start and end and end < start:
        return (None, None)
    return period


def group_residents(residents: Mapping[str, Period]) -> list[frozenset[str]]:
    """Persons at one address grouped by overlapping residence, sorted by smallest member."""
    far_future = "9999-12-31"
    ordered = sorted(
        ((p, _valid(period)) for p, period in residents.items()),
        key=lambda item: (item[1][0] or "", item[0]),
    )
    groups: list[frozenset[str]] = []
    current: list[str] = []
    current_end = ""
    for person, (start, end) in ordered:
        if current and (start or "") > current_end:
            groups.append(frozenset(current))
            current = []
            current_end = ""
        current.append(person)
        current_end = max(current_end, end or far_future)
    if current:
        groups.append(frozenset(current))
    return sorted(groups, key=min)
