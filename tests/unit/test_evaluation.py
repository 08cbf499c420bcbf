"""Pairwise and B-cubed scores, checked by hand and against brute force."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matchers.evaluation import evaluate

pytestmark = pytest.mark.unit


def test_hand_computed_example() -> None:
    truth = {"a": "1", "b": "1", "c": "1", "d": "2"}
    predicted = {"a": "x", "b": "x", "c": "y", "d": "y"}
    scores = evaluate(predicted, truth)
    # predicted pairs: ab, cd; true pairs: ab, ac, bc -> 1 correct of 2 predicted, of 3 true.
    assert scores.pairwise_precision == pytest.approx(1 / 2)
    assert scores.pairwise_recall == pytest.approx(1 / 3)
    # B-cubed precision per record: a 1, b 1, c 1/2, d 1/2; recall: a 2/3, b 2/3, c 1/3, d 1.
    assert scores.bcubed_precision == pytest.approx(3 / 4)
    assert scores.bcubed_recall == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4)
    assert (scores.predicted_clusters, scores.true_clusters) == (2, 2)


def test_perfect_prediction_scores_one() -> None:
    truth = {str(i): str(i // 3) for i in range(30)}
    scores = evaluate({k: f"p{v}" for k, v in truth.items()}, truth)
    assert scores.pairwise_f1 == scores.bcubed_f1 == 1.0


partitions = st.dictionaries(
    st.integers(0, 25).map(str), st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1
)


@given(partitions)
def test_matches_brute_force(labels: dict[str, tuple[int, int]]) -> None:
    predicted = {r: f"p{p}" for r, (p, _) in labels.items()}
    truth = {r: f"t{t}" for r, (_, t) in labels.items()}
    scores = evaluate(predicted, truth)
    pairs = list(itertools.combinations(labels, 2))
    pred_pairs = {(a, b) for a, b in pairs if predicted[a] == predicted[b]}
    true_pairs = {(a, b) for a, b in pairs if truth[a] == truth[b]}
    if pred_pairs:
        assert scores.pairwise_precision == pytest.approx(
            len(pred_pairs & true_pairs) / len(pred_pairs)
        )
    if true_pairs:
        assert scores.pairwise_recall == pytest.approx(
            len(pred_pairs & true_pairs) / len(true_pairs)
        )
    precision = recall = 0.0
    for r in labels:
        same_pred = {s for s in labels if predicted[s] == predicted[r]}
        same_true = {s for s in labels if truth[s] == truth[r]}
        precision += len(same_pred & same_true) / len(same_pred)
        recall += len(same_pred & same_true) / len(same_true)
    assert scores.bcubed_precision == pytest.approx(precision / len(labels))
    assert scores.bcubed_recall == pytest.approx(recall / len(labels))


def run_hub(*args: str) -> subprocess.CompletedProcess[str]:
    hub = Path(sys.executable).with_name("hub")
    return subprocess.run([str(hub), *args], capture_output=True, text=True, check=False)


def test_eval_command_prints_json(tmp_path: Path) -> None:
    pred = tmp_path / "pred.csv"
    pred.write_text("record_id,person_id,household_id\na,x,h\nb,x,h\nc,y,h\n")
    truth = tmp_path / "truth.jsonl"
    truth.write_text('{"id": "a", "who": 1}\n{"id": "b", "who": 1}\n{"id": "c", "who": 2}\n')
    result = run_hub("eval", "--pred", str(pred), "--truth", str(truth), "--truth-col", "who",
                     "--truth-id", "id")  # fmt: skip
    assert result.returncode == 0, result.stderr
    scores = orjson.loads(result.stdout)
    assert scores["pairwise_precision"] == scores["bcubed_f1"] == 1.0
    assert scores["records"] == 3


def test_eval_command_missing_column_is_one_line(tmp_path: Path) -> None:
    pred = tmp_path / "pred.csv"
    pred.write_text("record_id,person_id\na,x\n")
    result = run_hub("eval", "--pred", str(pred), "--truth", str(pred), "--truth-col", "nope")
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {pred}: no column 'nope'"


def test_eval_command_names_the_json_line_without_the_column_earlier_lines_have(
    tmp_path: Path,
) -> None:
    # (it said the file had no such column, though its first line has it)
    truth = tmp_path / "truth.jsonl"
    truth.write_text('{"record_id": "a", "who": 1}\n{"record_id": "b"}\n')
    result = run_hub("eval", "--pred", str(truth), "--truth", str(truth), "--truth-col", "who",
                     "--pred-col", "who")  # fmt: skip
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: {truth}: line 2: no 'who'\n"


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('{"record_id": ["b"], "who": 1}', "record_id is not text or a number"),
        ('{"record_id": "b", "who": {"x": 1}}', "who is not text or a number"),
        ('{"record_id": "b", "who": true}', "who is not text or a number"),
        ('{"record_id": "b", "who": "\\u0000alone:a"}', "who holds a NUL character"),
    ],
)
def test_eval_command_refuses_a_list_an_object_or_a_truth_value_as_hub_link_does(
    tmp_path: Path, line: str, says: str
) -> None:
    # (they were scored as their Python text: "['b']")
    truth = tmp_path / "truth.jsonl"
    truth.write_text('{"record_id": "a", "who": 1}\n' + line + "\n")
    result = run_hub("eval", "--pred", str(truth), "--truth", str(truth), "--truth-col", "who",
                     "--pred-col", "who")  # fmt: skip
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: {truth}: line 2: {says}\n"


def test_eval_command_empty_cluster_is_a_cluster_of_its_own(tmp_path: Path) -> None:
    # households: d has no address, so neither the truth nor the prediction gives it one
    pred = tmp_path / "pred.csv"
    pred.write_text("record_id,person_id,household_id\na,p1,h1\nb,p2,h1\nc,p3,h2\nd,p4,\n")
    truth = tmp_path / "truth.csv"
    truth.write_text("record_id,person_id,household_id\na,1,H1\nb,2,H1\nc,3,\nd,4,\n")
    result = run_hub("eval", "--pred", str(pred), "--truth", str(truth),
                     "--truth-col", "household_id", "--pred-col", "household_id")  # fmt: skip
    assert result.returncode == 0, result.stderr
    scores = orjson.loads(result.stdout)
    # c and d are alone in the truth; c is alone in h2, d alone: only a-b is a pair, and right
    assert scores["pairwise_precision"] == scores["pairwise_recall"] == 1.0
    assert scores["true_clusters"] == scores["predicted_clusters"] == 3
    assert (scores["records_alone_in_truth"], scores["records_alone_in_prediction"]) == (2, 1)


def test_eval_command_empty_clusters_never_join(tmp_path: Path) -> None:
    pred = tmp_path / "pred.csv"
    pred.write_text("record_id,person_id\na,p\nb,p\n")
    truth = tmp_path / "truth.csv"
    truth.write_text("record_id,who\na,\nb,\n")
    result = run_hub("eval", "--pred", str(pred), "--truth", str(truth), "--truth-col", "who")
    assert result.returncode == 0, result.stderr
    scores = orjson.loads(result.stdout)
    assert scores["pairwise_precision"] == 0.0
    assert scores["true_clusters"] == 2


def test_eval_command_says_which_records_only_one_side_holds(tmp_path: Path) -> None:
    pred = tmp_path / "pred.csv"
    pred.write_text("record_id,person_id\na,x\nb,x\nz,y\n")
    truth = tmp_path / "truth.csv"
    truth.write_text("record_id,who\na,1\nb,1\nc,2\nd,2\n")
    result = run_hub("eval", "--pred", str(pred), "--truth", str(truth), "--truth-col", "who")
    assert result.returncode == 0, result.stderr
    scores = orjson.loads(result.stdout)
    assert scores["records"] == 2
    assert (scores["records_without_truth"], scores["truth_records_not_predicted"]) == (1, 2)
    assert f"2 records of {truth} are not in {pred}: scored on the 2 records both hold" in (
        " ".join(result.stderr.split())
    )


def test_eval_command_refuses_a_record_given_two_clusters(tmp_path: Path) -> None:
    pred = tmp_path / "pred.csv"
    pred.write_text("record_id,person_id\na,x\nb,x\na,x\nb,y\n")
    result = run_hub("eval", "--pred", str(pred), "--truth", str(pred), "--truth-col", "person_id")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {pred}: line 5: the record_id of line 3 again, with another person_id"
    )
