"""UK identifiers: check and normalise, or say why not.

Each ``clean_*`` function returns the identifier in its canonical form, or ``None`` when
the value is missing or invalid. ``check_*`` returns the canonical form or a short reason,
for data-quality flags and dead-letter reasons. All are idempotent on their own output.
"""

from __future__ import annotations

import re

from stdnum.exceptions import ValidationError
from stdnum.gb import nhs, upn

_SPACES = re.compile(r"[\s\-./]+")
_NI = re.compile(r"^([A-CEGHJ-PR-TW-Z])([A-CEGHJ-NPR-TW-Z])(\d{6})([A-D]?)$")
_NI_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
# Outward code (area, district) and inward code (sector digit, unit letters); GIR 0AA too.
_POSTCODE = re.compile(r"^(GIR0AA|[A-Z]{1,2}\d[A-Z\d]?\d[ABD-HJLNP-UW-Z]{2})$")


def _compact(value: str | None) -> str:
    return _SPACES.sub("", value or "").upper()


def check_nhs_number(value: str | None) -> tuple[str | None, str | None]:
    """(10-digit NHS number, None) if valid; (None, reason) if present but invalid."""
    number = _compact(value)
    if not number:
        return None, None
    if not number.isdigit() or len(number) != 10:
        return None, "nhs_number_format"
    if not nhs.is_valid(number):
        return None, "nhs_number_check_digit"
    if len(set(number)) == 1:  # 0000000000 and friends pass mod 11 but are placeholders
        return None, "nhs_number_placeholder"
    return number, None


def check_upn(value: str | None) -> tuple[str | None, str | None]:
    """(13-character unique pupil number, None) if valid; (None, reason) if not."""
    number = _compact(value)
    if not number:
        return None, None
    if len(number) != 13:
        return None, "upn_format"
    try:
        return upn.validate(number), None
    except ValidationError:
        return None, "upn_check_letter"


def check_ni_number(value: str | None) -> tuple[str | None, str | None]:
    """(National Insurance number like 'QQ123456C', None) if well formed; (None, reason) if not.

    There is no check digit: the prefix rules are all that can be checked. The suffix
    letter is optional on input (some systems drop it) and kept when present.
    """
    number = _compact(value)
    if not number:
        return None, None
    match = _NI.match(number)
    if match is None or number[:2] in _NI_BAD_PREFIXES:
        return None, "ni_number_format"
    return number, None


def check_postcode(value: str | None) -> tuple[str | None, str | None]:
    """(postcode as 'NW1 2DB', None) if it has the UK format; (None, reason) if not."""
    compact = _compact(value)
    if not compact:
        return None, None
    if not _POSTCODE.match(compact):
        return None, "postcode_format"
    return f"{compact[:-3]} {compact[-3:]}", None


def clean_nhs_number(value: str | None) -> str | None:
    return check_nhs_number(value)[0]


def clean_upn(value: str | None) -> str | None:
    return check_upn(value)[0]


def clean_ni_number(value: str | None) -> str | None:
    return check_ni_number(value)[0]


def clean_postcode(value: str | None) -> str | None:
    return check_postcode(value)[0]


def postcode_sector(postcode: str | None) -> str | None:
    """'NW1 2DB' -> 'NW1 2' (expects a cleaned postcode)."""
    return postcode[:-2] if postcode else None


def postcode_district(postcode: str | None) -> str | None:
    """'NW1 2DB' -> 'NW1' (expects a cleaned postcode)."""
    return postcode.split(" ")[0] if postcode else None
