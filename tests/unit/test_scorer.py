"""The in-process scorer on a hand-made model: weights, TF adjustments, the waterfall."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from matchers.comparisons import comparisons_for
from matchers.model import (
    MODEL_FORMAT,
    Model,
    ModelError,
    match_weight_to_probability,
    model_version,
)
from matchers.records import SourceRecord, StandardRecord
from matchers.scorer import Scorer
from matchers.standardise import standardise
from tests.unit.test_comparisons import sources

pytestmark = pytest.mark.unit

PRIOR = 0.001
COUNCIL = comparisons_for(lambda _column: True)


def raw_comparison(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in document["splink"]["comparisons"] if c["output_column_name"] == name)


def hand_made_document() -> dict[str, Any]:
    """A council model (every column filled), each level with m falling and u rising."""
    comparisons = []
    for comparison in COUNCIL:
        raw = comparison.splink_dict()
        levels = [lv for lv in raw["comparison_levels"] if not lv.get("is_null_level")]  # type: ignore[attr-defined]
        for i, level in enumerate(levels):
            level["m_probability"] = (len(levels) - i) / sum(range(1, len(levels) + 1))
            level["u_probability"] = (i + 1) / sum(range(1, len(levels) + 1))
        comparisons.append(raw)
    return signed({
        "format": MODEL_FORMAT,
        "splink": {"probability_two_random_records_match": PRIOR, "comparisons": comparisons},
        "term_frequencies": {
            "first_name": {"john": 0.05, "jonathon": 0.0001},
            "last_name": {"smith": 0.02},
        },
        "blocking": {"rules": ["nhs"], "max_block_size": 100},
    })  # fmt: skip


def signed(document: dict[str, Any]) -> dict[str, Any]:
    """The document with the version training gives its content."""
    document["version"] = model_version(document)
    return document


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(Model(hand_made_document()))


def person(**fields: str) -> StandardRecord:
    return standardise(SourceRecord(record_id=fields.pop("record_id", "x"), **fields))


def level_weight(comparison: str, label: str) -> float:
    model = Model(hand_made_document())
    found = next(c for c in model.comparisons if c.name == comparison)
    return next(level.weight for level in found.levels if level.label == label)


def test_weight_is_prior_plus_level_weights(scorer: Scorer) -> None:
    a = person(first_name="Ann", last_name="Jones", dob="1980-02-01", phone="07700 900123")
    b = person(first_name="Ann", last_name="Jones-Smith", dob="1980-01-02", phone="07700 900123")
    expected = (
        math.log2(PRIOR / (1 - PRIOR))
        + level_weight("given_name", "Exact match on given name")  # "ann" has no TF entry
        + level_weight("dob", "Day and month swapped")
        + level_weight(
            "family_and_home",
            "Family names alike (Jaro-Winkler >= 0.92, or one part of the other); "
            "Same address, phone or email",
        )
        + level_weight("contact", "A phone or an email agrees (counted in family_and_home)")
    )
    assert scorer.score(a, b) == pytest.approx(expected, abs=1e-12)


def test_rare_shared_name_weighs_more_than_a_common_one(scorer: Scorer) -> None:
    johns = person(first_name="John"), person(first_name="John")
    jonathons = person(first_name="Jonathon"), person(first_name="Jonathon")
    unknowns = person(first_name="Zebedee"), person(first_name="Zebedee")
    common, rare, unknown = (scorer.score(*pair) for pair in (johns, jonathons, unknowns))
    assert rare > unknown > common
    # Splink's adjustment: log2(u of the exact level) - log2(the value's frequency).
    exact = next(
        level
        for c in scorer.model.comparisons
        if c.name == "given_name"
        for level in c.levels
        if level.tf_column
    )
    assert rare - unknown == pytest.approx(math.log2(exact.u) - math.log2(0.0001))  # type: ignore[arg-type]


def test_adjustment_uses_the_more_common_of_two_values(scorer: Scorer) -> None:
    one_known = scorer.explain(person(last_name="Smith"), person(last_name="Smith"))
    step = next(s for s in one_known.steps if s.comparison == "family_and_home")
    assert step.level == "Same family name; elsewhere or unknown"
    assert step.tf_adjustment == pytest.approx(
        math.log2(step.u) - math.log2(0.02)  # type: ignore[arg-type]
    )


def test_explanation_adds_up_to_the_score(scorer: Scorer) -> None:
    a = person(first_name="Bob", last_name="Smith", dob="1980-02-01", postcode="NW1 2DB",
               nhs_number="9434765919", email="bob@mail.co.uk")  # fmt: skip
    b = person(first_name="Robert", last_name="Smith", dob="1981-02-01", postcode="NW1 2DE",
               nhs_number="4010232137", email="bob@mail.co.uk")  # fmt: skip
    explanation = scorer.explain(a, b)
    assert [s.comparison for s in explanation.steps] == [c.name for c in COUNCIL]
    total = explanation.prior_match_weight + sum(
        s.match_weight + s.tf_adjustment for s in explanation.steps
    )
    assert explanation.match_weight == pytest.approx(total)
    assert explanation.match_weight == pytest.approx(scorer.score(a, b))
    assert explanation.match_probability == pytest.approx(scorer.probability(a, b))
    levels = {s.comparison: s.level for s in explanation.steps}
    assert levels["given_name"] == "Same nickname group"
    assert levels["family_and_home"] == "Same family name; Same address, phone or email"
    assert levels["nhs_number"] == "Different"
    assert levels["ni_number"] == "ni_stem is null"
    assert explanation.as_dict()["steps"][0]["comparison"] == "given_name"


@given(sources, sources)
def test_scores_are_symmetric_and_score_many_agrees(a: SourceRecord, b: SourceRecord) -> None:
    scorer = Scorer(Model(hand_made_document()))
    left, right = standardise(a), standardise(b)
    assert scorer.score(left, right) == pytest.approx(scorer.score(right, left), abs=1e-9)
    assert scorer.score_many(left, [right, left]) == [
        scorer.score(left, right),
        scorer.score(left, left),
    ]
    assert scorer.explain(left, right).match_weight == pytest.approx(scorer.score(left, right))


def test_probability_of_weights() -> None:
    assert match_weight_to_probability(0.0) == 0.5
    assert match_weight_to_probability(10.0) == pytest.approx(1024 / 1025)
    assert match_weight_to_probability(-2000.0) == 0.0
    assert match_weight_to_probability(2000.0) == 1.0


def test_model_version_is_reported(scorer: Scorer) -> None:
    assert scorer.version == model_version(hand_made_document())
    assert scorer.version.startswith("m") and len(scorer.version) == 13


def test_a_level_without_a_python_twin_is_refused() -> None:
    document = hand_made_document()
    document["splink"]["comparisons"][0]["comparison_levels"][1]["sql_condition"] = "1 = 1"
    with pytest.raises(ModelError, match=r"given_name.*no Python twin"):
        Model(document)


def test_an_untrained_level_is_refused() -> None:
    document = hand_made_document()
    del raw_comparison(document, "dob")["comparison_levels"][1]["m_probability"]
    with pytest.raises(ModelError, match=r"dob.*m_probability is not trained"):
        Model(document)


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda d: raw_comparison(d, "dob")["comparison_levels"][1].update(u_probability=-0.1),
         r"dob.*u_probability -0.1 is not a probability"),
        (lambda d: raw_comparison(d, "dob")["comparison_levels"][1].update(u_probability=0),
         "comparison 'dob': the exact-match level on 'dob' has u 0"),
        (lambda d: d["splink"].update(probability_two_random_records_match="abc"),
         "'splink' probability_two_random_records_match is not a number"),
        (lambda d: d["splink"].update(comparisons=[]), "no comparisons"),
        (lambda d: d.update(version=None), "no version"),
        (lambda d: d["blocking"].update(rules=[]), "no blocking rules"),
        # (a model changed by hand keeps its old version: what it decides is not that one's)
        (lambda d: raw_comparison(d, "dob")["comparison_levels"][1].update(m_probability=1e-9),
         "version does not match its content"),
        (lambda d: d["term_frequencies"]["last_name"].update(smith=0.5),
         "version does not match its content"),
    ],
)  # fmt: skip
def test_a_spoilt_model_is_refused(spoil: Callable[[dict[str, Any]], None], message: str) -> None:
    document = hand_made_document()
    spoil(document)
    with pytest.raises(ModelError, match=message):
        Model(document)


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda d: d.update(splink="x"), "'splink' is not an object"),
        (lambda d: d.update(blocking="x"), "'blocking' is not an object"),
        (lambda d: d.update(term_frequencies="x"), "'term_frequencies' is not an object"),
        (lambda d: d.pop("splink"), "the model has no 'splink'"),
        (lambda d: d["splink"].pop("comparisons"), "'splink' has no 'comparisons'"),
        (lambda d: d["splink"].update(comparisons="x"), "'splink' comparisons is not a list"),
        (lambda d: d["splink"].update(comparisons=["x"]),
         "'splink' comparison 0 is not an object"),
        (lambda d: raw_comparison(d, "dob").update(comparison_levels="x"),
         "comparison 'dob': comparison_levels is not a list"),
        (lambda d: raw_comparison(d, "dob")["comparison_levels"].__setitem__(1, 7),
         "comparison 'dob' level 1 is not an object"),
        # (JSON true and false are not the probabilities 1 and 0)
        (lambda d: raw_comparison(d, "dob")["comparison_levels"][1].update(m_probability=True),
         "comparison 'dob' level 1: m_probability true is not a number"),
        (lambda d: raw_comparison(d, "dob")["comparison_levels"][2].update(u_probability=False),
         "comparison 'dob' level 2: u_probability false is not a number"),
        (lambda d: raw_comparison(d, "given_name")["comparison_levels"][1].update(
            tf_adjustment_weight="x"), "comparison 'given_name' level 1 tf_adjustment_weight "
         "is not a number"),
        (lambda d: d["term_frequencies"].update(last_name=["smith"]),
         "'term_frequencies' 'last_name' is not an object"),
        # (a table's keys are names: none is shown)
        (lambda d: d["term_frequencies"]["last_name"].update(smith="often"),
         "'term_frequencies' 'last_name' has a frequency that is not a number"),
        (lambda d: d["blocking"].update(rules="nhs"), "'blocking' rules is not a list"),
        (lambda d: d["blocking"].update(rules=[1]), "'blocking' rules is not a list of rule names"),
        (lambda d: d["blocking"].pop("max_block_size"), "'blocking' has no 'max_block_size'"),
        (lambda d: d["blocking"].update(max_block_size="100"),
         "'blocking' max_block_size is not a whole number"),
    ],
)  # fmt: skip
def test_a_model_of_the_wrong_shape_names_the_part_that_is_wrong(
    spoil: Callable[[dict[str, Any]], None], message: str
) -> None:
    document = hand_made_document()
    spoil(document)
    with pytest.raises(ModelError) as refused:
        Model(document)
    assert str(refused.value) == message  # (no Python exception text)


def test_not_observed_levels_get_splinks_small_probability() -> None:
    document = hand_made_document()
    level = raw_comparison(document, "dob")["comparison_levels"][1]
    level["m_probability"] = "level not observed"
    dob = next(c for c in Model(signed(document)).comparisons if c.name == "dob")
    assert dob.levels[1].m == 1e-6


def test_other_files_are_refused(tmp_path: Path) -> None:
    wrong = copy.deepcopy(hand_made_document())
    wrong["format"] = "something-else"
    with pytest.raises(ModelError, match="not a model file"):
        Model(wrong)
    garbage = tmp_path / "model.json"
    garbage.write_text("{not json")
    with pytest.raises(ModelError, match="not JSON"):
        Model.load(garbage)
    with pytest.raises(ModelError, match="cannot be read"):
        Model.load(tmp_path / "missing.json")
    incomplete = hand_made_document()
    del incomplete["blocking"]
    with pytest.raises(ModelError, match="blocking"):
        Model(incomplete)


def test_saved_model_loads_back(tmp_path: Path) -> None:
    model = Model(hand_made_document())
    path = tmp_path / "model.json"
    model.save(path)
    again = Scorer(Model.load(path))
    a, b = person(first_name="John", dob="1980-02-01"), person(first_name="Jon", dob="1980-02-01")
    assert again.score(a, b) == Scorer(model).score(a, b)


def test_unknown_and_missing_values_get_no_adjustment(scorer: Scorer) -> None:
    explanation = scorer.explain(person(first_name="Zed"), person(first_name="Zed"))
    given_step = next(s for s in explanation.steps if s.comparison == "given_name")
    assert given_step.tf_adjustment == 0.0
    assert given_step.match_weight > 0
    missing = scorer.explain(person(first_name="John"), person())
    assert next(s for s in missing.steps if s.comparison == "given_name").match_weight == 0.0


def test_conflicts_name_outright_disagreements(scorer: Scorer) -> None:
    father = person(first_name="Jack", last_name="Rees", dob="1980-04-05", uprn="100023")
    son = person(first_name="Jack", last_name="Rees", dob="2012-04-05", uprn="100023")
    twin_a = person(first_name="Oliver", last_name="Hill", dob="2020-06-27", uprn="100023")
    twin_b = person(first_name="Harry", last_name="Hill", dob="2020-06-27", uprn="100023")
    assert scorer.conflicts(father, son) == {"dob"}
    assert scorer.conflicts(twin_a, twin_b) == {"given_name"}
    assert scorer.conflicts(father, father) == frozenset()
    no_dob = person(first_name="Jack", last_name="Rees", nhs_number="9434765919")
    other_nhs = person(first_name="Jack", last_name="Rees", nhs_number="4010232137")
    assert scorer.conflicts(no_dob, other_nhs) == {"nhs_number"}
