"""Run the simulation: the borough on day 1, each later day, and everything the sources emit.

:func:`simulate` returns a :class:`Simulation`: the time-ordered event stream up to the end
of the requested day, the snapshot of every source on that day (derived from the same
events), and the truth. :func:`iter_events` is the stream alone, for live publishing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sources.simulator import timeline
from sources.simulator.casework import Casework, build_casework
from sources.simulator.churn import simulate_day
from sources.simulator.config import SimulationConfig
from sources.simulator.geography import gazetteer
from sources.simulator.ledger import Ledger
from sources.simulator.model import (
    AddressRecord,
    Event,
    Indicator,
    PersonChange,
    PersonRecord,
    Relationship,
    RelationshipTruth,
    TruthRow,
    event_time,
)
from sources.simulator.partners import build_indicators
from sources.simulator.population import World, build_world
from sources.simulator.relationships import build_relationships, current_relationships
from sources.simulator.render import Renderer
from sources.simulator.systems import SourceIds, plan_household

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Simulation:
    """The borough as its sources see it at the end of ``day`` (1 = ``config.day_one``)."""

    config: SimulationConfig
    day: int
    until: datetime  # the end of the day: every event is before it
    residents: int
    households: int
    events: list[Event]  # time-ordered
    records: dict[str, PersonRecord]  # the snapshot: live records by record id
    truth: list[TruthRow]  # every record that exists or existed up to ``until``
    addresses: list[AddressRecord]
    relationships: list[Relationship]  # as of the snapshot: all their records exist
    relationship_truth: list[RelationshipTruth]  # every relationship in the stream
    indicators: list[Indicator]  # about records that exist
    casework: Casework  # the latest version of every allocation and step
    world: World  # the true borough at the end of the day (the truth behind everything)

    @property
    def snapshot_date(self) -> date:
        return (self.until - timedelta(days=1)).date()

    @property
    def person_changes(self) -> list[PersonChange]:
        return [e for e in self.events if isinstance(e, PersonChange)]


def end_of_day(config: SimulationConfig, day: int) -> datetime:
    last = config.day_one + timedelta(days=day - 1)
    return datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=UTC)


def history_start(config: SimulationConfig) -> date:
    return config.day_one.replace(year=config.day_one.year - config.history_years)


def simulate(
    config: SimulationConfig, day: int = 1, progress: Progress | None = None
) -> Simulation:
    """The borough from its history up to the end of ``day``."""
    if day < 1:
        raise ValueError("day must be 1 or more")
    say = progress or (lambda _: None)
    seed = config.seed
    world = build_world(config)
    households = len(world.current_households())
    say(f"population: {world.residents():,} residents in {households:,} households")
    ids = SourceIds(random.Random(f"{seed}:source-ids"))
    ledger = Ledger(
        config,
        world.persons,
        world.households,
        Renderer(config.errors, world.persons),
        ids,
        random.Random(f"{seed}:history"),
    )
    start = history_start(config)
    for household in list(world.households.values()):
        rng = random.Random(f"{seed}:plan:{household.household_id}")
        plans = plan_household(
            household,
            world.persons,
            ids,
            rng,
            day_one=config.day_one,
            history_start=start,
            duplicate_scale=config.errors.duplicate,
        )
        for plan in plans:
            ledger.follow_history(ledger.open(plan), plan.known_since)
    say(f"source records planned: {len(ledger.records):,}")
    for n in range(2, day + 1):
        simulate_day(world, ledger, ids, config.day_one + timedelta(days=n - 1))
    if day > 1:
        say(f"simulated days 2 to {day}")
    until = end_of_day(config, day)
    history = timeline.apply(ledger.intents, until, seed)
    say(f"person changes: {len(history.events):,}; records on day {day}: {len(history.records):,}")
    truth = [
        TruthRow(t.record_id, t.person_id, t.household_id)
        for t in sorted(ledger.records.values(), key=lambda t: t.record_id)
        if t.record_id in history.lives
    ]
    addresses = gazetteer(world.borough, datetime.combine(start, time(6, 0), tzinfo=UTC))
    observed, relationship_truth = build_relationships(ledger.records, history.lives, world.persons)
    observed = [r for r in observed if r.updated_at < until]
    seen = {r.relationship_id for r in observed}
    relationship_truth = [t for t in relationship_truth if t.relationship_id in seen]
    indicators = build_indicators(
        ledger.records,
        history.lives,
        world.households,
        day_one=config.day_one,
        until=until,
        seed=seed,
    )
    casework = build_casework(
        ledger.records,
        history.lives,
        day_one=config.day_one,
        history_start=start,
        until=until,
        seed=seed,
        residents=config.residents,
    )
    relationships = current_relationships(observed, history.records, until)
    say(
        f"relationships: {len(relationships):,}; indicators: {len(indicators):,}; "
        f"allocations: {len(casework.latest().allocations):,}"
    )
    events = _merge(addresses, casework, history.events, observed, indicators)
    current = world.current_households()
    return Simulation(
        config=config,
        day=day,
        until=until,
        residents=sum(len(h.members) for h in current),
        households=len(current),
        events=events,
        records=history.records,
        truth=truth,
        addresses=addresses,
        relationships=relationships,
        relationship_truth=relationship_truth,
        indicators=[i for i in indicators if i.record_id in history.records],
        casework=casework.latest(),
        world=world,
    )


def iter_events(config: SimulationConfig, day: int = 1) -> Iterator[Event]:
    """Every event up to the end of ``day``, in time order (the stream a live run publishes)."""
    yield from simulate(config, day).events


def _merge(
    addresses: list[AddressRecord],
    casework: Casework,
    changes: list[PersonChange],
    relationships: list[Relationship],
    indicators: list[Indicator],
) -> list[Event]:
    """One stream in time order; at the same moment, addresses and staff come before the
    people, people before the relations and facts about them."""
    ordered: list[Event] = [
        *addresses,
        *casework.teams,
        *casework.workers,
        *changes,
        *relationships,
        *indicators,
        *casework.allocations,
        *casework.steps,
    ]
    ordered.sort(key=event_time)  # stable: ties keep the order above
    return ordered


__all__ = ["Simulation", "World", "iter_events", "simulate"]
