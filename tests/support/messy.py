"""Rows of a person file as sources write them, good and bad: every form a worker reads,
cleans or drops, for tests that check two ways of reading a file agree."""

from __future__ import annotations

import csv
import random
from pathlib import Path

MESSY = {
    "first_name": ["Ann", "", " Bo "],
    "last_name": ["Lee", "", "O'Neil"],
    "dob": ["", "1980-02-03", "03/08/1938", "1984/03/07", "07031984", "31/02/1980",
            "07/03/84", "1850-01-01", "1630-08-01", "2999-01-01", "1980-W05-1", "not a date"],
    "sex": ["", "F", "m"],
    "address_line_1": ["", "22 Ivy Road"],
    "town": ["", "London"],
    "postcode": ["", "nw1 9se", "NW19SE", "not a postcode"],
    "uprn": ["", "100021234567.0", "5029143621", "12a"],
    "nhs_number": ["", "943 476 5919", "9434765918", "123"],
    "ni_number": ["", "ab123456c", "XX"],
    "upn": ["", "A12"],
    "phone": ["", "020 7634 3024"],
    "email": ["", "a.lee@mail.example", "not an email"],
    "residence_start": ["", "2020-01-01", "01/02/2020", "1850-01-01", "2999-01-01", "2020W051"],
    "residence_end": ["", "2019-01-01", "2021-06-30"],
    "updated_at": ["", "2024-01-02T03:04:05Z", "02/01/2024 03:04", "2024/01/02 03:04",
                   "2024-01-02T04:04:05.5+01:00", "not a time", "9999-12-31"],
}  # fmt: skip


def write_messy_rows(path: Path, rows: int, *, seed: int) -> Path:
    """A CSV of ``rows`` records ``a:0``, ``a:1``... each cell drawn from :data:`MESSY`."""
    pick = random.Random(seed).choice
    lines = [[f"a:{n}", *(pick(values) for values in MESSY.values())] for n in range(rows)]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([["record_id", *MESSY], *lines])
    return path
