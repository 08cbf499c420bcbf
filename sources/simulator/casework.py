"""Case-management extracts (Mosaic): teams, workers, allocations and workflow steps.

Every Mosaic family group has a key worker from a family-support team; children in need
have an allocated social worker, adult clients an adult-social-care worker. Some cases are
closed; some changed worker. Each case has an assessment, a review every three months and,
when closed, a closure step; steps have target dates and some are late or still open, so
the dashboard has days overdue to show. Dates are drawn per case, so a case looks the same
on every day's snapshot except for steps that complete or fall due in between.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from anyascii import anyascii

from sources.simulator import names
from sources.simulator.ledger import Tracked, moment
from sources.simulator.model import Allocation, Team, Worker, WorkflowStep

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
STAFF_DOMAIN = "council.example.gov.uk"
REVIEW_EVERY = timedelta(days=91)


@dataclass(frozen=True, slots=True)
class Casework:
    teams: list[Team]
    workers: list[Worker]
    allocations: list[Allocation]
    steps: list[WorkflowStep]


@dataclass(frozen=True, slots=True)
class _Case:
    key: str  # family group id (mosaic:FG...) or a person record id
    family: bool
    opened: date
    kind: str  # family_support | children_social_care | adult_social_care


def build_casework(
    tracked: Mapping[str, Tracked],
    live_ids: Mapping[str, object],
    *,
    day_one: date,
    history_start: date,
    until: datetime,
    seed: int,
) -> Casework:
    today = (until - timedelta(seconds=1)).date()
    cases = _cases(tracked, live_ids, day_one)
    staff_rng = random.Random(f"{seed}:staff")
    epoch = datetime.combine(history_start, time(6, 0), tzinfo=UTC)
    teams = [Team(team_id, name, service, epoch) for team_id, name, service, _ in TEAMS]
    per_team = max(3, len(cases) // (len(TEAMS) * 8))
    workers: list[Worker] = []
    by_team: dict[str, list[Worker]] = {}
    emails: set[str] = set()
    for team_id, _, _, role in TEAMS:
        for i in range(per_team + 1):
            tradition = names.draw_tradition(staff_rng)
            sex = staff_rng.choice("FM")
            given = tradition.given(staff_rng, sex, 1985)
            family = tradition.surnames.draw(staff_rng)
            family = tradition.feminine(family) if sex == "F" else family
            email = anyascii(f"{given}.{family}").lower().replace(" ", "").replace("'", "")
            while email in emails:
                email += str(staff_rng.randint(0, 9))
            emails.add(email)
            start = day_one - timedelta(days=staff_rng.randrange(60, 10 * 365))
            worker = Worker(
                worker_id=f"W{len(workers) + 1:04d}",
                name=f"{given} {family}",
                role="team_manager" if i == 0 else role,
                team_id=team_id,
                email=f"{email}@{STAFF_DOMAIN}",
                start=start,
                end=None,
                updated_at=moment(start, staff_rng),
            )
            workers.append(worker)
            by_team.setdefault(team_id, []).append(worker)
    allocations: list[Allocation] = []
    steps: list[WorkflowStep] = []
    for case in cases:
        rng = random.Random(f"{seed}:case:{case.key}")
        team_ids = {
            "family_support": ("T01", "T02", "T03"),
            "children_social_care": ("T04", "T05"),
            "adult_social_care": ("T07", "T08"),
        }[case.kind]
        staff = by_team[rng.choice(team_ids)][1:]
        closed = (
            case.opened + timedelta(days=rng.randrange(120, 900)) if rng.random() < 0.3 else None
        )
        if closed and closed > today:
            closed = None
        role = {
            "family_support": "key_worker",
            "children_social_care": "allocated_social_worker",
            "adult_social_care": "allocated_worker",
        }[case.kind]
        spans = _worker_spans(rng, staff, case.opened, closed, today)
        for n, (worker, start, end) in enumerate(spans):
            allocations.append(
                Allocation(
                    allocation_id=f"ALLOC-{_short(case.key)}-{n + 1}",
                    worker_id=worker.worker_id,
                    record_id=None if case.family else case.key,
                    family_group_id=case.key if case.family else None,
                    role=role,
                    start=start,
                    end=end,
                    updated_at=moment(end or start, rng),
                )
            )
        steps += _steps(rng, case, spans, closed, today)
    return Casework(teams, workers, allocations, steps)


def _cases(
    tracked: Mapping[str, Tracked], live_ids: Mapping[str, object], day_one: date
) -> list[_Case]:
    opened: dict[str, date] = {}
    kinds: dict[str, tuple[bool, str]] = {}
    for t in tracked.values():
        if t.system != "mosaic" or t.record_id not in live_ids or t.duplicate:
            continue
        if t.group:
            key, family, kind = f"mosaic:{t.group}", True, "family_support"
        elif t.role in ("child", "client"):
            key, family = t.record_id, False
            kind = "children_social_care" if t.role == "child" else "adult_social_care"
        else:
            continue
        day = t.created.date()
        opened[key] = min(opened.get(key, day), day)
        kinds[key] = (family, kind)
    return [_Case(key, kinds[key][0], opened[key], kinds[key][1]) for key in opened]


def _worker_spans(
    rng: random.Random, staff: list[Worker], opened: date, closed: date | None, today: date
) -> list[tuple[Worker, date, date | None]]:
    first = rng.choice(staff)
    if rng.random() < 0.2 and len(staff) > 1:  # the case changed hands
        handover = opened + timedelta(days=rng.randrange(30, 400))
        if handover < (closed or today):
            second = rng.choice([w for w in staff if w is not first])
            return [(first, opened, handover), (second, handover, closed)]
    return [(first, opened, closed)]


def _steps(
    rng: random.Random,
    case: _Case,
    spans: list[tuple[Worker, date, date | None]],
    closed: date | None,
    today: date,
) -> list[WorkflowStep]:
    def assignee(day: date) -> str:
        for worker, start, end in spans:
            if start <= day and (end is None or day < end):
                return worker.worker_id
        return spans[-1][0].worker_id

    out: list[WorkflowStep] = []

    def step(kind: str, assigned: date, target: date, completed: date | None) -> None:
        if assigned > today:
            return
        if completed is not None and completed > today:
            completed = None
        status = "completed" if completed else "open"
        if completed is None and closed is not None:
            status = "cancelled"
        out.append(
            WorkflowStep(
                step_id=f"STEP-{_short(case.key)}-{len(out) + 1}",
                step_type=kind,
                status=status,
                record_id=None if case.family else case.key,
                family_group_id=case.key if case.family else None,
                assigned_date=assigned,
                target_date=target,
                completed_date=completed,
                assignee=assignee(assigned),
                updated_at=moment(completed or assigned, rng),
            )
        )

    assessed = case.opened + timedelta(days=rng.randrange(10, 75))
    step("assessment", case.opened, case.opened + timedelta(days=45), assessed)
    review = assessed + REVIEW_EVERY
    last = closed or today
    while review <= last:
        step(
            "review",
            review,
            review + timedelta(days=20),
            review + timedelta(days=rng.randrange(2, 40)),
        )
        review += REVIEW_EVERY
    if closed:
        step("closure", closed - timedelta(days=20), closed, closed)
    return out


def _short(key: str) -> str:
    return key.split(":", 1)[1]
