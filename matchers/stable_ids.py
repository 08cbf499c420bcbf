"""Stable ids for groups that merge and split: persons (of records) and households (of persons).

When a recomputation turns old groups into new ones:

- every old group that still has members has a **main part**: the new group holding most of
  its remaining members (ties: the part with the smallest member);
- a new group that is the main part of one or more old groups takes the **oldest** of their
  ids; the other old ids become aliases of it (a merge);
- any other new group (brand new, or a piece split off an old group) gets a fresh id, so
  on a split the largest part keeps the id;
- an old group with no member left is retired.

Ids are a prefix and an allocation number (``P000000042``): a smaller number is older.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

ID_DIGITS = 9


def format_id(prefix: str, number: int) -> str:
    return f"{prefix}{number:0{ID_DIGITS}d}"


@lru_cache(maxsize=262_144)
def id_age(identifier: str) -> tuple[int, str]:
    """Sort key: older ids first (smaller allocation number)."""
    digits = identifier.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return (int(digits) if digits.isdigit() else 0, identifier)


@dataclass(frozen=True, slots=True)
class IdAssignment:
    ids: dict[frozenset[str], str]  # every new group -> its id
    merged: dict[str, tuple[str, ...]] = field(default_factory=dict)  # survivor -> absorbed
    split: dict[str, tuple[str, ...]] = field(default_factory=dict)  # old id -> pieces' ids
    created: tuple[str, ...] = ()  # fresh ids (new groups and split-off pieces)
    retired: tuple[str, ...] = ()  # old ids with no member left


def assign_ids(
    old: Mapping[str, frozenset[str]],
    new: Sequence[frozenset[str]],
    allocate: Callable[[int], list[str]],
) -> IdAssignment:
    """Ids for the ``new`` groups, given the ``old`` groups (id -> members) they replace.

    Members of old groups that are in no new group have gone (deleted); ``allocate(n)``
    returns ``n`` fresh ids, newer than every existing one.
    """
    if len(new) == 1 and len(old) == 1:
        ((only_id, members),) = old.items()
        (successor,) = new
        if not members.isdisjoint(successor):  # one group carries on under its id
            return IdAssignment({successor: only_id})
    group_of = {member: group for group in new for member in group}
    claims: dict[frozenset[str], list[str]] = {}
    pieces: dict[str, list[frozenset[str]]] = {}
    retired: list[str] = []
    for old_id in sorted(old, key=id_age):
        parts: dict[frozenset[str], list[str]] = {}
        for member in old[old_id]:
            group = group_of.get(member)
            if group is not None:
                parts.setdefault(group, []).append(member)
        if not parts:
            retired.append(old_id)
            continue
        main = min(parts, key=lambda g: (-len(parts[g]), min(parts[g])))
        claims.setdefault(main, []).append(old_id)
        pieces[old_id] = [g for g in parts if g != main]

    ids: dict[frozenset[str], str] = {}
    merged: dict[str, tuple[str, ...]] = {}
    for group, claimants in claims.items():
        ids[group] = claimants[0]  # claimants were added oldest first
        if len(claimants) > 1:
            merged[claimants[0]] = tuple(claimants[1:])
    unnamed = sorted((g for g in new if g not in ids), key=min)
    fresh = allocate(len(unnamed)) if unnamed else []
    ids.update(zip(unnamed, fresh, strict=True))
    split = {
        old_id: tuple(sorted((ids[g] for g in groups), key=id_age))
        for old_id, groups in pieces.items()
        if groups
    }
    return IdAssignment(ids, merged, split, tuple(fresh), tuple(retired))
