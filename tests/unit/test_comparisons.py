"""Every comparison level's Python twin agrees with its SQL, run in DuckDB (Splink's engine)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.comparisons import COMPARISONS, FEATURE_COLUMNS, Comparison, feature_row
from matchers.records import SourceRecord, StandardRecord
from matchers.standardise import standardise

pytestmark = pytest.mark.unit

# Values chosen to reach every level: nicknames, near spellings, initials, swapped and
# double-barrelled names, dates one digit / one year / day-month apart, postcodes in the
# same sector or district, identifiers equal and different.
GIVEN = ["John", "Jon", "Johnny", "Jack", "J", "Jonathan", "Jonathon", "Smith", "Smyth",
         "Anne-Marie", "Dave", "Dvaid", "Olivia", "Liv", "Marie", "Mario", "Marianne", "Mariana",
         "Jonas", None]  # fmt: skip
MIDDLE = ["Rose", "Rosa", "R", "Mary", None]
FAMILY = ["Smith", "Smyth", "Smith-Jones", "Jones", "John", "Jon", "S", "Schmidt", None]
DOBS = ["1980-02-01", "1980-01-02", "1981-02-01", "1980-02-11", "1979-02-01", "1908-02-01",
        "1980-12-01", "1980-11-01", "1982-05-07", "2001-02-01", None]  # fmt: skip
POSTCODES = ["NW1 2DB", "NW1 2DE", "NW1 3AA", "N1 2DB", "E1 6AN", None]
TOWNS = ["London", "Camden", None]
UPRNS = ["100023", "100024", None]
LINES = ["10 High St", "10 High Street", "12 High Street", None]
NHS = ["9434765919", "4010232137", None]
NI = ["JG103759A", "JG103759", "AB123456C", None]
EMAILS = ["john.smith@mail.co.uk", "jon.smith@mail.co.uk", "a.b@c.uk", None]
PHONES = ["07700 900123", "07700 900124", None]

sources = st.builds(
    SourceRecord,
    record_id=st.just("x"),
    first_name=st.sampled_from(GIVEN),
    middle_name=st.sampled_from(MIDDLE),
    last_name=st.sampled_from(FAMILY),
    dob=st.sampled_from(DOBS),
    sex=st.sampled_from(["m", "f", None]),
    postcode=st.sampled_from(POSTCODES),
    town=st.sampled_from(TOWNS),
    uprn=st.sampled_from(UPRNS),
    address_line_1=st.sampled_from(LINES),
    nhs_number=st.sampled_from(NHS),
    ni_number=st.sampled_from(NI),
    upn=st.sampled_from(["H801200001001", "X801200001002", None]),
    email=st.sampled_from(EMAILS),
    phone=st.sampled_from(PHONES),
)


def _sql_levels(pairs: Sequence[tuple[StandardRecord, StandardRecord]]) -> dict[str, list[int]]:
    """Each comparison's level per pair, computed by DuckDB from the levels' SQL."""
    columns: dict[str, list[str | None]] = {}
    for side, index in (("l", 0), ("r", 1)):
        rows = [feature_row(pair[index]) for pair in pairs]
        for name in FEATURE_COLUMNS:
            columns[f"{name}_{side}"] = [row[name] for row in rows]
    columns["n"] = [str(i) for i in range(len(pairs))]
    table = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    selects = []
    for comparison in COMPARISONS:
        cases = " ".join(f"WHEN {lv.sql} THEN {i}" for i, lv in enumerate(comparison.levels[:-1]))
        selects.append(f"CASE {cases} ELSE {len(comparison.levels) - 1} END")
    sql = f"SELECT {', '.join(selects)} FROM pairs ORDER BY cast(n AS INTEGER)"
    con = duckdb.connect()
    con.register("pairs", table)
    rows = con.execute(sql).fetchall()
    return {c.name: [row[i] for row in rows] for i, c in enumerate(COMPARISONS)}


def _python_levels(
    comparison: Comparison, pairs: Sequence[tuple[StandardRecord, StandardRecord]]
) -> list[int]:
    return [
        next(i for i, level in enumerate(comparison.levels) if level.test(a, b)) for a, b in pairs
    ]


def _pool() -> list[StandardRecord]:
    """Records that between them reach every level of every comparison."""
    raw: list[dict[str, str | None]] = []
    raw += [{"first_name": f, "last_name": la} for f in GIVEN for la in FAMILY]
    raw += [{"first_name": "Ann", "middle_name": m} for m in MIDDLE]
    raw += [{"dob": d, "sex": s} for d in DOBS for s in ("m", "f", None)]
    raw += [{"postcode": p, "town": t} for p in POSTCODES for t in TOWNS]
    raw += [{"uprn": u, "address_line_1": line, "postcode": p}
            for u in UPRNS for line in LINES for p in POSTCODES[:2]]  # fmt: skip
    raw += [{"uprn": u, "phone": p, "email": e} for u in UPRNS for p in PHONES for e in EMAILS]
    places = [(p, t, u) for p in POSTCODES for t in TOWNS[:2] for u in UPRNS[:2]]
    raw += [{"last_name": f, "postcode": p, "town": t, "uprn": u}
            for f in FAMILY[:4] for p, t, u in places]  # fmt: skip
    raw += [{"nhs_number": n, "ni_number": i} for n in NHS for i in NI]
    upns = ("H801200001001", "X801200001002", None)
    raw += [{"upn": u, "email": e, "phone": p} for u in upns for e in EMAILS for p in PHONES]
    return [standardise(SourceRecord(record_id=str(i), **r)) for i, r in enumerate(raw)]


def test_every_level_agrees_on_all_pairs_of_a_pool() -> None:
    pool = _pool()
    pairs = list(itertools.product(pool, pool))
    sql = _sql_levels(pairs)
    reached = set()
    for comparison in COMPARISONS:
        python = _python_levels(comparison, pairs)
        assert sql[comparison.name] == python, comparison.name
        reached.update((comparison.name, level) for level in python)
    unreached = [
        (c.name, c.levels[i].label)
        for c in COMPARISONS
        for i in range(len(c.levels))
        if (c.name, i) not in reached
    ]
    assert unreached == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(sources, sources), min_size=1, max_size=40))
def test_levels_agree_on_generated_pairs(raw: list[tuple[SourceRecord, SourceRecord]]) -> None:
    pairs = [(standardise(a), standardise(b)) for a, b in raw]
    sql = _sql_levels(pairs)
    for comparison in COMPARISONS:
        assert sql[comparison.name] == _python_levels(comparison, pairs), comparison.name


@settings(max_examples=200)
@given(sources, sources)
def test_levels_are_symmetric(a: SourceRecord, b: SourceRecord) -> None:
    left, right = standardise(a), standardise(b)
    for comparison in COMPARISONS:
        assert _python_levels(comparison, [(left, right)]) == _python_levels(
            comparison, [(right, left)]
        )


def test_every_level_sql_is_unique_within_its_comparison() -> None:
    for comparison in COMPARISONS:
        sqls = [level.sql for level in comparison.levels]
        assert len(set(sqls)) == len(sqls)
        assert sqls[-1] == "ELSE"
        assert comparison.levels[0].is_null
