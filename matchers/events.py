"""Domain events the resolver emits: what happened, in the past tense.

Each is a frozen dataclass of plain fields (strings, numbers, tuples, nested frozen
dataclasses) so that it maps one-to-one to an Avro record. Ids: ``record_id`` is a source
record (``system:id``), ``person_id`` a master person id (``P`` + 9 digits), and
``household_id`` a household (``H`` + 9 digits); a smaller number is an older id.
"""

from __future__ import annotations

from dataclasses import dataclass

from matchers.records import StandardRecord
from matchers.survivorship import GoldenRecord


@dataclass(frozen=True, slots=True)
class FieldWeight:
    """One line of a match-weight waterfall: a comparison, the level the pair fell in, and
    the match weight that level contributes (the prior is the line named ``prior``)."""

    comparison: str
    level: str
    match_weight: float


@dataclass(frozen=True, slots=True)
class MatchDecided:
    """A candidate pair was scored at or above the review threshold and decided.

    ``decision`` is ``"link"`` or ``"review"`` (pairs below the review threshold are
    counted, not announced). A link decision is evidence; whether it joins two persons is
    the clustering's call (see ``PersonsMerged`` / ``ReviewItemRaised``).
    """

    record_id: str
    other_record_id: str
    match_weight: float
    decision: str
    model_version: str


@dataclass(frozen=True, slots=True)
class ReviewItemRaised:
    """Two records a person should look at.

    ``reason``: ``"review_band"`` (the pair scored between the review and link thresholds)
    or ``"weak_bridge"`` (the pair scored above the link threshold but linking it would
    have chained two otherwise separate persons, so clustering kept them apart).
    """

    record_id: str
    other_record_id: str
    match_weight: float
    reason: str
    record: StandardRecord
    other_record: StandardRecord
    explanation: tuple[FieldWeight, ...]
    model_version: str


@dataclass(frozen=True, slots=True)
class PersonUpserted:
    """A person was created or changed: their golden record and every linked source record
    (``golden.sources``), with the household they belong to (None: no known address)."""

    person_id: str
    golden: GoldenRecord
    household_id: str | None


@dataclass(frozen=True, slots=True)
class PersonsMerged:
    """Persons were found to be one: ``merged_person_ids`` are now aliases of ``person_id``
    (the oldest id survives)."""

    person_id: str
    merged_person_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PersonSplit:
    """Some records of ``person_id`` no longer belong to it: they now make up the persons
    ``split_person_ids``. The largest part keeps ``person_id``."""

    person_id: str
    split_person_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PersonRemoved:
    """Every record of the person was deleted: the id is retired."""

    person_id: str


@dataclass(frozen=True, slots=True)
class HouseholdChanged:
    """A household was formed, changed members, or dissolved (``person_ids`` empty).

    ``household_key`` is where it lives (``uprn:...`` or ``address:...``); ``merged_from``
    lists household ids absorbed into this one (they become aliases).
    """

    household_id: str
    household_key: str | None
    person_ids: tuple[str, ...]
    moved_in: tuple[str, ...]
    moved_out: tuple[str, ...]
    merged_from: tuple[str, ...] = ()


Event = (
    MatchDecided
    | ReviewItemRaised
    | PersonUpserted
    | PersonsMerged
    | PersonSplit
    | PersonRemoved
    | HouseholdChanged
)
