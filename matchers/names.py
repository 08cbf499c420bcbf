"""Personal names: one comparable spelling, and the nickname group of a given name.

A cleaned name is ASCII lower case letters in hyphen-joined parts: ``"Zoë O'Brien-Smyth"``
becomes ``"zoe-obrien-smyth"`` and ``"Smith Jones"`` and ``"Smith-Jones"`` both become
``"smith-jones"``, so double-barrelled surnames compare equal however they were typed.
Cleaning is idempotent: a cleaned name cleans to itself.

Nickname groups come from the ``nicknames`` package (a hand-curated English table of
formal names and their nicknames). Every name in the table maps to one formal name:
``bob``, ``rob`` and ``robert`` to ``robert``; ``peggy`` and ``margaret`` to ``margaret``.
A nickname of several formal names (``bill``: william, robert) goes to the first of them
in :data:`PREFERRED_FORMAL_NAMES`; names outside that list go to their formal name with
the most nicknames (then the alphabetically first), so the choice is stable.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from anyascii import anyascii

# Titles and honorifics dropped from the front of given names.
TITLES: frozenset[str] = frozenset(
    {
        "mr", "mrs", "ms", "miss", "mx", "master", "dr", "doctor", "prof", "professor",
        "sir", "dame", "lord", "lady", "rev", "revd", "reverend", "fr", "father", "sr",
        "sister", "capt", "captain", "col", "major", "cllr", "hon", "rt",
    }
)  # fmt: skip
# Generational and honours suffixes dropped from the end of family names.
SUFFIXES: frozenset[str] = frozenset(
    {"jr", "jnr", "junior", "sr", "snr", "senior", "ii", "iii", "iv", "esq", "obe", "mbe",
     "cbe", "kbe", "qc", "kc", "phd", "md"}
)  # fmt: skip

# Words systems put in a name field when the name is not known: never a real name.
PLACEHOLDER_NAMES: frozenset[str] = frozenset(
    {"unknown", "not-known", "notknown", "nk", "n-a", "none", "null", "nil", "test",
     "testing", "dummy", "xxx", "xx", "x", "zzz", "anon", "anonymous", "baby", "infant",
     "unborn", "newborn", "twin", "child", "male", "female", "boy", "girl", "tba", "tbc",
     "refused", "withheld", "deceased", "client", "resident", "occupier", "the-occupier"}
)  # fmt: skip

# Dropped without splitting the name: O'Brien -> obrien, St. John -> st john, and digits,
# which in a name are typing errors (s0encer -> sencer).
_DROPPED = re.compile(r"['`´’‘.0-9]")
_SEPARATORS = re.compile(r"[^a-z]+")


def _parts(value: str) -> list[str]:
    text = _DROPPED.sub("", anyascii(value).lower())
    return [part for part in _SEPARATORS.split(text) if part]


@lru_cache(maxsize=131_072)
def clean_given_name(value: str | None) -> str | None:
    """A given (or middle) name, titles dropped from the front: ``"Dr. Anne-Marie"`` ->
    ``"anne-marie"``; ``None`` when nothing is left or the name is a placeholder."""
    if not value:
        return None
    parts = _parts(value)
    while parts and parts[0] in TITLES:
        parts.pop(0)
    name = "-".join(parts)
    return name if name and name not in PLACEHOLDER_NAMES else None


@lru_cache(maxsize=131_072)
def clean_family_name(value: str | None) -> str | None:
    """A family name, suffixes dropped from the end: ``"Smith Jones Jr."`` -> ``"smith-jones"``;
    ``None`` for a placeholder such as ``"Unknown"``."""
    if not value:
        return None
    parts = _parts(value)
    while len(parts) > 1 and parts[-1] in SUFFIXES:
        parts.pop()
    name = "-".join(parts)
    return name if name and name not in PLACEHOLDER_NAMES else None


# Common formal names, most preferred first: a nickname of several formal names (``bill``:
# william, robert) joins the first of them listed here. The order only decides such ties.
PREFERRED_FORMAL_NAMES: tuple[str, ...] = (
    "john", "mary", "william", "james", "thomas", "george", "edward", "henry", "richard", "robert",
    "charles", "david", "michael", "peter", "paul", "stephen", "christopher", "andrew",
    "anthony", "daniel", "matthew", "samuel", "benjamin", "alexander", "nicholas",
    "jonathan", "patrick", "frederick", "francis", "albert", "arthur", "alfred", "harold",
    "walter", "edmund", "theodore", "timothy", "philip", "raymond", "kenneth", "donald",
    "ronald", "gerald", "lawrence", "leonard", "douglas", "gregory", "joseph", "jane",
    "elizabeth", "margaret", "sarah", "susan", "jennifer", "katherine", "catherine", "helen",
    "eleanor", "patricia", "christine", "alexandra", "samantha", "victoria", "rebecca",
    "deborah", "dorothy", "barbara", "jacqueline", "josephine", "joanne", "frances",
    "caroline", "charlotte", "abigail", "amelia", "ann",
)  # fmt: skip


@cache
def _formal_names() -> dict[str, str]:
    """Every name of the nicknames table mapped to the formal name of its group."""
    from nicknames import name_triplets

    neighbours: dict[str, set[str]] = {}
    formals: dict[str, set[str]] = {}
    nickname_counts: dict[str, int] = {}
    for formal, _relationship, nickname in name_triplets():
        # The table lists some pairs both ways (bob has_nickname robert), so ties are
        # broken by the preferred list first and by how many nicknames a name has.
        neighbours.setdefault(formal, set()).add(nickname)
        neighbours.setdefault(nickname, set()).add(formal)
        formals.setdefault(nickname, set()).add(formal)
        nickname_counts[formal] = nickname_counts.get(formal, 0) + 1
    rank = {name: i for i, name in enumerate(PREFERRED_FORMAL_NAMES)}
    groups: dict[str, str] = {}
    for name, near in neighbours.items():
        if name in rank:
            groups[name] = name
        elif preferred := [n for n in near if n in rank]:
            groups[name] = min(preferred, key=rank.__getitem__)
        elif name in formals:
            groups[name] = max(sorted(formals[name]), key=lambda f: nickname_counts.get(f, 0))
        else:
            groups[name] = name
    return groups


def name_group(given_name: str | None) -> str | None:
    """The nickname group of a cleaned given name: the formal name for a known nickname,
    else the name itself. Multi-part names are grouped by their first part."""
    if not given_name:
        return None
    first = given_name.split("-", 1)[0]
    return _formal_names().get(first, first)
