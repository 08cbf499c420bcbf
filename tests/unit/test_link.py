"""`hub link` on the pure core: one row per record, rejects reported, stream equals batch."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from hub.link import Matcher, read_input, report_rejected, run_link, write_assignment
from matchers.survivorship import SurvivorshipRules
from tests.support.resolving import THRESHOLDS
from tests.support.toy_model import ToyKeyRules, ToyScorer, toy_standardise

pytestmark = pytest.mark.unit

TOY = Matcher(toy_standardise, ToyKeyRules(), ToyScorer(), ToyScorer().explain)
PEOPLE = """id,first,surname,dob,postcode,uprn
1,Ann,Smith,1980-01-01,NW1 1AA,100
2,Anne,Smith,1980-01-01,NW1 1AA,100
3,Ann,Smith,1980-01-01,,
4,Robert,Jones,1975-05-05,E1 1AA,200
5,Rob,Jones,1975-05-05,E1 1AA,200
,Nobody,Without,Id,,
7,Cat,Jones,2001-02-03,E1 1AA,200
8,Too,Many,Columns,Here,1,2
2,Anne,Smith,1980-01-01,NW1 1AA,100
"""
MAPPING = "id=record_id,first=first_name,surname=last_name"


def partition(assignment: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for record_id, group in assignment.items():
        groups.setdefault(group, set()).add(record_id)
    return {frozenset(g) for g in groups.values()}


def test_link_writes_one_row_per_record_and_reports_rejects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "people.csv"
    source.write_text(PEOPLE)
    records, rejected = read_input(source, MAPPING)
    report_rejected(source, rejected)
    assert (
        "2 rows rejected, lines 7 (no record_id), 9 (expected 6 columns)" in capsys.readouterr().err
    )
    summary = run_link(records, TOY, THRESHOLDS, SurvivorshipRules())
    out = tmp_path / "out.csv"
    write_assignment(out, summary.pop("assignment"))
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["record_id"] for r in rows] == ["1", "2", "3", "4", "5", "7"]
    persons = partition({r["record_id"]: r["person_id"] for r in rows})
    assert persons == {frozenset("123"), frozenset("45"), frozenset("7")}
    households = partition({r["record_id"]: r["household_id"] for r in rows})
    assert households == {frozenset("123"), frozenset("457")}
    assert summary["records"] == 7 and summary["distinct_records"] == 6
    assert summary["persons"] == 3 and summary["households"] == 2


def test_stream_in_any_order_equals_batch(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(PEOPLE)
    records, _ = read_input(source, MAPPING)
    batch = run_link(records, TOY, THRESHOLDS, SurvivorshipRules(), batch=True)["assignment"]
    for seed in (None, 1, 2, 3):
        streamed = run_link(records, TOY, THRESHOLDS, SurvivorshipRules(), seed)["assignment"]
        assert partition(streamed.person_of) == partition(batch.person_of)
        assert partition(streamed.household_of) == partition(batch.household_of)


def test_missing_model_is_one_line_and_exit_2(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(PEOPLE)
    hub = Path(sys.executable).parent / "hub"
    result = subprocess.run(
        [str(hub), "link", "--input", str(source), "--model", str(tmp_path / "none.json"),
         "--out", str(tmp_path / "out.csv")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "no such model file" in result.stderr
