"""The small interfaces between parts of the matching core.

The model side (standardisation, blocking rules, the trained scorer) and the resolution
side (decisions, clustering, households) meet only here, so each can be tested with
simple real implementations of the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from matchers.records import SourceRecord, StandardRecord


class Standardiser(Protocol):
    def __call__(self, record: SourceRecord) -> StandardRecord:
        """Clean one record; idempotent on the cleaned values."""
        ...


class KeyRules(Protocol):
    def keys(self, record: StandardRecord) -> frozenset[str]:
        """Blocking keys of a record, each prefixed by its rule name (e.g. ``"nhs:9434765919"``).

        Two records are candidates when they share a key that is not over-common.
        Placeholder values never produce a key.
        """
        ...


class PairScorer(Protocol):
    @property
    def version(self) -> str:
        """Identifies the model (and its frozen term-frequency tables)."""
        ...

    def score(self, a: StandardRecord, b: StandardRecord) -> float:
        """Match weight of the pair: log2 of the posterior odds, prior included (Splink's
        ``match_weight``). Symmetric in ``a`` and ``b``."""
        ...

    def score_many(self, record: StandardRecord, others: Sequence[StandardRecord]) -> list[float]:
        """``[score(record, other) for other in others]``, faster."""
        ...


class KnownWeights(Protocol):
    """What a :class:`PairScorer` may offer besides: weights of a record computed ahead
    (in another process, say), so the resolver need not fetch the candidates it has them
    for. The resolver looks for this method on its scorer."""

    def known_weights(self, record: StandardRecord) -> Mapping[str, float] | None:
        """``record``'s weights against candidates scored ahead, by their record id
        (``score(record, candidate)`` each); None when none were."""
        ...
