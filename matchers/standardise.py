"""Standardisation: one clean, comparable form for every field of a source record.

:func:`standardise` implements the :class:`~matchers.ports.Standardiser` port. Every
value is either cleaned or dropped to ``None`` with a flag saying why (for example
``dob_placeholder``, ``nhs_number_check_digit``, ``phone_format``); nothing raises.
Standardising is idempotent: feeding a standard record's values back in gives the same
values again (the flags of the second pass are a subset of the first). Residence dates
follow the rule ingest validation applies (:func:`check_residence`), so a file gives the
same households through `hub link` and through the stream.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime
from functools import lru_cache

from anyascii import anyascii

from matchers import identifiers as ids
from matchers.names import clean_family_name, clean_given_name, name_group
from matchers.records import SourceRecord, StandardRecord

# Dates that systems put in when the real date of birth is unknown.
PLACEHOLDER_FLAG = "dob_placeholder"  # a placeholder date, which is left out (read_dob)
PLACEHOLDER_DOBS: frozenset[str] = frozenset(
    {
        "1753-01-01",  # SQL Server's smallest datetime
        "1800-01-01",
        "1899-12-30",  # spreadsheet day zero
        "1899-12-31",
        "1900-01-01",
        "1901-01-01",
        "1970-01-01",  # Unix epoch
        "2099-12-31",
    }
)
MIN_YEAR, MAX_YEAR = 1000, 2099  # outside this range a date of birth is not believable

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.+\-Z]*)?$")
_YMD = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{4})(?: [\d:.]+)?$")
_DMY_SHORT_YEAR = re.compile(r"^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2}$")
_DIGITS8 = re.compile(r"^\d{8}$")
_YEAR4 = re.compile(r"\b\d{4}\b")
_YEAR_FIRST = re.compile(r"^\d{4}\D")

_SEX = {
    "m": "m", "male": "m", "man": "m", "boy": "m", "1": "m",
    "f": "f", "female": "f", "woman": "f", "girl": "f", "2": "f",
}  # fmt: skip
_SEX_UNKNOWN = frozenset({"u", "unknown", "not known", "notknown", "n/k", "nk", "0", "9",
                          "x", "i", "indeterminate", "not specified", "other", "o"})  # fmt: skip

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PLACEHOLDER_EMAIL_USERS = frozenset(
    {"noemail", "no-email", "no.email", "none", "noreply", "no-reply", "donotreply", "unknown",
     "notknown", "not.known", "na", "n.a", "nil", "null", "test", "dummy"}
)  # fmt: skip
_PLACEHOLDER_EMAIL_DOMAINS = frozenset(
    {"none.com", "noemail.com", "test.com", "nomail.com", "noemail.co.uk", "none.co.uk"}
)
_PHONE_JUNK = re.compile(r"[\s().\-/]+")

_ADDRESS_DROPPED = re.compile(r"['`’.]")
_ADDRESS_SEPARATORS = re.compile(r"[^a-z0-9]+")
# Street-type abbreviations expanded when they are the last word of a line.
_STREET_TYPES = {
    "rd": "road", "st": "street", "ave": "avenue", "av": "avenue", "ln": "lane",
    "dr": "drive", "ct": "court", "cres": "crescent", "cl": "close", "gdns": "gardens",
    "gr": "grove", "pl": "place", "sq": "square", "terr": "terrace", "ter": "terrace",
    "pk": "park", "hwy": "highway", "wy": "way",
}  # fmt: skip


def _system_of(record_id: str) -> str | None:
    """The source system a record id names (``council_tax:7``), as the stream names a
    record, for a file with no ``source_system`` column."""
    system, colon, own_id = record_id.partition(":")
    return _text(system) if colon and own_id else None


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    return text or None


@lru_cache(maxsize=65_536)
def check_dob(value: str | None) -> tuple[str | None, str | None]:  # noqa: PLR0911
    """(ISO date, None) for a believable date of birth; (None, reason) otherwise.

    Reads ISO (``1971-06-24``, with or without a time), ``YYYYMMDD``, ``YYYY/MM/DD`` and UK
    day-first forms (``24/06/1971``, ``24-6-1971``, ``24.06.1971``), then free text such
    as ``24 June 1971``. Reasons: ``dob_format`` (unreadable, or a two-digit year),
    ``dob_invalid`` (no such day, or a year outside 1000-2099), ``dob_placeholder``,
    ``dob_in_future`` (after today, as ingest validation rejects it too).
    """
    text = _text(value)
    if text is None:
        return None, None
    parts = _date_parts(text)
    if parts is None:
        return None, "dob_format"
    year, month, day = parts
    if not (MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12):
        return None, "dob_invalid"
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None, "dob_invalid"
    iso = f"{year:04d}-{month:02d}-{day:02d}"
    if iso in PLACEHOLDER_DOBS:
        return None, PLACEHOLDER_FLAG
    if iso > utc_today():  # nobody is born in the future: a typo in the year
        return None, "dob_in_future"
    return iso, None


def utc_today() -> str:
    """Today in UTC, ISO: the day ingest validation checks dates against, wherever the
    machine's clock is set."""
    return datetime.now(UTC).date().isoformat()


def read_date(value: str) -> date | None:
    """A date written in any form :func:`check_dob` reads, or None; no check that it is a
    believable date of birth (the stream reads every date of a record this way)."""
    parts = _date_parts(value.strip())
    if parts is None:
        return None
    try:
        return date(*parts)
    except ValueError:
        return None


def read_timestamp(value: str) -> datetime | None:
    """A source's change time in UTC, to the millisecond (as Avro keeps it), or None: ISO
    (a time without a zone is UTC), else a full date and time written day first."""
    text = value.strip()
    try:
        moment: datetime | None = datetime.fromisoformat(text)
    except ValueError:
        moment = _free_text_moment(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):  # past the year 9999 in UTC; an offset of 24 h
        return None
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def check_timestamp(value: str | None) -> tuple[str | None, str | None]:
    """``updated_at`` as the stream writes a source's change time (``read_timestamp``,
    ISO: ``2026-11-20T10:00:00+00:00``), so that which record is most recent never depends
    on how a source writes its times; or (None, ``updated_at_format``)."""
    text = _text(value)
    if text is None:
        return None, None
    moment = read_timestamp(text)
    return (moment.isoformat(), None) if moment else (None, "updated_at_format")


def _free_text_moment(text: str) -> datetime | None:
    """A date (and time) in free text: year first when it starts with the year
    (``2026/11/05 10:00``), else day first, as UK systems write it; a two-digit year
    could be either century, so none."""
    from dateutil import parser

    if not _YEAR4.search(text):
        return None
    year_first = bool(_YEAR_FIRST.match(text))
    # Parsing with two different defaults shows whether the text gave a whole date.
    try:
        first, second = (
            parser.parse(text, dayfirst=not year_first, yearfirst=year_first, default=default)
            for default in (datetime(2001, 1, 1), datetime(2002, 2, 2))
        )
    except (ValueError, OverflowError, parser.ParserError):
        return None
    return first if first.date() == second.date() else None


def _date_parts(text: str) -> tuple[int, int, int] | None:
    for pattern, order in ((_ISO, "ymd"), (_YMD, "ymd"), (_DMY, "dmy")):
        match = pattern.match(text)
        if match:
            a, b, c = (int(g) for g in match.groups())
            return (a, b, c) if order == "ymd" else (c, b, a)
    if _DIGITS8.match(text):
        year, month, day = int(text[:4]), int(text[4:6]), int(text[6:])
        if 1 <= month <= 12 and 1 <= day <= 31:
            return year, month, day
        return int(text[4:]), int(text[2:4]), int(text[:2])  # DDMMYYYY
    if _DMY_SHORT_YEAR.match(text) or not _YEAR4.search(text):
        return None  # a two-digit year could be either century
    return _free_text_date(text)


def _free_text_date(text: str) -> tuple[int, int, int] | None:
    moment = _free_text_moment(text)
    return (moment.year, moment.month, moment.day) if moment else None


def check_sex(value: str | None) -> tuple[str | None, str | None]:
    """("m" or "f", None); (None, None) for a stated unknown; (None, "sex_format") otherwise."""
    text = _text(value)
    if text is None:
        return None, None
    key = text.lower()
    if key in _SEX:
        return _SEX[key], None
    if key in _SEX_UNKNOWN:
        return None, None
    return None, "sex_format"


def check_phone(value: str | None) -> tuple[str | None, str | None]:
    """A phone number in E.164 form (``+447700900123``), or why not.

    UK numbers may be written nationally (``07700 900123``, ``(020) 7946 0018``) or
    internationally (``+44 (0)20 7946 0018``, ``0044 20...``); other countries' numbers
    keep their ``+`` and digits.
    """
    text = _text(value)
    if text is None:
        return None, None
    compact = _PHONE_JUNK.sub("", text).replace("(0)", "")
    international = compact.startswith(("+", "00"))
    digits = compact[1:] if compact.startswith("+") else compact[2 * international :]
    if not digits.isdigit():
        return None, "phone_format"
    if len(set(digits)) == 1:
        return None, "phone_placeholder"
    if international and not digits.startswith("44"):
        valid = 7 <= len(digits) <= 15 and not digits.startswith("0")
        return ("+" + digits, None) if valid else (None, "phone_format")
    national = _uk_national_number(digits, international)
    if national in ("123456789", "1234567890"):
        return None, "phone_placeholder"
    return ("+44" + national, None) if national else (None, "phone_format")


def _uk_national_number(digits: str, international: bool) -> str | None:
    if international:
        national = digits[2:].removeprefix("0")
    elif digits.startswith("0"):
        national = digits[1:]
    elif digits.startswith("44") and len(digits) in (11, 12):
        national = digits[2:]
    else:
        return None
    if not (9 <= len(national) <= 10) or national.startswith("0"):
        return None
    return national


def check_email(value: str | None) -> tuple[str | None, str | None]:
    """A trimmed, lower-case email address, or why not."""
    text = _text(value)
    if text is None:
        return None, None
    email = text.lower()
    if not _EMAIL.match(email):
        return None, "email_format"
    user, _, domain = email.rpartition("@")
    if user in _PLACEHOLDER_EMAIL_USERS or domain in _PLACEHOLDER_EMAIL_DOMAINS:
        return None, "email_placeholder"
    return email, None


def check_uprn(value: str | None) -> tuple[str | None, str | None]:
    """A unique property reference number without leading zeros, or why not."""
    text = _text(value)
    if text is None:
        return None, None
    if text.endswith(".0"):  # a number that went through a spreadsheet
        text = text[:-2]
    if not (text.isascii() and text.isdigit()) or len(text) > 12 or int(text) == 0:
        return None, "uprn_format"
    return str(int(text)), None


@lru_cache(maxsize=65_536)
def clean_place(value: str | None) -> str | None:
    """An address line or town: ASCII lower case words, punctuation dropped, a trailing
    street-type abbreviation written out (``"10 High St."`` -> ``"10 high street"``)."""
    if not value:
        return None
    text = _ADDRESS_DROPPED.sub("", anyascii(value).lower())
    words = [w for w in _ADDRESS_SEPARATORS.split(text) if w]
    if len(words) > 1 and words[-1] in _STREET_TYPES:
        words[-1] = _STREET_TYPES[words[-1]]
    return " ".join(words) or None


_PREMISE_WORDS = {
    "gff": "ground floor flat", "fff": "first floor flat", "sff": "second floor flat",
    "bsmt": "basement", "grd": "ground", "gnd": "ground", "flr": "floor", "flt": "flat",
    "1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth",
}  # fmt: skip
# "3/27 High Street" (cleaned to "3 27 high street"): flat 3 of number 27.
_FLAT_SLASH = re.compile(r"^(\d+[a-z]?) (\d+[a-z]?) ")
_DIGIT = re.compile(r"\d")


def premise(line_1: str | None, line_2: str | None) -> str | None:
    """The part of an address that names the property, from cleaned address lines: the
    first line, joined with the second when the first has no number (``"flat a"``,
    ``"22 ivymore terrace"``); common abbreviations written out (``gff``, ``1st``), and
    ``3/27 ...`` written as ``flat 3 27 ...``."""
    if not line_1:
        return line_2 if line_2 and _DIGIT.search(line_2) else None
    text = line_1
    if not _DIGIT.search(line_1) and line_2 and _DIGIT.search(line_2):
        text = f"{line_1} {line_2}"
    text = _FLAT_SLASH.sub(r"flat \1 \2 ", text)
    return " ".join(_PREMISE_WORDS.get(word, word) for word in text.split(" "))


def address_key(uprn: str | None, text_key: str | None) -> str | None:
    """``"uprn:<n>"`` when the property is known, else :func:`address_text_key`."""
    return f"uprn:{uprn}" if uprn else text_key


def address_text_key(premise_text: str | None, postcode: str | None) -> str | None:
    """``"<premise>|<postcode>"``: the property as written, when both are known."""
    return f"{premise_text}|{postcode}" if premise_text and postcode else None


def check_date(value: str | None, name: str) -> tuple[str | None, str | None]:
    """(ISO date, None) for a date in any form :func:`check_dob` reads (no bounds on the
    year); (None, ``<name>_format`` or ``<name>_invalid``) otherwise."""
    text = _text(value)
    if text is None:
        return None, None
    parts = _date_parts(text)
    if parts is None:
        return None, f"{name}_format"
    year, month, day = parts
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
        return None, f"{name}_invalid"
    return f"{year:04d}-{month:02d}-{day:02d}", None


EARLIEST_RESIDENCE = "1890-01-01"  # no one alive moved in before it: a typing error


def check_residence(
    start: str | None, end: str | None, today: str
) -> tuple[str | None, str | None, tuple[str, ...]]:
    """A residence's start and end (ISO dates) as ingest validation keeps them, and the
    flags raised: a date before 1890 is none (``residence_start_before_1890``,
    ``residence_end_before_1890``), an end before the start is none
    (``residence_dates_inverted``), a start after ``today`` is none
    (``residence_start_in_future``). One rule for the stream and the core, so that a file
    gives the same households through both."""
    flags: list[str] = []
    if start is not None and start < EARLIEST_RESIDENCE:
        flags.append("residence_start_before_1890")
        start = None
    if end is not None and end < EARLIEST_RESIDENCE:
        flags.append("residence_end_before_1890")
        end = None
    if start is not None and end is not None and end < start:
        flags.append("residence_dates_inverted")
        end = None
    if start is not None and start > today:
        flags.append("residence_start_in_future")
        start = None
    return start, end, tuple(flags)


def standardise(record: SourceRecord) -> StandardRecord:
    """The standard form of one source record (see the module docstring)."""
    flags: list[str] = []

    def keep(checked: tuple[str | None, str | None]) -> str | None:
        value, reason = checked
        if reason:
            flags.append(reason)
        return value

    first_name = clean_given_name(record.first_name)
    postcode = keep(ids.check_postcode(record.postcode))
    uprn = keep(check_uprn(record.uprn))
    line_1 = clean_place(record.address_line_1)
    line_2 = clean_place(record.address_line_2)
    text_key = address_text_key(premise(line_1, line_2), postcode)
    town = clean_place(record.town)
    start = end = None
    if any((line_1, line_2, town, postcode, uprn)):  # (dates of an address: none without)
        start = keep(check_date(record.residence_start, "residence_start"))
        end = keep(check_date(record.residence_end, "residence_end"))
        if start is not None or end is not None:
            start, end, raised = check_residence(start, end, utc_today())
            flags.extend(raised)
    return StandardRecord(
        record_id=record.record_id,
        source_system=_text(record.source_system) or _system_of(record.record_id),
        first_name=first_name,
        middle_name=clean_given_name(record.middle_name),
        last_name=clean_family_name(record.last_name),
        first_name_group=name_group(first_name),
        dob=keep(check_dob(record.dob)),
        sex=keep(check_sex(record.sex)),
        address_line_1=line_1,
        address_line_2=line_2,
        town=town,
        postcode=postcode,
        postcode_sector=ids.postcode_sector(postcode),
        postcode_district=ids.postcode_district(postcode),
        uprn=uprn,
        address_key=address_key(uprn, text_key),
        address_text_key=text_key,
        nhs_number=keep(ids.check_nhs_number(record.nhs_number)),
        ni_number=keep(ids.check_ni_number(record.ni_number)),
        upn=keep(ids.check_upn(record.upn)),
        phone=keep(check_phone(record.phone)),
        email=keep(check_email(record.email)),
        residence_start=start,
        residence_end=end,
        updated_at=keep(check_timestamp(record.updated_at)),
        flags=frozenset(flags),
    )
