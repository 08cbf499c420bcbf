"""A second process for `hub link`: standardise, block and score ahead of the resolver.

The resolver places records one after another, each against the index as it stands, so its
candidates for a record are a function of the records before it: the members of the
record's blocking buckets that are not over-common once it has joined them. A helper
process forked from `hub link` walks the same records in the same order with a copy of
that bucket index (:class:`BucketMirror`) and sends, per record, the standard record and
its match weights against those candidates. The resolver then scores nothing it was sent
(:class:`PreparedScorer`); a pair it needs that was not sent (after a bucket fell back
under the cap, say) is scored as usual. The weights come from the same scorer, so the
result is the same as with one process; only the work is split over two cores.
"""

from __future__ import annotations

import itertools
import multiprocessing
import queue
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from matchers.ports import KeyRules, PairScorer, Standardiser
from matchers.records import SourceRecord, StandardRecord

Weights = dict[str, float]
# a standard record, its blocking keys, its weights (None: the upsert changes nothing)
Prepared = tuple[StandardRecord, frozenset[str], Weights | None]
_DONE = "done"
_FAILED = "failed"


@dataclass
class BucketMirror:
    """The resolver's blocking buckets, for inserts and updates in arrival order."""

    rules: KeyRules
    cap: int
    buckets: dict[str, set[str]] = field(default_factory=dict)
    keys_of: dict[str, frozenset[str]] = field(default_factory=dict)
    records: dict[str, StandardRecord] = field(default_factory=dict)

    def place(self, record: StandardRecord, keys: frozenset[str]) -> list[str] | None:
        """Move a record in; its candidates (sorted), or None when it changes nothing."""
        rid = record.record_id
        if self.records.get(rid) == record:
            return None
        old = self.keys_of.get(rid, frozenset())
        for key in old - keys:
            self.buckets[key].discard(rid)
        for key in keys - old:
            self.buckets.setdefault(key, set()).add(rid)
        self.keys_of[rid] = keys
        self.records[rid] = record
        usable = [self.buckets[k] for k in keys if len(self.buckets[k]) <= self.cap]
        return sorted(set().union(*usable) - {rid})


def prepare(
    records: Sequence[SourceRecord],
    standardise: Standardiser,
    rules: KeyRules,
    scorer: PairScorer,
    cap: int,
) -> Iterator[Prepared]:
    """Each record standardised, with its weights against its candidates on arrival."""
    mirror = BucketMirror(rules, cap)
    for source in records:
        record = standardise(source)
        keys = frozenset(rules.keys(record))
        candidates = mirror.place(record, keys)
        if candidates is None:
            yield record, keys, None
            continue
        others = mirror.records
        weights = scorer.score_many(record, [others[c] for c in candidates])
        yield record, keys, dict(zip(candidates, weights, strict=True))


class PreparedRules:
    """A :class:`~matchers.ports.KeyRules` that first looks up the keys prepared for the
    record being placed (:meth:`expect`)."""

    def __init__(self, rules: KeyRules) -> None:
        self._rules = rules
        self._ready: dict[int, frozenset[str]] = {}  # by id() of the record object sent

    def expect(self, prepared: Sequence[Prepared]) -> None:
        """The keys of the records about to be upserted (forgets earlier ones)."""
        self._ready = {id(record): keys for record, keys, _ in prepared}

    def keys(self, record: StandardRecord) -> frozenset[str]:
        ready = self._ready.get(id(record))
        return ready if ready is not None else frozenset(self._rules.keys(record))


class PreparedScorer:
    """A :class:`~matchers.ports.PairScorer` that first looks up the weights prepared for
    the record being placed (:meth:`expect`), then scores what is missing."""

    def __init__(self, scorer: PairScorer) -> None:
        self._scorer = scorer
        self._ready: dict[int, Weights] = {}  # by id() of the record object sent
        self.prepared = 0
        self.scored = 0

    @property
    def version(self) -> str:
        return self._scorer.version

    def expect(self, prepared: Sequence[Prepared]) -> None:
        """The weights of the records about to be upserted (forgets earlier ones)."""
        self._ready = {id(record): weights for record, _, weights in prepared if weights}

    def score(self, a: StandardRecord, b: StandardRecord) -> float:
        return self._scorer.score(a, b)

    def known_weights(self, record: StandardRecord) -> Weights | None:
        """The weights prepared for ``record`` (the resolver looks up its candidates in
        them and scores only the others; :class:`matchers.ports.KnownWeights`)."""
        return self._ready.get(id(record))

    def score_many(self, record: StandardRecord, others: Sequence[StandardRecord]) -> list[float]:
        ready = self._ready.get(id(record))
        if ready is None:
            self.scored += len(others)
            return self._scorer.score_many(record, others)
        weights = []
        for other in others:
            weight = ready.get(other.record_id)
            if weight is None:
                weight = self._scorer.score(record, other)
                self.scored += 1
            else:
                self.prepared += 1
            weights.append(weight)
        return weights


class Preparing:
    """:func:`prepare` in a helper process forked at once (before the caller starts any
    thread, such as a progress bar), read back in chunks by iterating; in this process
    when the platform cannot fork. Close it (or use it in ``with``) to stop the helper."""

    def __init__(
        self,
        records: Sequence[SourceRecord],
        standardise: Standardiser,
        rules: KeyRules,
        scorer: PairScorer,
        *,
        cap: int,
        chunk: int,
    ) -> None:
        self._work: Callable[[], Iterator[Prepared]] = lambda: prepare(
            records, standardise, rules, scorer, cap
        )
        self._chunk = chunk
        self._helper: Any = None
        try:
            context = multiprocessing.get_context("fork")
        except ValueError:  # no fork (Windows, some macOS set-ups): one process it is
            return
        self._channel: Any = context.Queue(maxsize=64)
        self._helper = context.Process(target=self._run, name="hub-link-prepare", daemon=True)
        self._helper.start()

    def _chunks(self) -> Iterator[list[Prepared]]:
        work = self._work()
        while batch := list(itertools.islice(work, self._chunk)):
            yield batch

    def _run(self) -> None:  # in the helper process
        try:
            for batch in self._chunks():
                self._channel.put(batch)
            self._channel.put(_DONE)
        except BaseException:  # reported to the parent, which raises it
            self._channel.put((_FAILED, traceback.format_exc()))

    def __iter__(self) -> Iterator[list[Prepared]]:
        if self._helper is None:
            yield from self._chunks()
            return
        while True:
            try:
                item = self._channel.get(timeout=1.0)
            except queue.Empty:
                if not self._helper.is_alive():
                    raise RuntimeError("the helper process of hub link stopped") from None
                continue
            if item == _DONE:
                return
            if isinstance(item, tuple) and item and item[0] == _FAILED:
                raise RuntimeError(f"the helper process of hub link failed:\n{item[1]}")
            yield item

    def close(self) -> None:
        if self._helper is not None:
            if self._helper.is_alive():
                self._helper.terminate()
            self._helper.join()
            self._helper = None

    def __enter__(self) -> Preparing:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
