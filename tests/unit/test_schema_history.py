"""Schema evolution: every change git has seen is backward compatible (the new schema reads
data written with any earlier one), and every version is kept so the codec can read it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas.events import PersonChanged
from schemas.history import in_git, incompatibilities, versions
from schemas.registry import current_schemas, history_schemas

pytestmark = pytest.mark.unit

needs_git = pytest.mark.skipif(not in_git(), reason="schemas/ is not in a git work tree")


@pytest.fixture(scope="module")
def all_versions() -> list[Any]:
    return list(versions())


@needs_git
def test_every_schema_version_reads_data_of_every_earlier_version(all_versions: list[Any]) -> None:
    assert all_versions, "git has no version of schemas/"
    problems = []
    for index, reader in enumerate(all_versions):
        for writer in all_versions[:index]:
            for event_type, new in reader.schemas.items():
                old = writer.schemas.get(event_type)
                if old is None:
                    continue
                for why in incompatibilities(new.schema, old.schema):
                    where = f"{event_type.__name__} {writer.label} -> {reader.label}"
                    problems.append(f"{where}: {why}")
    assert not problems, "\n".join(problems)


@needs_git
def test_every_schema_version_is_kept_in_history(all_versions: list[Any]) -> None:
    kept = {w.fingerprint for w in history_schemas()}
    missing = [
        f"{t.__name__} ({v.label})"
        for v in all_versions
        for t, w in v.schemas.items()
        if w.fingerprint not in kept
    ]
    assert not missing, f"run `hub schemas freeze` to keep: {', '.join(missing)}"


def _person_changed() -> dict[str, Any]:
    return copy.deepcopy(current_schemas()[PersonChanged].schema)


def test_the_checker_accepts_a_new_field_with_a_default() -> None:
    old = _person_changed()
    new = _person_changed()
    new["fields"].append({"name": "extra", "type": ["null", "string"], "default": None})
    assert incompatibilities(new, old) == []


def test_the_checker_refuses_a_new_field_without_default_and_a_changed_type() -> None:
    old = _person_changed()
    new = _person_changed()
    new["fields"].append({"name": "extra", "type": "string"})
    assert incompatibilities(new, old)
    retyped = _person_changed()
    retyped["fields"][0]["type"] = "long"  # event_id: string -> long
    assert incompatibilities(retyped, old)
