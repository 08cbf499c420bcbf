"""The simulator's stream in the event contract: every event maps, encodes and validates."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

import pytest

from schemas.codec import SingleObjectCodec
from schemas.events import (
    Allocation,
    NameKind,
    Operation,
    PersonChanged,
    RelationshipObserved,
    StepStatus,
    SubjectKind,
    WorkflowStep,
)
from schemas.topics import event_type_for
from sources.simulated import to_contract
from sources.simulator import model as sim
from sources.simulator.config import SimulationConfig
from sources.simulator.simulation import Simulation, simulate
from streams.validation import Accepted, RawMessage, Rejected, validate_message

pytestmark = pytest.mark.unit

CODEC = SingleObjectCodec()


@pytest.fixture(scope="module")
def simulation() -> Simulation:
    return simulate(SimulationConfig(residents=400, seed=2), day=2)


def test_every_simulator_event_becomes_a_valid_contract_event(simulation: Simulation) -> None:
    today = simulation.snapshot_date + dt.timedelta(days=1)
    kinds: Counter[str] = Counter()
    for offset, event in enumerate(simulation.events):
        out = to_contract(event)
        assert event_type_for(out.topic) is type(out.event)
        data = CODEC.encode(out.event, out.topic)
        assert CODEC.decode(data, out.topic) == out.event
        result = validate_message(
            RawMessage(out.topic, 0, offset, out.key.encode(), data), CODEC, today
        )
        assert isinstance(result, Accepted), result
        kinds[type(out.event).__name__] += 1
    assert kinds["RelationshipObserved"] > 0


def test_an_inverted_relationship_period_is_refused(simulation: Simulation) -> None:
    """The simulator never ends a relationship before it starts; a source that does is
    refused (a period end before its start is structural, not a data-quality flag)."""
    today = simulation.snapshot_date + dt.timedelta(days=1)
    out = next(
        o
        for o in map(to_contract, simulation.events)
        if isinstance(o.event, RelationshipObserved) and o.event.start is not None
    )
    assert isinstance(out.event, RelationshipObserved) and out.event.start is not None
    inverted = dataclasses.replace(out.event, end=out.event.start - dt.timedelta(days=1))
    data = CODEC.encode(inverted, out.topic)
    result = validate_message(RawMessage(out.topic, 0, 0, out.key.encode(), data), CODEC, today)
    assert isinstance(result, Rejected) and result.reason == "dates_inverted"
    same_day = dataclasses.replace(out.event, end=out.event.start)
    data = CODEC.encode(same_day, out.topic)
    result = validate_message(RawMessage(out.topic, 0, 1, out.key.encode(), data), CODEC, today)
    assert isinstance(result, Accepted)


def test_mapping_keeps_what_the_simulator_said(simulation: Simulation) -> None:
    changes = [e for e in simulation.events if isinstance(e, sim.PersonChange)]
    for change in changes:
        out = to_contract(change)
        assert isinstance(out.event, PersonChanged)
        assert out.event.op is {"create": Operation.CREATE, "update": Operation.UPDATE,
                                "delete": Operation.DELETE}[change.op]  # fmt: skip
        assert out.key == change.record_id == out.event.record_id
        assert out.event.source_version == change.version
        if change.after is not None and change.after.previous_last_name:
            assert out.event.after is not None
            (previous,) = out.event.after.other_names
            assert previous.kind is NameKind.PREVIOUS
            assert previous.last_name == change.after.previous_last_name
    steps = [to_contract(e).event for e in simulation.events if isinstance(e, sim.WorkflowStep)]
    assert {s.status for s in steps if isinstance(s, WorkflowStep)} <= {
        StepStatus.OPEN, StepStatus.COMPLETED, StepStatus.CANCELLED}  # fmt: skip
    allocations = [e for e in simulation.events if isinstance(e, sim.Allocation)]
    for allocation in allocations:
        event = to_contract(allocation).event
        assert isinstance(event, Allocation)
        expected = SubjectKind.PERSON if allocation.record_id else SubjectKind.FAMILY
        assert event.subject_kind is expected


def test_ids_are_the_same_for_the_same_seed() -> None:
    config = SimulationConfig(residents=50, seed=9)
    first = [to_contract(e).event.event_id for e in simulate(config).events]
    again = [to_contract(e).event.event_id for e in simulate(config).events]
    assert first == again
    assert len(set(first)) == len(first)
