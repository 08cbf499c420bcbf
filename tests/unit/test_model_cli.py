"""`hub model train` and `hub model explain` through the real command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from hub.inputs import RejectedRow
from matchers.model import Model

pytestmark = pytest.mark.unit

FAKE_1000 = Path("/work/shared/data/fake_1000.csv")
FAKE_MAP = "unique_id=record_id,surname=last_name,city=town"


def run_hub(*args: str) -> subprocess.CompletedProcess[str]:
    hub = Path(sys.executable).with_name("hub")
    return subprocess.run([str(hub), *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    if not FAKE_1000.exists():
        pytest.skip(f"{FAKE_1000} is not on this machine (Splink's public test data)")
    out = tmp_path_factory.mktemp("model") / "model.json"
    result = run_hub("model", "train", "--input", str(FAKE_1000), "--map", FAKE_MAP,
                     "--out", str(out), "--max-pairs", "100000", "--seed", "3")  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out, orjson.loads(result.stdout)


def test_train_writes_a_model_and_a_json_summary(
    trained: tuple[Path, dict[str, object]],
) -> None:
    out, summary = trained
    model = Model.load(out)
    assert summary["version"] == model.version
    assert summary["records"] == 1000
    assert summary["rejected"] == 0
    assert summary["comparisons"] == ["given_name", "dob", "family_and_home", "contact"]
    assert model.document["training"]["seed"] == 3
    assert set(model.term_frequencies) == {"first_name", "last_name", "dob"}


def test_training_is_reproducible_for_a_seed(
    trained: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    _, summary = trained
    again = tmp_path / "again.json"
    result = run_hub("model", "train", "--input", str(FAKE_1000), "--map", FAKE_MAP,
                     "--out", str(again), "--max-pairs", "100000", "--seed", "3")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout)["version"] == summary["version"]


def test_explain_prints_the_waterfall(trained: tuple[Path, dict[str, object]]) -> None:
    out, _ = trained
    result = run_hub("model", "explain", "--model", str(out), "--input", str(FAKE_1000),
                     "--map", FAKE_MAP, "--a", "0", "--b", "2")  # fmt: skip
    assert result.returncode == 0, result.stderr
    explanation = orjson.loads(result.stdout)
    assert [s["comparison"] for s in explanation["steps"]] == [
        "given_name",
        "dob",
        "family_and_home",
        "contact",
    ]
    total = explanation["prior_match_weight"] + sum(
        s["match_weight"] + s["tf_adjustment"] for s in explanation["steps"]
    )
    assert explanation["match_weight"] == pytest.approx(total)
    assert explanation["match_probability"] > 0.5  # records 0 and 2 are the same person
    # ids are read as the file's are, without spaces at either end (it said "no record")
    spaced = run_hub("model", "explain", "--model", str(out), "--input", str(FAKE_1000),
                     "--map", FAKE_MAP, "--a", " 0", "--b", "2 ")  # fmt: skip
    assert spaced.returncode == 0, spaced.stderr
    assert orjson.loads(spaced.stdout) == explanation
    blank = run_hub("model", "explain", "--model", str(out), "--input", str(FAKE_1000),
                    "--map", FAKE_MAP, "--a", " ", "--b", "2")  # fmt: skip
    assert (blank.returncode, blank.stderr) == (2, "error: --a and --b each need a record_id\n")


def test_explain_uses_the_last_row_of_a_record_as_link_does(
    trained: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    out, _ = trained
    header = "record_id,first_name,last_name,dob\n0,Ann,Smith,1980-01-01\n"
    repeated, last_only = tmp_path / "repeated.csv", tmp_path / "last.csv"
    repeated.write_text(header + "1,Ann,Smith,1980-01-01\n1,Bob,Jones,1990-02-02\n,No,Id,\n")
    last_only.write_text(header + "1,Bob,Jones,1990-02-02\n")
    explain = ("model", "explain", "--model", str(out), "--a", "0", "--b", "1", "--input")
    explained = [run_hub(*explain, str(path)) for path in (repeated, last_only)]
    assert all(result.returncode == 0 for result in explained), explained[0].stderr
    assert explained[0].stdout == explained[1].stdout
    assert orjson.loads(explained[0].stdout)["match_probability"] < 0.5
    assert "1 row rejected, line 5 (no record_id)" in explained[0].stderr
    missing = run_hub("model", "explain", "--model", str(out), "--input", str(repeated),
                      "--a", "0", "--b", "9")  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1] == (
        f"error: {repeated}: no record with record_id 9 (rows were rejected: see above)"
    )


def test_bad_input_is_one_line_and_a_usage_exit(tmp_path: Path) -> None:
    few = tmp_path / "few.csv"
    few.write_text("record_id,first_name\n1,Ann\n2,Bob\n")
    result = run_hub("model", "train", "--input", str(few), "--out", str(tmp_path / "m.json"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {few}: 2 usable records; training needs at least 50"
    )
    missing = run_hub("model", "train", "--input", str(tmp_path / "nope.csv"),
                      "--out", str(tmp_path / "m.json"))  # fmt: skip
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    bad_map = run_hub("model", "train", "--input", str(few), "--map", "a=nowhere",
                      "--out", str(tmp_path / "m.json"))  # fmt: skip
    assert bad_map.returncode == 2
    assert "not a record field" in bad_map.stderr


def test_train_refuses_an_out_of_another_file_type_before_reading(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("record_id,first_name\n1,Ann\n")
    data = tmp_path / "other.csv"
    data.write_text("record_id,first_name\n2,Bob\n")
    for out in (data, tmp_path / "model.jsonl"):
        result = run_hub("model", "train", "--input", str(people), "--out", str(out))
        assert result.returncode == 2
        assert result.stderr.strip() == f"error: {out}: --out writes .json; give a .json name"
    assert data.read_text() == "record_id,first_name\n2,Bob\n"
    assert not (tmp_path / "model.jsonl").exists()


def test_train_and_bench_scorer_report_rejected_rows_by_line(
    trained: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    few = tmp_path / "few.csv"
    few.write_text("record_id,first_name\n1,Ann\n,Nobody\n2,Bob\n1,Anne\n3,Cy,x\n")
    lines = (
        "lines 2 (duplicate record_id: line 5 replaces it), 3 (no record_id), "
        "6 (expected 2 columns)"
    )
    result = run_hub("model", "train", "--input", str(few), "--out", str(tmp_path / "m.json"))
    assert result.returncode == 2
    assert f"{few}: 3 rows rejected, {lines}" in " ".join(result.stderr.split())
    model, _ = trained
    bench = run_hub("bench", "scorer", "--model", str(model), "--input", str(few),
                    "--index", "10", "--queries", "1")  # fmt: skip
    assert bench.returncode == 2
    assert f"{few}: 3 rows rejected, {lines}" in " ".join(bench.stderr.split())


def test_train_says_what_a_snapshot_lacks_in_one_line(tmp_path: Path) -> None:
    names = ["Sandra Clark", "David Clarke", "Amir Khan", "Joan Wu", "Ola Bello"] * 40
    names_only = tmp_path / "names.csv"
    names_only.write_text("record_id,first_name,last_name\n" + "".join(
        f"{i},{n.split()[0]},{n.split()[1]}\n" for i, n in enumerate(names)))  # fmt: skip
    result = run_hub("model", "train", "--input", str(names_only), "--out", str(tmp_path / "m"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: training produced an unusable model: the snapshot gives no way to find sure "
        "matches: a model needs, on at least 0.5% of the records, names with dates of birth, "
        "NHS numbers, National Insurance numbers with dates of birth, or unique pupil numbers"
    )
    copies = tmp_path / "copies.csv"
    copies.write_text("record_id,first_name,last_name,dob,postcode\n" + "".join(
        f"{i},Sandra,Clark,03/08/1938,NW1 9SE\n" for i in range(60)))  # fmt: skip
    result = run_hub("model", "train", "--input", str(copies), "--out", str(tmp_path / "m"))
    assert result.returncode == 1
    assert "is it the same records many times over?" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


def test_explain_refuses_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    bogus = tmp_path / "model.json"
    bogus.write_text('{"format": "other"}')
    people = tmp_path / "people.csv"
    people.write_text("record_id,first_name\n1,Ann\n2,Ann\n")
    result = run_hub("model", "explain", "--model", str(bogus), "--input", str(people),
                     "--a", "1", "--b", "2")  # fmt: skip
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"error: {bogus}: not a model file (format is not 'residents-hub-model/1')"
    )


def test_bench_scorer_prints_json_with_parity(trained: tuple[Path, dict[str, object]]) -> None:
    out, _ = trained
    result = run_hub("bench", "scorer", "--model", str(out), "--input", str(FAKE_1000),
                     "--map", FAKE_MAP, "--index", "500", "--queries", "8", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = orjson.loads(result.stdout)
    assert report["index_records"] == 500
    assert report["new_records"] == 8
    assert report["candidate_pairs"] > 0
    assert report["parity"]["same_pairs"] is True
    assert report["parity"]["pairs_compared"] == report["candidate_pairs"]
    assert report["parity"]["max_abs_difference"] <= 1e-6
    assert report["ours"]["us_per_pair"] > 0
    assert report["splink"]["pairs"] == report["candidate_pairs"]


def test_bench_scorer_needs_enough_records(trained: tuple[Path, dict[str, object]]) -> None:
    out, _ = trained
    result = run_hub("bench", "scorer", "--model", str(out), "--input", str(FAKE_1000),
                     "--map", FAKE_MAP, "--index", "995", "--queries", "10")  # fmt: skip
    assert result.returncode == 2
    assert "need 1005" in result.stderr


def test_a_small_snapshot_trains_past_rules_no_two_records_agree_on(tmp_path: Path) -> None:
    """No two of these 50 records share a unique pupil number or an NHS number: those
    sessions are skipped, not fatal (they were Splink's EMTrainingException)."""
    borough = tmp_path / "borough"
    assert run_hub("simulate", "--out", str(borough), "--residents", "300").returncode == 0
    lines = (borough / "persons.csv").read_text().splitlines()[:51]
    small = tmp_path / "small.csv"
    small.write_text("\n".join(lines) + "\n")
    result = run_hub("model", "train", "--input", str(small), "--out", str(tmp_path / "m.json"))
    assert result.returncode == 0, result.stderr
    assert "no two records agree on upn: skipped" in result.stderr
    assert orjson.loads(result.stdout)["records"] == 50


def test_training_reads_the_last_row_of_a_record_id_as_link_does(tmp_path: Path) -> None:
    from hub.model_cli import load_records

    path = tmp_path / "people.csv"
    path.write_text("record_id,first_name\n1,Ann\n2,Bob\n1,Anne\n,Nobody\n")
    loaded = load_records(path, None)
    assert [(r.record_id, r.first_name) for r in loaded.records] == [("1", "anne"), ("2", "bob")]
    assert loaded.reasons == {"duplicate record_id": 1, "no record_id": 1}
    assert loaded.rejected_rows == [
        RejectedRow(2, "duplicate record_id: line 4 replaces it"),
        RejectedRow(5, "no record_id"),
    ]
