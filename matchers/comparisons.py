"""The model's comparisons, each level written twice: as Splink SQL and as Python.

This is the one place where what a comparison level means is defined. The Splink adapter
puts the SQL into the model it trains; the scorer finds each trained level's SQL here and
evaluates the Python expression written beside it, so both compute the same level for
every pair (a test runs both over generated pairs, and the parity test compares whole
scores with Splink's).

The SQL reads the Splink input table, one column per name in :data:`FEATURE_COLUMNS`
(computed by :func:`feature_row`), as ``"<column>_l"`` and ``"<column>_r"``. The Python
reads two :class:`~matchers.records.StandardRecord` objects ``a`` and ``b`` and may use
``jw`` (rapidfuzz Jaro-Winkler similarity) and ``lev`` (rapidfuzz Levenshtein distance),
which DuckDB's ``jaro_winkler_similarity`` and ``levenshtein`` equal. Jaro-Winkler
thresholds are written a hair below the round value (0.92 becomes 0.919999999): the two
implementations may differ in the last bit, while two distinct similarities of names
differ by far more, so no pair can fall between them.

Levels are tried in order and the first that holds is the pair's level, as in Splink's
``CASE WHEN``. Each expression may assume the levels above it did not hold (in
particular, that the null level did not). Where SQL would compare with a NULL (false),
the Python says ``is not None`` explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import JaroWinkler, Levenshtein

from matchers.records import StandardRecord

Test = Callable[[StandardRecord, StandardRecord], bool]

# Columns of the Splink input table besides unique_id and the blocking columns.
FEATURE_COLUMNS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "first_name_group",
    "dob",
    "sex",
    "postcode",
    "postcode_sector",
    "postcode_district",
    "town",
    "uprn",
    "address_line_1",
    "nhs_number",
    "ni_stem",
    "upn",
    "phone",
    "email",
)

# Names the Python expressions may use besides ``a`` and ``b``.
EXPRESSION_NAMES: dict[str, Any] = {
    "jw": JaroWinkler.similarity,
    "lev": Levenshtein.distance,
}


def ni_stem(record: StandardRecord) -> str | None:
    """The National Insurance number without its suffix letter, which systems vary."""
    return record.ni_number[:8] if record.ni_number else None


def feature_row(record: StandardRecord) -> dict[str, str | None]:
    """The values of :data:`FEATURE_COLUMNS` for one record."""
    row: dict[str, str | None] = {name: getattr(record, name, None) for name in FEATURE_COLUMNS}
    row["ni_stem"] = ni_stem(record)
    return row


# Term-frequency columns: the record attribute whose value the frozen table is keyed on.
TF_ATTRIBUTES: dict[str, str] = {
    "first_name": "first_name",
    "last_name": "last_name",
    "dob": "dob",
    "postcode": "postcode",
    "town": "town",
}


def _compile(expression: str) -> Test:
    namespace = dict(EXPRESSION_NAMES)
    # The expressions are this module's own constants, never read from a model file.
    return eval(f"lambda a, b: {expression}", namespace)  # type: ignore[no-any-return]  # noqa: S307


@dataclass(frozen=True)
class Level:
    label: str
    sql: str
    python: str  # an expression in a, b (see the module docstring)
    is_null: bool = False
    tf_column: str | None = None  # term-frequency adjusted on this column
    test: Test = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "test", _compile(self.python))

    def splink_dict(self) -> dict[str, object]:
        level: dict[str, object] = {"sql_condition": self.sql, "label_for_charts": self.label}
        if self.is_null:
            level["is_null_level"] = True
        if self.tf_column:
            level["tf_adjustment_column"] = self.tf_column
            level["tf_adjustment_weight"] = 1.0
        return level


@dataclass(frozen=True)
class Comparison:
    name: str
    description: str
    columns: tuple[str, ...]  # it is left out of a model when all of these are (nearly) empty
    levels: tuple[Level, ...]

    def splink_dict(self) -> dict[str, object]:
        return {
            "output_column_name": self.name,
            "comparison_description": self.description,
            "comparison_levels": [level.splink_dict() for level in self.levels],
        }


# -- small helpers that write both forms -------------------------------------------------


def _c(column: str, side: str) -> str:
    return f'"{column}_{side}"'


def _sql_eq(left: str, right: str | None = None) -> str:
    return f"{_c(left, 'l')} = {_c(right or left, 'r')}"


def _sql_null(column: str) -> str:
    return f"{_c(column, 'l')} IS NULL OR {_c(column, 'r')} IS NULL"


def _py_null(attribute: str) -> str:
    return f"a.{attribute} is None or b.{attribute} is None"


def _threshold(value: float) -> str:
    return repr(value - 1e-9)


def _jw_sql(left: str, value: float, right: str | None = None) -> str:
    return (
        f"jaro_winkler_similarity({_c(left, 'l')}, {_c(right or left, 'r')}) >= {_threshold(value)}"
    )


def _jw_py(left: str, value: float, right: str | None = None) -> str:
    return f"jw(a.{left}, b.{right or left}) >= {_threshold(value)}"


ELSE = Level("All other comparisons", "ELSE", "True")


def _null_level(column: str) -> Level:
    return Level(f"{column} is null", _sql_null(column), _py_null(column), is_null=True)


def _exact_only(name: str, column: str, description: str) -> Comparison:
    return Comparison(
        name=name,
        description=description,
        columns=(column,),
        levels=(
            _null_level(column),
            Level(f"Exact match on {column}", _sql_eq(column), f"a.{column} == b.{column}"),
            ELSE,
        ),
    )


# -- the comparisons ---------------------------------------------------------------------

GIVEN_NAME = Comparison(
    name="given_name",
    description="Given name",
    columns=("first_name",),
    levels=(
        _null_level("first_name"),
        Level("Exact match on given name", _sql_eq("first_name"),
              "a.first_name == b.first_name", tf_column="first_name"),
        Level("Same nickname group", _sql_eq("first_name_group"),
              "a.first_name_group == b.first_name_group"),
        Level("Given names Jaro-Winkler >= 0.92", _jw_sql("first_name", 0.92),
              _jw_py("first_name", 0.92)),
        Level("Given names Jaro-Winkler >= 0.8", _jw_sql("first_name", 0.8),
              _jw_py("first_name", 0.8)),
        Level(
            "One given name is an initial of the other",
            '(length("first_name_l") = 1 OR length("first_name_r") = 1) AND '
            'substr("first_name_l", 1, 1) = substr("first_name_r", 1, 1)',
            "(len(a.first_name) == 1 or len(b.first_name) == 1) "
            "and a.first_name[0] == b.first_name[0]",
        ),
        Level(
            "Given name is the other's family name",
            f"{_sql_eq('first_name', 'last_name')} OR {_sql_eq('last_name', 'first_name')}",
            "a.first_name == b.last_name or a.last_name == b.first_name",
        ),
        Level(
            "Given name like the other's family name (Jaro-Winkler >= 0.88)",
            f"{_jw_sql('first_name', 0.88, 'last_name')} OR "
            f"{_jw_sql('last_name', 0.88, 'first_name')}",
            f"(b.last_name is not None and {_jw_py('first_name', 0.88, 'last_name')}) or "
            f"(a.last_name is not None and {_jw_py('last_name', 0.88, 'first_name')})",
        ),
        ELSE,
    ),
)  # fmt: skip

FAMILY_NAME = Comparison(
    name="family_name",
    description="Family name",
    columns=("last_name",),
    levels=(
        _null_level("last_name"),
        Level("Exact match on family name", _sql_eq("last_name"),
              "a.last_name == b.last_name", tf_column="last_name"),
        Level("Family names Jaro-Winkler >= 0.92", _jw_sql("last_name", 0.92),
              _jw_py("last_name", 0.92)),
        Level(
            "One family name is part of the other (double-barrelled)",
            "list_contains(string_split(\"last_name_l\", '-'), \"last_name_r\") OR "
            "list_contains(string_split(\"last_name_r\", '-'), \"last_name_l\")",
            "b.last_name in a.last_name.split('-') or a.last_name in b.last_name.split('-')",
        ),
        Level("Family names Jaro-Winkler >= 0.8", _jw_sql("last_name", 0.8),
              _jw_py("last_name", 0.8)),
        Level(
            "Family name is the other's given name",
            f"{_sql_eq('last_name', 'first_name')} OR {_sql_eq('first_name', 'last_name')}",
            "a.last_name == b.first_name or a.first_name == b.last_name",
        ),
        ELSE,
    ),
)  # fmt: skip

_YEAR_L, _YEAR_R = 'substr("dob_l", 1, 4)', 'substr("dob_r", 1, 4)'
_MONTH_L, _MONTH_R = 'substr("dob_l", 6, 2)', 'substr("dob_r", 6, 2)'
_DAY_L, _DAY_R = 'substr("dob_l", 9, 2)', 'substr("dob_r", 9, 2)'
_YEAR_GAP_SQL = f"abs(cast({_YEAR_L} AS INTEGER) - cast({_YEAR_R} AS INTEGER))"
_YEAR_GAP_PY = "abs(int(a.dob[:4]) - int(b.dob[:4]))"

DOB = Comparison(
    name="dob",
    description="Date of birth",
    columns=("dob",),
    levels=(
        _null_level("dob"),
        Level("Exact match on dob", _sql_eq("dob"), "a.dob == b.dob", tf_column="dob"),
        Level(
            "Day and month swapped",
            f"{_YEAR_L} = {_YEAR_R} AND {_MONTH_L} = {_DAY_R} AND {_DAY_L} = {_MONTH_R}",
            "a.dob[:4] == b.dob[:4] and a.dob[5:7] == b.dob[8:] and a.dob[8:] == b.dob[5:7]",
        ),
        Level(
            "Year off by one, day and month the same",
            f"{_MONTH_L} = {_MONTH_R} AND {_DAY_L} = {_DAY_R} AND {_YEAR_GAP_SQL} = 1",
            f"a.dob[5:] == b.dob[5:] and {_YEAR_GAP_PY} == 1",
        ),
        Level("One character different", 'levenshtein("dob_l", "dob_r") <= 1',
              "lev(a.dob, b.dob, score_cutoff=1) <= 1"),
        Level(
            "Same year, month or day different",
            f"{_YEAR_L} = {_YEAR_R} AND ({_MONTH_L} = {_MONTH_R} OR {_DAY_L} = {_DAY_R})",
            "a.dob[:4] == b.dob[:4] and (a.dob[5:7] == b.dob[5:7] or a.dob[8:] == b.dob[8:])",
        ),
        Level("Years within one", f"{_YEAR_GAP_SQL} <= 1", f"{_YEAR_GAP_PY} <= 1"),
        ELSE,
    ),
)  # fmt: skip

# One comparison for postcode and town: both say where someone lives, and two
# comparisons would count that evidence twice.
PLACE = Comparison(
    name="place",
    description="Postcode, then its sector and district, then town",
    columns=("postcode", "town"),
    levels=(
        Level(
            "No comparable postcode or town",
            'NOT (("postcode_l" IS NOT NULL AND "postcode_r" IS NOT NULL) OR '
            '("town_l" IS NOT NULL AND "town_r" IS NOT NULL))',
            f"({_py_null('postcode')}) and ({_py_null('town')})",
            is_null=True,
        ),
        Level("Exact match on postcode", _sql_eq("postcode"),
              "a.postcode is not None and a.postcode == b.postcode", tf_column="postcode"),
        Level("Same postcode sector", _sql_eq("postcode_sector"),
              "a.postcode_sector is not None and a.postcode_sector == b.postcode_sector"),
        Level("Same postcode district", _sql_eq("postcode_district"),
              "a.postcode_district is not None and a.postcode_district == b.postcode_district"),
        Level("Exact match on town", _sql_eq("town"),
              "a.town is not None and a.town == b.town", tf_column="town"),
        ELSE,
    ),
)  # fmt: skip

ADDRESS = Comparison(
    name="address",
    description="Property (UPRN), or first address line with postcode",
    columns=("uprn", "address_line_1"),
    levels=(
        Level(
            "No comparable address",
            'NOT (("uprn_l" IS NOT NULL AND "uprn_r" IS NOT NULL) OR '
            '("address_line_1_l" IS NOT NULL AND "address_line_1_r" IS NOT NULL AND '
            '"postcode_l" IS NOT NULL AND "postcode_r" IS NOT NULL))',
            "not ((a.uprn is not None and b.uprn is not None) or "
            "None not in (a.address_line_1, b.address_line_1, a.postcode, b.postcode))",
            is_null=True,
        ),
        Level("Same UPRN", _sql_eq("uprn"), "a.uprn is not None and a.uprn == b.uprn"),
        Level(
            "Same first line and postcode",
            f"{_sql_eq('address_line_1')} AND {_sql_eq('postcode')}",
            "a.address_line_1 is not None and a.address_line_1 == b.address_line_1 "
            "and a.postcode is not None and a.postcode == b.postcode",
        ),
        ELSE,
    ),
)  # fmt: skip

EMAIL = Comparison(
    name="email",
    description="Email address",
    columns=("email",),
    levels=(
        _null_level("email"),
        Level("Exact match on email", _sql_eq("email"), "a.email == b.email"),
        Level("Emails Jaro-Winkler >= 0.88", _jw_sql("email", 0.88), _jw_py("email", 0.88)),
        ELSE,
    ),
)  # fmt: skip

NI_NUMBER = Comparison(
    name="ni_number",
    description="National Insurance number (without the suffix letter)",
    columns=("ni_stem",),
    levels=(
        Level("ni_stem is null", _sql_null("ni_stem"), _py_null("ni_number"), is_null=True),
        Level("Exact match on ni_stem", _sql_eq("ni_stem"), "a.ni_number[:8] == b.ni_number[:8]"),
        ELSE,
    ),
)

COMPARISONS: tuple[Comparison, ...] = (
    GIVEN_NAME,
    FAMILY_NAME,
    DOB,
    PLACE,
    ADDRESS,
    _exact_only("sex", "sex", "Sex"),
    _exact_only("nhs_number", "nhs_number", "NHS number"),
    NI_NUMBER,
    _exact_only("upn", "upn", "Unique pupil number"),
    EMAIL,
    _exact_only("phone", "phone", "Phone number"),
)


def levels_by_sql() -> dict[tuple[str, str], Level]:
    """Every level, keyed by (comparison name, SQL condition)."""
    return {(c.name, level.sql): level for c in COMPARISONS for level in c.levels}
