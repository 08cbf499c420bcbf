"""Blocking: which pairs of records are worth scoring at all.

Each rule derives one value from a standard record (or ``None`` when the record lacks what
the rule needs). Two records are candidates when some rule gives them the same value and
that value's block is not over-common. Because every rule is a single derived value, the
same blocking can be run in bulk by a SQL engine: add one column ``block_<rule>`` per rule
(computed by :meth:`BlockingRules.rule_values`, see :func:`rule_columns`) and block with
``l.block_<rule> = r.block_<rule>`` for each rule (in Splink: ``block_on("block_<rule>")``).
Candidate pairs are the union over rules.

Keys are ``"<rule>:<value>"`` (for example ``"nhs:9434765919"``).

Placeholder values never produce a key: standardisation already drops placeholder names,
dates of birth, phones and emails, and :data:`STOP_VALUES` holds what is left (pseudo
postcodes for no fixed abode). Values that are common for a reason no list can know (a
council office's address, a hostel's postcode) are caught by block size instead: a key
whose block holds more than ``max_block_size`` records (default
:data:`DEFAULT_MAX_BLOCK_SIZE`) is over-common, produces no candidates and is counted.
The index that holds the blocks applies the cap (see :func:`candidate_pairs` for the
batch form of the same rule).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import jellyfish

from matchers.records import StandardRecord

# A key shared by more records than this is over-common and skipped. Every rule combines
# two fields, so one person's block stays far smaller; blocks this big come from values
# common in the population (a given name in a town). Measured on Splink's 50k set and the
# simulated borough, 50 instead of 100 cost no accuracy and cut the candidates per record
# by a quarter (borough, record by record, standardise + keys + lookup + scoring:
# about 4,500 -> 5,800 records/s on the shared 2-core machine).
DEFAULT_MAX_BLOCK_SIZE = 50

# Pseudo postcodes (the NHS "ZZ99" codes for no fixed abode and abroad) never block.
_STOP_POSTCODE_PREFIXES = ("ZZ99",)

Rule = Callable[[StandardRecord], "str | None"]


def _join(*values: str | None) -> str | None:
    if any(not value for value in values):
        return None
    return "|".join(values)  # type: ignore[arg-type]


def family_key(record: StandardRecord) -> str | None:
    """The family name, or the given name when the family name is missing: records that
    hold only one name often hold the family name in the given-name field."""
    return record.last_name or record.first_name


def _prefix(value: str | None, length: int = 3) -> str | None:
    return value[:length] if value else None


def _initial(record: StandardRecord) -> str | None:
    return record.first_name[0] if record.first_name else None


def _year(record: StandardRecord) -> str | None:
    return record.dob[:4] if record.dob else None


def _postcode(record: StandardRecord) -> str | None:
    postcode = record.postcode
    if postcode and postcode.startswith(_STOP_POSTCODE_PREFIXES):
        return None
    return postcode


def _sector(record: StandardRecord) -> str | None:
    return record.postcode_sector if _postcode(record) else None


def _district(record: StandardRecord) -> str | None:
    return record.postcode_district if _postcode(record) else None


@lru_cache(maxsize=65_536)
def phonetic(name: str | None) -> str | None:
    """Metaphone code of a cleaned name (hyphens ignored)."""
    if not name:
        return None
    return jellyfish.metaphone(name.replace("-", "")) or None


RULES: dict[str, Rule] = {
    # Identifiers: one person, one value.
    "nhs": lambda r: r.nhs_number,
    "ni": lambda r: r.ni_number[:8] if r.ni_number else None,  # the suffix letter varies
    "upn": lambda r: r.upn,
    "email": lambda r: r.email,
    "phone": lambda r: r.phone,
    "uprn_fi": lambda r: _join(r.uprn, _initial(r)),
    # Names and date of birth.
    "name": lambda r: _join(r.first_name_group, r.last_name),
    "names_any_order": lambda r: _join(*sorted((r.first_name or "", r.last_name or ""))),
    "dob_fk3": lambda r: _join(r.dob, _prefix(family_key(r))),
    "dob_fg": lambda r: _join(r.dob, r.first_name_group),
    "yob_fk": lambda r: _join(_year(r), family_key(r)),
    "phon_fi": lambda r: _join(phonetic(family_key(r)), _initial(r)),
    # Where they live.
    "pc_dob": lambda r: _join(_postcode(r), r.dob),
    "pc_fk3": lambda r: _join(_postcode(r), _prefix(family_key(r))),
    "pc_fg": lambda r: _join(_postcode(r), r.first_name_group),
    "sector_fk3": lambda r: _join(_sector(r), _prefix(family_key(r))),
    "sector_fg": lambda r: _join(_sector(r), r.first_name_group),
    "district_fk": lambda r: _join(_district(r), family_key(r)),
    "district_dob": lambda r: _join(_district(r), r.dob),
    "town_fk": lambda r: _join(r.town, family_key(r)),
    "town_fg": lambda r: _join(r.town, r.first_name_group),
    "town_dob": lambda r: _join(r.town, r.dob),
}

DEFAULT_RULES: tuple[str, ...] = tuple(RULES)


@dataclass(frozen=True)
class BlockingRules:
    """A set of named rules (implements :class:`~matchers.ports.KeyRules`)."""

    names: tuple[str, ...] = DEFAULT_RULES
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE
    _rules: tuple[tuple[str, Rule], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = [name for name in self.names if name not in RULES]
        if unknown:
            raise ValueError(f"unknown blocking rules: {', '.join(unknown)}")
        object.__setattr__(self, "_rules", tuple((name, RULES[name]) for name in self.names))

    def rule_values(self, record: StandardRecord) -> dict[str, str | None]:
        """Each rule's value for ``record`` (``None`` where the rule does not apply)."""
        return {name: rule(record) for name, rule in self._rules}

    def keys(self, record: StandardRecord) -> frozenset[str]:
        return frozenset(
            f"{name}:{value}" for name, rule in self._rules if (value := rule(record)) is not None
        )


@dataclass(frozen=True)
class CandidatePairs:
    """The batch result of blocking: candidate pairs and what the size cap skipped."""

    pairs: frozenset[tuple[str, str]]
    over_common_keys: frozenset[str]


def candidate_pairs(
    records: Iterable[StandardRecord], rules: BlockingRules | None = None
) -> CandidatePairs:
    """Every pair of record ids (smaller id first) sharing a key that is not over-common.

    This is the reference meaning of the blocking for a fixed set of records: a key is
    over-common when its block, over all the records, holds more than the cap.
    """
    rules = rules or BlockingRules()
    blocks: dict[str, list[str]] = defaultdict(list)
    for record in records:
        for key in rules.keys(record):
            blocks[key].append(record.record_id)
    over_common = frozenset(k for k, ids in blocks.items() if len(ids) > rules.max_block_size)
    pairs = frozenset(
        itertools.chain.from_iterable(
            _pairs(ids) for key, ids in blocks.items() if key not in over_common
        )
    )
    return CandidatePairs(pairs, over_common)


def rule_masks(
    records: Iterable[StandardRecord], rules: BlockingRules
) -> dict[tuple[str, str], int]:
    """Every candidate pair with a bit mask of the rules that propose it (bit ``i`` for
    ``rules.names[i]``); over-common keys are skipped as in :func:`candidate_pairs`."""
    bits = {name: 1 << i for i, name in enumerate(rules.names)}
    blocks: dict[str, list[str]] = defaultdict(list)
    for record in records:
        for key in rules.keys(record):
            blocks[key].append(record.record_id)
    masks: dict[tuple[str, str], int] = defaultdict(int)
    for key, ids in blocks.items():
        if len(ids) > rules.max_block_size:
            continue
        bit = bits[key.split(":", 1)[0]]
        for pair in _pairs(ids):
            masks[pair] |= bit
    return dict(masks)


# Rules on identifiers are never pruned: a shared identifier is worth a look even when
# the snapshot has few of them.
UNPRUNED_RULES = frozenset({"nhs", "ni", "upn"})


def prune_rules(
    rules: BlockingRules,
    masks: Sequence[int],
    match_probabilities: Sequence[float],
    min_share: float = 0.001,
    min_yield: float = 0.002,
) -> tuple[BlockingRules, dict[str, float]]:
    """Drop rules that find almost no matches the other rules miss, or find them only
    among very many pairs.

    ``masks`` and ``match_probabilities`` describe the candidate pairs (as from
    :func:`rule_masks` and a model). Repeatedly, of the rules whose pairs found by no
    other kept rule carry less than ``min_share`` of all expected matches, or are matches
    at a rate below ``min_yield`` (expected matches per pair: a rule on town and given
    name in a one-town borough proposes every namesake), the one with the fewest such
    matches is dropped. Returns the kept rules and, per dropped rule, the expected
    matches only it found. No labels are needed, only the trained model.
    """
    import numpy as np

    mask = np.asarray(masks, dtype=np.int64)
    probability = np.asarray(match_probabilities, dtype=np.float64)
    total = float(probability.sum())
    kept = list(rules.names)
    dropped: dict[str, float] = {}
    while len(kept) > 1:
        active = sum(1 << rules.names.index(name) for name in kept)
        live = mask & active
        weak: dict[str, float] = {}
        for name in kept:
            if name in UNPRUNED_RULES:
                continue
            alone = live == (1 << rules.names.index(name))
            found, pairs = float(probability[alone].sum()), int(alone.sum())
            if found < min_share * total or (pairs and found < min_yield * pairs):
                weak[name] = found
        if not weak:
            break
        weakest = min(weak, key=lambda name: (weak[name], name))
        kept.remove(weakest)
        dropped[weakest] = weak[weakest]
    return BlockingRules(tuple(kept), rules.max_block_size), dropped


def _pairs(ids: list[str]) -> Iterator[tuple[str, str]]:
    yield from itertools.combinations(sorted(set(ids)), 2)


BLOCK_COLUMN_PREFIX = "block_"


def rule_columns(
    records: Iterable[StandardRecord], rules: BlockingRules
) -> Mapping[str, list[str | None]]:
    """One column ``block_<rule>`` per rule, in record order: what a SQL engine blocks on.

    Over-common values are not removed here: drop (set to null) the values of
    ``candidate_pairs(...).over_common_keys`` to reproduce the cap.
    """
    columns: dict[str, list[str | None]] = {BLOCK_COLUMN_PREFIX + name: [] for name in rules.names}
    for record in records:
        for name, value in rules.rule_values(record).items():
            columns[BLOCK_COLUMN_PREFIX + name].append(value)
    return columns
