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
    """What the matcher decided for one record: its best candidate and the outcome.

    By the model (``decided_by="model"``), after an upsert: the candidate with the
    highest match weight (``None`` when the record had no candidate), the decision for that
    pair (``"link"``, ``"review"`` or ``"no_link"``) and the person the record belongs to
    now. By a human (``"human"``), after a judgement: ``"link"`` for "same person",
    ``"no_link"`` for "not the same", with no weight. By a rule (``"rule"``), after a
    source related two records (:func:`~matchers.decisions.stated_apart`): ``"no_link"``,
    with no weight.
    """

    record_id: str
    candidate_record_id: str | None
    decision: str
    match_weight: float | None
    model_version: str
    person_id: str | None
    decided_by: str = "model"
    candidates: int = 0  # candidate pairs scored for this record


@dataclass(frozen=True, slots=True)
class ReviewItemRaised:
    """Two records a person should look at.

    ``reason``: ``"review_band"`` (the pair scored between the review and link thresholds),
    ``"weak_bridge"`` (the pair scored above the link threshold but linking it would
    have chained two otherwise separate persons, so clustering kept them apart),
    ``"constraint_conflict"`` (the pair scored above the link threshold but a cannot-link
    rule kept their persons apart: a judgement, a source's statement, different NHS
    numbers, dates of birth a generation apart...) or ``"ambiguous"`` (one of the two
    records links about equally to two people who cannot be one, a father and a son of
    one name, so it joins neither; or is linked much more strongly to such a record than
    by this pair).
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
    """A person was created or changed: the golden record, every linked source record,
    the old ids merged into it, and the household (None: no known address)."""

    person_id: str
    golden: GoldenRecord
    record_ids: tuple[str, ...]
    alias_ids: tuple[str, ...]
    household_id: str | None
    version: int = 1  # of this person: goes up by one at every change


@dataclass(frozen=True, slots=True)
class PersonsMerged:
    """Persons were found to be one: ``merged_person_ids`` are now aliases of ``person_id``
    (the oldest id survives), which now holds ``record_ids``."""

    person_id: str
    merged_person_ids: tuple[str, ...]
    record_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PersonPart:
    person_id: str
    record_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PersonSplit:
    """A person was found to be several. ``parts`` are where its records went, the first
    being the largest part, which keeps ``person_id``; a part may be another existing
    person the records joined."""

    person_id: str
    parts: tuple[PersonPart, ...]


@dataclass(frozen=True, slots=True)
class PersonRemoved:
    """Every record of the person was deleted: the id is retired."""

    person_id: str


@dataclass(frozen=True, slots=True)
class HouseholdMember:
    """A resident and their residence period at the address (ISO dates; None: unknown)."""

    person_id: str
    start: str | None
    end: str | None


@dataclass(frozen=True, slots=True)
class HouseholdChanged:
    """A household was formed, changed members, or dissolved (``members`` empty).

    ``household_key`` is where it lives: ``uprn:<uprn>`` (the basis is the property) or
    ``address:<normalised address>``. ``moved_in``/``moved_out`` are person ids since the
    last change; ``merged_from`` lists household ids absorbed into this one (now aliases).
    """

    household_id: str
    household_key: str
    members: tuple[HouseholdMember, ...]
    moved_in: tuple[str, ...]
    moved_out: tuple[str, ...]
    merged_from: tuple[str, ...] = ()
    version: int = 1  # of this household: goes up by one at every change


Event = (
    MatchDecided
    | ReviewItemRaised
    | PersonUpserted
    | PersonsMerged
    | PersonSplit
    | PersonRemoved
    | HouseholdChanged
)
