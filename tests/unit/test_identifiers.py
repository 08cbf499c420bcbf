"""UK identifier checks: valid values normalise, invalid ones say why, cleaning is idempotent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matchers import identifiers as ids

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("943 476 5919", ("9434765919", None)),
        ("943-476-5919", ("9434765919", None)),
        ("9434765918", (None, "nhs_number_check_digit")),
        ("94347659", (None, "nhs_number_format")),
        ("0000000000", (None, "nhs_number_placeholder")),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_nhs_number(raw: str | None, expected: tuple[str | None, str | None]) -> None:
    assert ids.check_nhs_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jg 10 37 59 a", ("JG103759A", None)),
        ("QQ123456C", (None, "ni_number_format")),  # Q is never a first letter
        ("AB123456", ("AB123456", None)),
        ("DA123456A", (None, "ni_number_format")),  # D is never a first letter
        ("AO123456A", (None, "ni_number_format")),  # O is never a second letter
        ("GB123456A", (None, "ni_number_format")),  # administrative prefix
        ("AB123456E", (None, "ni_number_format")),  # suffix is A-D
    ],
)
def test_ni_number(raw: str, expected: tuple[str | None, str | None]) -> None:
    assert ids.check_ni_number(raw) == expected


def test_upn_check_letter() -> None:
    assert ids.check_upn("b801200005001") == ("B801200005001", None)
    assert ids.check_upn("A801200005001") == (None, "upn_check_letter")
    assert ids.check_upn("B80120000500") == (None, "upn_format")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("nw12db", "NW1 2DB"),
        (" NW1  2DB ", "NW1 2DB"),
        ("ec1a1bb", "EC1A 1BB"),
        ("M1 1AE", "M1 1AE"),
        ("GIR 0AA", "GIR 0AA"),
        ("NW1 2CB", None),  # C never appears in the inward code
        ("12345", None),
    ],
)
def test_postcode(raw: str, expected: str | None) -> None:
    assert ids.clean_postcode(raw) == expected


def test_postcode_parts() -> None:
    assert ids.postcode_sector("NW1 2DB") == "NW1 2"
    assert ids.postcode_district("NW1 2DB") == "NW1"
    assert ids.postcode_sector(None) is None


@given(st.text(max_size=20))
def test_cleaning_is_idempotent(raw: str) -> None:
    for clean in (ids.clean_nhs_number, ids.clean_upn, ids.clean_ni_number, ids.clean_postcode):
        once = clean(raw)
        assert clean(once) == once
