"""The council simulator's stream in the event contract, and a sink that publishes it.

``hub simulate`` speaks its own vocabulary (:mod:`sources.simulator.model`); this module
maps each of its events to the contract's event type, topic and key, so a simulated borough
reaches Kafka exactly as real sources would send it:

- PersonChange -> PersonChanged on ``src.<system>.persons``, key ``<system>:<record id>``;
- AddressRecord -> PropertyChanged on ``src.property_gazetteer.properties``, key
  ``<system>:<uprn>``;
- Relationship -> RelationshipObserved on ``src.<system>.relationships``, key
  ``<system>:<relationship id>``;
- Indicator -> PartnerIndicator on ``partner.<dataset>``, key the person's record id
  ``<system>:<record id>`` (one person's indicators share a partition);
- Team, Worker, Allocation, WorkflowStep -> the contract's types of the same names on
  ``cms.teams``, ``cms.workers``, ``cms.allocations``, ``cms.workflow_steps``, key the
  entity's own id.

The simulator states entities (a relationship, a worker, an indicator) rather than changes
to them, so those events carry ``SNAPSHOT_READ`` ("the record as the source holds it");
person changes keep their create, update and delete. Events without an id of their own get
one derived from their content, so a seed gives the same ids every run.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from schemas.conversions import person_from_record, relationship_key, source_record_id
from schemas.events import (
    Allocation,
    Event,
    NameKind,
    Operation,
    OtherName,
    PartnerIndicator,
    Person,
    PersonChanged,
    PropertyChanged,
    RelationshipKind,
    RelationshipObserved,
    StepStatus,
    SubjectKind,
    Team,
    Worker,
    WorkflowStep,
)
from schemas.topics import (
    CMS_ALLOCATIONS,
    CMS_TEAMS,
    CMS_WORKERS,
    CMS_WORKFLOW_STEPS,
    partner,
    source_persons,
    source_properties,
    source_relationships,
)
from sources.publisher import Delivery, Publisher
from sources.simulator import model as sim

CASE_MANAGEMENT = "mosaic"  # the system the simulator's case work comes from
_ID_SPACE = uuid.UUID("6f1d2a8e-3c4b-5d6e-8f90-a1b2c3d4e5f6")

_OPS = {"create": Operation.CREATE, "update": Operation.UPDATE, "delete": Operation.DELETE}
# the simulator's relationship kinds (as its relationships.jsonl writes them)
RELATIONSHIP_KINDS = {
    "parent": RelationshipKind.PARENT,
    "partner": RelationshipKind.PARTNER,
    "carer": RelationshipKind.CARER,
    "family_group": RelationshipKind.FAMILY_GROUP,
    "claim_unit": RelationshipKind.BENEFIT_CLAIM_UNIT,
    "council_tax_account": RelationshipKind.COUNCIL_TAX_ACCOUNT,
    "tenancy": RelationshipKind.TENANCY,
}
_STATUSES = {
    "planned": StepStatus.PLANNED,
    "open": StepStatus.OPEN,
    "in_progress": StepStatus.IN_PROGRESS,
    "completed": StepStatus.COMPLETED,
    "cancelled": StepStatus.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One contract event with the topic and key it is published under."""

    topic: str
    key: str
    event: Event


def _event_id(event: sim.Event) -> str:
    """A stable id from everything the event says (the same seed, the same ids)."""
    return str(uuid.uuid5(_ID_SPACE, repr(event)))


def _person(record: sim.PersonRecord | None) -> Person | None:
    if record is None:
        return None
    person = person_from_record(record.to_source_record())
    if not record.previous_last_name:
        return person
    previous = OtherName(kind=NameKind.PREVIOUS, last_name=record.previous_last_name)
    return dataclasses.replace(person, other_names=(previous,))


def _person_change(event: sim.PersonChange) -> Outgoing:
    contract = PersonChanged(
        event_id=event.event_id,
        op=_OPS[event.op],
        source_system=event.source_system,
        source_record_id=event.source_record_id,
        source_version=event.version,
        source_ts=event.at,
        event_ts=event.at,
        before=_person(event.before),
        after=_person(event.after),
    )
    return Outgoing(source_persons(event.source_system), contract.record_id, contract)


def _address(event: sim.AddressRecord) -> Outgoing:
    system = event.record_id.split(":", 1)[0]
    contract = PropertyChanged(
        event_id=_event_id(event),
        op=Operation.SNAPSHOT_READ,
        source_system=system,
        source_ts=event.updated_at,
        event_ts=event.updated_at,
        uprn=event.uprn,
        parent_uprn=event.parent_uprn,
        usrn=event.usrn or None,
        sub_building=event.sub_building,
        building_name=event.building_name,
        building_number=event.building_number,
        street=event.street,
        locality=event.locality,
        town=event.town,
        postcode=event.postcode,
        property_type=event.property_type,
    )
    return Outgoing(source_properties(system), contract.record_id, contract)


def _relationship(event: sim.Relationship) -> Outgoing:
    system = event.source_system
    contract = RelationshipObserved(
        event_id=_event_id(event),
        op=Operation.SNAPSHOT_READ,
        source_system=system,
        source_ts=event.updated_at,
        event_ts=event.updated_at,
        relationship_id=event.relationship_id,
        kind=RELATIONSHIP_KINDS.get(event.kind, RelationshipKind.OTHER),
        subject_record_id=source_record_id(event.record_id, system),
        related_record_id=source_record_id(event.related_record_id, system)
        if event.related_record_id
        else None,
        group_id=event.group_id,
        role=event.role,
        start=event.start,
        end=event.end,
    )
    return Outgoing(source_relationships(system), relationship_key(contract), contract)


def _indicator(event: sim.Indicator) -> Outgoing:
    contract = PartnerIndicator(
        event_id=_event_id(event),
        op=Operation.SNAPSHOT_READ,
        dataset=event.dataset,
        indicator_id=event.indicator_id,
        source_record_id=source_record_id(event.record_id, event.source_system),
        indicator=event.kind,
        period_start=event.period_start,
        period_end=event.period_end,
        value=event.value,
        unit=event.unit,
        source_ts=event.updated_at,
        event_ts=event.updated_at,
        source_system=event.source_system,
    )
    return Outgoing(partner(event.dataset), event.record_id, contract)


def _team(event: sim.Team) -> Outgoing:
    contract = Team(
        event_id=_event_id(event),
        op=Operation.SNAPSHOT_READ,
        source_system=CASE_MANAGEMENT,
        source_ts=event.updated_at,
        event_ts=event.updated_at,
        team_id=event.team_id,
        name=event.name,
        service=event.service,
    )
    return Outgoing(CMS_TEAMS, event.team_id, contract)


def _worker(event: sim.Worker) -> Outgoing:
    contract = Worker(
        event_id=_event_id(event),
        op=Operation.SNAPSHOT_READ,
        source_system=CASE_MANAGEMENT,
        source_ts=event.updated_at,
        event_ts=event.updated_at,
        worker_id=event.worker_id,
        name=event.name,
        email=event.email,
        job_title=event.role,
        team_ids=(event.team_id,),
        active=event.end is None or event.end > event.updated_at.date(),
        start=event.start,
        end=event.end,
    )
    return Outgoing(CMS_WORKERS, event.worker_id, contract)


def _subject(record_id: str | None, family_group_id: str | None) -> tuple[SubjectKind, str]:
    if record_id:
        return SubjectKind.PERSON, source_record_id(record_id, CASE_MANAGEMENT)
    return SubjectKind.FAMILY, family_group_id or ""


def _allocation(event: sim.Allocation) -> Outgoing:
    kind, subject = _subject(event.record_id, event.family_group_id)
    contract = Allocation(
        event_id=_event_id(event),
        op=Operation.SNAPSHOT_READ,
        source_system=CASE_MANAGEMENT,
        source_ts=event.updated_at,
        event_ts=event.updated_at,
        allocation_id=event.allocation_id,
        worker_id=event.worker_id,
        subject_kind=kind,
        subject_id=subject,
        role=event.role,
        start=event.start,
        end=event.end,
    )
    return Outgoing(CMS_ALLOCATIONS, event.allocation_id, contract)


def _step(event: sim.WorkflowStep) -> Outgoing:
    kind, subject = _subject(event.record_id, event.family_group_id)
    contract = WorkflowStep(
        event_id=_event_id(event),
        op=Operation.SNAPSHOT_READ,
        source_system=CASE_MANAGEMENT,
        source_ts=event.updated_at,
        event_ts=event.updated_at,
        step_id=event.step_id,
        subject_kind=kind,
        subject_id=subject,
        step_type=event.step_type,
        status=_STATUSES.get(event.status, StepStatus.OTHER),
        assigned_date=event.assigned_date,
        target_date=event.target_date,
        completed_date=event.completed_date,
        assignee_worker_id=event.assignee,
    )
    return Outgoing(CMS_WORKFLOW_STEPS, event.step_id, contract)


_MAPPERS: dict[type, Callable[[sim.Event], Outgoing]] = {
    sim.PersonChange: _person_change,  # type: ignore[dict-item]
    sim.AddressRecord: _address,  # type: ignore[dict-item]
    sim.Relationship: _relationship,  # type: ignore[dict-item]
    sim.Indicator: _indicator,  # type: ignore[dict-item]
    sim.Team: _team,  # type: ignore[dict-item]
    sim.Worker: _worker,  # type: ignore[dict-item]
    sim.Allocation: _allocation,  # type: ignore[dict-item]
    sim.WorkflowStep: _step,  # type: ignore[dict-item]
}


def to_contract(event: sim.Event) -> Outgoing:
    """The contract event, topic and key for one simulator event."""
    return _MAPPERS[type(event)](event)


class KafkaSink:
    """A sink for :func:`sources.simulator.streaming.replay`: publishes each event (with
    acknowledgement; call ``publisher.flush()`` at the end). ``on_delivery`` hears where
    each landed; ``mapping`` turns a simulator event into what is sent."""

    def __init__(
        self,
        publisher: Publisher,
        *,
        mapping: Callable[[sim.Event], Outgoing] = to_contract,
        on_delivery: Callable[[Outgoing, Delivery], None] | None = None,
    ) -> None:
        self.publisher = publisher
        self.mapping = mapping
        self.on_delivery = on_delivery
        self.count = 0

    def __call__(self, event: sim.Event) -> None:
        out = self.mapping(event)
        report = self.on_delivery
        heard = None if report is None else (lambda delivery: report(out, delivery))
        self.publisher.send(out.topic, out.key, out.event, on_delivery=heard)
        self.count += 1
