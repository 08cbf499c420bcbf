"""The Avro schemas are well formed, documented, and mirrored exactly by the dataclasses."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import typing
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any

import pytest

from schemas import SCHEMA_DIR
from schemas.events import ENUM_TYPES, EVENT_TYPES, NAMESPACE, RECORD_TYPES, full_name
from schemas.registry import current_schemas, schema_fingerprint

pytestmark = pytest.mark.unit

FILES = sorted(SCHEMA_DIR.glob("*.avsc"))
CLASSES = {cls.__name__: cls for cls in (*RECORD_TYPES, *ENUM_TYPES)}

# Fields that hold personal data wherever they appear: they must carry "pii": true.
PERSONAL = frozenset(
    {
        "first_name",
        "middle_name",
        "last_name",
        "other_names",
        "dob",
        "sex",
        "address",
        "previous_addresses",
        "line_1",
        "line_2",
        "line_3",
        "town",
        "postcode",
        "uprn",
        "nhs_number",
        "ni_number",
        "upn",
        "phone",
        "email",
        "source_ids",
        "before",
        "after",
        "golden",
        "person",
        "payload",
        "name",
    }
)
# A team's name is not about a person; a gazetteer describes places, not the people in them.
NOT_PERSONAL_RECORDS = frozenset({f"{NAMESPACE}.Team", f"{NAMESPACE}.PropertyChanged"})


def _walk(avro_type: Any) -> Iterator[Mapping[str, Any]]:
    """Every named type defined inline in a schema."""
    if isinstance(avro_type, list):
        for branch in avro_type:
            yield from _walk(branch)
    elif isinstance(avro_type, dict):
        if avro_type["type"] in ("record", "enum"):
            yield avro_type
        for field in avro_type.get("fields", []):
            yield from _walk(field["type"])
        for key in ("items", "values"):
            if key in avro_type:
                yield from _walk(avro_type[key])


def all_named_types() -> dict[str, Mapping[str, Any]]:
    named: dict[str, Mapping[str, Any]] = {}
    for path in FILES:
        for schema in _walk(json.loads(path.read_text())):
            name = schema["name"]
            named[name if "." in name else f"{schema.get('namespace', NAMESPACE)}.{name}"] = schema
    return named


NAMED = all_named_types()
RECORDS = {name: s for name, s in NAMED.items() if s["type"] == "record"}


def test_each_file_holds_one_named_type_called_by_its_full_name() -> None:
    assert FILES
    for path in FILES:
        schema = json.loads(path.read_text())
        assert schema["namespace"] == NAMESPACE, path.name
        assert path.name == f"{NAMESPACE}.{schema['name']}.avsc"


def test_every_event_type_loads_with_its_shared_types_resolved() -> None:
    schemas = current_schemas()
    assert set(schemas) == set(EVENT_TYPES)
    fingerprints = {w.fingerprint for w in schemas.values()}
    assert len(fingerprints) == len(EVENT_TYPES)  # no two event types share a fingerprint


def test_every_record_enum_and_field_has_a_doc() -> None:
    for name, schema in NAMED.items():
        assert schema.get("doc", "").strip(), f"{name} has no doc"
        for field in schema.get("fields", []):
            assert field.get("doc", "").strip(), f"{name}.{field['name']} has no doc"


def test_optional_fields_are_null_first_unions_defaulting_to_null() -> None:
    for name, schema in RECORDS.items():
        for field in schema["fields"]:
            if isinstance(field["type"], list):
                assert field["type"][0] == "null", f"{name}.{field['name']}"
                assert "default" in field and field["default"] is None, f"{name}.{field['name']}"


def test_times_are_timestamp_millis_and_days_are_dates() -> None:
    for name, schema in RECORDS.items():
        for field in schema["fields"]:
            types = field["type"] if isinstance(field["type"], list) else [field["type"]]
            logical = {t.get("logicalType") for t in types if isinstance(t, dict)}
            if field["name"].endswith(("_ts", "_timestamp")):
                assert logical == {"timestamp-millis"}, f"{name}.{field['name']}"
            if field["name"] in ("dob", "start", "end") or field["name"].endswith(
                ("_date", "_start", "_end", "_until")
            ):
                assert logical == {"date"}, f"{name}.{field['name']}"


def test_personal_fields_are_tagged_pii_and_pii_tags_are_booleans() -> None:
    for name, schema in RECORDS.items():
        for field in schema["fields"]:
            if "pii" in field:
                assert field["pii"] is True, f"{name}.{field['name']}"
            if field["name"] in PERSONAL and name not in NOT_PERSONAL_RECORDS:
                assert field.get("pii") is True, f"{name}.{field['name']} must be tagged pii"


def test_fingerprint_matches_the_avro_specification() -> None:
    # The Avro spec's CRC-64-AVRO of the schema "int", in single-object byte order.
    assert schema_fingerprint({"type": "int"}).hex() == "8f5c393f1ad57572"  # type: ignore[arg-type]


# -- the dataclasses mirror the schemas ---------------------------------------------------


def _expected_type(avro_type: Any) -> Any:  # noqa: PLR0911
    if isinstance(avro_type, list):
        branches = [t for t in avro_type if t != "null"]
        assert len(branches) == 1
        return _expected_type(branches[0]) | None
    if isinstance(avro_type, str):
        primitive = {
            "string": str,
            "long": int,
            "int": int,
            "double": float,
            "boolean": bool,
            "bytes": bytes,
        }
        if avro_type in primitive:
            return primitive[avro_type]
        return CLASSES[avro_type.rsplit(".", 1)[-1]]
    logical = avro_type.get("logicalType")
    if logical == "date":
        return dt.date
    if logical == "timestamp-millis":
        return dt.datetime
    kind = avro_type["type"]
    if kind in ("record", "enum"):
        return CLASSES[avro_type["name"].rsplit(".", 1)[-1]]
    if kind == "array":
        return tuple[_expected_type(avro_type["items"]), ...]  # type: ignore[misc]
    if kind == "map":
        return Mapping[str, _expected_type(avro_type["values"])]  # type: ignore[misc]
    return _expected_type(kind)


def _python_default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def _as_avro_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_dataclass_mirrors_record_schema(name: str) -> None:
    schema = RECORDS[name]
    cls = CLASSES[name.rsplit(".", 1)[-1]]
    assert dataclasses.is_dataclass(cls)
    fields = dataclasses.fields(cls)
    assert [f.name for f in fields] == [f["name"] for f in schema["fields"]], "names and order"
    hints = typing.get_type_hints(cls)
    for avro_field, field in zip(schema["fields"], fields, strict=True):
        where = f"{name}.{field.name}"
        assert hints[field.name] == _expected_type(avro_field["type"]), where
        default = _python_default(field)
        if "default" in avro_field:
            assert default is not dataclasses.MISSING, f"{where} needs a default"
            assert _as_avro_default(default) == avro_field["default"], where
        else:
            assert default is dataclasses.MISSING, f"{where} has a default the schema lacks"
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen


@pytest.mark.parametrize("name", sorted(n for n, s in NAMED.items() if s["type"] == "enum"))
def test_enum_mirrors_enum_schema(name: str) -> None:
    schema = NAMED[name]
    enum = CLASSES[name.rsplit(".", 1)[-1]]
    assert [m.value for m in enum] == schema["symbols"]
    assert all(m.name == m.value for m in enum)  # the codec relies on it


def test_every_python_type_has_a_schema() -> None:
    named = {n.rsplit(".", 1)[-1] for n in NAMED}
    assert {cls.__name__ for cls in (*RECORD_TYPES, *ENUM_TYPES)} == named
    assert {full_name(t) for t in EVENT_TYPES} <= set(NAMED)
