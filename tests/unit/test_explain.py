"""`hub explain person`: the links that built a person, with waterfalls, model version and
thresholds."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from hub.explain import person_document
from hub.link import link_stream, read_input
from matchers.survivorship import SurvivorshipRules
from tests.support.resolving import THRESHOLDS
from tests.unit.test_link import MAPPING, PEOPLE, TOY

pytestmark = pytest.mark.unit


def test_person_document_holds_a_spanning_tree_with_waterfalls(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(PEOPLE)
    records, _ = read_input(source, MAPPING)
    assignment, resolver, _ = link_stream(records, TOY, THRESHOLDS, SurvivorshipRules())
    explanation = resolver.explain_person(assignment.person_of["1"])
    assert explanation is not None
    document = orjson.loads(orjson.dumps(person_document(explanation, resolver, TOY)))
    assert document["record_ids"] == ["1", "2", "3"]
    assert document["model_version"] == resolver.scorer.version
    assert document["thresholds"]["link"] == THRESHOLDS.link
    links = document["links"]
    assert len(links) == 2  # three records, two links
    joined = {r for link in links for r in (link["record_a"], link["record_b"])}
    assert joined == {"1", "2", "3"}
    for link in links:
        assert link["match_weight"] >= THRESHOLDS.link
        waterfall = link["waterfall"]
        assert waterfall[0]["comparison"] == "prior"
        total = sum(line["match_weight"] for line in waterfall)
        assert total == pytest.approx(link["match_weight"])
