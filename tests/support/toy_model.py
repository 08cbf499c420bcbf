"""A small, real matching model for testing the resolver without the trained one.

It implements the ports of :mod:`matchers.ports` (standardiser, blocking rules, scorer)
with hand-set Fellegi-Sunter weights over a few fields. Weights are summed in a fixed
order from symmetric comparisons, so ``score(a, b) == score(b, a)`` exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz.distance import JaroWinkler

from matchers.events import FieldWeight
from matchers.records import SourceRecord, StandardRecord

PRIOR = -10.0


def _clean(value: str | None) -> str | None:
    text = " ".join((value or "").lower().replace(",", " ").split())
    return text or None


def toy_standardise(record: SourceRecord) -> StandardRecord:
    postcode = (record.postcode or "").upper().replace(" ", "") or None
    if postcode:
        postcode = f"{postcode[:-3]} {postcode[-3:]}"
    line_1 = _clean(record.address_line_1)
    uprn = (record.uprn or "").strip() or None
    address_key = (
        f"uprn:{uprn}" if uprn else (f"{line_1}|{postcode}" if line_1 and postcode else None)
    )
    return StandardRecord(
        record_id=record.record_id,
        source_system=record.source_system,
        first_name=_clean(record.first_name),
        middle_name=_clean(record.middle_name),
        last_name=_clean(record.last_name),
        dob=(record.dob or "").strip() or None,
        sex=_clean(record.sex),
        address_line_1=line_1,
        town=_clean(record.town),
        postcode=postcode,
        uprn=uprn,
        address_key=address_key,
        nhs_number=(record.nhs_number or "").replace(" ", "") or None,
        email=_clean(record.email),
        residence_start=record.residence_start,
        residence_end=record.residence_end,
        updated_at=record.updated_at,
    )


class ToyKeyRules:
    def keys(self, record: StandardRecord) -> frozenset[str]:
        keys: set[str] = set()
        first, last, dob = record.first_name, record.last_name, record.dob
        if record.nhs_number:
            keys.add(f"nhs:{record.nhs_number}")
        if dob and last:
            keys.add(f"dob_last:{dob}|{last[:3]}")
        if first and last:
            keys.add(f"name:{first}|{last}")
        if record.postcode and dob:
            keys.add(f"postcode_dob:{record.postcode}|{dob}")
        if record.email:
            keys.add(f"email:{record.email}")
        if dob and first:
            keys.add(f"dob_first:{dob}|{first[:2]}")
        return frozenset(keys)


def _name_level(
    a: str | None, b: str | None, agree: float, close: float, other: float
) -> tuple[str, float]:
    if a is None or b is None:
        return "missing", 0.0
    if a == b:
        return "exact", agree
    if JaroWinkler.similarity(a, b) >= 0.88:
        return "fuzzy", close
    return "else", other


def _dob_level(a: str | None, b: str | None) -> tuple[str, float]:
    if a is None or b is None:
        return "missing", 0.0
    if a == b:
        return "exact", 8.0
    differing = sum(x != y for x, y in zip(a.split("-"), b.split("-"), strict=False))
    if differing == 1:
        return "one part different", 1.0
    return "else", -14.0


def _exact_level(a: str | None, b: str | None, agree: float, other: float) -> tuple[str, float]:
    if a is None or b is None:
        return "missing", 0.0
    return ("exact", agree) if a == b else ("else", other)


class ToyScorer:
    version = "toy-1"

    def explain(self, a: StandardRecord, b: StandardRecord) -> list[FieldWeight]:
        levels = [
            ("prior", ("prior", PRIOR)),
            ("first_name", _name_level(a.first_name, b.first_name, 5.0, 2.0, -4.0)),
            ("last_name", _name_level(a.last_name, b.last_name, 5.0, 2.0, -5.0)),
            ("dob", _dob_level(a.dob, b.dob)),
            ("postcode", _exact_level(a.postcode, b.postcode, 4.0, -1.0)),
            ("email", _exact_level(a.email, b.email, 6.0, -1.0)),
            ("nhs_number", _exact_level(a.nhs_number, b.nhs_number, 14.0, -14.0)),
        ]
        return [FieldWeight(name, level, weight) for name, (level, weight) in levels]

    def score(self, a: StandardRecord, b: StandardRecord) -> float:
        return sum(line.match_weight for line in self.explain(a, b))

    def score_many(self, record: StandardRecord, others: Sequence[StandardRecord]) -> list[float]:
        return [self.score(record, other) for other in others]
