"""Every version of the schemas that git has seen, for compatibility checks and freezing.

A version is the ``schemas/`` folder at one commit that changed it (plus the working tree
when it differs). Old data in Kafka may have been written with any of them, so the current
schemas must read them all, and ``schemas/history/`` must keep each one for the codec.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from avro.schema import parse as parse_avro

from hub.errors import UsageError
from schemas import SCHEMA_DIR
from schemas.events import EVENT_TYPES, full_name
from schemas.registry import WriterSchema, current_schemas


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    label: str  # the commit (short hash) or "working tree"
    schemas: dict[type, WriterSchema]


def _git(root: Path, *args: str) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise UsageError(f"git {' '.join(args)} failed in {root}: {error}") from None


def in_git(schema_dir: Path = SCHEMA_DIR) -> bool:
    try:
        _git(schema_dir, "rev-parse", "--git-dir")
    except UsageError:
        return False
    return True


def versions(schema_dir: Path = SCHEMA_DIR) -> Iterator[SchemaVersion]:
    """Each committed version of the schema folder, oldest first, then the working tree."""
    root = Path(_git(schema_dir, "rev-parse", "--show-toplevel").strip())
    folder = schema_dir.resolve().relative_to(root.resolve()).as_posix()
    commits = _git(root, "log", "--reverse", "--format=%H", "--", f"{folder}/*.avsc").split()
    previous: dict[type, WriterSchema] | None = None
    for commit in commits:
        names = _git(root, "ls-tree", "--name-only", commit, f"{folder}/").split()
        with tempfile.TemporaryDirectory() as scratch:
            for name in names:
                if name.endswith(".avsc"):
                    text = _git(root, "show", f"{commit}:{name}")
                    (Path(scratch) / Path(name).name).write_text(text)
            found = _loadable(Path(scratch))
        if found != previous:
            yield SchemaVersion(commit[:10], found)
            previous = found
    now = _loadable(schema_dir)
    if now != previous:
        yield SchemaVersion("working tree", now)


def _loadable(folder: Path) -> dict[type, WriterSchema]:
    """The event types whose schema files exist in ``folder`` (older versions had fewer)."""
    present = [t for t in EVENT_TYPES if (folder / f"{full_name(t)}.avsc").exists()]
    return dict(current_schemas(folder, present))


def incompatibilities(reader: dict[str, Any], writer: dict[str, Any]) -> list[str]:
    """Why data written with ``writer`` cannot be read with ``reader`` (empty: it can)."""
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(
        parse_avro(json.dumps(reader)), parse_avro(json.dumps(writer))
    )
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    return sorted(str(message) for message in result.messages) or ["incompatible"]
