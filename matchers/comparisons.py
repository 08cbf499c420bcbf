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
the Python says ``is not None`` explicitly. The SQL conditions use no NOT over a value
that can be NULL, so SQL's three-valued logic and Python's two agree.

The comparisons: given name (nicknames and known short forms, typos, initials, swapped
names, one name holding the other), middle name, date of birth (exact, day and month
swapped, year off by one, one character different, same year, years within one), NHS
number, NI number and UPN (agree or disagree, m fixed), sex, phone and email (only their
disagreement counts: ``contact``); and for family name and where someone lives one of two
designs, chosen by :func:`comparisons_for`: ``family_and_home`` (one comparison, for data
that knows households: addresses, phones, emails) or ``family_name`` and ``place`` apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import JaroWinkler, Levenshtein

from matchers.names import forms_text, known_forms
from matchers.records import StandardRecord

Test = Callable[[StandardRecord, StandardRecord], bool]

# Columns of the Splink input table besides unique_id and the blocking columns.
FEATURE_COLUMNS: tuple[str, ...] = (
    "first_name",
    "middle_name",
    "last_name",
    "first_name_group",
    "first_name_forms",
    "dob",
    "sex",
    "postcode",
    "postcode_sector",
    "postcode_district",
    "town",
    "uprn",
    "address_text_key",
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
    "known_forms": known_forms,
}


def ni_stem(record: StandardRecord) -> str | None:
    """The National Insurance number without its suffix letter, which systems vary."""
    return record.ni_number[:8] if record.ni_number else None


def feature_row(record: StandardRecord) -> dict[str, str | None]:
    """The values of :data:`FEATURE_COLUMNS` for one record."""
    row: dict[str, str | None] = {name: getattr(record, name, None) for name in FEATURE_COLUMNS}
    row["ni_stem"] = ni_stem(record)
    row["first_name_forms"] = forms_text(record.first_name)
    return row


# Term-frequency columns: the record attribute whose value the frozen table is keyed on.
TF_ATTRIBUTES: dict[str, str] = {
    "first_name": "first_name",
    "last_name": "last_name",
    "dob": "dob",
    "postcode": "postcode",
    "town": "town",
}


def _compile(expression: str, lets: tuple[tuple[str, str], ...] = ()) -> Test:
    namespace = dict(EXPRESSION_NAMES)
    lines = ["def test(a, b):"]
    lines += [f"    {name} = {value}" for name, value in lets]
    lines.append(f"    return bool({expression})")
    # The expressions are this module's own constants, never read from a model file.
    exec("\n".join(lines), namespace)  # noqa: S102
    return namespace["test"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Level:
    label: str
    sql: str
    python: str  # an expression in a, b (see the module docstring)
    is_null: bool = False
    tf_column: str | None = None  # term-frequency adjusted on this column
    fixed_m: float | None = None  # m set from what is known, not estimated
    fixed_u: float | None = None  # u set too (with fixed_m: a level that weighs nothing)
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
        if self.fixed_m is not None:
            level["m_probability"] = self.fixed_m
            level["fix_m_probability"] = True
        if self.fixed_u is not None:
            level["u_probability"] = self.fixed_u
            level["fix_u_probability"] = True
        return level


@dataclass(frozen=True)
class Comparison:
    name: str
    description: str
    columns: tuple[str, ...]  # it is left out of a model when all of these are (nearly) empty
    levels: tuple[Level, ...]
    # Named Python values computed once per pair before the levels, which may use them
    # (the scorer then evaluates a shared part once, not in every level).
    lets: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.lets:
            for level in self.levels:
                object.__setattr__(level, "test", _compile(level.python, self.lets))

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


def _eq_py(attribute: str) -> str:
    return f"(a.{attribute} is not None and a.{attribute} == b.{attribute})"


ELSE = Level("All other comparisons", "ELSE", "True")


def _null_level(column: str) -> Level:
    return Level(f"{column} is null", _sql_null(column), _py_null(column), is_null=True)


def _identifier(
    name: str, column: str, description: str, error_rate: float, python: str | None = None
) -> Comparison:
    """An identifier: the same person's records agree unless one of them holds a wrong
    number that still passes the checks, which happens at about ``error_rate``.

    m is fixed at that rate instead of estimated: expectation maximisation over blocked
    pairs counts household members it takes for matches, and would make a disagreeing
    identifier look far more common among true matches than it is.
    """
    return Comparison(
        name=name,
        description=description,
        columns=(column,),
        levels=(
            Level(f"{column} is null", _sql_null(column), _py_null(python or column),
                  is_null=True),
            Level(f"Exact match on {column}", _sql_eq(column),
                  f"a.{python}[:8] == b.{python}[:8]" if python else f"a.{column} == b.{column}",
                  fixed_m=1 - error_rate),
            Level("Different", "ELSE", "True", fixed_m=error_rate),
        ),
    )  # fmt: skip


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
        Level(
            "Names swapped, or the only name is the other's family name",
            '("first_name_l" = "last_name_r" AND ("last_name_l" IS NULL OR '
            '"last_name_l" = "first_name_r")) OR ("first_name_r" = "last_name_l" AND '
            '("last_name_r" IS NULL OR "last_name_r" = "first_name_l"))',
            "(a.first_name == b.last_name and "
            "(a.last_name is None or a.last_name == b.first_name)) or "
            "(b.first_name == a.last_name and "
            "(b.last_name is None or b.last_name == a.first_name))",
        ),
        Level(
            "Known forms of one name (Chris and Christine, Mo and Muhammad)",
            "list_has_any(string_split(\"first_name_forms_l\", '|'), "
            "string_split(\"first_name_forms_r\", '|'))",
            "known_forms(a.first_name, b.first_name)",
        ),
        Level("Given names Jaro-Winkler >= 0.92", _jw_sql("first_name", 0.92),
              _jw_py("first_name", 0.92)),
        Level(
            "Given names one letter apart",
            'length("first_name_l") >= 3 AND length("first_name_r") >= 3 AND '
            'levenshtein("first_name_l", "first_name_r") <= 1',
            "len(a.first_name) >= 3 and len(b.first_name) >= 3 and "
            "lev(a.first_name, b.first_name, score_cutoff=1) <= 1",
        ),
        Level("Nickname groups Jaro-Winkler >= 0.92 (a misspelt nickname)",
              _jw_sql("first_name_group", 0.92), _jw_py("first_name_group", 0.92)),
        Level(
            "One given name holds the other (Liv in Olivia, Femi in Oluwafemi)",
            'length("first_name_l") >= 3 AND length("first_name_r") >= 3 AND '
            '(contains("first_name_l", "first_name_r") OR '
            'contains("first_name_r", "first_name_l"))',
            "len(a.first_name) >= 3 and len(b.first_name) >= 3 and "
            "(b.first_name in a.first_name or a.first_name in b.first_name)",
        ),
        Level(
            "One given name is an initial of the other",
            '(length("first_name_l") = 1 OR length("first_name_r") = 1) AND '
            'substr("first_name_l", 1, 1) = substr("first_name_r", 1, 1)',
            "(len(a.first_name) == 1 or len(b.first_name) == 1) "
            "and a.first_name[0] == b.first_name[0]",
        ),
        Level("Given names Jaro-Winkler >= 0.8", _jw_sql("first_name", 0.8),
              _jw_py("first_name", 0.8)),
        Level(
            "The only name is like the other's family name (Jaro-Winkler >= 0.88)",
            f'("last_name_l" IS NULL AND {_jw_sql("first_name", 0.88, "last_name")}) OR '
            f'("last_name_r" IS NULL AND {_jw_sql("last_name", 0.88, "first_name")})',
            f"(a.last_name is None and b.last_name is not None and "
            f"{_jw_py('first_name', 0.88, 'last_name')}) or (b.last_name is None and "
            f"a.last_name is not None and {_jw_py('last_name', 0.88, 'first_name')})",
        ),
        ELSE,
    ),
)  # fmt: skip

MIDDLE_NAME = Comparison(
    name="middle_name",
    description="Middle name",
    columns=("middle_name",),
    levels=(
        _null_level("middle_name"),
        Level("Exact match on middle name", _sql_eq("middle_name"),
              "a.middle_name == b.middle_name"),
        Level(
            "One middle name is an initial of the other",
            '(length("middle_name_l") = 1 OR length("middle_name_r") = 1) AND '
            'substr("middle_name_l", 1, 1) = substr("middle_name_r", 1, 1)',
            "(len(a.middle_name) == 1 or len(b.middle_name) == 1) "
            "and a.middle_name[0] == b.middle_name[0]",
        ),
        Level("Middle names Jaro-Winkler >= 0.88", _jw_sql("middle_name", 0.88),
              _jw_py("middle_name", 0.88)),
        ELSE,
    ),
)  # fmt: skip

# Phone and email as evidence against a match. That the same phone or email is evidence
# for one is already part of FAMILY_AND_HOME ("same address, phone or email"), where a
# household's shared landline or family email weighs what it is worth; counted here again
# it would add up, as if independent, with the address. So agreement weighs nothing here
# (m and u fixed equal) and only the level "both records give a phone or an email and
# none of them agrees" is trained: people keep their numbers, namesakes have their own.
CONTACT = Comparison(
    name="contact",
    description="Phone and email (only their disagreement counts)",
    columns=("phone", "email"),
    levels=(
        Level(
            "No phone or email on both records",
            '("phone_l" IS NULL OR "phone_r" IS NULL) AND ("email_l" IS NULL OR "email_r" IS NULL)',
            f"({_py_null('phone')}) and ({_py_null('email')})",
            is_null=True,
        ),
        Level(
            "A phone or an email agrees (counted in family_and_home)",
            f"{_sql_eq('phone')} OR {_sql_eq('email')}",
            f"{_eq_py('phone')} or {_eq_py('email')}",
            fixed_m=0.5,
            fixed_u=0.5,
        ),
        Level("Phones and emails differ", "ELSE", "True"),
    ),
)


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
            "Given and family names swapped",
            f"{_sql_eq('last_name', 'first_name')} AND {_sql_eq('first_name', 'last_name')}",
            "a.last_name == b.first_name and a.first_name == b.last_name",
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


def _either_eq_sql(*columns: str) -> str:
    return " OR ".join(f"({_sql_eq(c)})" for c in columns)


_HOME_COLUMNS = ("uprn", "address_text_key", "phone", "email")
_PLACE_COLUMNS = (*_HOME_COLUMNS, "postcode", "town")
_SAME_HOME_SQL = _either_eq_sql(*_HOME_COLUMNS)
_SAME_HOME_PY = " or ".join(_eq_py(c) for c in _HOME_COLUMNS)
_NEAR_SQL = f"{_either_eq_sql('postcode_sector', 'postcode_district', 'town')}"
_NEAR_PY = " or ".join(_eq_py(c) for c in ("postcode_sector", "postcode_district", "town"))
_SURNAME_EQ_SQL = _sql_eq("last_name")
_SURNAME_EQ_PY = _eq_py("last_name")
_SURNAME_CLOSE_SQL = (
    f"{_jw_sql('last_name', 0.92)} OR "
    'list_contains(string_split("last_name_l", \'-\'), "last_name_r") OR '
    'list_contains(string_split("last_name_r", \'-\'), "last_name_l")'
)
_SURNAME_CLOSE_PY = (
    f"a.last_name is not None and b.last_name is not None and ({_jw_py('last_name', 0.92)} "
    "or b.last_name in a.last_name.split('-') or a.last_name in b.last_name.split('-'))"
)


def _family_and_home_levels() -> tuple[Level, ...]:
    home = "Same address, phone or email"
    pairs = (
        ("Same family name", _SURNAME_EQ_SQL, "fh_same", "last_name"),
        ("Family names alike (Jaro-Winkler >= 0.92, or one part of the other)",
         _SURNAME_CLOSE_SQL, "fh_alike", None),
    )  # fmt: skip
    levels = [
        Level(
            "Nothing comparable",
            '("last_name_l" IS NULL OR "last_name_r" IS NULL) AND NOT ('
            + " OR ".join(f'("{c}_l" IS NOT NULL AND "{c}_r" IS NOT NULL)' for c in _PLACE_COLUMNS)
            + ")",
            "(a.last_name is None or b.last_name is None) and not ("
            + " or ".join(f"(a.{c} is not None and b.{c} is not None)" for c in _PLACE_COLUMNS)
            + ")",
            is_null=True,
        )
    ]
    for name, sql, py, tf in pairs:
        levels += [
            # no term-frequency adjustment at the same address: the records that share
            # one and a family name without being one person are its household, who share
            # the name however rare it is
            Level(f"{name}; {home}", f"({sql}) AND ({_SAME_HOME_SQL})",
                  f"{py} and fh_home"),
            Level(f"{name}; same postcode", f"({sql}) AND ({_sql_eq('postcode')})",
                  f"{py} and fh_postcode", tf_column=tf),
            Level(f"{name}; same area or town", f"({sql}) AND ({_NEAR_SQL})",
                  f"{py} and fh_near", tf_column=tf),
            Level(f"{name}; elsewhere or unknown", sql, py, tf_column=tf),
        ]  # fmt: skip
    levels += [
        Level(f"Family names differ or unknown; {home}", _SAME_HOME_SQL, "fh_home"),
        Level("Family names differ or unknown; same postcode", _sql_eq("postcode"),
              "fh_postcode"),
        Level("Family names differ or unknown; same area or town", _NEAR_SQL, "fh_near"),
        Level("Emails Jaro-Winkler >= 0.88", _jw_sql("email", 0.88),
              f"a.email is not None and b.email is not None and {_jw_py('email', 0.88)}"),
        ELSE,
    ]  # fmt: skip
    return tuple(levels)


# Family name and where someone lives (address, phone, email, postcode, town) in one
# comparison. Members of a household share all of these, so as separate comparisons their
# agreements would add up, as if independent, to a link between different people. As one
# comparison, "same family name at the same address" weighs what it is worth, which is
# less than the two apart; the person-level comparisons (given name, date of birth,
# identifiers) then decide between household members.
FAMILY_AND_HOME = Comparison(
    name="family_and_home",
    description="Family name with address, phone, email, postcode and town",
    columns=("last_name", *_PLACE_COLUMNS),
    levels=_family_and_home_levels(),
    lets=(
        ("fh_same", _SURNAME_EQ_PY),
        ("fh_alike", _SURNAME_CLOSE_PY),
        ("fh_home", _SAME_HOME_PY),
        ("fh_postcode", _eq_py("postcode")),
        ("fh_near", _NEAR_PY),
    ),
)

# Error rates of valid-looking identifiers: NHS numbers and UPNs carry a check character
# that catches single typing errors and transpositions; NI numbers have none.
NHS_NUMBER = _identifier("nhs_number", "nhs_number", "NHS number", 0.001)
NI_NUMBER = _identifier(
    "ni_number",
    "ni_stem",
    "National Insurance number (without the suffix letter)",
    0.005,
    python="ni_number",
)
UPN = _identifier("upn", "upn", "Unique pupil number", 0.002)

COMPARISONS: tuple[Comparison, ...] = (
    GIVEN_NAME,
    MIDDLE_NAME,
    DOB,
    FAMILY_NAME,
    PLACE,
    FAMILY_AND_HOME,
    CONTACT,
    _exact_only("sex", "sex", "Sex"),
    NHS_NUMBER,
    NI_NUMBER,
    UPN,
)


# Data that knows households (addresses, phones, emails) uses FAMILY_AND_HOME; data that
# does not (a postcode and town at most) compares family name and place apart, where each
# keeps its term-frequency adjustments.
HOUSEHOLD_COLUMNS: tuple[str, ...] = ("uprn", "address_text_key", "phone", "email")


def comparisons_for(filled: Callable[[str], bool]) -> tuple[Comparison, ...]:
    """The comparisons for a snapshot in which ``filled(column)`` says a column has values:
    those reading some filled column, with one of the two family-name-and-place designs."""
    household = any(filled(column) for column in HOUSEHOLD_COLUMNS)
    left_out = (FAMILY_NAME, PLACE) if household else (FAMILY_AND_HOME,)
    return tuple(
        c for c in COMPARISONS
        if c not in left_out and any(filled(column) for column in c.columns)
    )  # fmt: skip


def comparison_named(name: str) -> Comparison | None:
    return next((c for c in COMPARISONS if c.name == name), None)


def levels_by_sql() -> dict[tuple[str, str], Level]:
    """Every level, keyed by (comparison name, SQL condition)."""
    return {(c.name, level.sql): level for c in COMPARISONS for level in c.levels}
