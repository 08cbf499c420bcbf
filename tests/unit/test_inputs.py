"""Reading CSV, JSON Lines and Parquet into canonical records, with rejects reported."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub.errors import UsageError
from hub.inputs import RejectedRow, parse_mapping, read_records
from matchers.records import SourceRecord

pytestmark = pytest.mark.unit


def test_csv_with_mapping_and_rejects(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "id,forename,surname,colour\n"
        "1,Ada,Lovelace,red\n"
        ",No,Id,blue\n"
        "3,Too,Many,columns,here\n"
        "4,Bo,,green\n"
    )
    got = list(
        read_records(path, parse_mapping("id=record_id, forename=first_name,surname=last_name"))
    )
    assert got == [
        SourceRecord(record_id="1", first_name="Ada", last_name="Lovelace"),
        RejectedRow(3, "no record_id"),
        RejectedRow(4, "expected 4 columns"),
        SourceRecord(record_id="4", first_name="Bo"),
    ]


def test_jsonl_and_parquet_agree(tmp_path: Path) -> None:
    rows = [{"record_id": 7, "first_name": "Ada", "dob": "1815-12-10"}, {"record_id": 8.0}]
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text(
        '{"record_id": 7, "first_name": "Ada", "dob": "1815-12-10"}\nnot json\n{"record_id": 8.0}\n'
    )
    parquet = tmp_path / "p.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    expected = [SourceRecord("7", first_name="Ada", dob="1815-12-10"), SourceRecord("8")]
    assert [r for r in read_records(jsonl) if isinstance(r, SourceRecord)] == expected
    assert list(read_records(parquet)) == expected
    assert RejectedRow(2, "not valid JSON") in list(read_records(jsonl))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("people.xlsx", b"", "unknown file type"),
        ("empty.csv", b"", "empty file or no header row"),
        ("bad.parquet", b"not parquet at all", "cannot be read as parquet"),
    ],
)
def test_unreadable_files_raise_one_usage_error(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UsageError, match=message):
        list(read_records(path))


def test_mapping_must_name_record_fields() -> None:
    with pytest.raises(UsageError, match="not a record field"):
        parse_mapping("a=shoe_size")
    with pytest.raises(UsageError, match="not column=field"):
        parse_mapping("justonename")
