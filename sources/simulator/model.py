"""What the simulator produces: the true borough, and what the source systems say about it.

The true world (:class:`Address`, :class:`Person`, :class:`Household`) is internal and
mutable while the days are simulated. Everything a source system emits is a frozen
dataclass: :class:`PersonChange` (a change event around a :class:`PersonRecord`),
:class:`AddressRecord` (the property gazetteer), :class:`Relationship`,
:class:`Indicator` (partner datasets) and the case-management extracts :class:`Team`,
:class:`Worker`, :class:`Allocation` and :class:`WorkflowStep`. Each has a time
(:func:`event_time`), so that together they form one time-ordered stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from matchers.records import SourceRecord


@dataclass(frozen=True, slots=True)
class Address:
    """One addressable property (a BLPU in gazetteer terms)."""

    uprn: str
    parent_uprn: str | None  # the building a flat is in
    sub_building: str | None  # "Flat 3", "Ground Floor Flat"
    building_name: str | None  # "Calder House"
    building_number: str | None  # "27"
    street: str
    locality: str
    town: str
    postcode: str
    property_type: str  # house | flat | building (a parent of flats, nobody lives in it)
    usrn: str = ""  # the street's reference
    in_borough: bool = True


@dataclass(slots=True)
class Person:
    """A true resident (or former resident). Mutable while days are simulated."""

    person_id: str
    household_id: str
    tradition: str
    given: str
    middle: str | None
    family: str  # the surname now
    dob: date
    sex: str  # "F" | "M"
    nhs_number: str
    ni_number: str | None = None
    upn: str | None = None
    mobile: str | None = None
    email: str | None = None
    birth_family: str | None = None  # the surname before a change, if it changed
    name_changed_on: date | None = None
    mother_id: str | None = None
    father_id: str | None = None
    partner_id: str | None = None
    twin_id: str | None = None
    died_on: date | None = None

    def family_on(self, day: date) -> str:
        if self.birth_family and self.name_changed_on and day < self.name_changed_on:
            return self.birth_family
        return self.family

    def age_on(self, day: date) -> int:
        years = day.year - self.dob.year
        return years - ((day.month, day.day) < (self.dob.month, self.dob.day))


@dataclass(slots=True)
class Household:
    """People living at one address; the history of where they lived in the borough."""

    household_id: str
    address: Address
    moved_in: date
    members: list[str]
    kind: str  # single | couple | family | lone_parent | sharers | multigenerational | ...
    tenure: str  # owner | private_rent | council
    need: int  # 0 (none) .. 3 (high): drives social care, partner indicators, case work
    previous_address: Address | None = None  # within the borough, before moved_in
    previous_moved_in: date | None = None
    left_on: date | None = None  # left the borough
    forwarding_address: Address | None = None
    landline: str | None = None
    email: str | None = None  # a shared household email
    has_car: bool = False

    def address_on(self, day: date) -> Address | None:
        """Where the household lived on ``day`` (None before it came to the borough)."""
        if day >= self.moved_in:
            return self.address
        if self.previous_address and self.previous_moved_in and day >= self.previous_moved_in:
            return self.previous_address
        return None

    @property
    def arrived(self) -> date:
        return self.previous_moved_in or self.moved_in


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """One person as one source system holds them: the canonical fields and a little more.

    ``record_id`` is ``<source_system>:<source_record_id>``. ``previous_last_name`` is a
    former surname the system knows (a maiden name), an extra column files may carry.
    """

    record_id: str
    source_system: str
    source_record_id: str
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
    nhs_number: str | None = None
    ni_number: str | None = None
    upn: str | None = None
    phone: str | None = None
    email: str | None = None
    residence_start: str | None = None
    residence_end: str | None = None
    updated_at: str | None = None
    previous_last_name: str | None = None

    def to_source_record(self) -> SourceRecord:
        return SourceRecord(
            record_id=self.record_id,
            source_system=self.source_system,
            first_name=self.first_name,
            middle_name=self.middle_name,
            last_name=self.last_name,
            dob=self.dob,
            sex=self.sex,
            address_line_1=self.address_line_1,
            address_line_2=self.address_line_2,
            town=self.town,
            postcode=self.postcode,
            uprn=self.uprn,
            nhs_number=self.nhs_number,
            ni_number=self.ni_number,
            upn=self.upn,
            phone=self.phone,
            email=self.email,
            residence_start=self.residence_start,
            residence_end=self.residence_end,
            updated_at=self.updated_at,
        )


Operation = Literal["create", "update", "delete"]


@dataclass(frozen=True, slots=True)
class PersonChange:
    """A source system created, changed or deleted a person record (a CDC envelope).

    ``reason`` says what happened in the world or the source (``new``, ``moved``,
    ``name_change``, ``correction``, ``contact_change``, ``left_borough``, ``died``,
    ``duplicate_merged``, ``closed``, ``new_address``); it carries no personal data.
    """

    event_id: str
    at: datetime
    op: Operation
    source_system: str
    source_record_id: str
    record_id: str
    version: int  # the source's own version of the record, 1 on create
    before: PersonRecord | None
    after: PersonRecord | None
    reason: str


@dataclass(frozen=True, slots=True)
class AddressRecord:
    """One property of the gazetteer (the property_gazetteer source holds only addresses)."""

    record_id: str  # property_gazetteer:<uprn>
    uprn: str
    parent_uprn: str | None
    usrn: str
    sub_building: str | None
    building_name: str | None
    building_number: str | None
    street: str
    locality: str
    town: str
    postcode: str
    address_line_1: str
    address_line_2: str | None
    property_type: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Relationship:
    """A relation one source system records between its own person records.

    Pair kinds (``parent``, ``partner``, ``carer``) link ``record_id`` to
    ``related_record_id`` (``parent``: record_id is the parent; ``carer``: record_id cares
    for related_record_id). Group kinds (``family_group``, ``claim_unit``,
    ``council_tax_account``, ``tenancy``) put ``record_id`` in ``group_id`` with a ``role``.
    """

    relationship_id: str
    source_system: str
    kind: str
    record_id: str
    related_record_id: str | None
    group_id: str | None
    role: str | None
    start: date | None
    end: date | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Indicator:
    """One value from a partner dataset about one of that source's person records."""

    indicator_id: str
    dataset: str  # school_attendance, school_exclusions, out_of_work_benefits, ...
    source_system: str
    record_id: str
    kind: str  # attendance_pct, exclusions, out_of_work_benefit, youth_offence, neet, ...
    period_start: date
    period_end: date
    value: float
    unit: str  # percent | count | flag | gbp
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Team:
    team_id: str
    name: str
    service: str  # family_support | early_help | children_social_care | youth_justice | ...
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Worker:
    worker_id: str
    name: str
    role: str
    team_id: str
    email: str
    start: date
    end: date | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Allocation:
    """A worker allocated to a person (a mosaic record) or a family group."""

    allocation_id: str
    worker_id: str
    record_id: str | None
    family_group_id: str | None
    role: str  # key_worker | allocated_social_worker | co_worker | ...
    start: date
    end: date | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class WorkflowStep:
    step_id: str
    step_type: str  # assessment | review | closure
    status: str  # open | completed | cancelled
    record_id: str | None
    family_group_id: str | None
    assigned_date: date
    target_date: date
    completed_date: date | None
    assignee: str  # worker_id
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TruthRow:
    record_id: str
    person_id: str
    household_id: str


@dataclass(frozen=True, slots=True)
class RelationshipTruth:
    relationship_id: str
    person_id: str
    related_person_id: str | None
    household_id: str


Event = (
    PersonChange
    | AddressRecord
    | Relationship
    | Indicator
    | Team
    | Worker
    | Allocation
    | WorkflowStep
)

EVENT_KINDS: dict[type, str] = {
    AddressRecord: "address",
    Team: "team",
    Worker: "worker",
    PersonChange: "person",
    Relationship: "relationship",
    Indicator: "indicator",
    Allocation: "allocation",
    WorkflowStep: "workflow_step",
}


def event_time(event: Event) -> datetime:
    return event.at if isinstance(event, PersonChange) else event.updated_at


def event_kind(event: Event) -> str:
    return EVENT_KINDS[type(event)]
