"""`hub link` on the pure core: one row per record, rejects reported, stream equals batch."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from hub.errors import UsageError
from hub.link import (
    Matcher,
    load_relationships,
    read_input,
    read_relationships,
    relationship_written,
    report_rejected,
    report_unseen_sources,
    run_link,
    write_assignment,
)
from matchers.records import SourceRecord
from matchers.standardise import standardise
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


def test_a_folder_given_as_the_model_is_named_a_folder(tmp_path: Path) -> None:
    # (it was "no such model file", of a folder that is there)
    source = tmp_path / "people.csv"
    source.write_text(PEOPLE)
    result = run_hub("link", "--input", str(source), "--model", str(tmp_path),
                     "--out", str(tmp_path / "out.csv"))  # fmt: skip
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: {tmp_path}: is a folder, give the model file\n"


FAKE_1000 = Path("/work/shared/data/fake_1000.csv")
FAKE_MAP = "unique_id=record_id,surname=last_name,city=town"


def run_hub(*args: str) -> subprocess.CompletedProcess[str]:
    hub = Path(sys.executable).with_name("hub")
    return subprocess.run([str(hub), *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not FAKE_1000.exists():
        pytest.skip(f"{FAKE_1000} is not on this machine (Splink's public test data)")
    out = tmp_path_factory.mktemp("model") / "model.json"
    result = run_hub("model", "train", "--input", str(FAKE_1000), "--map", FAKE_MAP,
                     "--out", str(out), "--max-pairs", "100000", "--seed", "3")  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


def read_assignment(path: Path) -> dict[str, str]:
    with path.open() as handle:
        return {row["record_id"]: row["person_id"] for row in csv.DictReader(handle)}


@pytest.mark.slow
def test_hub_link_with_a_trained_model_streams_the_batch_partition_in_any_order(
    model: Path, tmp_path: Path
) -> None:
    batch_out = tmp_path / "batch.csv"
    result = run_hub("link", "--input", str(FAKE_1000), "--map", FAKE_MAP, "--model", str(model),
                     "--out", str(batch_out), "--batch", "--link-threshold", "4")  # fmt: skip
    assert result.returncode == 0, result.stderr
    batch = partition(read_assignment(batch_out))
    assert len(batch) < 1000  # records did link
    for seed in ("1", "2"):
        out = tmp_path / f"stream{seed}.csv"
        result = run_hub("link", "--input", str(FAKE_1000), "--map", FAKE_MAP,
                         "--model", str(model), "--out", str(out), "--shuffle-seed", seed,
                         "--link-threshold", "4")  # fmt: skip
        assert result.returncode == 0, result.stderr
        summary = orjson.loads(result.stdout)
        assert summary["records"] == 1000 and summary["mode"] == "stream"
        assert summary["thresholds"]["link"] == 4.0
        assert partition(read_assignment(out)) == batch
    scores = run_hub("eval", "--pred", str(out), "--truth", str(FAKE_1000),
                     "--truth-id", "unique_id", "--truth-col", "cluster")  # fmt: skip
    assert scores.returncode == 0, scores.stderr
    assert orjson.loads(scores.stdout)["records"] == 1000


def test_a_bad_model_file_is_one_line(tmp_path: Path) -> None:
    bogus = tmp_path / "model.json"
    bogus.write_text("{}")
    source = tmp_path / "people.csv"
    source.write_text(PEOPLE)
    result = run_hub("link", "--input", str(source), "--model", str(bogus),
                     "--out", str(tmp_path / "out.csv"))  # fmt: skip
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "not a model file" in result.stderr


def test_thresholds_come_from_settings_then_the_model_then_options() -> None:
    from hub.link import thresholds_from
    from hub.settings import Settings

    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert thresholds_from(defaults, 40).block_cap == 40  # the model's cap
    configured = Settings(_env_file=None, block_cap=70, link_threshold=3.0)  # type: ignore[call-arg]
    assert thresholds_from(configured, 40).block_cap == 70
    chosen = thresholds_from(configured, 40, block_cap=20, link=5.0, review=None)
    assert (chosen.block_cap, chosen.link, chosen.review) == (20, 5.0, defaults.review_threshold)


@pytest.mark.parametrize(
    ("option", "setting", "most", "message"),
    [
        ("block_cap", "block_cap", 2**63 - 1,
         "the block cap must be at most 9,223,372,036,854,775,807"),
        ("dob_years", "dob_conflict_years", 10_000,
         "the birth-year window must be at most 10,000 years"),
    ],
)  # fmt: skip
def test_a_whole_number_threshold_too_large_is_a_usage_error(
    option, setting, most, message
) -> None:
    # (one past 64 bits was taken, the file linked, and its JSON summary an internal error)
    from hub.link import thresholds_from
    from hub.settings import Settings

    with pytest.raises(UsageError, match=message):
        thresholds_from(Settings(_env_file=None), 40, **{option: most + 1})  # type: ignore[call-arg]
    with pytest.raises(UsageError, match=message):  # (HUB_BLOCK_CAP, HUB_DOB_CONFLICT_YEARS)
        thresholds_from(Settings(_env_file=None, **{setting: 10**20}), 40)  # type: ignore[call-arg]
    taken = thresholds_from(Settings(_env_file=None), 40, **{option: most})  # type: ignore[call-arg]
    assert getattr(taken, option) == most  # (the largest is taken)


@pytest.mark.slow
def test_hub_explain_person_prints_the_links_of_the_records_person(
    model: Path, tmp_path: Path
) -> None:
    result = run_hub("explain", "person", "--input", str(FAKE_1000), "--map", FAKE_MAP,
                     "--model", str(model), "--record", "0")  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = orjson.loads(result.stdout)
    assert "0" in document["record_ids"]
    assert len(document["links"]) == len(document["record_ids"]) - 1
    # under a relationship between record 0 and another of its person's, they are two
    other = next(r for r in document["record_ids"] if r != "0")
    related = tmp_path / "relationships.jsonl"
    related.write_text(orjson.dumps({"record_id": "0", "related_record_id": other,
                                     "source_system": "housing"}).decode())  # fmt: skip
    apart = run_hub("explain", "person", "--input", str(FAKE_1000), "--map", FAKE_MAP,
                    "--model", str(model), "--record", "0",
                    "--relationships", str(related))  # fmt: skip
    assert apart.returncode == 0, apart.stderr
    separated = orjson.loads(apart.stdout)
    assert other not in separated["record_ids"]
    assert [j["by"] for j in separated["judgements"]] == ["source:housing"]
    missing = run_hub("explain", "person", "--input", str(FAKE_1000), "--map", FAKE_MAP,
                      "--model", str(model), "--record", "no-such-record")  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1] == (
        f"error: {FAKE_1000}: no record with record_id no-such-record"
    )


def test_relationships_keep_the_records_they_relate_apart_in_stream_and_batch(
    tmp_path: Path,
) -> None:
    source = tmp_path / "people.csv"
    source.write_text(PEOPLE)
    records, _ = read_input(source, MAPPING)
    related = tmp_path / "relationships.jsonl"
    related.write_text(
        '{"record_id": "1", "related_record_id": "2", "source_system": "housing"}\n'
        '{"record_id": "4", "related_record_id": null, "group_id": "T1"}\n'
        '{"related_record_id": "3"}\n'
        '{"record_id": "5", "related_record_id": "5"}\n'
        "not json\n"
        '{"record_id": "3", "related_record_id": "2", "kind": "CARER"}\n'
        '{"record_id": ["3"], "related_record_id": "1"}\n'
        '{"record_id": "7", "related_record_id": "4", "kind": "parent", "start": "2009-06-27"}\n'
        '{"record_id": "5", "related_record_id": "7", "kind": "CHILD", "start": "2010-01-01"}\n'
        '{"record_id": "5", "related_record_id": "2", "kind": "parent", "start": "2009-06-31"}\n'
        '{"record_id": "4", "related_record_id": "2", "kind": "partner", "start": "soon"}\n'
        '{"record_id": "3", "related_record_id": "4", "kind": "parent", "start": "27/06/2009"}\n'
        '{"record_id": "1", "related_record_id": "4", "kind": "parent", "start": "1753-01-01"}\n'
        '{"record_id": "3", "related_record_id": "5", "updated_at": "2099-01-01T00:00:00Z"}\n'
        '{"record_id": "3", "related_record_id": null, "kind": "parent"}\n'
        '{"record_id": "6", "related_record_id": "2", "kind": "prent", "start": "2009-06-27"}\n'
    )
    judgements, rejected, groupings, unread = read_relationships(related)
    assert [(j.pair, j.by, j.stated, j.parent, j.since) for j in judgements] == [
        (("1", "2"), "source:housing", True, None, None),
        (("2", "3"), "source:unknown", True, None, None),
        # the subject of a parent relation is the parent; the related record of a child one
        (("4", "7"), "source:unknown", True, "7", "2009-06-27"),
        (("5", "7"), "source:unknown", True, "7", "2010-01-01"),
        # (a start that is not a date: two people, with no parent; a partner's: no matter)
        (("2", "5"), "source:unknown", True, None, None),
        (("2", "4"), "source:unknown", True, None, None),
        # (a UK day-first start is read as a date of birth is)
        (("3", "4"), "source:unknown", True, "3", "2009-06-27"),
        (("1", "4"), "source:unknown", True, None, None),  # (a start out of a worker's range)
        (("2", "6"), "source:unknown", True, None, None),  # (a kind the hub does not know)
    ]
    assert [(r.line, r.reason) for r in rejected] == [
        (3, "no record_id"),
        (4, "relates a record to itself"),
        (5, "not valid JSON"),
        (7, "a value that is not text or a number"),
        (14, "updated_at is in the future"),  # (a worker would dead-letter it)
        (15, "neither a related_record_id nor a group_id"),  # (as hub resolve says)
    ]
    assert [(r.line, r.reason) for r in unread] == [
        (10, "start is not a date"),  # (no value shown: a parent's start may be a dob)
        (13, "start is out of range"),
        (16, "kind 'prent' is not one the hub knows: other"),  # (said, as hub resolve says)
    ]
    assert groupings == 1
    judgements = judgements[:2]
    for batch in (False, True):
        summary = run_link(records, TOY, THRESHOLDS, SurvivorshipRules(), batch=batch,
                           helper=False, judgements=judgements)  # fmt: skip
        persons = partition(summary["assignment"].person_of)
        # 1 and 3 still link; 2 is kept from both
        assert persons == {frozenset("13"), frozenset("2"), frozenset("45"), frozenset("7")}
    groupings_only = tmp_path / "groupings.csv"
    groupings_only.write_text("record_id,group_id\n1,T1\n")
    with pytest.raises(UsageError, match="no related_record_id column"):
        read_relationships(groupings_only)


def test_link_refuses_the_relationship_rows_resolve_and_publish_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hub.inputs import read_rows
    from hub.resolve import plan_relationships
    from schemas.codec import SingleObjectCodec

    related = tmp_path / "relationships.jsonl"
    rows = [
        {"record_id": "1", "related_record_id": "2", "source_system": "housing", "kind": ["x"]},
        {"record_id": "1", "related_record_id": "3", "source_system": "Bad Name!"},
        {"record_id": "4", "related_record_id": "5", "source_system": "housing", "role": {}},
        {"record_id": "4", "related_record_id": "7", "source_system": "housing",
         "relationship_id": True},
        {"record_id": "5", "related_record_id": "7", "source_system": "housing",
         "kind": " Parent ", "start": "2010-01-01"},
    ]  # fmt: skip
    related.write_text("".join(orjson.dumps(row).decode() + "\n" for row in rows))
    judgements, rejected, _, _ = read_relationships(related)
    _, refused, _ = plan_relationships(read_rows(related), SingleObjectCodec(),
                                       now=dt.datetime.now(dt.UTC))  # fmt: skip
    lines = [(r.line, r.reason) for r in rejected]
    assert lines == [(r.line, r.reason) for r in refused]
    assert lines == [
        (1, "a value that is not text or a number"),
        (2, "source_system 'Bad Name!' is not a system name"),
        (3, "a value that is not text or a number"),
        (4, "a value that is not text or a number"),
    ]
    # (the kind read as hub resolve reads it: a parent relation)
    assert [(j.pair, j.parent) for j in judgements] == [(("5", "7"), "5")]
    load_relationships(related, [SourceRecord("5"), SourceRecord("7")])
    assert "4 rows rejected, lines 1 (a value that is not text" in capsys.readouterr().err


def test_link_neither_overwrites_its_relationships_nor_hides_those_naming_no_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE)
    related = tmp_path / "relationships.csv"
    text = "record_id,related_record_id\n1,2\n"
    related.write_text(text)
    clash = run_hub("link", "--input", str(people), "--model", str(tmp_path / "model.json"),
                    "--out", str(related), "--relationships", str(related))  # fmt: skip
    assert clash.returncode == 2
    assert "is also an input of this command" in clash.stderr
    assert related.read_text() == text
    # ids written otherwise than the input writes them ("housing:1" for "1") bind nothing
    related.write_text(text + "housing:1,2\n")
    records, _ = read_input(people, MAPPING)
    assert len(load_relationships(related, records)) == 2
    err = capsys.readouterr().err
    assert "2 relationships between two records (each two people; 0 say which" in err
    assert "1 of these names a record the input does not hold, and binds nothing" in err
    related.write_text("record_id,related_record_id\n1,2\n")
    load_relationships(related, records)
    assert "1 relationship between two records (each two people; 0 say which is the " in (
        capsys.readouterr().err
    )
    load_relationships(related, [*records, SourceRecord("housing:1")])
    assert "the input does not hold" not in capsys.readouterr().err


def test_link_counts_the_values_it_left_out_in_the_records_last_versions() -> None:
    matcher = replace(TOY, standardise=standardise)
    records = [
        SourceRecord("1", first_name="Ann", dob="31/02/1980"),
        SourceRecord("2", nhs_number="123", dob="01/01/1900"),
        SourceRecord("3", dob="1900-13-01"),
        SourceRecord("3", dob="1970-03-01"),  # (its last version is what counts)
    ]
    for batch in (False, True):
        summary = run_link(records, matcher, THRESHOLDS, SurvivorshipRules(), batch=batch,
                           helper=False)  # fmt: skip
        assert summary["values_left_out"] == {
            "dob_invalid": 1, "dob_placeholder": 1, "nhs_number_format": 1,
        }  # fmt: skip


def test_link_notes_an_adults_only_source_named_otherwise_than_the_records_name_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    records = [SourceRecord("1", source_system="council_tax"), SourceRecord("2")]
    named = replace(THRESHOLDS, adult_sources=(("Council-Tax", 18), ("electoral_roll", 14)))
    report_unseen_sources(named, records)
    assert capsys.readouterr().err.strip() == (
        "note: no record comes from the adults-only source Council-Tax (HUB_ADULT_SOURCES or "
        "--adult-sources), but some come from council_tax: names are matched exactly"
    )
    # a source the file does not hold, or one named as the records name it: nothing to say
    report_unseen_sources(replace(named, adult_sources=(("council_tax", 18),)), records)
    report_unseen_sources(named, [SourceRecord("3", source_system="housing")])
    assert capsys.readouterr().err == ""
    schools = [SourceRecord("4", source_system="Education")]
    report_unseen_sources(THRESHOLDS, schools)
    assert capsys.readouterr().err.strip() == (
        "note: no record comes from the contacts source education (HUB_CONTACT_SOURCES or "
        "--contact-sources), but some come from Education: names are matched exactly"
    )
    # a name mistyped (the sweep's --contact-sources educaton); two sources alike in part
    schools = [SourceRecord("5", source_system="education")]
    report_unseen_sources(replace(THRESHOLDS, contact_sources=("educaton",)), schools)
    assert "contacts source educaton" in capsys.readouterr().err
    for system, named_as in (("child_social_care", "adult_social_care"),
                             ("education_sen", "education"), ("sen_education", "education"),
                             ("adult_social_work", "adult_social_care")):  # fmt: skip
        others = [SourceRecord("6", source_system=system)]
        report_unseen_sources(replace(THRESHOLDS, adult_sources=((named_as, 14),)), others)
        assert capsys.readouterr().err == "", (system, named_as)
    report_unseen_sources(replace(THRESHOLDS, adult_sources=(("coucnl_tax", 18),)), records)
    assert "adults-only source coucnl_tax" in capsys.readouterr().err  # (two slips)


def test_hub_link_says_when_rows_repeat_a_record_id(model: Path, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(PEOPLE)  # (record 2 twice)
    result = run_hub("link", "--input", str(source), "--map", MAPPING, "--model", str(model),
                     "--out", str(tmp_path / "out.csv"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "1 row repeats an earlier record_id" in " ".join(result.stderr.split())
    assert len(read_assignment(tmp_path / "out.csv")) == 6


def test_hub_link_s_closing_line_counts_one_of_a_thing_in_the_singular(
    model: Path, tmp_path: Path
) -> None:
    source = tmp_path / "people.csv"
    one_record = "\n".join(PEOPLE.splitlines()[:2])
    source.write_text(one_record + "\n,Nobody,Without,Id,,\n")
    result = run_hub("link", "--input", str(source), "--map", MAPPING, "--model", str(model),
                     "--out", str(tmp_path / "out.csv"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stderr.split())
    assert "1 row rejected, line 3 (no record_id)" in said
    assert "linked 1 record (" in said and ") into 1 person and 1 household in " in said
    assert "; 1 row rejected; wrote " in said


def test_a_relationship_s_time_is_read_as_a_record_s_is() -> None:
    now = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
    expected = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    for written in ("20/11/2026 10:00", "2026-11-20T10:00:00Z", "2026-11-20T11:00:00+01:00"):
        assert relationship_written(written, now) == expected
    assert relationship_written("soon", now) == "updated_at 'soon' is not a time"
