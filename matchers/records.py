"""Records as the matching core sees them: raw source records in, standardised records out.

Input files and events use the canonical field names in :data:`CANONICAL_FIELDS`; a
``--map column=field`` option renames others. Any field may be missing or empty except
``record_id``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CANONICAL_FIELDS: tuple[str, ...] = (
    "record_id",
    "source_system",
    "first_name",
    "middle_name",
    "last_name",
    "dob",
    "sex",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "uprn",
    "nhs_number",
    "ni_number",
    "upn",
    "phone",
    "email",
)


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One person as one source system holds them, before any cleaning.

    ``record_id`` is unique across the whole index (for events it is the source system and
    the source's own record id joined by a colon). ``residence_start``/``residence_end`` are
    ISO dates when the source knows them; ``updated_at`` is the source's own change time
    (ISO timestamp), used by survivorship rules to find the most recent address.
    """

    record_id: str
    source_system: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    dob: str | None = None
    sex: str | None = None
    address_line_1: str | None = None
    address_line_2: str | None = None
    town: str | None = None
    postcode: str | None = None
    uprn: str | None = None
    nhs_number: str | None = None
    ni_number: str | None = None
    upn: str | None = None
    phone: str | None = None
    email: str | None = None
    residence_start: str | None = None
    residence_end: str | None = None
    updated_at: str | None = None


@dataclass(frozen=True, slots=True)
class StandardRecord:
    """A record after standardisation: every field cleaned, derived match keys filled in.

    Missing or invalid values are ``None``; why a value was dropped is recorded in ``flags``
    (for example ``"nhs_number_invalid"`` or ``"dob_placeholder"``).
    """

    record_id: str
    source_system: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    first_name_group: str | None = None  # nickname/variant group, e.g. "robert" for Bob
    dob: str | None = None  # ISO yyyy-mm-dd
    sex: str | None = None  # "m" / "f" / None
    address_line_1: str | None = None
    address_line_2: str | None = None
    town: str | None = None
    postcode: str | None = None  # "NW1 2DB"
    postcode_sector: str | None = None  # "NW1 2"
    postcode_district: str | None = None  # "NW1"
    uprn: str | None = None
    address_key: str | None = None  # "uprn:<n>", else address_text_key: for households
    address_text_key: str | None = None  # "<premise>|<postcode>", e.g. "flat a 22 ivy road|NW1 9SE"
    nhs_number: str | None = None
    ni_number: str | None = None
    upn: str | None = None
    phone: str | None = None
    email: str | None = None
    residence_start: str | None = None
    residence_end: str | None = None
    updated_at: str | None = None
    flags: frozenset[str] = field(default_factory=frozenset)
