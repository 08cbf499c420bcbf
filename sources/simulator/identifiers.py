"""Synthetic UK identifiers: valid ones for the true people, broken ones for bad records.

Valid means valid by the checks in ``matchers/identifiers.py``: NHS numbers pass mod 11,
unique pupil numbers carry the right check letter (computed by ``stdnum.gb.upn``), National
Insurance numbers use only allowed prefixes. The broken forms are the ones councils meet:
a wrong check digit, a wrong check letter, a temporary ``TN`` reference, a dropped digit.
"""

from __future__ import annotations

import random
from datetime import date

from anyascii import anyascii
from stdnum.gb import upn

_NI_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NI_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_NI_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # the 23 check letters
HOME_LA = 202  # the local authority number the borough's schools use in UPNs
OTHER_LAS = (201, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 303, 304, 308, 309)
EMAIL_DOMAINS = (
    "example.com",
    "example.org",
    "example.net",
    "mail.example.com",
    "post.example.org",
    "inbox.example.net",
)


class Issuer:
    """Hands out unique identifiers from one random stream."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._issued: set[str] = set()

    def _unique(self, value: str) -> bool:
        if value in self._issued:
            return False
        self._issued.add(value)
        return True

    def nhs_number(self) -> str:
        while True:
            body = str(self._rng.choice((4, 6, 7))) + f"{self._rng.randrange(10**8):08d}"
            check = nhs_check_digit(body)
            if check is not None and self._unique(body + check):
                return body + check

    def ni_number(self) -> str:
        while True:
            prefix = self._rng.choice(_NI_FIRST) + self._rng.choice(_NI_SECOND)
            if prefix in _NI_BAD_PREFIXES:
                continue
            number = f"{prefix}{self._rng.randrange(10**6):06d}{self._rng.choice('ABCD')}"
            if self._unique(number):
                return number

    def upn(self, allocated: int, home: bool = True) -> str:
        """A UPN allocated in ``allocated`` (the year the child started school)."""
        la = HOME_LA if home else self._rng.choice(OTHER_LAS)
        while True:
            school = self._rng.choice((2000, 3000, 4000, 5200)) + self._rng.randrange(400)
            body = f"{la:03d}{school:04d}{allocated % 100:02d}{self._rng.randrange(1000):03d}"
            number = upn.calc_check_digit(body) + body
            if self._unique(number):
                return number

    def mobile(self) -> str:
        while True:
            number = f"07{self._rng.choice('1234579')}{self._rng.randrange(10**8):08d}"
            if self._unique(number):
                return number

    def landline(self) -> str:
        while True:
            number = f"020{self._rng.choice('3778')}{self._rng.randrange(10**7):07d}"
            if self._unique(number):
                return number

    def email(self, given: str, family: str, born: int) -> str:
        first = anyascii(given).lower().replace(" ", "").replace("'", "")
        last = anyascii(family).lower().replace(" ", "").replace("'", "").replace("-", "")
        style = self._rng.randrange(6)
        local = (
            f"{first}.{last}",
            f"{first}{last}",
            f"{first[:1]}.{last}",
            f"{first}_{last}{born % 100:02d}",
            f"{first}{last}{self._rng.randint(1, 999)}",
            f"{last}.{first}",
        )[style]
        while True:
            address = f"{local}@{self._rng.choice(EMAIL_DOMAINS)}"
            if self._unique(address):
                return address
            local += str(self._rng.randint(0, 9))


def nhs_check_digit(body: str) -> str | None:
    """The mod-11 check digit of a 9-digit NHS number body, or None if no digit works."""
    remainder = 11 - sum(int(d) * (10 - i) for i, d in enumerate(body)) % 11
    if remainder == 10:
        return None
    return "0" if remainder == 11 else str(remainder)


def broken_nhs_number(number: str, rng: random.Random) -> str:
    """The same number with a wrong check digit."""
    right = number[-1]
    wrong = rng.choice([d for d in "0123456789" if d != right])
    return number[:-1] + wrong


def broken_upn(number: str, rng: random.Random) -> str:
    """The same number with a wrong check letter."""
    return rng.choice([c for c in _UPN_LETTERS if c != number[0]]) + number[1:]


def broken_ni_number(number: str, dob: date, sex: str, rng: random.Random) -> str:
    """A temporary ``TN`` reference, a dropped digit, or a letter O typed for a zero."""
    kind = rng.randrange(3)
    if kind == 0:
        return f"TN{dob:%d%m%y}{'F' if sex == 'F' else 'M'}"
    if kind == 1:
        cut = rng.randrange(2, 8)
        return number[:cut] + number[cut + 1 :]
    position = rng.randrange(2, 8)
    return number[:position] + "O" + number[position + 1 :]
