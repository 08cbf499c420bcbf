"""The small ways a value goes wrong between a resident and a database field.

Each function takes a clean value and a random stream and returns a damaged value, or the
value unchanged when the damage does not apply (a day-month swap needs a day of 12 or less).
"""

from __future__ import annotations

import random
from datetime import date

_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS: dict[str, str] = {}
for _row in _KEYBOARD_ROWS:
    for _i, _c in enumerate(_row):
        _NEIGHBOURS[_c] = _row[max(0, _i - 1) : _i] + _row[_i + 1 : _i + 2]
_SOUND_ALIKES = (
    ("ph", "f"),
    ("ie", "ei"),
    ("ck", "k"),
    ("ou", "ow"),
    ("ee", "ea"),
    ("y", "i"),
    ("th", "t"),
    ("sh", "ch"),
    ("ll", "l"),
    ("nn", "n"),
)
STREET_ABBREVIATIONS = {
    "Road": "Rd",
    "Street": "St",
    "Avenue": "Ave",
    "Gardens": "Gdns",
    "Crescent": "Cres",
    "Place": "Pl",
    "Terrace": "Terr",
    "Square": "Sq",
    "Close": "Cl",
    "Lane": "Ln",
    "Grove": "Gr",
    "Mews": "Mws",
    "Walk": "Wlk",
    "Villas": "Vls",
    "Way": "Wy",
}
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def typo(word: str, rng: random.Random) -> str:
    """One typing slip: a neighbouring key, two letters swapped, one dropped or doubled,
    or a sound-alike spelling. The first letter is kept: people rarely mistype it."""
    if len(word) < 3:
        return word
    kind = rng.randrange(5)
    i = rng.randrange(1, len(word) - 1)
    slips = (
        lambda: _neighbour_key(word, i, rng),
        lambda: word[:i] + word[i + 1] + word[i] + word[i + 2 :],  # swapped
        lambda: word[:i] + word[i + 1 :],  # dropped
        lambda: word[:i] + word[i] + word[i:],  # doubled
        lambda: _sound_alike(word, rng),
    )
    return slips[kind]() or word[:i] + word[i + 1 :]


def _neighbour_key(word: str, i: int, rng: random.Random) -> str | None:
    near = _NEIGHBOURS.get(word[i].lower())
    if not near:
        return None
    new = rng.choice(near)
    return word[:i] + (new.upper() if word[i].isupper() else new) + word[i + 1 :]


def _sound_alike(word: str, rng: random.Random) -> str | None:
    lowered = word.lower()
    for a, b in rng.sample(_SOUND_ALIKES, len(_SOUND_ALIKES)):
        for old, new in ((a, b), (b, a)):
            at = lowered.find(old, 1)
            if at > 0:
                return word[:at] + new + word[at + len(old) :]
    return None


def swap_day_month(day: date) -> date:
    """7 March held as 3 July (unchanged when that is not a date or changes nothing)."""
    if day.day > 12 or day.day == day.month:
        return day
    return date(day.year, day.day, day.month)


def dob_typo(day: date, rng: random.Random) -> date:
    """A day off by one, a year off by one, or the year's last two digits transposed."""
    kind = rng.randrange(3)
    try:
        if kind == 0:
            return day.replace(day=day.day + (1 if day.day < 28 else -1))
        if kind == 1:
            return day.replace(year=day.year + rng.choice((-1, 1)))
        tens, units = divmod(day.year % 100, 10)
        if tens != units:
            return day.replace(year=day.year - day.year % 100 + units * 10 + tens)
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February in a year without one
        return day.replace(day=28)


def postcode_variant(postcode: str, rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return postcode.replace(" ", "")
    if kind == 1:
        return postcode.lower()
    if kind == 2:
        return postcode.replace(" ", "  ")
    return postcode.replace(" ", "").lower()


def postcode_typo(postcode: str, rng: random.Random) -> str:
    """One letter of the inward code wrong (the outward code is rarely mistyped)."""
    outward, inward = postcode.split(" ")
    i = rng.choice((1, 2))
    letter = rng.choice([c for c in _INWARD_LETTERS if c != inward[i]])
    return f"{outward} {inward[:i]}{letter}{inward[i + 1 :]}"


def abbreviate_street(street: str) -> str:
    head, _, kind = street.rpartition(" ")
    short = STREET_ABBREVIATIONS.get(kind)
    return f"{head} {short}" if short else street
