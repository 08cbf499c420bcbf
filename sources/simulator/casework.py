"""Case-management extracts (Mosaic): teams, workers, allocations and workflow steps.

Every Mosaic family group has a key worker from a family-support team; children in need
have an allocated social worker, adult clients an adult-social-care worker. Some cases
close; some change worker. Each case has an assessment, a review every three months and,
when it closes, a closure step; steps have target dates, and some are late or still open,
so the dashboard has days overdue to show.

Each case draws its whole future from its own random stream; an allocation or a step is
emitted again whenever it changes (ended, completed, cancelled), and a day's extract holds
the latest version of each. So every day's extract agrees with the days before it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from anyascii import anyascii

from sources.simulator import names
from sources.simulator.ledger import Tracked, moment
from sources.simulator.model import Allocation, Team, Worker, WorkflowStep
from sources.simulator.timeline import Life

TEAMS = (
    ("T01", "Family Support North", "family_support", "family_support_worker"),
    ("T02", "Family Support South", "family_support", "family_support_worker"),
    ("T03", "Early Help Hub", "early_help", "early_help_practitioner"),
    ("T04", "Children in Need 1", "children_social_care", "social_worker"),
    ("T05", "Children in Need 2", "children_social_care", "social_worker"),
    ("T06", "Youth Justice Service", "youth_justice", "youth_justice_worker"),
    ("T07", "Adult Social Care East", "adult_social_care", "social_worker"),
    ("T08", "Adult Social Care West", "adult_social_care", "occupational_therapist"),
)
CASE_TEAMS = {
    "family_support": ("T01", "T02", "T03"),
    "children_social_care": ("T04", "T05"),
    "adult_social_care": ("T07", "T08"),
}
CASE_ROLES = {
    "family_support": "key_worker",
    "children_social_care": "allocated_social_worker",
    "adult_social_care": "allocated_worker",
}
STAFF_DOMAIN = "council.example.gov.uk"
REVIEW_EVERY = timedelta(days=91)
HORIZON = timedelta(days=400)  # how far past day 1 each case's future is drawn

Versioned = TypeVar("Versioned", Allocation, WorkflowStep)


@dataclass(frozen=True, slots=True)
class Casework:
    """Every version emitted up to the end of the day (for the stream)."""

    teams: list[Team]
    workers: list[Worker]
    allocations: list[Allocation]
    steps: list[WorkflowStep]

    def latest(self) -> Casework:
        """The extract of the day: the latest version of each allocation and step."""
        return Casework(
            self.teams,
            self.workers,
            _latest(self.allocations, lambda a: a.allocation_id),
            _latest(self.steps, lambda s: s.step_id),
        )


def _latest(items: Iterable[Versioned], key: Callable[[Versioned], str]) -> list[Versioned]:
    latest: dict[str, Versioned] = {}
    for item in items:
        latest[key(item)] = item
    return list(latest.values())


@dataclass(frozen=True, slots=True)
class _Case:
    key: str  # family group id (mosaic:FG...) or a person record id
    family: bool
    opened: date
    kind: str  # family_support | children_social_care | adult_social_care
    gone: datetime | None  # when its records were deleted (all of a family's)


def build_casework(
    tracked: Mapping[str, Tracked],
    lives: Mapping[str, Life],
    *,
    day_one: date,
    history_start: date,
    until: datetime,
    seed: int,
    residents: int,
) -> Casework:
    staff = _staff(random.Random(f"{seed}:staff"), day_one, history_start, residents)
    by_team: dict[str, list[Worker]] = {}
    for worker in staff.workers:
        by_team.setdefault(worker.team_id, []).append(worker)
    horizon = day_one + HORIZON
    allocations: list[Allocation] = []
    steps: list[WorkflowStep] = []
    for case in _cases(tracked, lives):
        planned = _plan_case(case, by_team, random.Random(f"{seed}:case:{case.key}"), horizon)
        if case.gone is not None:
            planned = _close_early(case, case.gone, *planned)
        allocations += planned[0]
        steps += planned[1]
    return Casework(
        staff.teams,
        staff.workers,
        [a for a in allocations if a.updated_at < until],
        [s for s in steps if s.updated_at < until],
    )


def _plan_case(
    case: _Case, by_team: Mapping[str, list[Worker]], rng: random.Random, horizon: date
) -> tuple[list[Allocation], list[WorkflowStep]]:
    """The case's whole planned future: workers, closure (for some), every step's versions."""
    allocations: list[Allocation] = []
    team = by_team[rng.choice(CASE_TEAMS[case.kind])][1:]  # not the manager
    closes = rng.random() < 0.3
    closed = case.opened + timedelta(days=rng.randrange(120, 900))
    spans = _worker_spans(rng, team, case.opened, closed if closes else None, horizon)
    for n, (worker, start, end) in enumerate(spans):
        allocation = Allocation(
            allocation_id=f"ALLOC-{_short(case.key)}-{n + 1}",
            worker_id=worker.worker_id,
            record_id=None if case.family else case.key,
            family_group_id=case.key if case.family else None,
            role=CASE_ROLES[case.kind],
            start=start,
            end=None,
            updated_at=moment(start, rng),
        )
        ended = moment(end, rng) if end else None
        allocations.append(allocation)
        if ended:
            allocations.append(replace(allocation, end=end, updated_at=ended))
    steps = _steps(rng, case, spans, closed if closes else None, horizon)
    return allocations, steps


def _close_early(
    case: _Case, gone: datetime, allocations: list[Allocation], steps: list[WorkflowStep]
) -> tuple[list[Allocation], list[WorkflowStep]]:
    """The case's records were deleted (the family left): the plan stops there, open steps
    are cancelled, allocations end and a closure step is recorded."""
    allocations = [a for a in allocations if a.updated_at < gone]
    steps = [s for s in steps if s.updated_at < gone]
    open_allocations = [a for a in _latest(allocations, lambda a: a.allocation_id) if a.end is None]
    if not open_allocations:
        return allocations, steps
    day = gone.date()
    for step in _latest(steps, lambda s: s.step_id):
        if step.status == "open":
            steps.append(replace(step, status="cancelled", updated_at=gone))
    worker = open_allocations[-1].worker_id
    number = len({s.step_id for s in steps}) + 1
    closure = WorkflowStep(
        step_id=f"STEP-{_short(case.key)}-{number}",
        step_type="closure",
        status="completed",
        record_id=None if case.family else case.key,
        family_group_id=case.key if case.family else None,
        assigned_date=day,
        target_date=day,
        completed_date=day,
        assignee=worker,
        updated_at=gone + timedelta(minutes=1),
    )
    steps.append(closure)
    allocations += [replace(a, end=day, updated_at=gone) for a in open_allocations]
    return allocations, steps


def _staff(rng: random.Random, day_one: date, history_start: date, residents: int) -> Casework:
    """Teams of a manager and workers, sized to the borough."""
    epoch = datetime.combine(history_start, time(6, 0), tzinfo=UTC)
    teams = [Team(team_id, name, service, epoch) for team_id, name, service, _ in TEAMS]
    per_team = max(3, residents // 1_500)
    workers: list[Worker] = []
    emails: set[str] = set()
    for team_id, _, _, role in TEAMS:
        for i in range(per_team + 1):
            tradition = names.draw_tradition(rng)
            sex = rng.choice("FM")
            given = tradition.given(rng, sex, 1985)
            family = tradition.surnames.draw(rng)
            family = tradition.feminine(family) if sex == "F" else family
            email = anyascii(f"{given}.{family}").lower().replace(" ", "").replace("'", "")
            while email in emails:
                email += str(rng.randint(0, 9))
            emails.add(email)
            start = history_start + timedelta(days=rng.randrange((day_one - history_start).days))
            workers.append(
                Worker(
                    worker_id=f"W{len(workers) + 1:04d}",
                    name=f"{given} {family}",
                    role="team_manager" if i == 0 else role,
                    team_id=team_id,
                    email=f"{email}@{STAFF_DOMAIN}",
                    start=start,
                    end=None,
                    updated_at=moment(start, rng),
                )
            )
    return Casework(teams, workers, [], [])


def _cases(tracked: Mapping[str, Tracked], lives: Mapping[str, Life]) -> list[_Case]:
    """A case per Mosaic family group, child in need and adult client, opened with its
    first record."""
    opened: dict[str, date] = {}
    kinds: dict[str, tuple[bool, str]] = {}
    deleted: dict[str, list[datetime | None]] = {}
    for t in tracked.values():
        if t.system != "mosaic" or t.record_id not in lives or t.duplicate:
            continue
        if t.group:
            key, family, kind = f"mosaic:{t.group}", True, "family_support"
        elif t.role in ("child", "client"):
            key, family = t.record_id, False
            kind = "children_social_care" if t.role == "child" else "adult_social_care"
        else:
            continue
        day = t.created.date() + timedelta(days=1)  # the case opens the day after
        opened[key] = min(opened.get(key, day), day)
        kinds[key] = (family, kind)
        deleted.setdefault(key, []).append(lives[t.record_id].deleted)
    cases = []
    for key, day in opened.items():
        ends = deleted[key]
        gone = None if None in ends else max(e for e in ends if e is not None)
        cases.append(_Case(key, kinds[key][0], day, kinds[key][1], gone))
    return cases


Span = tuple[Worker, date, date | None]


def _worker_spans(
    rng: random.Random, staff: list[Worker], opened: date, closed: date | None, horizon: date
) -> list[Span]:
    first = rng.choice(staff)
    handover = opened + timedelta(days=rng.randrange(30, 400))
    if rng.random() < 0.2 and len(staff) > 1 and handover < (closed or horizon):
        second = rng.choice([w for w in staff if w is not first])  # the case changed hands
        return [(first, opened, handover), (second, handover, closed)]
    return [(first, opened, closed)]


def _steps(
    rng: random.Random, case: _Case, spans: list[Span], closed: date | None, horizon: date
) -> list[WorkflowStep]:
    """Every version of every step: assigned (open), then completed or cancelled."""

    def assignee(day: date) -> str:
        for worker, start, end in spans:
            if start <= day and (end is None or day < end):
                return worker.worker_id
        return spans[-1][0].worker_id

    out: list[WorkflowStep] = []

    def step(kind: str, assigned: date, target: date, completed: date) -> None:
        opened = WorkflowStep(
            step_id=f"STEP-{_short(case.key)}-{len({s.step_id for s in out}) + 1}",
            step_type=kind,
            status="open",
            record_id=None if case.family else case.key,
            family_group_id=case.key if case.family else None,
            assigned_date=assigned,
            target_date=target,
            completed_date=None,
            assignee=assignee(assigned),
            updated_at=moment(assigned, rng),
        )
        out.append(opened)
        if closed is not None and closed < completed:  # the case closed first
            cancelled = datetime.combine(closed, time(17, 0), tzinfo=UTC)
            out.append(replace(opened, status="cancelled", updated_at=cancelled))
        else:
            done = max(moment(completed, rng), opened.updated_at + timedelta(minutes=5))
            completed_step = replace(
                opened, status="completed", completed_date=completed, updated_at=done
            )
            out.append(completed_step)

    assessed = case.opened + timedelta(days=rng.randrange(10, 75))
    step("assessment", case.opened, case.opened + timedelta(days=45), assessed)
    review = assessed + REVIEW_EVERY
    while review < (closed or horizon):
        step(
            "review",
            review,
            review + timedelta(days=20),
            review + timedelta(days=rng.randrange(2, 40)),
        )
        review += REVIEW_EVERY
    if closed is not None:
        step("closure", closed - timedelta(days=20), closed, closed)
    return out


def _short(key: str) -> str:
    return key.split(":", 1)[1]
