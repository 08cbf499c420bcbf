"""A snapshot's rows as the records a worker would hold, and which row of a record id is
the record: `hub bootstrap` loads it, and `hub cdc` publishes (or, with ``--loaded``,
remembers) the same one.

A row's version is its ``source_version`` column (``--version-column``), else its
``updated_at`` in milliseconds, as the stream versions an event without one, else none
(:data:`UNVERSIONED`). Of two rows of one record id the newer wins; on a tie the first
read, as the stream ignores an equal version; of two without a version the later, as
`hub publish` would send them, in order (:func:`replaces`). Only rows a worker would hold
take part: a row it would dead-letter never displaces one it would keep.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from hub.errors import UsageError
from matchers.records import SourceRecord
from schemas.compiled import epoch_millis
from schemas.conversions import parse_timestamp, source_record_id
from schemas.topics import check_name
from sources.publish import source_problem
from streams.validation import held_by_a_worker

VERSION_COLUMN = "source_version"
# The version of a record that has none (no source version, no usable updated_at): below any
# a later event has (a Kafka offset, 0 for a partition's first), so any later event applies.
UNVERSIONED = -1
MAX_VERSION = 2**63 - 1  # (the store keeps a version in a 64-bit column)


def bad_version(column: str) -> str:
    """Why a row's version in ``column`` cannot be used."""
    return f"{column} is not a whole number from 0 to {MAX_VERSION:,}"


def replaces(held: int, version: int) -> bool:
    """Whether a row read later, at ``version``, replaces the ``held`` one of its record id."""
    return version > held or version == held == UNVERSIONED


def row_version(row: Any, column: str | None, record: SourceRecord) -> int | str:
    """The row's version (the module docstring), or why the value in ``column`` is
    unusable. A whole number is read exactly, up to :data:`MAX_VERSION`."""
    raw = row.get(column) if column and hasattr(row, "get") else None
    if raw is not None and not (isinstance(raw, float) and math.isnan(raw)):
        version = _version_in(raw, column or "")
        if version is not None:
            return version
    moment, _ = parse_timestamp(record.updated_at)
    return epoch_millis(moment) if moment else UNVERSIONED


def _version_in(raw: Any, column: str) -> int | str | None:
    """The version a cell holds, why it holds none that can be used, or None (empty)."""
    if isinstance(raw, bool):
        return bad_version(column)
    if isinstance(raw, int):
        version: int | str = raw
    else:
        text = (raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)).strip()
        if not text:
            return None
        version = _whole_number(text, column)
    if isinstance(version, int) and not 0 <= version <= MAX_VERSION:
        return bad_version(column)
    return version


def _whole_number(text: str, column: str) -> int | str:
    if text.isdigit():
        return int(text)
    try:
        number = float(text)  # ("7.0", "7e3": a spreadsheet's way of writing 7 and 7000)
    except ValueError:
        return bad_version(column)
    if not number.is_integer() or number < 0:
        return bad_version(column)
    return int(number)


def version_column_read(mapping: Mapping[str, str], column: str) -> str | None:
    """The column versions are read from: none when ``--map`` makes it a record field."""
    return None if column in mapping else column


def check_version_column(path: Path, column: str | None, found: bool) -> None:
    """Refuse a version column named (``--version-column``) that no row of ``path`` had:
    its rows would all go by ``updated_at`` unnoticed. The default may be absent."""
    if not found and column is not None and column != VERSION_COLUMN:
        raise UsageError(f"{path}: --version-column {column!r} is not a column of it")


def named_as_the_stream_names(
    record: SourceRecord, source: str | None = None
) -> SourceRecord | str:
    """The record under the id and source system its events would give it (``hub publish
    --source S`` makes ``1`` or ``S:1`` the record ``S:1``): the system is ``source`` (as
    ``--source`` gives it; a row naming another is refused, as `hub publish` refuses it),
    else the ``source_system`` column, else the id's ``<system>:`` prefix; or why it has
    none. Ids written without their system, in files of two systems, were one record
    before."""
    system = (record.source_system or "").strip()
    if source is not None:
        problem = source_problem(record, source)
        if problem is not None:
            return problem
        system = source
    if not system:
        prefix, colon, own_id = record.record_id.partition(":")
        if not (colon and prefix and own_id):
            return "no source system: add source_system, give --source, or write <system>:<id>"
        system = prefix
    try:
        check_name(system)
    except UsageError:
        return "the source system is not lower-case letters, digits and underscores"
    record_id = f"{system}:{source_record_id(record.record_id, system)}"
    if record_id == record.record_id and record.source_system == system:
        return record
    return replace(record, record_id=record_id, source_system=system)


def loadable(
    row: Any, record: SourceRecord, version_column: str | None, today: dt.date, source: str | None
) -> tuple[SourceRecord, int] | str:
    """The row's record as a worker would hold it once `hub publish` had sent it (named
    as the stream names it, then :func:`streams.validation.held_by_a_worker`) and its
    version (:func:`row_version`); or why a worker would dead-letter it, or why its
    version is unusable."""
    named = named_as_the_stream_names(record, source)
    if isinstance(named, str):
        return named
    held = held_by_a_worker(named, named.source_system or "", today)
    if isinstance(held, str):
        return held
    version = row_version(row, version_column, held)
    return version if isinstance(version, str) else (held, version)
