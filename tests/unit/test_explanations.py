"""Review items resolved without their explanations and explained as the batch is drained
carry exactly what a resolver that explains them at once gives."""

from __future__ import annotations

import pytest

from matchers.events import Event, ReviewItemRaised
from matchers.records import SourceRecord
from streams.identity import Outbox
from streams.pipeline import Explanations
from tests.support.resolving import make_resolver
from tests.support.toy_model import ToyScorer

pytestmark = pytest.mark.unit

RECORDS = [
    SourceRecord("s1", "housing", "John", None, "Smith", "1950-03-03", postcode="E1 1AA",
                 email="js@x.org"),
    SourceRecord("s2", "council_tax", "John", None, "Smith", "1950-03-03", postcode="E1 1AA"),
    SourceRecord("j1", "education", "John", None, "Smith", "2010-07-07", postcode="E1 1AA",
                 email="js@x.org"),
    SourceRecord("j2", "child_care", "John", None, "Smith", "2010-07-07", postcode="E1 1AA"),
    # links to s1 and j1 alike, who cannot be one person: "ambiguous" items
    SourceRecord("x", "libraries", "John", None, "Smith", email="js@x.org"),
    # name and postcode, no date of birth: review band against the Smiths
    SourceRecord("f", "libraries", "John", None, "Smith", postcode="E1 1AA"),
]  # fmt: skip


def resolve(*, explain: bool) -> list[Event]:
    resolver, _state = make_resolver(explain=explain)
    return [event for record in RECORDS for event in resolver.upsert(record)]


def items(events: list[Event]) -> list[ReviewItemRaised]:
    return [e for e in events if isinstance(e, ReviewItemRaised)]


def test_explaining_at_the_drain_gives_the_events_of_explaining_at_once() -> None:
    explained_at_once = resolve(explain=True)
    unexplained = resolve(explain=False)
    assert {i.reason for i in items(unexplained)} == {"ambiguous", "review_band"}
    assert all(not i.explanation for i in items(unexplained))
    filled = Explanations(ToyScorer().explain, "toy-1").fill(Outbox(events=unexplained))
    assert filled.events == explained_at_once
    assert all(i.explanation for i in items(filled.events))


def test_items_of_another_model_version_keep_no_explanation() -> None:
    unexplained = resolve(explain=False)
    filled = Explanations(ToyScorer().explain, "toy-2").fill(Outbox(events=unexplained))
    assert filled.events == unexplained
