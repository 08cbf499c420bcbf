"""Partner indicators: values about a person from the datasets a family-support team uses.

Each indicator is keyed by the record id of the source that holds it (an education pupil
record for attendance, a DWP record for an out-of-work benefit claim, ...), so the hub has
to link that record to the person first. Values follow the household's level of need:
attendance is lower, arrears higher, offences and notifications likelier in families in
need. Each record draws from its own random stream, so a record's indicators are the same
whatever day the snapshot is taken; an indicator is reported some days after its period
ends, so later days bring new ones.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sources.simulator.ledger import Tracked, moment
from sources.simulator.model import Household, Indicator
from sources.simulator.timeline import Life


def _months(day_one: date, count: int) -> list[tuple[date, date]]:
    """The last ``count`` whole calendar months before ``day_one``, oldest first."""
    periods = []
    end = day_one.replace(day=1) - timedelta(days=1)
    for _ in range(count):
        start = end.replace(day=1)
        periods.append((start, end))
        end = start - timedelta(days=1)
    return periods[::-1]


def _terms(day_one: date) -> list[tuple[date, date]]:
    """Three school terms of about three months before ``day_one``."""
    ends = [day_one - timedelta(days=1 + 91 * i) for i in (2, 1, 0)]
    return [(end - timedelta(days=90), end) for end in ends]


def build_indicators(
    tracked: Mapping[str, Tracked],
    lives: Mapping[str, Life],
    households: Mapping[str, Household],
    *,
    day_one: date,
    until: datetime,
    seed: int,
) -> list[Indicator]:
    """Every indicator reported before ``until`` about a record that existed when reported."""
    out: list[Indicator] = []
    for record_id, t in tracked.items():
        life = lives.get(record_id)
        report = _REPORTS.get(t.system)
        if life is None or report is None or t.created.date() >= day_one:
            continue
        rng = random.Random(f"{seed}:indicator:{record_id}")
        need = households[t.household_id].need
        for indicator in report(_Reporter(t, need, day_one, rng, seed)):
            reported = max(indicator.updated_at, life.created + timedelta(minutes=1))
            if reported < until and life.alive_at(reported):
                out.append(replace(indicator, updated_at=reported))
    return out


@dataclass(frozen=True, slots=True)
class _Reporter:
    """Writes the indicators of one record; values drawn from the record's own stream."""

    tracked: Tracked
    need: int
    day_one: date
    rng: random.Random
    seed: int

    def make(
        self, dataset: str, kind: str, period: tuple[date, date], value: float, unit: str
    ) -> Indicator:
        t = self.tracked
        reported = moment(period[1] + timedelta(days=self.rng.randint(3, 20)), self.rng)
        return Indicator(
            indicator_id=f"{t.system}:{kind}:{t.source_record_id}:{period[0]:%Y%m%d}",
            dataset=dataset,
            source_system=t.system,
            record_id=t.record_id,
            kind=kind,
            period_start=period[0],
            period_end=period[1],
            value=value,
            unit=unit,
            updated_at=reported,
        )


def _school(r: _Reporter) -> Iterator[Indicator]:
    """Attendance each term (persistent absence is below 90%); suspensions in families in need."""
    if r.tracked.role != "pupil":
        return
    for term in _terms(r.day_one):
        attendance = r.rng.gauss(96.0 - 3.5 * r.need, 2.5 + 2.0 * r.need)
        value = round(min(100.0, max(35.0, attendance)), 1)
        yield r.make("school_attendance", "attendance_pct", term, value, "percent")
        if r.need >= 2 and r.rng.random() < (0.15 if r.need == 2 else 0.35):
            count = float(r.rng.randint(1, 3))
            yield r.make("school_exclusions", "suspensions", term, count, "count")


def _out_of_work(r: _Reporter) -> Iterator[Indicator]:
    months = _months(r.day_one, 6)
    start = r.rng.randrange(-6, len(months))
    for month in months[max(0, start) :]:
        yield r.make("out_of_work_benefits", "out_of_work_benefit", month, 1.0, "flag")


def _youth_offences(r: _Reporter) -> Iterator[Indicator]:
    quarters = _terms(r.day_one)
    hits = [q for q in quarters if r.rng.random() < 0.4] or [r.rng.choice(quarters)]
    for quarter in hits:
        count = float(r.rng.randint(1, 3))
        yield r.make("youth_offending", "youth_offence", quarter, count, "count")


def _neet(r: _Reporter) -> Iterator[Indicator]:
    chance = (0.05, 0.12, 0.25, 0.4)[r.need]
    for month in _months(r.day_one, 6):
        yield r.make("neet", "neet", month, 1.0 if r.rng.random() < chance else 0.0, "flag")


def _rent_arrears(r: _Reporter) -> Iterator[Indicator]:
    """The lead tenant's month-end arrears balance: zero, or growing in fits and starts."""
    if r.tracked.role != "lead_tenant":
        return
    in_arrears = r.rng.random() < (0.08, 0.25, 0.45, 0.65)[r.need]
    balance = 0.0
    for month in _months(r.day_one, 6):
        if in_arrears:
            balance = max(0.0, balance + r.rng.uniform(-120.0, 420.0))
        yield r.make("rent_arrears", "rent_arrears_balance", month, round(balance, 2), "gbp")


def _domestic_abuse(r: _Reporter) -> Iterator[Indicator]:
    """Notifications of incidents at the household (the same days for everyone in it)."""
    incidents = random.Random(f"{r.seed}:incidents:{r.tracked.household_id}")
    count = incidents.choice((1, 1, 2, 3))
    days = sorted({r.day_one - timedelta(days=incidents.randint(5, 365)) for _ in range(count)})
    for day in days:
        yield r.make("domestic_abuse", "domestic_abuse_notification", (day, day), 1.0, "flag")


_REPORTS: dict[str, Callable[[_Reporter], Iterator[Indicator]]] = {
    "education": _school,
    "dwp_benefits": _out_of_work,
    "youth_justice": _youth_offences,
    "neet_tracking": _neet,
    "housing": _rent_arrears,
    "police_notifications": _domestic_abuse,
}
