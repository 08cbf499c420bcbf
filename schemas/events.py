"""The hub's events as Python types: one frozen dataclass per Avro record in ``schemas/``.

The ``.avsc`` files are the contract and hold the documentation of every field; these
classes mirror them (same names, field order, types, nullability and defaults), and a
test keeps the two from drifting. Code on either side of a topic sees these classes,
never dicts or bytes: :mod:`schemas.codec` converts at the edge.

Conventions: Avro ``["null", T]`` is ``T | None`` defaulting to ``None``; arrays are
tuples; a map is a ``Mapping[str, str]``; ``date`` is :class:`datetime.date`;
``timestamp-millis`` is a timezone-aware :class:`datetime.datetime` in UTC (finer than
milliseconds is dropped on the wire); Avro enums are :class:`enum.StrEnum` whose member
names equal their values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

NAMESPACE = "uk.gov.residentshub"

# The longest texts events may carry (validation dead-letters longer ones): what the
# store's columns take (:mod:`sinks.tables`; PostgreSQL enforces them, and one longer value
# would stop its whole batch's write), and for any other text a bound that keeps every
# output event (a review item carries two records) well under Kafka's 1 MB messages.
ID_CHARS = 200  # a record id ("<system>:<source id>"), a relationship's or group's id
CODE_CHARS = 63  # a source system's or dataset's name, an indicator, a role
TEXT_CHARS = 10_000  # any other text


# -- enums ------------------------------------------------------------------------------


class Operation(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    SNAPSHOT_READ = "SNAPSHOT_READ"


class NameKind(StrEnum):
    PREVIOUS = "PREVIOUS"
    ALIAS = "ALIAS"
    BIRTH = "BIRTH"
    PREFERRED = "PREFERRED"
    OTHER = "OTHER"


class RelationshipKind(StrEnum):
    PARENT = "PARENT"
    CHILD = "CHILD"
    PARTNER = "PARTNER"
    SIBLING = "SIBLING"
    CARER = "CARER"
    CARED_FOR = "CARED_FOR"
    OTHER_RELATIVE = "OTHER_RELATIVE"
    HOUSEHOLD_MEMBER = "HOUSEHOLD_MEMBER"
    FAMILY_GROUP = "FAMILY_GROUP"
    BENEFIT_CLAIM_UNIT = "BENEFIT_CLAIM_UNIT"
    COUNCIL_TAX_ACCOUNT = "COUNCIL_TAX_ACCOUNT"
    OTHER = "OTHER"
    TENANCY = "TENANCY"


class SubjectKind(StrEnum):
    PERSON = "PERSON"
    FAMILY = "FAMILY"


class StepStatus(StrEnum):
    PLANNED = "PLANNED"
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    OTHER = "OTHER"


class MatchOutcome(StrEnum):
    LINK = "LINK"
    REVIEW = "REVIEW"
    NO_LINK = "NO_LINK"


class DecisionSource(StrEnum):
    MODEL = "MODEL"
    HUMAN = "HUMAN"
    RULE = "RULE"


class HouseholdBasis(StrEnum):
    UPRN = "UPRN"
    ADDRESS = "ADDRESS"
    FAMILY_GROUP = "FAMILY_GROUP"
    BENEFIT_CLAIM_UNIT = "BENEFIT_CLAIM_UNIT"
    COUNCIL_TAX_ACCOUNT = "COUNCIL_TAX_ACCOUNT"
    OTHER = "OTHER"
    TENANCY = "TENANCY"


# -- shared records ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """A postal address, with the period the person lived there when known."""

    line_1: str | None = None
    line_2: str | None = None
    line_3: str | None = None
    town: str | None = None
    postcode: str | None = None
    uprn: str | None = None
    residence_start: dt.date | None = None
    residence_end: dt.date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OtherName:
    """A previous name, alias or other name the person is known by."""

    kind: NameKind
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    used_until: dt.date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """One person as one source system holds them (the payload of PersonChanged)."""

    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    other_names: tuple[OtherName, ...] = ()
    dob: dt.date | None = None
    sex: str | None = None
    address: Address | None = None
    previous_addresses: tuple[Address, ...] = ()
    nhs_number: str | None = None
    ni_number: str | None = None
    upn: str | None = None
    phone: str | None = None
    email: str | None = None
    source_ids: Mapping[str, str] = field(default_factory=dict)
    quality_flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldEvidence:
    """How one comparison contributed to a match score."""

    comparison: str
    level: str
    match_weight: float


# -- from the sources -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonChanged:
    """A change to one person record in a source system (topic ``src.<system>.persons``)."""

    event_id: str
    op: Operation
    source_system: str
    source_record_id: str
    source_version: int | None = None
    source_ts: dt.datetime | None = None
    event_ts: dt.datetime
    before: Person | None = None
    after: Person | None = None

    @property
    def record_id(self) -> str:
        """The record's id across the hub, also the message key: ``system:source id``."""
        return f"{self.source_system}:{self.source_record_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PropertyChanged:
    """A change to one property in a gazetteer-like source (``src.<system>.properties``)."""

    event_id: str
    op: Operation
    source_system: str
    source_version: int | None = None
    source_ts: dt.datetime | None = None
    event_ts: dt.datetime
    uprn: str
    parent_uprn: str | None = None
    usrn: str | None = None
    sub_building: str | None = None
    building_name: str | None = None
    building_number: str | None = None
    street: str | None = None
    locality: str | None = None
    town: str | None = None
    postcode: str | None = None
    property_type: str | None = None

    @property
    def record_id(self) -> str:
        """The message key: ``system:uprn``."""
        return f"{self.source_system}:{self.uprn}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RelationshipObserved:
    """A relation or group membership a source knows (``src.<system>.relationships``)."""

    event_id: str
    op: Operation
    source_system: str
    source_version: int | None = None
    source_ts: dt.datetime | None = None
    event_ts: dt.datetime
    relationship_id: str
    kind: RelationshipKind
    subject_record_id: str
    related_record_id: str | None = None
    group_id: str | None = None
    role: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PartnerIndicator:
    """One indicator from a partner dataset for one of its people (``partner.<dataset>``)."""

    event_id: str
    op: Operation
    dataset: str
    indicator_id: str
    source_record_id: str
    indicator: str
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    value: float | None = None
    unit: str | None = None
    category: str | None = None
    person: Person | None = None
    source_ts: dt.datetime | None = None
    event_ts: dt.datetime
    source_system: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Worker:
    """A practitioner in the case-management system (``cms.workers``)."""

    event_id: str
    op: Operation
    source_system: str
    source_version: int | None = None
    source_ts: dt.datetime | None = None
    event_ts: dt.datetime
    worker_id: str
    name: str | None = None
    email: str | None = None
    job_title: str | None = None
    team_ids: tuple[str, ...] = ()
    active: bool = True
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Team:
    """A team in the case-management system (``cms.teams``)."""

    event_id: str
    op: Operation
    source_system: str
    source_version: int | None = None
    source_ts: dt.datetime | None = None
    event_ts: dt.datetime
    team_id: str
    name: str | None = None
    service: str | None = None
    manager_worker_id: str | None = None
    parent_team_id: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Allocation:
    """A worker allocated to a person or family (``cms.allocations``)."""

    event_id: str
    op: Operation
    source_system: str
    source_version: int | None = None
    source_ts: dt.datetime | None = None
    event_ts: dt.datetime
    allocation_id: str
    worker_id: str
    subject_kind: SubjectKind
    subject_id: str
    role: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowStep:
    """One step of a case workflow for a person or family (``cms.workflow_steps``)."""

    event_id: str
    op: Operation
    source_system: str
    source_version: int | None = None
    source_ts: dt.datetime | None = None
    event_ts: dt.datetime
    step_id: str
    subject_kind: SubjectKind
    subject_id: str
    step_type: str
    status: StepStatus
    assigned_date: dt.date | None = None
    target_date: dt.date | None = None
    completed_date: dt.date | None = None
    assignee_worker_id: str | None = None
    team_id: str | None = None


# -- from the hub -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchDecided:
    """The decision for one record against its best candidate (``hub.match_decisions``)."""

    event_id: str
    event_ts: dt.datetime
    record_id: str
    candidate_record_id: str | None = None
    decision: MatchOutcome
    decided_by: DecisionSource = DecisionSource.MODEL
    match_weight: float | None = None
    match_probability: float | None = None
    model_version: str | None = None
    evidence: tuple[FieldEvidence, ...] = ()
    person_id: str | None = None
    candidates: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonUpserted:
    """The golden record of one resident and their linked records (``hub.persons``)."""

    event_id: str
    event_ts: dt.datetime
    person_id: str
    version: int
    golden: Person
    record_ids: tuple[str, ...] = ()
    alias_ids: tuple[str, ...] = ()
    household_id: str | None = None
    nhs_numbers: tuple[str, ...] = ()
    ni_numbers: tuple[str, ...] = ()
    upns: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    address_record_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonsMerged:
    """Residents found to be one; the oldest id survives (``hub.person_merges``)."""

    event_id: str
    event_ts: dt.datetime
    person_id: str
    merged_person_ids: tuple[str, ...] = ()
    record_ids: tuple[str, ...] = ()
    reason: str | None = None
    cause_event_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgementRecorded:
    """A person's judgement of two source records: one resident or two (``hub.judgements``)."""

    event_id: str
    judged_at: dt.datetime
    record_id: str
    other_record_id: str
    same: bool
    judged_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonRemoved:
    """Every record of a resident was deleted; the id is retired (``hub.person_removals``)."""

    event_id: str
    event_ts: dt.datetime
    person_id: str
    record_ids: tuple[str, ...] = ()
    household_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonPart:
    """One part of a split person."""

    person_id: str
    record_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonSplit:
    """A resident found to be several; the largest part keeps the id (``hub.person_splits``)."""

    event_id: str
    event_ts: dt.datetime
    person_id: str
    parts: tuple[PersonPart, ...]
    reason: str | None = None
    cause_event_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HouseholdMember:
    """One resident in a household, with the period of co-residence where known."""

    person_id: str
    role: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HouseholdChanged:
    """A household formed, changed or dissolved (``hub.households``)."""

    event_id: str
    event_ts: dt.datetime
    op: Operation
    household_id: str
    version: int
    basis: HouseholdBasis
    address: Address | None = None
    members: tuple[HouseholdMember, ...] = ()
    household_key: str | None = None
    moved_in: tuple[str, ...] = ()
    moved_out: tuple[str, ...] = ()
    merged_from: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewItemRaised:
    """A pair a person must judge (``hub.review_items``)."""

    event_id: str
    event_ts: dt.datetime
    review_id: str
    record_id: str
    candidate_record_id: str
    person_id: str | None = None
    candidate_person_id: str | None = None
    match_weight: float
    match_probability: float
    model_version: str | None = None
    evidence: tuple[FieldEvidence, ...] = ()
    reason: str | None = None
    record: Person | None = None
    candidate_record: Person | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLettered:
    """A message the hub could not accept, kept with its reason (``<topic>.dlq``)."""

    event_id: str
    event_ts: dt.datetime
    reason: str
    detail: str | None = None
    stage: str
    source_topic: str
    source_partition: int
    source_offset: int
    source_timestamp: dt.datetime | None = None
    event_type: str | None = None
    schema_fingerprint: str | None = None
    key: bytes | None = None
    payload: bytes | None = None


Event = (
    PersonChanged
    | PropertyChanged
    | RelationshipObserved
    | PartnerIndicator
    | Worker
    | Team
    | Allocation
    | WorkflowStep
    | MatchDecided
    | PersonUpserted
    | PersonsMerged
    | PersonSplit
    | PersonRemoved
    | HouseholdChanged
    | ReviewItemRaised
    | JudgementRecorded
    | DeadLettered
)
"""Any top-level event: what travels as one Kafka message value."""

EVENT_TYPES: tuple[type[Event], ...] = (
    PersonChanged,
    PropertyChanged,
    RelationshipObserved,
    PartnerIndicator,
    Worker,
    Team,
    Allocation,
    WorkflowStep,
    MatchDecided,
    PersonUpserted,
    PersonsMerged,
    PersonSplit,
    PersonRemoved,
    HouseholdChanged,
    ReviewItemRaised,
    JudgementRecorded,
    DeadLettered,
)

RECORD_TYPES: tuple[type, ...] = (
    Address,
    OtherName,
    Person,
    FieldEvidence,
    PersonPart,
    HouseholdMember,
    *EVENT_TYPES,
)
ENUM_TYPES: tuple[type[StrEnum], ...] = (
    Operation,
    NameKind,
    RelationshipKind,
    SubjectKind,
    StepStatus,
    MatchOutcome,
    DecisionSource,
    HouseholdBasis,
)


def full_name(cls: type) -> str:
    """The Avro full name of an event or record class, e.g. ``uk.gov.residentshub.Person``."""
    return f"{NAMESPACE}.{cls.__name__}"
