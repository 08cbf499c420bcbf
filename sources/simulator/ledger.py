"""The ledger of what each source system will write, and when.

Generating a source record's history is a matter of deciding *intents*: at this moment,
create this record; at that moment, change these fields (the family moved and the system
was told); later, delete it. Intents are collected in any order and applied in time order
by :mod:`sources.simulator.timeline`, which turns them into change events with the record
before and after. A patch names only the fields it changes, so intents compose whatever
order they were decided in; a correction is computed when it is applied, from the record as
it stands then.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sources.simulator.config import SimulationConfig
from sources.simulator.model import Address, Household, Operation, Person, PersonRecord
from sources.simulator.render import Fields, Renderer, written_case
from sources.simulator.systems import PROFILES, Plan, SourceIds

Patch = Callable[[PersonRecord], Fields]
CORRECTABLE = ("first_name", "last_name", "dob", "sex", "nhs_number", "ni_number", "upn")


@dataclass(frozen=True, slots=True)
class Intent:
    at: datetime
    seq: int
    record_id: str
    op: Operation
    reason: str
    fields: Fields | None = None  # all fields for a create, the changed ones for an update
    patch: Patch | None = None  # a change worked out from the record when it is applied


@dataclass(slots=True)
class Tracked:
    """What the simulator knows about one source record while deciding its history."""

    record_id: str
    system: str
    source_record_id: str
    person_id: str
    household_id: str
    role: str
    group: str | None
    duplicate: bool
    created: datetime
    deleted: datetime | None = None

    def live_at(self, moment: datetime) -> bool:
        return self.created <= moment and (self.deleted is None or self.deleted > moment)


def moment(day: date, rng: random.Random) -> datetime:
    """A time in office hours (08:00 to 18:00 UTC) on ``day``."""
    start = datetime.combine(day, time(8, 0), tzinfo=UTC)
    return start + timedelta(seconds=rng.randrange(10 * 3600))


@dataclass(slots=True)
class Ledger:
    config: SimulationConfig
    persons: dict[str, Person]
    households: dict[str, Household]
    renderer: Renderer
    ids: SourceIds
    rng: random.Random
    intents: list[Intent] = field(default_factory=list)
    records: dict[str, Tracked] = field(default_factory=dict)
    by_person: dict[str, list[str]] = field(default_factory=dict)
    groups_after_move: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def _add(
        self,
        at: datetime,
        record_id: str,
        *,
        op: Operation,
        reason: str,
        fields: Fields | None = None,
        patch: Patch | None = None,
    ) -> None:
        self.intents.append(Intent(at, len(self.intents), record_id, op, reason, fields, patch))

    def _lag(self, system: str, day: date) -> date:
        """When a system that is told of a change records it: often the same day."""
        churn = self.config.churn
        mean = churn.notify_lag_days * PROFILES[system].notify_lag_days
        if self.rng.random() < churn.same_day_share or mean <= 0:
            return day
        return day + timedelta(days=1 + int(self.rng.expovariate(1 / mean)))

    def _told(self, system: str, stale_rate: float) -> bool:
        return self.rng.random() >= min(1.0, stale_rate * PROFILES[system].stale)

    # -- creating -------------------------------------------------------------------------
    def open(
        self,
        plan: Plan,
        address: Address | None = None,
        reason: str = "new",
        group: str | None = None,
    ) -> Tracked:
        """A new record as the system first wrote it, on ``plan.known_since``."""
        person = self.persons[plan.person_id]
        household = self.households[plan.household_id]
        system = plan.system
        profile = PROFILES[system]
        day = plan.known_since
        if address is None:
            address = household.address_on(day) or household.address
        fields = self.renderer.person(
            profile,
            person,
            household,
            day,
            address,
            role=plan.role,
            rng=self.rng,
            extra_noise=2.0 if plan.duplicate else 1.0,
        )
        if profile.tracks_residence:
            fields["residence_start"] = _residence_start(household, address, day).isoformat()
        source_id = self.ids.record(system)
        record_id = f"{system}:{source_id}"
        at = moment(day, self.rng)
        tracked = Tracked(
            record_id,
            system,
            source_id,
            person.person_id,
            household.household_id,
            plan.role,
            group or plan.group,
            plan.duplicate,
            at,
        )
        self.records[record_id] = tracked
        self.by_person.setdefault(person.person_id, []).append(record_id)
        self._add(at, record_id, op="create", reason=reason, fields=fields)
        return tracked

    def follow_history(self, tracked: Tracked, since: date) -> None:
        """Moves, new surnames and departures that happened after the record was created."""
        household = self.households[tracked.household_id]
        person = self.persons[tracked.person_id]
        if household.previous_moved_in and since < household.moved_in:
            self.moved(tracked, household, household.moved_in)
        if person.name_changed_on and since < person.name_changed_on:
            self.renamed(tracked, person, person.name_changed_on)
        if household.left_on and since < household.left_on:
            self.left(tracked, household, household.left_on)

    # -- what happens to a record ---------------------------------------------------------
    def moved(self, tracked: Tracked, household: Household, day: date) -> None:
        """The household moved to ``household.address`` on ``day``."""
        profile = PROFILES[tracked.system]
        rates = self.config.errors
        told = self._told(tracked.system, rates.stale_address)
        when = moment(self._lag(tracked.system, day), self.rng)
        if profile.account_per_address:
            if told:
                end = (day - timedelta(days=1)).isoformat()
                self._add(
                    when,
                    tracked.record_id,
                    op="update",
                    reason="moved",
                    fields={"residence_end": end},
                )
            key = (tracked.system, household.household_id, household.address.uprn)
            group = self.groups_after_move.get(key)
            if group is None and tracked.group is not None:
                group = self.groups_after_move[key] = self.ids.group(tracked.system)
            plan = Plan(
                tracked.system,
                tracked.person_id,
                tracked.household_id,
                tracked.role,
                self._lag(tracked.system, day),
                group,
                tracked.duplicate,
            )
            opened = self.open(plan, household.address, reason="new_address")
            self.follow_history(opened, plan.known_since)
            return
        if not told or not self._live(tracked, when):
            return
        patch = self.renderer.address(profile, household.address, self.rng)
        if profile.tracks_residence:
            patch["residence_start"] = day.isoformat()
        self._add(when, tracked.record_id, op="update", reason="moved", fields=patch)

    def renamed(self, tracked: Tracked, person: Person, day: date) -> None:
        profile = PROFILES[tracked.system]
        if not self._told(tracked.system, self.config.errors.stale_surname):
            return
        when = moment(self._lag(tracked.system, day), self.rng)
        if not self._live(tracked, when):
            return
        last = self.renderer.surname(profile, person, day, self.rng)
        patch: Fields = {"last_name": last}
        if profile.keeps_previous_name and person.birth_family:
            patch["previous_last_name"] = written_case(profile, person.birth_family)
        self._add(when, tracked.record_id, op="update", reason="name_change", fields=patch)

    def left(self, tracked: Tracked, household: Household, day: date) -> None:
        profile = PROFILES[tracked.system]
        if not self._told(tracked.system, self.config.errors.stale_address):
            return
        when = moment(self._lag(tracked.system, day), self.rng)
        if not self._live(tracked, when):
            return
        if profile.on_leaving == "delete":
            self.delete(tracked, when, "left_borough")
            return
        patch: Fields = {}
        if profile.tracks_residence:
            patch["residence_end"] = day.isoformat()
        if household.forwarding_address and (profile.tracks_residence or self.rng.random() < 0.5):
            patch |= self.renderer.address(profile, household.forwarding_address, self.rng)
        if not patch:
            self.delete(tracked, when, "left_borough")
            return
        self._add(when, tracked.record_id, op="update", reason="left_borough", fields=patch)

    def died(self, tracked: Tracked, day: date) -> None:
        if self.rng.random() >= 0.85:  # Tell Us Once reaches most services
            return
        when = moment(self._lag(tracked.system, day), self.rng)
        if not self._live(tracked, when):
            return
        if PROFILES[tracked.system].tracks_residence and self.rng.random() < 0.5:
            self._add(
                when,
                tracked.record_id,
                op="update",
                reason="died",
                fields={"residence_end": day.isoformat()},
            )
        else:
            self.delete(tracked, when, "died")

    def delete(self, tracked: Tracked, when: datetime, reason: str) -> None:
        if tracked.deleted is None or tracked.deleted > when:
            tracked.deleted = when
        self._add(when, tracked.record_id, op="delete", reason=reason)

    def new_phone(self, tracked: Tracked, day: date) -> None:
        person = self.persons[tracked.person_id]
        if person.mobile is None or PROFILES[tracked.system].fields.get("phone", 0.0) == 0.0:
            return
        if not self._told(tracked.system, self.config.errors.stale_address):
            return
        when = moment(self._lag(tracked.system, day), self.rng)
        if self._live(tracked, when):
            self._add(
                when,
                tracked.record_id,
                op="update",
                reason="contact_change",
                fields={"phone": person.mobile},
            )

    def correct(self, tracked: Tracked, day: date) -> None:
        """The source puts right one field that differs from what a careful clerk would write."""
        when = moment(day, self.rng)
        if not self._live(tracked, when):
            return
        order = list(CORRECTABLE)
        self.rng.shuffle(order)
        seed = f"{self.config.seed}:correct:{tracked.record_id}:{when.isoformat()}"
        person = self.persons[tracked.person_id]
        household = self.households[tracked.household_id]
        profile = PROFILES[tracked.system]
        renderer = self.renderer

        def patch(record: PersonRecord) -> Fields:
            rng = random.Random(seed)
            clean = renderer.person(
                profile, person, household, day, None, role=tracked.role, rng=rng, clean=True
            )
            for name in order:
                now, right = getattr(record, name), clean.get(name)
                if now is not None and right is not None and _compact(now) != _compact(right):
                    return {name: right}
            return {}

        self._add(when, tracked.record_id, op="update", reason="correction", patch=patch)

    def _live(self, tracked: Tracked, when: datetime) -> bool:
        return tracked.deleted is None or tracked.deleted > when

    def live_records(self, at: datetime) -> list[Tracked]:
        return [t for t in self.records.values() if t.live_at(at)]


def _residence_start(household: Household, address: Address, day: date) -> date:
    if address is household.previous_address and household.previous_moved_in:
        return household.previous_moved_in
    return household.moved_in if day >= household.moved_in else day


def _compact(value: str) -> str:
    return "".join(value.split()).upper()
