"""Pairwise decisions: thresholds on match weights, and judgements (people's and sources').

Thresholds are **match weights** (Splink's ``match_weight``: log2 of the posterior odds that
the two records are the same person, prior included), the unit :class:`PairScorer` returns.
A weight ``w`` is the probability ``2**w / (1 + 2**w)``: 0 is 50%, 4.25 is 95%, 10 is
99.9%, 20 is one in a million against. Weights add up across comparisons, so a threshold
reads as "this much evidence".

A human judgement is a hard constraint: a "same person" judgement links two records
whatever the model says, and a "not the same person" judgement keeps them in different
persons whatever later evidence says. For one pair the latest judgement wins.

A source system states "not the same person" when it relates two of its records (one is
the other's parent, child, partner, sibling or carer...): :func:`stated_apart`. It is a
cannot-link rule rather than a person's word: it has no time, so a person's judgement of
the pair, either way, supersedes it, and a person's "same" overrides it in clustering as
it overrides the other cannot-link rules (:mod:`matchers.clustering`). When the source says
which of the two is the parent and since when (a ``PARENT`` or ``CHILD`` relation with its
start), the statement carries that too (:attr:`Judgement.parent`, :attr:`Judgement.since`):
the parent was born at least :data:`YOUNGEST_PARENT` years before it
(:func:`parents_born_by`, a cannot-link rule of :mod:`matchers.constraints`). That fact
outlives the verdict: a person's later judgement of the pair keeps it
(:meth:`Judgement.merged_with`).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

# Source systems that hold only people of at least an age, by law (see
# matchers.constraints): the council-tax liable person is 18 or over (Local Government
# Finance Act 1992, s. 6); the electoral register holds attainers from 16 in England (14 in
# Scotland and Wales, taken here to be safe); adult social care serves adults (Care Act
# 2014), but assesses a young person's transition from childhood before 18 (s. 58), so 14
# is taken to be safe there too.
DEFAULT_ADULT_SOURCES = (("adult_social_care", 14), ("council_tax", 18), ("electoral_roll", 14))
# Source systems whose records of children always carry a date of birth or a unique pupil
# number, so that a record of theirs with neither is a parent's or carer's contact, an adult
# (see matchers.constraints): a school holds each pupil with both, and parents as contacts.
DEFAULT_CONTACT_SOURCES = ("education",)
# Bounds of the two whole-number thresholds: what a JSON summary and the state's stored
# configuration hold (64 bits); past the second nothing changes (dates of birth span the
# years 1000 to today).
MAX_BLOCK_CAP = 2**63 - 1
MAX_DOB_YEARS = 10_000


class Decision(enum.StrEnum):
    LINK = "link"
    REVIEW = "review"
    NO_LINK = "no_link"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Decision thresholds and the clustering rule's parameters, all in match weights.

    - ``link``: a candidate pair at or above this is a link (automatic, no human needed).
    - ``review``: from here up to ``link`` the pair goes to a human (a review item).
    - ``group``: two groups of records join only when the mean weight over all the pairs
      between them is at least this (average linkage, see :mod:`matchers.clustering`).
    - ``floor``: in that mean, a pair weighs at least this; pairs never scored (not
      candidates) or scoring below it count as exactly this.
    - ``block_cap``: a blocking key held by more records than this is over-common and
      yields no candidates.
    - ``dob_years``: records whose birth years are further apart than this can never be
      one person (0: no such rule; see :mod:`matchers.constraints`).
    - ``ambiguity``: a record whose links to two people who can never be one differ by no
      more than this joins neither (see :mod:`matchers.clustering`).
    - ``adult_sources``: (source system, minimum age) of the sources that hold only people
      of at least that age; their records bound a date of birth (a cannot-link rule, see
      :mod:`matchers.constraints`). Sorted by source system.
    - ``contact_sources``: the sources whose records with neither a date of birth nor a
      unique pupil number are adults' contacts (a cannot-link rule, as an adults-only
      source's records are, at 18). Sorted.
    """

    link: float = 6.0
    review: float = 2.0
    group: float = -5.0
    floor: float = -10.0
    block_cap: int = 100
    dob_years: int = 10
    ambiguity: float = 2.0
    adult_sources: tuple[tuple[str, int], ...] = DEFAULT_ADULT_SOURCES
    contact_sources: tuple[str, ...] = DEFAULT_CONTACT_SOURCES

    def __post_init__(self) -> None:
        weights = (self.link, self.review, self.group, self.floor, self.ambiguity)
        if not all(math.isfinite(weight) for weight in weights):
            raise ValueError("thresholds and margins must be numbers (not NaN or infinite)")
        if self.floor > min(self.group, self.link):
            raise ValueError("the floor must not be above the group or link threshold")
        if self.review > self.link:
            raise ValueError("the review threshold must not be above the link threshold")
        if self.block_cap < 2:
            raise ValueError("the block cap must be at least 2")
        if self.block_cap > MAX_BLOCK_CAP:  # (a JSON summary or state holds it as a 64-bit int)
            raise ValueError(f"the block cap must be at most {MAX_BLOCK_CAP:,}")
        if self.dob_years < 0:
            raise ValueError("the birth-year window cannot be negative")
        if self.dob_years > MAX_DOB_YEARS:
            raise ValueError(f"the birth-year window must be at most {MAX_DOB_YEARS:,} years")
        if self.ambiguity < 0:
            raise ValueError("the ambiguity margin cannot be negative")
        sources = tuple(sorted((str(name), int(age)) for name, age in self.adult_sources))
        names = [name for name, _ in sources]
        if len(set(names)) != len(names) or not all(names):
            raise ValueError("each adults-only source is named once, with one minimum age")
        if not all(0 < age <= 120 for _, age in sources):
            raise ValueError("an adults-only source's minimum age is from 1 to 120 years")
        object.__setattr__(self, "adult_sources", sources)
        if isinstance(self.contact_sources, str):
            raise ValueError("the contacts sources are a sequence of names, not one string")
        contacts = tuple(sorted(str(name) for name in self.contact_sources))
        if len(set(contacts)) != len(contacts) or not all(contacts):
            raise ValueError("each contacts source is named once")
        object.__setattr__(self, "contact_sources", contacts)

    def decide(self, weight: float) -> Decision:
        if weight >= self.link:
            return Decision.LINK
        if weight >= self.review:
            return Decision.REVIEW
        return Decision.NO_LINK

    @property
    def stored(self) -> float:
        """Scored pairs at or above this weight are kept in the identity state."""
        return min(self.review, self.floor)


def probability(weight: float) -> float:
    """Match probability of a match weight."""
    if weight == math.inf:
        return 1.0
    return 1.0 / (1.0 + math.pow(2.0, -weight))


def pair_key(a: str, b: str) -> tuple[str, str]:
    """The two record ids of a pair in canonical (sorted) order."""
    return (a, b) if a <= b else (b, a)


def judged_at(moment: dt.datetime) -> str:
    """A judgement's time as :attr:`Judgement.at` holds it: ISO 8601 in UTC to the
    millisecond (``2026-11-27T09:30:00.000+00:00``), one format, so that the texts sort
    as the times do."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class Judgement:
    """A person's decision about two records (the same person, or not), or a source's
    statement that they are not (:func:`stated_apart`).

    ``at`` is an ISO-8601 timestamp in UTC, as :func:`judged_at` writes it (empty for a
    source's statement); for one pair the judgement with the latest ``at`` (then the
    greater ``by``, then "not the same") wins, whatever order they arrive in.

    ``parent`` and ``since``: which of the two records a source holds as the other's parent,
    and the day that relation began (``YYYY-MM-DD``, after 1900-01-01, a placeholder). It
    is a fact about the records rather than a verdict, so it outlives the verdict: the
    judgement a pair keeps is the winning one with the best such fact any source stated
    for the pair (the earliest start, then the greater parent id;
    :meth:`merged_with`), whatever order they arrive in. A person's judgement carries one
    only so.
    """

    record_a: str
    record_b: str
    same: bool
    by: str
    at: str
    parent: str | None = None
    since: str | None = None

    def __post_init__(self) -> None:
        if self.record_a == self.record_b:
            raise ValueError("a judgement needs two different records")
        if (self.parent is None) != (self.since is None) or (
            self.parent is not None and self.parent not in (self.record_a, self.record_b)
        ):
            raise ValueError("a parent is one of the two records, and comes with its since")
        if self.since is not None and not _a_start(self.since):
            raise ValueError(f"since {self.since!r} is not a date after 1900-01-01 (YYYY-MM-DD)")
        a, b = pair_key(self.record_a, self.record_b)
        object.__setattr__(self, "record_a", a)
        object.__setattr__(self, "record_b", b)

    @property
    def pair(self) -> tuple[str, str]:
        return (self.record_a, self.record_b)

    @property
    def verdict(self) -> bool | None:
        """What clustering takes (:func:`matchers.clustering.cluster`): True "same", False
        "not the same", None "not the same" as a source states it (a cannot-link rule,
        which a person's "same" overrides)."""
        return None if self.stated else self.same

    @property
    def stated(self) -> bool:
        """Whether a source system stated it (:func:`stated_apart`), not a person."""
        return not self.at and self.by.startswith(STATED_BY)

    def other(self, record_id: str) -> str:
        return self.record_b if record_id == self.record_a else self.record_a

    def supersedes(self, other: Judgement) -> bool:
        return self._rank() >= other._rank()

    def _rank(self) -> tuple[str, str, bool, tuple[int, str]]:
        # latest first, then by name; at a tie "not the same" (the safer answer) wins, then
        # the better parent fact (every field counts: a total order)
        return (self.at, self.by, not self.same, self._fact())

    def _fact(self) -> tuple[int, str]:
        """How good its parent fact is: the earlier start, then the greater parent id."""
        if self.since is None:
            return (-(1 << 30), "")
        return (-dt.date.fromisoformat(self.since).toordinal(), self.parent or "")

    def merged_with(self, other: Judgement) -> Judgement:
        """What the pair keeps once both were made: the winning verdict, with the better
        parent fact of the two (see the class docstring). Commutative and associative, so
        the result does not depend on the order judgements arrive in."""
        winner = other if other.supersedes(self) else self
        fact = max(self, other, key=Judgement._fact)
        if (winner.parent, winner.since) == (fact.parent, fact.since):
            return winner
        return replace(winner, parent=fact.parent, since=fact.since)


def _a_start(text: str) -> bool:
    """Whether ``text`` is a date written ``YYYY-MM-DD``, after 1900-01-01 (a placeholder)."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-" or text <= "1900-01-01":
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


STATED_BY = "source:"  # a stated judgement's ``by``: this and the source system
YOUNGEST_PARENT = 12  # years: no one becomes a parent (by birth, adoption, fostering) younger


def stated_apart(
    record_a: str,
    record_b: str,
    source_system: str,
    *,
    parent: str | None = None,
    since: dt.date | None = None,
) -> Judgement:
    """A source's statement that two of its records are two people (a relationship between
    them): "not the same", with no time, so that every person's judgement of the pair is
    later and wins. A relationship a source later ends or deletes still counts: two
    records it once related are two people. ``parent``: the record the source holds as
    the other's parent, a relation that began on ``since`` (none without both, or with a
    placeholder start: 1900-01-01 or before)."""
    start = since.isoformat() if since is not None else ""
    known = parent is not None and _a_start(start)
    return Judgement(
        record_a,
        record_b,
        same=False,
        by=f"{STATED_BY}{source_system}",
        at="",
        parent=parent if known else None,
        since=start if known else None,
    )


def parent_of(kind: str, subject: str, related: str) -> str | None:
    """Which record a relation of ``kind`` (``RelationshipKind``, any case) between a
    subject and a related record holds as the parent: the subject of a ``PARENT``
    relation, the related record of a ``CHILD`` one; else none."""
    kind = kind.upper()
    return subject if kind == "PARENT" else related if kind == "CHILD" else None


def parents_born_by(judgements: Iterable[Judgement]) -> dict[str, str]:
    """For each record a source holds as a parent (:attr:`Judgement.parent`), the latest
    date of birth its person can have (ISO): :data:`YOUNGEST_PARENT` years before the
    earliest such relation began. Give the judgements that hold (one per pair)."""
    born_by: dict[str, str] = {}
    for judgement in judgements:
        parent, since = judgement.parent, judgement.since
        if parent is None or since is None:
            continue
        bound = f"{int(since[:4]) - YOUNGEST_PARENT:04d}{since[4:10]}"  # (29 Feb compares fine)
        current = born_by.get(parent)
        if current is None or bound < current:
            born_by[parent] = bound
    return born_by
