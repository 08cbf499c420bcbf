"""Reading record files (CSV, JSON Lines, Parquet) into canonical source records.

Used by every command that takes ``--input FILE [--map column=field,...]``. A file that
cannot be read at all raises :class:`UsageError` (one line); a row that is malformed is
returned as a :class:`RejectedRow` with its line number, so callers can count and report
it without stopping.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from hub.console import say
from hub.errors import UsageError
from matchers.records import SourceRecord
from schemas.events import CODE_CHARS, ID_CHARS, TEXT_CHARS

Tell = Callable[[str], None]  # where a note on the file's columns goes

IGNORED_SHOWN = 12  # ignored columns named
RECORD_FIELDS: frozenset[str] = frozenset(f.name for f in dataclasses.fields(SourceRecord))
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
           ".parquet": "parquet", ".pq": "parquet"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class RejectedRow:
    line: int  # 1-based line (CSV: counting the header; Parquet: row number)
    reason: str


def parse_mapping(spec: str | None) -> dict[str, str]:
    """``"id=record_id,surname=last_name"`` -> ``{"id": "record_id", "surname": "last_name"}``."""
    mapping: dict[str, str] = {}
    for entry in (spec or "").split(","):
        part = entry.strip()
        if not part:
            continue
        column, sep, target = part.partition("=")
        column, target = column.strip(), target.strip()
        if not sep or not column or not target:
            raise UsageError(f"--map entry {part!r} is not column=field")
        if target not in RECORD_FIELDS:
            known = ", ".join(sorted(RECORD_FIELDS))
            raise UsageError(f"--map target {target!r} is not a record field (one of: {known})")
        if column in mapping:
            raise UsageError(f"--map names column {column!r} twice")
        if target in mapping.values():
            raise UsageError(f"--map maps two columns to {target!r}")
        mapping[column] = target
    return mapping


def folder_given(path: Path, wanted: str) -> str:
    """The message for a folder given where ``wanted`` belongs; an empty value (which
    typer reads as the current folder, ``.``) is named as such."""
    shown = ". (the current folder, or an empty value)" if path == Path() else str(path)
    return f"{shown}: is a folder, give {wanted}"


def check_output(out: Path, *inputs: Path, suffix: str | None = None) -> None:
    """Before any work: ``out`` can be written and is none of the command's ``inputs``
    (writing it would destroy one); with ``suffix``, a file of another known type is
    refused (the command writes only that type)."""
    if suffix and out.suffix.lower() != suffix and out.suffix.lower() in FORMATS:
        raise UsageError(f"{out}: --out writes {suffix}; give a {suffix} name")
    if out.is_dir():
        raise UsageError(folder_given(out, "a file name"))
    if any(out.exists() and source.exists() and out.samefile(source) for source in inputs):
        raise UsageError(f"{out}: is also an input of this command; give --out another name")
    folder = out.parent
    if not folder.is_dir():
        raise UsageError(f"{out}: cannot be written: no such folder {folder}")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise UsageError(f"{out}: cannot be written: permission denied")


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"{path}: unknown file type {path.suffix!r} (use .csv, .jsonl or .parquet)"
        )
    return fmt


def check_input(path: Path) -> str:
    """Before any work: ``path`` is a file of a known type; its format."""
    if path.is_dir():
        raise UsageError(folder_given(path, "a file"))
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    return file_format(path)


def read_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    """Yield ``(line, row)`` for each row, or ``(line, reason)`` for a row that cannot be parsed."""
    fmt = check_input(path)
    try:
        if fmt == "csv":
            yield from _csv_rows(path)
        elif fmt == "jsonl":
            yield from _jsonl_rows(path)
        else:
            yield from _parquet_rows(path)
    except UnicodeDecodeError:
        raise UsageError(
            f"{path}: cannot be read as {fmt}: it is not UTF-8 text; save it as UTF-8 (in "
            "Excel, 'CSV UTF-8')"
        ) from None
    except (OSError, csv.Error) as error:
        raise UsageError(f"{path}: cannot be read as {fmt}: {error}") from None


def _csv_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise UsageError(f"{path}: empty file or no header row")
        # (names without the spaces a ", " separator leaves; a column with no name, as a
        # spreadsheet's trailing commas give, is named by its place and ignored)
        names = [name.strip() or f"(column {i})" for i, name in enumerate(reader.fieldnames, 1)]
        reader.fieldnames = names
        first_at: dict[str, int] = {}
        for column, name in enumerate(names, 1):
            if name in first_at:  # (by position: with no header line, names are values)
                raise UsageError(
                    f"{path}: the header gives columns {first_at[name]} and {column} the same name"
                )
            first_at[name] = column
        width = len(reader.fieldnames)
        ended = reader.line_num  # the line the previous row ended on
        for row in reader:
            first, line = ended + 1, reader.line_num
            ended = line
            if None not in row and len(row) == width and None not in row.values():
                yield line, row
            elif line > first:  # a quote left open ran the row on into the lines after it
                reason = f"inside a quote opened on line {first} that runs on to line {line}"
                for swallowed in range(first, line + 1):
                    yield swallowed, reason
            else:
                yield line, f"expected {width} columns"


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    with path.open("rb") as handle:
        for line, read in enumerate(handle, start=1):
            raw = read.removeprefix(b"\xef\xbb\xbf") if line == 1 else read  # (a byte-order mark)
            if line == 1 and raw.lstrip().startswith(b"["):
                raise UsageError(f"{path}: a JSON array; give JSON Lines (one object on each line)")
            if not raw.strip():
                continue
            try:
                row = orjson.loads(raw)
            except orjson.JSONDecodeError:
                yield line, "not valid JSON"
                continue
            if isinstance(row, dict):
                yield line, row
            else:
                yield line, "not a JSON object"


def _parquet_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise UsageError(f"{path}: cannot be read as parquet: {error}") from None
    line = 0
    for batch in parquet.iter_batches(batch_size=50_000):
        for row in batch.to_pylist():
            line += 1
            yield line, row


def cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):  # (a Parquet binary column, as some writers store text)
        value = value.decode(errors="replace")
    if isinstance(value, float):
        if math.isnan(value):  # NaN from Parquet/pandas means missing
            return None
        if value.is_integer():
            value = int(value)
    text = str(value).strip()
    return text or None


def cell_problem(column: str, raw: Any) -> str | None:
    if isinstance(raw, list | dict | bool):
        return f"{column} is not text or a number"
    if isinstance(raw, bytes):  # (a Parquet binary column: text, as some writers store it)
        try:
            raw.decode()
        except UnicodeDecodeError:
            return f"{column} is not UTF-8 text"
    return None


def to_source_record(row: Mapping[str, Any], mapping: Mapping[str, str]) -> SourceRecord | str:
    """Canonical record from one row, or why it cannot be one. Unknown columns are ignored."""
    values: dict[str, str | None] = {}
    for column, raw in row.items():
        target = mapping.get(column, column)
        if target in RECORD_FIELDS and (target not in values or column in mapping):
            problem = cell_problem(column, raw)
            if problem:
                return problem
            text = cell_text(raw)
            if text is not None:
                if "\x00" in text:  # (PostgreSQL cannot store one)
                    return f"{column} holds a NUL character"
                longest = ID_CHARS if target == "record_id" else TEXT_CHARS
                if len(text) > longest:
                    return f"{column} is longer than {longest:,} characters"
                if target == "record_id" and len(text.partition(":")[0]) > CODE_CHARS:
                    # (the store keeps the part before the first ":" as the record's source)
                    return (
                        f"{column}'s source (its part before the first ':', or all of it) is "
                        f"longer than {CODE_CHARS} characters"
                    )
            values[target] = text
    if not values.get("record_id"):
        return "no record_id"
    return SourceRecord(**values)  # type: ignore[arg-type]


def check_columns(
    path: Path, columns: list[str], mapping: Mapping[str, str], tell: Tell = say
) -> None:
    """The first row's columns. In a CSV or Parquet file (whose rows all have the same
    columns) a ``mapping`` column that is missing, or no column that is a record field,
    is a :class:`UsageError`. Columns that are neither record fields nor mapped are named
    on stderr (they are ignored). A CSV file's columns are named only when some are record
    fields: without a header line they are the first resident's values."""
    fmt = file_format(path)
    fields = [c for c in columns if mapping.get(c, c) in RECORD_FIELDS]
    cased = [c for c in columns if c not in mapping and c.lower() in RECORD_FIELDS]
    named = ", ".join(columns) if fields or cased or fmt != "csv" else ""
    missing = sorted(set(mapping) - set(columns)) if fmt != "jsonl" else []
    unmapped = f"--map names {', '.join(map(repr, missing))}, not a column of the file"
    if fmt != "jsonl" and not fields:  # (a JSON line may leave every field out)
        hint = "(is the first line a header?)"
        separators = [s for s in ";\t|" if s in columns[0]] if len(columns) == 1 else []
        if fmt == "csv" and separators:  # (the separator only: a first line may be values)
            shown = "tabs" if separators[0] == "\t" else f"'{separators[0]}'"
            hint = f"(is it separated by {shown}? give a comma-separated file, Excel's 'CSV UTF-8')"
        if cased:
            hint = (
                f"(names are matched exactly, in lower case: {', '.join(cased[:3])}"
                f"{' ...' if len(cased) > 3 else ''}; --map renames columns)"
            )
        elif named:
            hint = f"({named}; --map renames columns)"
        also = f"{unmapped}, and " if missing else ""  # (a mistyped record_id column)
        raise UsageError(
            f"{path}: {also}none of its {len(columns)} columns is a record field {hint}"
        )
    for column, field in mapping.items():
        if field in columns and field not in mapping and column in columns:
            tell(f"{path}: its own column {field} is ignored: --map takes {field} from {column}")
    if missing:
        raise UsageError(f"{path}: {unmapped} (its columns: {named})")
    ignored = [c for c in columns if mapping.get(c, c) not in RECORD_FIELDS]
    if ignored and named:
        shown = ", ".join(ignored[:IGNORED_SHOWN]) + (
            " ..." if len(ignored) > IGNORED_SHOWN else ""
        )
        if len(ignored) == 1:
            tell(f"{path}: 1 column is not a record field and is ignored: {shown}")
        else:
            tell(f"{path}: {len(ignored)} columns are not record fields and are ignored: {shown}")


def numbered_rows(
    path: Path,
    mapping: Mapping[str, str] | None = None,
    also_read: str | None = None,
    tell: Tell = say,
) -> Iterator[tuple[int, Any, SourceRecord | str]]:
    """``(line, row, record)`` for each row of ``path`` (the row as read, and the record it
    gives or why it gives none), or ``(line, reason, reason)`` for a row that is malformed.
    The first row's columns are checked (:func:`check_columns`), ``also_read`` (a column
    the caller reads from the row itself) aside; of JSON Lines, whose lines may differ, the
    keys later lines bring are named once at the end (:func:`report_later_columns`), and so
    is a later line's own column that a mapped one replaces (:func:`report_replaced`).
    ``tell``: where those notes go (a first of two passes over a file keeps them quiet)."""
    mapping = mapping or {}
    first = True
    lines_differ = check_input(path) == "jsonl"
    unseen = set(mapping) if lines_differ else set()
    known: set[str] = set()  # (JSON Lines: every key seen so far)
    later: dict[str, int] = {}  # key -> the line it is first seen on, after the first row
    # (JSON Lines: field -> the mapped column that replaces it, until a line has both)
    replacing = _replacing(mapping, also_read) if lines_differ else {}
    replaced: dict[str, int] = {}  # field -> the first line after the first row with both
    both_known = False  # (a line with no new key can hold both of a pair only if so)
    for line, row in read_rows(path):
        if isinstance(row, str):
            yield line, row, row
            continue
        if first:
            first = False
            check_columns(path, [c for c in row if c != also_read], mapping, tell)
            known.update(row)
            for field, column in list(replacing.items()):  # (check_columns said so)
                if field in row and column in row:
                    del replacing[field]
            both_known = any(f in known and c in known for f, c in replacing.items())
        elif lines_differ and not known.issuperset(row):
            for key in row:
                if key not in known:
                    later[key] = line
                    known.add(key)
            if replacing:
                both_known = _note_replaced(row, line, replacing, replaced, known)
        elif both_known:
            both_known = _note_replaced(row, line, replacing, replaced, known)
        if unseen:
            unseen.difference_update(row)
        yield line, row, to_source_record(row, mapping)
    if unseen:
        tell(f"{path}: --map names {', '.join(map(repr, sorted(unseen)))}, which no line has")
    report_replaced(path, replaced, mapping, tell)
    report_later_columns(path, later, mapping, also_read, tell)


def _replacing(mapping: Mapping[str, str], also_read: str | None) -> dict[str, str]:
    """Field -> the mapped column that is read instead of a column of the field's name
    (as :func:`check_columns` says of the first line)."""
    return {
        field: column
        for column, field in mapping.items()
        if field not in mapping and also_read not in (field, column)
    }


def _note_replaced(
    row: Mapping[str, Any],
    line: int,
    replacing: dict[str, str],
    replaced: dict[str, int],
    known: set[str],
) -> bool:
    """Move to ``replaced`` (with ``line``) the fields ``row`` holds with the column that
    replaces them; whether a pair left has both keys in ``known`` (seen apart, so far)."""
    for field, column in list(replacing.items()):
        if field in row and column in row:
            replaced[field] = line
            del replacing[field]
    return any(f in known and c in known for f, c in replacing.items())


def report_replaced(
    path: Path, replaced: Mapping[str, int], mapping: Mapping[str, str], tell: Tell = say
) -> None:
    """Names on stderr the fields whose own column JSON lines after the first hold beside
    the mapped column that replaces it (``replaced``: each with the first such line)."""
    by_field = {field: column for column, field in mapping.items()}
    for field, line in replaced.items():
        tell(
            f"{path}: its own column {field} is ignored (from line {line}): --map takes "
            f"{field} from {by_field[field]}"
        )


def report_later_columns(
    path: Path,
    later: Mapping[str, int],
    mapping: Mapping[str, str],
    also_read: str | None,
    tell: Tell = say,
) -> None:
    """Names on stderr the keys that JSON lines after the first bring (``later``: each with
    the line it is first on) which are neither record fields nor mapped: they are ignored,
    as :func:`check_columns` says of the first line's."""
    ignored = [c for c in later if c != also_read and mapping.get(c, c) not in RECORD_FIELDS]
    if not ignored:
        return
    shown = ", ".join(f"{c} (from line {later[c]})" for c in ignored[:IGNORED_SHOWN]) + (
        " ..." if len(ignored) > IGNORED_SHOWN else ""
    )
    cased = [c for c in ignored if c.lower() in RECORD_FIELDS]
    hint = (
        f" (names are matched exactly, in lower case: {', '.join(cased[:3])}"
        f"{' ...' if len(cased) > 3 else ''}; --map renames columns)"
        if cased
        else ""
    )
    if len(ignored) == 1:
        tell(f"{path}: 1 column of later lines is not a record field and is ignored: {shown}{hint}")
    else:
        tell(
            f"{path}: {len(ignored)} columns of later lines are not record fields and are "
            f"ignored: {shown}{hint}"
        )


def numbered_records(
    path: Path, mapping: Mapping[str, str] | None = None, also_read: str | None = None
) -> Iterator[tuple[int, SourceRecord | str]]:
    """``(line, record)`` for each row of ``path``, or ``(line, reason)`` for a row that is
    malformed (:func:`numbered_rows`)."""
    for line, _row, record in numbered_rows(path, mapping, also_read):
        yield line, record


def read_records(
    path: Path, mapping: Mapping[str, str] | None = None
) -> Iterator[SourceRecord | RejectedRow]:
    """Every row of ``path`` as a source record, or as a rejected row with its reason."""
    for line, record in numbered_records(path, mapping):
        yield RejectedRow(line, record) if isinstance(record, str) else record
