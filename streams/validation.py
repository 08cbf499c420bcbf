"""Validation at ingest: decode one Kafka message and check it, as a pure function.

``validate_message`` returns either :class:`Accepted` (the event, cleaned) or
:class:`Rejected` (why, and where the message came from), never raises for bad input, and
touches no service, so a Faust agent, a plain consumer and the tests all use it the same way:

- Undecodable bytes, an event on the wrong topic, missing required values, an operation
  that contradicts its payload, dates no source could mean, a NUL character in any text,
  or a text longer than the store's column for it or than ``TEXT_CHARS`` (PostgreSQL
  refuses such values, and would refuse the whole batch with them; see
  :data:`schemas.events.TEXT_CHARS`) are *rejected*: the message goes to the dead-letter
  twin of its topic (see :mod:`streams.dead_letters`).
- A bad identifier or date inside a person (NHS number failing mod 11, a malformed NI
  number or postcode, a unique pupil number with a wrong check letter, a date of birth in
  the future or before the year 1000, a residence date the matching core's rule refuses:
  :func:`matchers.standardise.check_residence`) is *dropped* from the person and named in
  the person's ``quality_flags``; the person is kept. Well-formed identifiers are
  rewritten in their canonical form (``943 476 5919`` -> ``9434765919``, ``nw12db`` ->
  ``NW1 2DB``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from matchers.decisions import STATED_BY
from matchers.identifiers import check_nhs_number, check_ni_number, check_postcode, check_upn
from matchers.records import SourceRecord
from matchers.standardise import EARLIEST_RESIDENCE, MIN_YEAR, check_residence, check_uprn
from schemas.codec import Codec, CodecError
from schemas.conversions import person_changed, record_from_person
from schemas.events import (
    CODE_CHARS,
    EVENT_TYPES,
    ID_CHARS,
    RECORD_TYPES,
    TEXT_CHARS,
    Address,
    Event,
    JudgementRecorded,
    Operation,
    PartnerIndicator,
    Person,
    PersonChanged,
    PropertyChanged,
    RelationshipKind,
    RelationshipObserved,
    full_name,
)
from schemas.topics import source_of, source_persons

STAGE = "validate"
EARLIEST_DATE = dt.date.fromisoformat(EARLIEST_RESIDENCE)  # (no source means a date before)
LATEST_PLAN_YEARS = 50  # a target or period end may lie ahead, not this far

# Reasons a message is rejected (besides the codec's own, see schemas.codec).
MISSING_FIELD = "missing_field"
SOURCE_MISMATCH = "source_mismatch"
OP_MISMATCH = "op_mismatch"
PERSON_EMPTY = "person_empty"
DATE_OUT_OF_RANGE = "date_out_of_range"
DATES_INVERTED = "dates_inverted"
NO_VALUE = "no_value"
UPRN_FORMAT = "uprn_format"
NUL_CHARACTER = "nul_character"
TOO_LONG = "too_long"
RECORD_ID_FORMAT = "record_id_format"
SAME_RECORD = "same_record"
RESERVED_NAME = "reserved_name"
NAME_FORMAT = "name_format"

_PAIRWISE = frozenset(
    {
        RelationshipKind.PARENT,
        RelationshipKind.CHILD,
        RelationshipKind.PARTNER,
        RelationshipKind.SIBLING,
        RelationshipKind.CARER,
        RelationshipKind.CARED_FOR,
        RelationshipKind.OTHER_RELATIVE,
        RelationshipKind.HOUSEHOLD_MEMBER,
    }
)
_GROUPS = frozenset(
    {
        RelationshipKind.FAMILY_GROUP,
        RelationshipKind.BENEFIT_CLAIM_UNIT,
        RelationshipKind.COUNCIL_TAX_ACCOUNT,
        RelationshipKind.TENANCY,
    }
)
_UPRN = re.compile(r"^\d{1,12}$")


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A message as read from Kafka, before decoding."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid event, cleaned; ``flags`` are the data-quality flags this validation raised."""

    message: RawMessage
    event: Event
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that must go to the dead-letter topic, with the reason (never field values)."""

    message: RawMessage
    reason: str
    detail: str
    event_type: str | None = None
    fingerprint: str | None = None


class _Invalid(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def validate_message(message: RawMessage, codec: Codec, today: dt.date) -> Accepted | Rejected:
    """Decode and validate one message. ``today`` bounds dates (inject a clock in tests)."""
    if message.value is None:
        return Rejected(message, "empty", "message has no value (a tombstone?)")
    try:
        event = codec.decode(message.value, message.topic)
    except CodecError as error:
        return Rejected(message, error.reason, error.detail, error.event_type, error.fingerprint)
    try:
        cleaned, flags = validate_event(event, message.topic, today)
    except _Invalid as invalid:
        return Rejected(message, invalid.reason, invalid.detail, full_name(type(event)))
    return Accepted(message, cleaned, flags)


Checked = tuple[Event, tuple[str, ...]]


def validate_event(event: Event, topic: str, today: dt.date) -> Checked:
    """The event cleaned, with the flags raised; raises ``_Invalid`` for a structural fault."""
    _check_required(event)
    _check_dates(event, today)
    checked = _checked(event, source_of(topic), today)
    _check_text(event)  # (last: a fault of structure is reported whatever the values)
    return checked


def why_invalid(event: Event, topic: str, today: dt.date) -> str | None:
    """Why the workers would dead-letter ``event`` on ``topic`` (None: they would not), for
    a command that publishes to check first."""
    try:
        validate_event(event, topic, today)
    except _Invalid as invalid:
        return invalid.detail
    return None


def held_by_a_worker(record: SourceRecord, system: str, today: dt.date) -> SourceRecord | str:
    """``record`` as a worker holds it once ``hub publish --source system`` has sent it,
    for a command that loads records without the stream (``hub bootstrap``): made an event
    as `hub publish` makes it, validated and cleaned as a worker validates it (identifiers,
    dates, e-mail, residence dates, UPRN), and flattened back as the worker flattens it; or
    why a worker would dead-letter it."""
    midnight = dt.datetime.combine(today, dt.time(), dt.UTC)
    event = person_changed(record, system, Operation.SNAPSHOT_READ, now=midnight, event_id="-")
    try:
        cleaned, _flags = validate_event(event, source_persons(system), today)
    except _Invalid as invalid:
        return invalid.detail
    assert isinstance(cleaned, PersonChanged) and cleaned.after is not None
    return record_from_person(system, cleaned.source_record_id, cleaned.after, cleaned.source_ts)


def _checked(event: Event, source: str | None, today: dt.date) -> Checked:
    if isinstance(event, PersonChanged):
        return _person_changed(event, source, today)
    if isinstance(event, RelationshipObserved):
        return _relationship(event, source)
    if isinstance(event, PropertyChanged):
        return _property(event, source)
    if isinstance(event, PartnerIndicator):
        return _indicator(event, source, today)
    if isinstance(event, JudgementRecorded):
        return _judgement(event, today)
    return event, ()


def _same_source(named: str, source: str | None, field: str = "source_system") -> None:
    if source is not None and named != source:
        raise _Invalid(SOURCE_MISMATCH, f"{field} differs from the topic's ({source})")


def _person_changed(event: PersonChanged, source: str | None, today: dt.date) -> Checked:
    _same_source(event.source_system, source)
    if (event.op is Operation.DELETE) != (event.after is None):
        payload = "absent" if event.after is None else "present"
        raise _Invalid(OP_MISMATCH, f"op {event.op} with after {payload}")
    if event.after is None:
        return event, ()
    after, flags = clean_person(event.after, today)
    return dataclasses.replace(event, after=after), flags


def _relationship(event: RelationshipObserved, source: str | None) -> Checked:
    _same_source(event.source_system, source)
    if event.kind in _PAIRWISE and not event.related_record_id:
        raise _Invalid(MISSING_FIELD, f"a {event.kind} relation needs related_record_id")
    if event.kind in _GROUPS and not event.group_id:
        raise _Invalid(MISSING_FIELD, f"a {event.kind} membership needs group_id")
    return event, ()


def _judgement(event: JudgementRecorded, today: dt.date) -> Checked:
    for name in ("record_id", "other_record_id"):
        if not _RECORD_ID.match(getattr(event, name)):
            raise _Invalid(RECORD_ID_FORMAT, f"{name} is not <source_system>:<source_record_id>")
    if event.record_id == event.other_record_id:
        raise _Invalid(SAME_RECORD, "a judgement needs two different records")
    if any(_control(c) for c in event.judged_by):
        raise _Invalid(NAME_FORMAT, "judged_by holds a control character or a line break")
    if event.judged_by.startswith(STATED_BY):
        raise _Invalid(RESERVED_NAME, f"judged_by starting {STATED_BY!r} is kept for sources")
    if not EARLIEST_DATE <= event.judged_at.date() <= today + dt.timedelta(days=1):
        raise _Invalid(DATE_OUT_OF_RANGE, "judged_at is in the future or before 1890")
    return event, ()


def _control(character: str) -> bool:
    """A character that moves or rewrites what a terminal shows: a control character, a
    line or paragraph break, a bidirectional override (not the joiners names use)."""
    return unicodedata.category(character) in ("Cc", "Zl", "Zp") or character in _BIDI


_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# a record id as the hub keeps it: a source system's name, a colon, an id with no space
# at either end
_RECORD_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}:\S(?:.*\S)?\Z", re.DOTALL)  # (not "$": "\n")


def _property(event: PropertyChanged, source: str | None) -> Checked:
    _same_source(event.source_system, source)
    if not _UPRN.match(event.uprn.strip()):
        raise _Invalid(UPRN_FORMAT, "uprn is not 1 to 12 digits")
    postcode, _problem = check_postcode(event.postcode)
    if postcode is not None and postcode != event.postcode:
        return dataclasses.replace(event, postcode=postcode), ()
    return event, ()


def _indicator(event: PartnerIndicator, source: str | None, today: dt.date) -> Checked:
    _same_source(event.dataset, source, "dataset")
    if event.op is not Operation.DELETE and event.value is None and event.category is None:
        raise _Invalid(NO_VALUE, "an indicator needs a value or a category")
    if event.person is None:
        return event, ()
    person, flags = clean_person(event.person, today, require_content=False)
    return dataclasses.replace(event, person=person), flags


def clean_person(
    person: Person, today: dt.date, *, require_content: bool = True
) -> tuple[Person, tuple[str, ...]]:
    """The person with bad identifiers and impossible dates dropped, and the flags raised;
    unless it need not, one that has no name, date of birth or identifier left is refused
    (a row whose only values were a future date or a bad NHS number matched nothing)."""
    flags: list[str] = []
    cleaned: dict[str, object] = {
        "nhs_number": _identifier(person.nhs_number, check_nhs_number, flags),
        "ni_number": _identifier(person.ni_number, check_ni_number, flags),
        "upn": _identifier(person.upn, check_upn, flags),
        "dob": _dob(person.dob, today, flags),
        "email": _email(person.email, flags),
        "address": _clean_address(person.address, today, flags),
        "previous_addresses": tuple(
            _clean_address(a, today, flags) or a for a in person.previous_addresses
        ),
    }
    changes = {k: v for k, v in cleaned.items() if v != getattr(person, k)}
    if require_content and not _has_content(person, cleaned):
        raise _Invalid(PERSON_EMPTY, "the person has no name, date of birth or identifier")
    if not changes and not flags:
        return person, ()
    raised = tuple(dict.fromkeys(flags))
    changes["quality_flags"] = tuple(dict.fromkeys((*person.quality_flags, *raised)))
    return dataclasses.replace(person, **changes), raised  # type: ignore[arg-type]


def _dob(dob: dt.date | None, today: dt.date, flags: list[str]) -> dt.date | None:
    if dob is not None and dob > today:
        flags.append("dob_in_future")
        return None
    if dob is not None and dob.year < MIN_YEAR:  # (the matching core's bound: history's)
        flags.append("dob_invalid")
        return None
    return dob


def _email(email: str | None, flags: list[str]) -> str | None:
    if email is not None and not _is_email(email.strip()):
        flags.append("email_format")
        return None
    return email


def _is_email(text: str) -> bool:
    """No whitespace, one ``@`` with text before it, and a dot inside the domain: in one
    pass (a regular expression for it took time growing with the square of the length)."""
    local, at, domain = text.partition("@")
    return (
        bool(local and at)
        and "@" not in domain
        and "." in domain[1:-1]
        and not any(character.isspace() for character in text)
    )


def _has_content(person: Person, cleaned: Mapping[str, object]) -> bool:
    """Whether a name, or a date of birth or identifier that cleaning kept, is left."""
    return bool(
        person.first_name
        or person.last_name
        or any(cleaned[name] for name in ("dob", "nhs_number", "ni_number", "upn"))
    )


def _identifier(
    value: str | None,
    check: Callable[[str | None], tuple[str | None, str | None]],
    flags: list[str],
) -> str | None:
    canonical, problem = check(value)
    if problem is not None:
        flags.append(problem)
    return canonical


def _clean_address(address: Address | None, today: dt.date, flags: list[str]) -> Address | None:
    if address is None:
        return None
    changes: dict[str, object] = {}
    if address.postcode is not None:
        postcode, problem = check_postcode(address.postcode)
        if problem is not None:
            flags.append(problem)
        if postcode != address.postcode:
            changes["postcode"] = postcode
    if address.uprn is not None:  # read as the matching core reads it (a spreadsheet's .0)
        uprn, problem = check_uprn(address.uprn)
        if problem is not None:
            flags.append(problem)
        if uprn != address.uprn:
            changes["uprn"] = uprn
    old_start, old_end = address.residence_start, address.residence_end
    if old_start is not None or old_end is not None:  # (the matching core's rule)
        start, end, raised = check_residence(
            old_start.isoformat() if old_start else None,
            old_end.isoformat() if old_end else None,
            today.isoformat(),
        )
        flags.extend(raised)
        if start is None and old_start is not None:
            changes["residence_start"] = None
        if end is None and old_end is not None:
            changes["residence_end"] = None
    return dataclasses.replace(address, **changes) if changes else address  # type: ignore[arg-type]


# -- structure shared by every event type --------------------------------------------------


def _required_strings(event_type: type) -> tuple[str, ...]:
    """Fields typed plain ``str`` (required in the schema): they must not be blank."""
    hints = typing.get_type_hints(event_type)
    return tuple(f.name for f in dataclasses.fields(event_type) if hints[f.name] is str)


def _date_fields(event_type: type) -> tuple[str, ...]:
    hints = typing.get_type_hints(event_type)
    dates = (dt.date, dt.date | None)
    return tuple(f.name for f in dataclasses.fields(event_type) if hints[f.name] in dates)


_REQUIRED = {t: _required_strings(t) for t in EVENT_TYPES}
_DATES = {t: _date_fields(t) for t in EVENT_TYPES}


def _check_required(event: Event) -> None:
    for name in _REQUIRED[type(event)]:
        if not getattr(event, name).strip():
            raise _Invalid(MISSING_FIELD, f"{type(event).__name__}.{name} is empty")


def _check_text(event: Event) -> None:
    found = _bad_text_at(event)
    if found is not None:
        where, reason, problem = found
        raise _Invalid(reason, f"{type(event).__name__}{where} {problem}")
    bounded = _BOUNDED.get(type(event), ())
    system: str = getattr(event, "source_system", None) or getattr(event, "dataset", None) or ""
    for name, longest, prefixed in bounded:
        value = getattr(event, name)
        if value is None:
            continue
        length = len(value) + (len(system) + 1 if prefixed else 0)
        if length > longest:
            what = "makes a record id of" if prefixed else "is"
            raise _Invalid(
                TOO_LONG,
                f"{type(event).__name__}.{name} {what} {length} characters (at most {longest})",
            )


def _bad_text_at(value: object) -> tuple[str, str, str] | None:
    """The first text in ``value`` (an event, or a part of one) holding a NUL character
    or longer than ``TEXT_CHARS``: where (``.field.field``), the reason and the problem;
    None if there is none."""
    if isinstance(value, str):
        return _bad_string(value)
    if isinstance(value, tuple):
        return next((found for part in value if (found := _bad_text_at(part)) is not None), None)
    if isinstance(value, Mapping):
        return next(
            (("[]", *found[1:]) for pair in value.items() if (found := _bad_text_at(pair))),
            None,
        )
    for name in _FIELD_NAMES.get(type(value), ()):  # (a number or a date has none)
        item = getattr(value, name)
        if item is not None and (found := _bad_text_at(item)) is not None:
            return f".{name}{found[0]}", found[1], found[2]
    return None


def _bad_string(value: str) -> tuple[str, str, str] | None:
    if "\x00" in value:
        return "", NUL_CHARACTER, "holds a NUL character"
    if len(value) > TEXT_CHARS:
        return "", TOO_LONG, f"is longer than {TEXT_CHARS:,} characters"
    return None


# Texts the store keeps in bounded columns: (field, longest, whether it is kept as
# "<system>:<value>", a record id).
_BOUNDED: dict[type, tuple[tuple[str, int, bool], ...]] = {
    PersonChanged: (("source_system", CODE_CHARS, False), ("source_record_id", ID_CHARS, True)),
    RelationshipObserved: (
        ("source_system", CODE_CHARS, False),
        ("relationship_id", ID_CHARS, True),
        ("subject_record_id", ID_CHARS, True),
        ("related_record_id", ID_CHARS, True),
        ("group_id", ID_CHARS, False),
        ("role", CODE_CHARS, False),
    ),
    JudgementRecorded: (
        ("record_id", ID_CHARS, False),
        ("other_record_id", ID_CHARS, False),
        ("judged_by", ID_CHARS, False),
    ),
    PartnerIndicator: (
        ("dataset", CODE_CHARS, False),
        ("source_system", CODE_CHARS, False),
        ("indicator", CODE_CHARS, False),
        ("source_record_id", ID_CHARS, True),
    ),
}
_FIELD_NAMES = {t: tuple(f.name for f in dataclasses.fields(t)) for t in RECORD_TYPES}


def _check_dates(event: Event, today: dt.date) -> None:
    """Dates on the event itself (periods, allocations, steps); person dates are cleaned.
    A source time ahead of tomorrow is a clock or a typing error, and would hold the
    record against every real change after it (the time is its version)."""
    written = getattr(event, "source_ts", None)
    if written is not None and written.date() > today + dt.timedelta(days=1):
        raise _Invalid(DATE_OUT_OF_RANGE, f"{type(event).__name__}.source_ts is in the future")
    latest = today + dt.timedelta(days=365 * LATEST_PLAN_YEARS)
    names = _DATES[type(event)]
    for name in names:
        value = getattr(event, name)
        if value is not None and not EARLIEST_DATE <= value <= latest:
            raise _Invalid(DATE_OUT_OF_RANGE, f"{type(event).__name__}.{name} is out of range")
    for first, last in (("start", "end"), ("period_start", "period_end")):
        if first in names and last in names:
            a, b = getattr(event, first), getattr(event, last)
            if a is not None and b is not None and b < a:
                raise _Invalid(DATES_INVERTED, f"{type(event).__name__}.{last} is before {first}")
