"""Every topic name the hub uses, and the one event type each topic carries.

- ``src.<system>.persons`` (PersonChanged), ``src.<system>.relationships``
  (RelationshipObserved) and ``src.<system>.properties`` (PropertyChanged, from the
  property gazetteer): what each council system publishes, key ``<system>:<record id>``.
- ``partner.<dataset>`` (PartnerIndicator): partner agencies' datasets.
- ``cms.workers``, ``cms.teams``, ``cms.allocations``, ``cms.workflow_steps``: the
  case-management extracts.
- ``hub.*``: what the hub publishes; and ``hub.judgements`` (JudgementRecorded), people's
  judgements of review items, which the hub reads.
- ``<topic>.dlq``: the dead-letter twin of every topic (DeadLettered).

System, dataset and entity names are lower-case words joined by underscores.
"""

from __future__ import annotations

import re
from functools import cache

from hub.errors import UsageError
from schemas.events import (
    Allocation,
    DeadLettered,
    Event,
    HouseholdChanged,
    JudgementRecorded,
    MatchDecided,
    PartnerIndicator,
    PersonChanged,
    PersonRemoved,
    PersonsMerged,
    PersonSplit,
    PersonUpserted,
    PropertyChanged,
    RelationshipObserved,
    ReviewItemRaised,
    Team,
    Worker,
    WorkflowStep,
)

# The council systems of the reference deployment (any well-formed name is accepted).
SOURCE_SYSTEMS: tuple[str, ...] = (
    "citizen_portal",
    "customer_service",
    "council_tax",
    "education",
    "electoral_roll",
    "early_years",
    "adult_social_care",
    "child_social_care",
    "housing",
    "housing_benefits",
    "libraries",
    "property_gazetteer",
    "mosaic",
    "parking_permits",
    "accessible_transport",
    # partner agencies' own person files, so their indicators can be linked to residents
    "dwp_benefits",
    "youth_justice",
    "neet_tracking",
    "police_notifications",
)
PARTNER_DATASETS: tuple[str, ...] = (
    "school_attendance",
    "school_exclusions",
    "out_of_work_benefits",
    "youth_offending",
    "neet",
    "rent_arrears",
    "domestic_abuse",
    "domestic_abuse_notifications",
)

CMS_WORKERS = "cms.workers"
CMS_TEAMS = "cms.teams"
CMS_ALLOCATIONS = "cms.allocations"
CMS_WORKFLOW_STEPS = "cms.workflow_steps"

HUB_MATCH_DECISIONS = "hub.match_decisions"
HUB_PERSONS = "hub.persons"
HUB_PERSON_MERGES = "hub.person_merges"
HUB_PERSON_SPLITS = "hub.person_splits"
HUB_PERSON_REMOVALS = "hub.person_removals"
HUB_HOUSEHOLDS = "hub.households"
HUB_REVIEW_ITEMS = "hub.review_items"
HUB_JUDGEMENTS = "hub.judgements"  # in: people's judgements of review items

DEAD_LETTER_SUFFIX = ".dlq"

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")  # (\Z: "$" lets a final line break by)

_FIXED: dict[str, type[Event]] = {
    CMS_WORKERS: Worker,
    CMS_TEAMS: Team,
    CMS_ALLOCATIONS: Allocation,
    CMS_WORKFLOW_STEPS: WorkflowStep,
    HUB_MATCH_DECISIONS: MatchDecided,
    HUB_PERSONS: PersonUpserted,
    HUB_PERSON_MERGES: PersonsMerged,
    HUB_PERSON_SPLITS: PersonSplit,
    HUB_PERSON_REMOVALS: PersonRemoved,
    HUB_HOUSEHOLDS: HouseholdChanged,
    HUB_REVIEW_ITEMS: ReviewItemRaised,
    HUB_JUDGEMENTS: JudgementRecorded,
}
_PATTERNS: tuple[tuple[re.Pattern[str], type[Event]], ...] = (
    (re.compile(r"^src\.([a-z][a-z0-9_]*)\.persons$"), PersonChanged),
    (re.compile(r"^src\.([a-z][a-z0-9_]*)\.relationships$"), RelationshipObserved),
    (re.compile(r"^src\.([a-z][a-z0-9_]*)\.properties$"), PropertyChanged),
    (re.compile(r"^partner\.([a-z][a-z0-9_]*)$"), PartnerIndicator),
)


def check_name(name: str, what: str = "source system") -> str:
    """``name`` if it can be part of a topic name; else a one-line UsageError."""
    if len(name) > 63 and _NAME.match(name[:63]):
        raise UsageError(f"{what} {name[:20]!r}... is longer than 63 characters")
    if not _NAME.match(name):
        raise UsageError(
            f"{what} {name!r} must be lower-case letters, digits and underscores, "
            "starting with a letter (e.g. council_tax)"
        )
    return name


def source_persons(system: str) -> str:
    return f"src.{check_name(system)}.persons"


def source_relationships(system: str) -> str:
    return f"src.{check_name(system)}.relationships"


def source_properties(system: str) -> str:
    return f"src.{check_name(system)}.properties"


def partner(dataset: str) -> str:
    return f"partner.{check_name(dataset, 'partner dataset')}"


def dead_letter(topic: str) -> str:
    """The dead-letter twin of a topic."""
    return f"{topic}{DEAD_LETTER_SUFFIX}"


@cache  # called for every message decoded; a process reads few topics
def event_type_for(topic: str) -> type[Event] | None:
    """The event type a topic carries, or None for a topic outside the naming scheme."""
    if topic.endswith(DEAD_LETTER_SUFFIX):
        return DeadLettered
    fixed = _FIXED.get(topic)
    if fixed is not None:
        return fixed
    for pattern, event_type in _PATTERNS:
        if pattern.match(topic):
            return event_type
    return None


def source_of(topic: str) -> str | None:
    """The source system or partner dataset named in a ``src.*`` or ``partner.*`` topic."""
    for pattern, _event_type in _PATTERNS:
        match = pattern.match(topic)
        if match:
            return match.group(1)
    return None
