"""Reading CSV, JSON Lines and Parquet into canonical records, with rejects reported."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub.errors import UsageError
from hub.inputs import RejectedRow, check_output, parse_mapping, read_records
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


def test_an_unclosed_quote_rejects_every_line_it_swallows(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "record_id,last_name,postcode\n"
        "1,Ada,N1 1AA\n"
        '2,"Lovelace,N1 1AB\n'  # (a stray quote)
        "3,Byron,N1 1AC\n"
        '4,King,"N1 1AD"\n'
        "5,Bo,N1 1AE\n"
    )
    got = list(read_records(path))
    assert got == [
        SourceRecord(record_id="1", last_name="Ada", postcode="N1 1AA"),
        *[
            RejectedRow(line, "inside a quote opened on line 3 that runs on to line 5")
            for line in (3, 4, 5)
        ],
        SourceRecord(record_id="5", last_name="Bo", postcode="N1 1AE"),
    ]
    # a quoted field that holds a line break is a field, not an error
    path.write_text('record_id,address_line_1\n1,"Flat 2\n10 High St"\n')
    assert list(read_records(path)) == [
        SourceRecord(record_id="1", address_line_1="Flat 2\n10 High St")
    ]


def test_a_header_naming_a_column_twice_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("record_id,last_name,last_name\n1,Ada,Lovelace\n")
    with pytest.raises(UsageError, match="the header gives columns 2 and 3 the same name"):
        list(read_records(path))


def test_a_csv_file_without_a_header_line_is_refused_without_its_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # csv reads the first line as the header: here a resident, whose values must not be
    # printed (the stderr of a scheduled run ends up in a log)
    path = tmp_path / "people.csv"
    path.write_text("ADT:1001,Jane,Smith,1984-03-07,NW1 2DB\nADT:1002,Ann,Lee,1990-01-02,N1\n")
    for mapping, also in (({}, ""), (parse_mapping("forename=first_name"), "--map names "
                                     "'forename', not a column of the file, and ")):  # fmt: skip
        with pytest.raises(UsageError) as refused:
            list(read_records(path, mapping))
        assert str(refused.value) == (
            f"{path}: {also}none of its 5 columns is a record field (is the first line a header?)"
        )
    path.write_text("ADT:1001,Smith,Smith\n")
    with pytest.raises(UsageError) as refused:
        list(read_records(path))
    assert str(refused.value) == f"{path}: the header gives columns 2 and 3 the same name"
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("separator", "shown"), [(";", "';'"), ("\t", "tabs"), ("|", "'|'")])
def test_a_csv_file_separated_otherwise_than_by_commas_is_refused_with_the_reason(
    tmp_path: Path, separator: str, shown: str
) -> None:
    # (it asked whether the first line was a header: it is, with its names run together)
    path = tmp_path / "people.csv"
    path.write_text(f"record_id{separator}last_name\n1{separator}Lovelace\n")
    with pytest.raises(UsageError) as refused:
        list(read_records(path))
    assert str(refused.value) == (
        f"{path}: none of its 1 columns is a record field (is it separated by {shown}? give a "
        "comma-separated file, Excel's 'CSV UTF-8')"
    )


def test_a_mapped_column_the_file_lacks_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,surname\n1,Lovelace\n")
    with pytest.raises(UsageError, match="--map names 'forename', not a column of the file"):
        list(read_records(path, parse_mapping("id=record_id,forename=first_name")))
    # a mistyped record_id column leaves no record field: the --map is named, not the header
    with pytest.raises(UsageError) as refused:
        list(read_records(path, parse_mapping("foo=record_id")))
    assert str(refused.value) == (
        f"{path}: --map names 'foo', not a column of the file, and none of its 2 columns is a "
        "record field (is the first line a header?)"
    )


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
        ("missing", None, "missing: no such file"),  # (was "unknown file type ''")
        ("people.xlsx", b"", "unknown file type"),
        ("empty.csv", b"", "empty file or no header row"),
        ("bad.parquet", b"not parquet at all", "cannot be read as parquet"),
        ("folder.csv", b"folder", "folder.csv: is a folder, give a file"),
        # (a folder with no suffix, as `hub simulate` writes, was "unknown file type ''")
        ("borough", b"folder", "borough: is a folder, give a file"),
        (
            "latin1.csv",
            "record_id,first_name\n1,Zoë\n".encode("latin-1"),
            "cannot be read as csv: it is not UTF-8 text; save it as UTF-8",
        ),
    ],
)
def test_unreadable_files_raise_one_usage_error(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content == b"folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(UsageError, match=message):
        list(read_records(path))


def test_mapping_must_name_record_fields() -> None:
    with pytest.raises(UsageError, match="not a record field"):
        parse_mapping("a=shoe_size")
    with pytest.raises(UsageError, match="not column=field"):
        parse_mapping("justonename")
    with pytest.raises(UsageError, match="names column 'a' twice"):
        parse_mapping("a=record_id,a=first_name")
    with pytest.raises(UsageError, match="maps two columns to 'first_name'"):
        parse_mapping("a=first_name,b=first_name")


def test_an_output_that_would_destroy_an_input_or_cannot_be_written_is_refused(
    tmp_path: Path,
) -> None:
    source = tmp_path / "people.csv"
    source.write_text("record_id\n1\n")
    check_output(tmp_path / "out.csv", source)  # a new file beside it: fine
    for out, message in [
        (source, "is also an input of this command"),
        (tmp_path / "." / "people.csv", "is also an input of this command"),
        (tmp_path, "is a folder"),
        (tmp_path / "nowhere" / "out.csv", "no such folder"),
        # (an empty --out, which typer reads as ".", was "error: .: is a folder")
        (Path(""), r"^\. \(the current folder, or an empty value\): is a folder, give a file"),
    ]:
        with pytest.raises(UsageError, match=message):
            check_output(out, source)
    check_output(tmp_path / "out.txt", source, suffix=".csv")  # (a type it does not read)
    with pytest.raises(UsageError, match=r"out\.parquet: --out writes \.csv; give a \.csv name"):
        check_output(tmp_path / "out.parquet", source, suffix=".csv")


def test_a_value_holding_a_nul_character_rejects_its_row_without_the_value(
    tmp_path: Path,
) -> None:
    # (PostgreSQL cannot store a NUL: one such value would stop a whole store write)
    csv_path = tmp_path / "people.csv"
    csv_path.write_bytes(b"record_id,last_name\n1,Ada\n2,Lo\x00velace\n")
    jsonl_path = tmp_path / "people.jsonl"
    jsonl_path.write_text('{"record_id": "1", "last_name": "Ada"}\n{"record_id": "2\\u0000"}\n')
    for path, column in ((csv_path, "last_name"), (jsonl_path, "record_id")):
        assert list(read_records(path)) == [
            SourceRecord(record_id="1", last_name="Ada"),
            RejectedRow(3 if path == csv_path else 2, f"{column} holds a NUL character"),
        ]


SOURCE_TOO_LONG = (
    "record_id's source (its part before the first ':', or all of it) is longer than 63 characters"
)


def test_a_value_longer_than_the_store_takes_rejects_its_row(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "record_id,last_name\n"
        f"{'s' * 63}:{'r' * 136},Ada\n{'s' * 63}:{'r' * 137},Ada\n"
        f"{'s' * 64}:1,Ada\n{'r' * 64},Ada\n4,{'x' * 10_001}\n"
    )
    assert list(read_records(path)) == [
        SourceRecord(record_id=f"{'s' * 63}:{'r' * 136}", last_name="Ada"),
        RejectedRow(3, "record_id is longer than 200 characters"),
        RejectedRow(4, SOURCE_TOO_LONG),
        RejectedRow(5, SOURCE_TOO_LONG),  # (no ":": all of it)
        RejectedRow(6, "last_name is longer than 10,000 characters"),
    ]


def test_json_lines_with_a_bom_nested_values_or_an_array(tmp_path: Path) -> None:
    path = tmp_path / "people.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"record_id": "1", "last_name": "Ada"}\n'
        b'{"record_id": [1, 2]}\n{"record_id": "3", "first_name": {"x": 1}}\n'
        b'{"record_id": true}\n'
    )
    assert list(read_records(path)) == [
        SourceRecord(record_id="1", last_name="Ada"),
        RejectedRow(2, "record_id is not text or a number"),
        RejectedRow(3, "first_name is not text or a number"),
        RejectedRow(4, "record_id is not text or a number"),
    ]
    array = tmp_path / "people.json"
    array.write_text('[{"record_id": "1"}]\n')
    with pytest.raises(UsageError, match="a JSON array; give JSON Lines"):
        list(read_records(array))


def test_columns_that_are_not_record_fields_are_named_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "people.csv"
    path.write_text("record_id,First Name,Surname,last_name\n1,Ada,Lovelace,King\n")
    assert list(read_records(path)) == [SourceRecord(record_id="1", last_name="King")]
    message = " ".join(capsys.readouterr().err.split())
    assert message == (
        f"{path}: 2 columns are not record fields and are ignored: First Name, Surname"
    )


def test_header_names_lose_their_spaces_and_unnamed_columns_are_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # ", " separators, and the trailing commas a spreadsheet leaves
    path = tmp_path / "people.csv"
    path.write_text("record_id, first_name, last_name,,\n1, Ada, Lovelace,,\n")
    assert list(read_records(path)) == [
        SourceRecord(record_id="1", first_name="Ada", last_name="Lovelace")
    ]
    message = " ".join(capsys.readouterr().err.split())
    assert message == (
        f"{path}: 2 columns are not record fields and are ignored: (column 4), (column 5)"
    )


def test_upper_case_names_are_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("RECORD_ID,First_Name,Notes\n1,Ada,x\n")
    with pytest.raises(UsageError) as refused:
        list(read_records(path))
    assert str(refused.value) == (
        f"{path}: none of its 3 columns is a record field (names are matched exactly, in "
        "lower case: RECORD_ID, First_Name; --map renames columns)"
    )


def test_a_map_onto_a_column_the_file_has_says_that_column_is_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "people.csv"
    path.write_text("record_id,first_name,last_name\n1,Ada,Lovelace\n")
    assert list(read_records(path, parse_mapping("first_name=last_name"))) == [
        SourceRecord(record_id="1", last_name="Ada")
    ]
    assert (
        f"{path}: its own column last_name is ignored: --map takes last_name from first_name"
        in capsys.readouterr().err
    )


def test_a_mapped_column_no_json_line_has_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "people.jsonl"
    path.write_text('{"id": "1", "Surname": "Lovelace"}\n{"id": "2", "forename": "Ann"}\n')
    mapping = parse_mapping("id=record_id,forename=first_name,Surnme=last_name")
    assert list(read_records(path, mapping)) == [
        SourceRecord(record_id="1"),
        SourceRecord(record_id="2", first_name="Ann"),
    ]
    assert f"{path}: --map names 'Surnme', which no line has" in capsys.readouterr().err


def test_parquet_bytes_are_read_as_utf8_text_and_other_bytes_in_a_field_reject_their_row(
    tmp_path: Path,
) -> None:
    path = tmp_path / "people.parquet"
    binary = pa.array([b"1", b"2", b"3"], pa.binary())
    names = pa.array([b"Shahana", b"Sh\xe2\x80\x99a", b"Sh\xff"], pa.binary())  # (3: Latin-1)
    towns = pa.array([b"Leeds", b"Leeds", b"Hull"], pa.binary()).dictionary_encode()
    postcodes = pa.array([b"LS1 1AA", None, b"HU1 1AA"], pa.binary(7))
    photos = pa.array([b"\x89PNG\xff", None, b"\xff"], pa.binary())  # (ignored: no field)
    table = pa.table(
        {
            "record_id": binary,
            "first_name": names,
            "town": towns,
            "postcode": postcodes,
            "photo": photos,
        }
    )
    pq.write_table(table, path)
    assert list(read_records(path)) == [
        SourceRecord(record_id="1", first_name="Shahana", town="Leeds", postcode="LS1 1AA"),
        SourceRecord(record_id="2", first_name="Sh\u2019a", town="Leeds"),
        RejectedRow(3, "first_name is not UTF-8 text"),
    ]


def test_json_lines_keys_first_seen_on_later_lines_are_named_once_at_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "people.jsonl"
    path.write_text(
        '{"record_id": "1", "first_name": "Ada", "notes": "x"}\n'
        '{"record_id": "2", "First_Name": "Ann", "dob": "2001-02-03"}\n'
        '{"record_id": "3", "First_Name": "Bo", "shoe": 9, "forename": "Bo"}\n'
        '{"record_id": "4", "notes": "y", "version": 2}\n'
    )
    assert list(read_records(path, parse_mapping("forename=first_name"))) == [
        SourceRecord(record_id="1", first_name="Ada"),
        SourceRecord(record_id="2", dob="2001-02-03"),
        SourceRecord(record_id="3", first_name="Bo"),
        SourceRecord(record_id="4"),
    ]
    message = " ".join(capsys.readouterr().err.split())
    assert message == (
        f"{path}: 1 column is not a record field and is ignored: notes "
        f"{path}: 3 columns of later lines are not record fields and are ignored: First_Name "
        "(from line 2), shoe (from line 3), version (from line 4) (names are matched "
        "exactly, in lower case: First_Name; --map renames columns)"
    )


def test_a_json_line_after_the_first_with_a_column_a_map_replaces_is_named_at_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "people.jsonl"
    path.write_text(
        '{"record_id": "1", "surname": "Lovelace"}\n'
        '{"record_id": "2", "last_name": "Byron"}\n'  # (alone, its own column is read)
        '{"record_id": "3", "surname": "King", "last_name": "Noel"}\n'
        '{"record_id": "4", "surname": "Ada", "last_name": "Ada", "dob": "1815-12-10"}\n'
    )
    assert list(read_records(path, parse_mapping("surname=last_name"))) == [
        SourceRecord(record_id="1", last_name="Lovelace"),
        SourceRecord(record_id="2", last_name="Byron"),
        SourceRecord(record_id="3", last_name="King"),
        SourceRecord(record_id="4", last_name="Ada", dob="1815-12-10"),
    ]
    assert capsys.readouterr().err.strip() == (
        f"{path}: its own column last_name is ignored (from line 3): --map takes last_name "
        "from surname"
    )
    # said of the first line, it is not said again
    path.write_text(
        '{"record_id": "1", "surname": "Lovelace", "last_name": "x"}\n'
        '{"record_id": "2", "surname": "King", "last_name": "Noel", "notes": "y"}\n'
    )
    list(read_records(path, parse_mapping("surname=last_name")))
    assert capsys.readouterr().err.count("its own column last_name is ignored") == 1
    path.write_text('{"record_id": "1"}\n{"record_id": "2", "surname": "K", "last_name": "N"}\n')
    list(read_records(path, parse_mapping("surname=last_name")))
    assert capsys.readouterr().err.strip() == (
        f"{path}: its own column last_name is ignored (from line 2): --map takes last_name "
        "from surname"
    )
