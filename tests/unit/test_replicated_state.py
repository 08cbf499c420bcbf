"""The replica's writes: what a commit sends to Redis, read into another replica, gives it
the same state (values, member-wise sets and pairs, and the buckets derived from keys)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.records import SourceRecord
from sinks.redis_state import TABLES, ReplicatedState, encoded_fields, member_field
from sources.simulator import SimulationConfig, simulate
from tests.support.resolving import toy_resolver

pytestmark = pytest.mark.unit


def tables_of(replica: ReplicatedState) -> dict[str, dict[str, object]]:
    return {t.name: dict(getattr(replica, t.attr)) for t in TABLES}


def copy_of(replica: ReplicatedState) -> ReplicatedState:
    """A replica read from ``replica``'s tables as Redis would hold them."""
    copy = ReplicatedState()
    for table in TABLES:
        rows = getattr(replica, table.attr).items()
        copy.put_encoded(table.name, dict(encoded_fields(table, rows)))
    return copy


@pytest.fixture(scope="module")
def borough() -> list[SourceRecord]:
    simulation = simulate(SimulationConfig(residents=120, seed=3), day=1)
    return [r.to_source_record() for r in simulation.records.values()]


def test_a_replica_following_the_writes_holds_the_same_state(
    borough: list[SourceRecord],
) -> None:
    writer = ReplicatedState()
    resolver = toy_resolver(writer, writer)
    follower = ReplicatedState()
    batches = [borough[:100], borough[100:], borough[:30]]  # the last changes records
    for number, records in enumerate(batches):
        for record in records:
            if number == 2:
                resolver.delete(record.record_id)
            else:
                resolver.upsert(record)
        for name, fields in writer.take_writes().items():
            follower.put_encoded(name, fields)
        assert not writer.dirty
        assert tables_of(follower) == tables_of(writer)
    assert writer._edges and writer._buckets  # (the borough links and blocks)
    assert tables_of(copy_of(writer)) == tables_of(writer)


def test_a_pair_is_one_field_and_a_bucket_none() -> None:
    replica = ReplicatedState()
    replica._edges = {"a": {"b": 7.5}, "b": {"a": 7.5}}
    replica._buckets = {"k": {"a", "b"}}
    replica._record_keys = {"a": frozenset({"k"}), "b": frozenset({"k"})}
    by_name = {t.name: t for t in TABLES}
    assert dict(encoded_fields(by_name["edges"], replica._edges.items())) == {b'["a","b"]': b"7.5"}
    assert dict(encoded_fields(by_name["buckets"], replica._buckets.items())) == {}
    assert copy_of(replica)._buckets == {"k": {"a", "b"}}


@settings(max_examples=200)
@given(st.text(max_size=6), st.text(max_size=6))
def test_a_member_field_is_the_json_pair(key: str, member: str) -> None:
    import orjson

    try:
        expected = orjson.dumps((key, member))
    except orjson.JSONEncodeError:  # (a lone surrogate: not text a source sends)
        return
    assert member_field(key, member) == expected
    assert orjson.loads(member_field(key, member)) == [key, member]
