"""The council simulator: a synthetic borough seen through its source systems, with the truth.

The public surface::

    from sources.simulator import SimulationConfig, simulate, iter_events, replay

    simulation = simulate(SimulationConfig(residents=10_000, seed=1), day=1)
    simulation.records      # the day's snapshot: PersonRecord by record id
    simulation.truth        # record id -> true person and household
    simulation.events       # the time-ordered stream (PersonChange, Relationship, ...)

    replay(iter_events(config, day=2), sink, rate=200)   # live: sink(event) per event

``hub simulate`` (``sources/simulator/cli.py``) writes all of it to files. Modules, from the
world outwards: ``config`` (every rate), ``names``, ``geography``, ``identifiers``,
``population`` (the true people), ``systems`` (who each source knows, and how it writes),
``render`` and ``noise`` (a person written down, with mistakes), ``ledger`` and ``churn``
(what each source records and when), ``timeline`` (events and snapshots),
``relationships``, ``partners``, ``casework``, ``simulation``, ``streaming``, ``writers``.
"""

from sources.simulator.config import ChurnRates, ErrorRates, PopulationRates, SimulationConfig
from sources.simulator.model import (
    AddressRecord,
    Allocation,
    Event,
    Indicator,
    PersonChange,
    PersonRecord,
    Relationship,
    Team,
    Worker,
    WorkflowStep,
    event_kind,
    event_time,
)
from sources.simulator.simulation import Simulation, iter_events, simulate
from sources.simulator.streaming import JsonLinesSink, Sink, event_key, event_line, replay

__all__ = [
    "AddressRecord",
    "Allocation",
    "ChurnRates",
    "ErrorRates",
    "Event",
    "Indicator",
    "JsonLinesSink",
    "PersonChange",
    "PersonRecord",
    "PopulationRates",
    "Relationship",
    "Simulation",
    "SimulationConfig",
    "Sink",
    "Team",
    "Worker",
    "WorkflowStep",
    "event_key",
    "event_kind",
    "event_line",
    "event_time",
    "iter_events",
    "replay",
    "simulate",
]
