"""Cannot-link rules: facts that two records cannot be one person, whatever they score.

A Fellegi-Sunter score adds evidence field by field, so family members who share a
surname, an address, a phone and an email can outscore a real match even when their
dates of birth are decades apart or their NHS numbers differ. These rules veto such joins
in clustering (a group is never joined to another when any pair between them conflicts):

- **identifiers** (always): both records hold a valid NHS number, unique pupil number or National
  Insurance number (its first eight characters: the suffix letter varies) and they
  differ; these identifiers are checked for format and check digit by standardisation,
  so a difference is a different person, not a typo;
- **dates of birth**: both records hold one, their years are more than ``dob_years``
  apart (0 turns the rule off), and no typing error explains the difference: not the
  same day and month (or the two swapped), which is taken for a wrong year, nor a year
  with one wrong digit or two neighbouring digits swapped (1843 for 1813, 1958 for 1985)
  together with the same month or day. With 10 years, measured on the simulator's
  borough this blocks no true pair (of 23,986 with both dates) and separates 135 of the
  142 parents and children who share a name; on Splink's 50k set, whose errors include
  heavy year corruption (one digit of the year), it blocks none of its 149,985 true pairs
  with both dates (a rule on the gap and the day and month alone blocked 1,230);
- **dates of birth, however close**: both records hold one and they differ in day,
  month and year at once, not merely with the day and month swapped (:func:`no_slip`;
  ``dob_years`` 0 turns this off too). One slip of the pen (a wrong day, month or
  year, day and month the wrong way round) leaves some part as it was; two different
  children of one family seldom share any.
  Measured, it blocks no true pair of the borough's 23,986 with both dates, nor of the
  50k set's 178,381 (counted on every pair of one person's dates there), and it parts
  a boy born 2016 from his brother born 2018, whose records the family's e-mail and a
  dateless library record "J Thomas" had joined (at the default ``dob_years``, 2, the
  gap did not). On the 50k set it raises pairwise precision from 0.9932 to 0.9942
  without losing a true pair;

and for two records that share a home (a UPRN, phone or email; for two records each
written while its person was under 18, by its date of birth and ``updated_at``, an
address, its premise and postcode, as well) and both hold a date of birth and a given
name:

- **a parent and child born on one day and month**: years more than ``dob_years`` apart
  conflict even with the same day and month, unless the year is a typo (one wrong digit,
  two neighbouring digits swapped);
- **twins**: the same date of birth, and given names that are plainly two names, not one
  name written two ways: not the same, not known as one name (Bob and Robert, Bob and
  Rob, Mo and Muhammad: :func:`~matchers.names.one_known_name`; names the ``nicknames``
  table links only through a third, Robert and William through Bill, John and Nathan
  through Jonathan, or puts in one nickname group, Lewis and Louise in Louis, are two
  names, which changes no person on either simulated borough or the 50k set and makes
  two names of 52 pairs of the simulator's given names that the looser
  :func:`~matchers.names.known_forms` and group took for one), not a typo (one letter
  apart, Jaro-Winkler at least 0.8, one holding the other), in any part of a double
  name, and neither record's given name is the other's
  middle name (someone known by a middle name) or, names swapped, the other's family name
  while not its own family name too ("Hassan Hassan" and "Khaled Hassan" are twins; a
  "Hassan Khaled" may be the second with names swapped). An initial conflicts only with
  a record that holds a given and a middle name (known in full) when it is the first
  letter of none of them, nor of its family name or the known forms of its given name
  ("O Khalid" and "Bashir Ali Khalid"; against a bare "Bashir Khalid" the O may be a
  first name he does not use). Twins share a birthday, an address, a family name, a
  phone and an email, and only their given names tell them apart;
- **two children born more than one slip apart**: both records were written while their
  persons were under 18, and their dates differ in two or in all three of day, month
  and year, the day and month not merely swapped (:func:`two_slips`; ``dob_years`` 0
  turns it off). A child's brother or sister lives at the child's home, is often given
  the same name, and is born a year or two away, so the rules on dates alone do not part
  them; one slip of the pen leaves two of the three parts as they were. Measured on the
  borough it parts the one pair of different children that was still in one person
  (sisters, both Daniela Radu, born in March and in May of one year), and on the second
  borough 2 of 11 (brothers, both Oliver Nicholson, born in November two years apart;
  sisters, both Merve Kaya, born 2014 and 2024). It splits one true child of the
  borough, whose three records give her birth as 5 and 6 September and 9 May 2023;
  pairwise recall is unchanged at the defaults (0.9715 on the borough; 0.9705 to 0.9704
  on the second, with its own model), and the 50k set, which has no homes, is unchanged.

A child's address counts as a home because a nursery or school often holds no UPRN:
on a second simulated borough, unseen by the model, it parts twins (Mehmet and Süleyman)
whose two nursery records shared only their address, at the cost of one record with its
names in the wrong fields split from its person, and changes nothing on the first
borough or Splink's 50k set.
An adult's does not: with adults' addresses the rule split more true people than it
parted twins (Geoffrey and Jeffrey, Fadumo and Fatuma: adults' records spell given names
in more ways than the rule knows), and the borough's recall fell from 0.9705 to 0.9702.

Away from a shared home neither holds: Splink's 50k historical set, which has no homes,
corrupts whole years and spells one person's given name many ways (Isabel and
Elizabeth, Giovanni and John); both rules applied there cut its B-cubed F1 from 0.930 to
0.87-0.89. On the borough they separate 2 of 27 merged same-named parents and children
and 1 of 3 merged twins; the refined names-swapped and initial tests the last 2 twins.

For a record of a source that holds only people of at least an age
(``Thresholds.adult_sources``; by default those set by law, :data:`ADULT_SOURCES`: council
tax, whose liable person is 18 or over; the electoral register, 14 or over taken to be
safe; adult social care, 14 or over taken to be safe, as it assesses young people's
transition to adult care before 18) and any record with a date of birth:

- **a child in an adults-only source**: the dated record's person would have been
  younger than the source's minimum age on the day the adults-only record was last
  written (its ``updated_at``). Most of the same-named parents and children the borough
  still merged had no date of birth on the parent's side at all (council tax and the
  electoral register often hold none, a school holds a parent as a dateless contact):
  no rule on dates could part "Jack Taylor" paying council tax at an address from "Jack
  Max Taylor", born 2020, at school from it; this one does. Measured on the borough it
  splits 1 true person (born 2001, one record says 2010: the year's digits swapped) and
  separates 13 of the 25 same-named parents and children still merged; Splink's 50k set
  has no source systems, so it never applies there. A record without ``updated_at`` or
  of another source carries no such bound. A council knows which of its other systems
  register only adults (``HUB_ADULT_SOURCES``): naming the simulated borough's contact
  centre, online accounts and parking permits (adults only, as it simulates them) as well
  separates 2 more of the 11 pairs the defaults leave merged, and raises pairwise
  recall from 0.9708 to 0.9726 and precision from 0.9976 to 0.9978 (a parent's dateless
  contact-centre record no longer joins the child's person, for one).

A record with neither a date of birth nor a unique pupil number (nor one written and
left out as unreadable: that is a pupil's) from a source whose records of children
always carry one of the two (``Thresholds.contact_sources``; by default
:data:`CONTACT_SOURCES`, education: a school holds every pupil with both, and each
pupil's parents and carers as contacts with neither) is an adult's, a contact's, and
bounds a date of birth as an adults-only source's record does, at 18:

- **a child as a school's contact**: the dated record's person would have been under 18
  on the day the contact record was last written. A father's contact record at his
  son's school, "Joshua Roerts", carrying the home's landline that the son's school
  record carries too, no longer joins the son, born 2010, of the same name. Counted with
  the truth on the borough: of its 1,438 education records with neither, 8 were written
  while their person was under 18 (a pupil's record missing both), 1,430 were adults'
  (52 of 18,171 on four simulated boroughs). Measured at the defaults it parts 2 of the
  borough's 11 merged same-named parents and children, 3 of the second borough's 30, 7
  of the third's 25 and 6 of the fourth's 36, and raises pairwise recall on all four
  (0.9715 to 0.9732 on the borough; 0.9704 to 0.9718; 0.9680 to 0.9696; 0.9687 to
  0.9703) with precision unchanged or higher. Where the relationships already say which
  record is a parent's it adds little: it then costs up to 0.0003 of recall, and on the
  second borough a pupil's undated record missing its number joined the father.

For a record a source holds as a parent (a ``PARENT`` or ``CHILD`` relation with its start:
:func:`matchers.decisions.parents_born_by`) and any record with a date of birth:

- **a child born too late to be that parent**: the parent was born at least
  :data:`~matchers.decisions.YOUNGEST_PARENT` (12) years before the relation began, so a
  record born later is someone else. Schools hold parents as dateless contacts: the
  father's contact record, parent of his elder son since 2009, no longer joins his baby
  of the same name, born 2024. Measured on the borough with its relationships it parts 1
  more of the 8 same-named parents and children still merged and raises pairwise recall
  from 0.9715 to 0.9731 (precision 0.9980 to 0.9981); like the adults-only rule it trusts
  the year, and splits one true person whose online account gives 1997 for 1979.

A "same person" judgement overrides these rules (a person looked); a "not the same"
judgement is a rule of its own. The check works on a few traits per record, summarised
per group (its sets of identifiers, of dates of birth and of the date, names and home of
each record that has all three, which stay small, and the earliest born-by date of its
adults-only records, its contacts and its records a source holds as parents), so joining
two groups does not cost the product of their sizes.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple

from rapidfuzz.distance import OSA, JaroWinkler

from matchers import decisions
from matchers.names import name_forms, name_group, one_known_name
from matchers.records import StandardRecord
from matchers.standardise import PLACEHOLDER_FLAG

Names = tuple[str, str | None, str | None]  # given (never empty), middle, family
Home = tuple[str | None, str | None, str | None, str | None]  # UPRN, address, phone, email


class Traits(NamedTuple):
    """What the cannot-link rules look at in a record (a tuple: quick to make, hash and
    compare, as clustering does for every record it re-clusters)."""

    nhs_number: str | None = None
    upn: str | None = None
    ni_prefix: str | None = None
    dob: str | None = None  # ISO yyyy-mm-dd
    names: Names | None = None  # these two with the date of birth: the rules at one home
    home: Home = (None, None, None, None)
    born_by: str | None = None  # ISO: born on or before (an adults-only source; a parent)
    child: bool = False  # its person was under 18 when its source last wrote it


# The sources that hold only people of at least an age, by default (by law; see
# matchers.decisions.DEFAULT_ADULT_SOURCES): a council names its own (HUB_ADULT_SOURCES).
ADULT_SOURCES: Mapping[str, int] = MappingProxyType(dict(decisions.DEFAULT_ADULT_SOURCES))
# The sources whose records with neither a date of birth nor a UPN are adults' contacts, by
# default (matchers.decisions.DEFAULT_CONTACT_SOURCES): a council names its own
# (HUB_CONTACT_SOURCES).
CONTACT_SOURCES: frozenset[str] = frozenset(decisions.DEFAULT_CONTACT_SOURCES)
# A record written before council tax began (1 April 1993) bounds nothing: such a date is a
# placeholder (the Unix epoch, 1900-01-01), and an early one would bound every later birth.
EARLIEST_WRITTEN = date(1993, 4, 1)
ADULT_AGE = 18  # (the twins rule counts a child's address as a home: see the docstring)


def traits(
    record: StandardRecord,
    adult_sources: Mapping[str, int],
    parent_born_by: str | None = None,
    *,
    contact_sources: Collection[str],
) -> Traits:
    """The record's traits; ``adult_sources``: ``source_ages(thresholds.adult_sources)``;
    ``parent_born_by``: the bound a source's statement that it is a parent sets
    (:func:`matchers.decisions.parents_born_by`); ``contact_sources``:
    ``thresholds.contact_sources``."""
    ni = record.ni_number[:8] if record.ni_number else None
    names = (record.first_name, record.middle_name, record.last_name) if record.first_name else None
    child = _child_when_written(record)
    home = (record.uprn, record.address_text_key if child else None, record.phone, record.email)
    born_by = _born_by(record, adult_sources, contact_sources)
    if parent_born_by is not None and (born_by is None or parent_born_by < born_by):
        born_by = parent_born_by
    return Traits(record.nhs_number, record.upn, ni, record.dob, names, home, born_by, child)


@lru_cache(maxsize=16)
def source_ages(adult_sources: tuple[tuple[str, int], ...]) -> Mapping[str, int]:
    """``Thresholds.adult_sources`` as the mapping :func:`traits` takes."""
    return MappingProxyType(dict(adult_sources))


def _born_by(
    record: StandardRecord, adult_sources: Mapping[str, int], contact_sources: Collection[str]
) -> str | None:
    """For a record of an adults-only source, the latest date of birth its person can have:
    the day the source last wrote it (``updated_at``) less the source's minimum age; for a
    contact (a record of a contacts source with neither a date of birth nor a UPN, nor a
    placeholder date: that is a pupil's), less 18 years; none for a day before
    :data:`EARLIEST_WRITTEN`."""
    source = record.source_system or ""
    age = adult_sources.get(source)
    if age is None and source in contact_sources and _a_contact(record):
        age = ADULT_AGE
    return None if age is None else _years_before_written(record, age)


def _a_contact(record: StandardRecord) -> bool:
    """Whether a record holds no date of birth, no UPN and no placeholder date (a pupil's
    date the school did not know). A date or UPN that cannot be read at all is no sign:
    the stream's validation leaves such a value out, and its flag with it, before the
    matching core sees the record, and ``hub link`` must place the record as the workers
    do."""
    return not (record.dob or record.upn or PLACEHOLDER_FLAG in record.flags)


def _child_when_written(record: StandardRecord) -> bool:
    """Whether the record's person was under 18 on the day its source last wrote it."""
    latest_adult = _years_before_written(record, ADULT_AGE)
    return latest_adult is not None and record.dob is not None and record.dob > latest_adult


def _years_before_written(record: StandardRecord, years: int) -> str | None:
    """The day ``years`` before the source last wrote the record (``updated_at``), ISO;
    none without that day or for one before :data:`EARLIEST_WRITTEN`."""
    if not record.updated_at:
        return None
    try:
        written = date.fromisoformat(record.updated_at[:10])
    except ValueError:
        return None
    if written < EARLIEST_WRITTEN:
        return None
    return f"{written.year - years:04d}{written.isoformat()[4:]}"  # (29 Feb compares fine)


@lru_cache(maxsize=65_536)
def given_names_differ(a: Names, b: Names) -> bool:
    """Whether two records' given names are plainly two names (the twins rule)."""
    given_a, middle_a, _ = a
    given_b, middle_b, _ = b
    if len(given_a) < 2 or len(given_b) < 2:
        return _initial_differs(a, b) or _initial_differs(b, a)
    if given_a in (given_b, middle_b) or given_b == middle_a:
        return False
    if one_known_name(given_a, given_b) or _swapped(a, b) or _swapped(b, a):
        return False
    group_a, group_b = name_group(given_a) or given_a, name_group(given_b) or given_b
    if group_a != group_b and JaroWinkler.similarity(group_a, group_b) >= 0.92:
        return False  # a misspelt nickname (one nickname group alone: one_known_name)
    return all(
        _two_names(part_a, part_b)
        for part_a in _NAME_PARTS.split(given_a)
        for part_b in _NAME_PARTS.split(given_b)
    )


def _like(given: str, family: str | None) -> bool:
    return family is not None and JaroWinkler.similarity(given, family) >= 0.88


def _swapped(a: Names, b: Names) -> bool:
    """Whether record ``a``'s given name may be ``b``'s family name (names swapped, or the
    only name held is the family name; with a typo): its given name is like ``b``'s family
    name while its own family name is not that name too. "Hassan Hassan" and "Khaled
    Hassan" both hold the family name Hassan: the first one's given name is his own, not
    the second one's family name in the wrong field."""
    given, _, family = a
    other_family = b[2]
    return _like(given, other_family) and not (
        family is not None and other_family is not None and _like(family, other_family)
    )


def _initial_differs(a: Names, b: Names) -> bool:
    """Whether ``a``'s given name is an initial that stands for none of the names of ``b``,
    a record that holds its names in full (a given name and a middle name: else the initial
    may be a name ``b`` lacks, "O Green" may be Omar Bashir Green): not the first letter of
    any part of ``b``'s given name or of its known forms (B for Bill or William), nor of its
    middle name (someone known by a middle name) or family name (names swapped); nor is
    ``a``'s middle name's initial one of those letters (``b`` known by ``a``'s middle
    name). "O Khalid" and "Bashir Ali Khalid" are two people; "B Khalid" may be Bashir."""
    if len(a[0]) >= 2 or len(b[0]) < 2 or not b[1] or len(b[1]) < 2:
        return False
    initial = a[0][0]
    given_b, middle_b, family_b = b
    letters = {part[0] for part in _NAME_PARTS.split(given_b) if part}
    letters |= {form[0] for form in name_forms(given_b) if form}
    letters |= {name[0] for name in (middle_b, family_b) if name}
    middle_a = a[1]
    return initial not in letters and not (middle_a and middle_a[0] in letters)


_NAME_PARTS = re.compile(r"[\s-]+")


def _two_names(a: str, b: str) -> bool:
    """Whether two single names (of a given name's parts) are not one name mistyped."""
    if a[:3] == b[:3] or a in b or b in a:  # (Jas and Jaswinder, Liv and Olivia)
        return False
    return OSA.distance(a, b, score_cutoff=1) > 1 and JaroWinkler.similarity(a, b) < 0.8


@lru_cache(maxsize=65_536)
def births_conflict(a: str, b: str, years: int) -> bool:
    """Two ISO dates of birth that cannot be one person's, as no typing error explains
    the difference (``years`` 0 turns the rule off): they differ in day, month and year
    at once (:func:`no_slip`), or they are more than ``years`` apart in year and are
    neither the same day and month (or those two swapped) with any year, nor a year
    mistyped (one digit wrong, or two neighbouring digits swapped) with the same month or
    the same day."""
    if not years:
        return False
    year_a, year_b = a[:4], b[:4]
    month_a, day_a, month_b, day_b = a[5:7], a[8:10], b[5:7], b[8:10]
    if (month_a, day_a) in ((month_b, day_b), (day_b, month_b)):
        return False
    if no_slip(a, b):
        return True
    if abs(int(year_a) - int(year_b)) <= years:
        return False
    return not year_typo(year_a, year_b)  # (the month or the day is the same)


def no_slip(a: str, b: str) -> bool:
    """Two ISO dates that differ in day, month and year, the day and month not merely
    swapped: more than one slip of the pen apart, as a wrong day, a wrong month, a wrong
    year or the day and month the wrong way round each leaves some part as it was."""
    return _parts_apart(a, b) == 3


def two_slips(a: str, b: str) -> bool:
    """Two ISO dates that differ in two or three of day, month and year, the day and month
    not merely swapped: more than one slip of the pen apart."""
    return _parts_apart(a, b) > 1


def _parts_apart(a: str, b: str) -> int:
    """How many of year, month and day two ISO dates differ in; none when the day and
    month are merely swapped (whatever the year)."""
    if (a[5:7], a[8:10]) == (b[8:10], b[5:7]):
        return 0
    return (a[:4] != b[:4]) + (a[5:7] != b[5:7]) + (a[8:10] != b[8:10])


def generations_apart(a: str, b: str, years: int) -> bool:
    """Two ISO dates of birth more than ``years`` apart in year, a gap no typing error in
    the year explains, whatever the day and month."""
    year_a, year_b = a[:4], b[:4]
    return abs(int(year_a) - int(year_b)) > years and not year_typo(year_a, year_b)


def year_typo(a: str, b: str) -> bool:
    """Whether two four-digit years differ by one wrong digit or two neighbouring digits
    swapped (1843 for 1813, 1958 for 1985)."""
    wrong = [i for i in range(4) if a[i] != b[i]]
    if len(wrong) == 1:
        return True
    if len(wrong) != 2 or wrong[1] != wrong[0] + 1:
        return False
    i, j = wrong
    return a[i] == b[j] and a[j] == b[i]


def conflict(
    a: StandardRecord,
    b: StandardRecord,
    dob_years: int,
    adult_sources: Mapping[str, int] = ADULT_SOURCES,
    contact_sources: Collection[str] = CONTACT_SOURCES,
) -> bool:
    """Whether two records cannot be one person (the pairwise form of the rules, for
    tests and explanations; clustering works on each record's :func:`traits`)."""
    summary_a = Summary.of(traits(a, adult_sources, contact_sources=contact_sources))
    return summary_a.conflicts(
        Summary.of(traits(b, adult_sources, contact_sources=contact_sources)), dob_years
    )


_NONE: frozenset[str] = frozenset()
Named = tuple[str, Names, Home, bool]  # date of birth, names, home, written as a child
_NO_NAMED: frozenset[Named] = frozenset()
_NO_HOME: Home = (None, None, None, None)


def _differ(mine: frozenset[str], theirs: frozenset[str]) -> bool:
    return bool(mine and theirs and (len(mine) > 1 or mine != theirs))


@dataclass(slots=True)
class Summary:
    """The traits of a group of records: its identifiers and dates of birth."""

    nhs: frozenset[str]
    upn: frozenset[str]
    ni: frozenset[str]
    dobs: frozenset[str]
    named: frozenset[Named]  # of records with a date of birth, a name and a home
    born_by: str | None = None  # the earliest of its records' (Traits.born_by)

    @property
    def empty(self) -> bool:
        return not (self.nhs or self.upn or self.ni or self.dobs or self.born_by)

    @classmethod
    def of(cls, traits: Traits) -> Summary:
        return cls(
            frozenset((traits.nhs_number,)) if traits.nhs_number else _NONE,
            frozenset((traits.upn,)) if traits.upn else _NONE,
            frozenset((traits.ni_prefix,)) if traits.ni_prefix else _NONE,
            frozenset((traits.dob,)) if traits.dob else _NONE,
            frozenset(((traits.dob, traits.names, traits.home, traits.child),))
            if traits.dob and traits.names and traits.home != _NO_HOME
            else _NO_NAMED,
            traits.born_by,
        )

    def conflicts(self, other: Summary, dob_years: int) -> bool:
        """Whether some record of this group and some record of ``other`` conflict."""
        if self._identifiers_differ(other) or self._too_young(other) or other._too_young(self):
            return True
        mine, theirs = self.dobs, other.dobs
        if not (mine and theirs) or (len(mine) == 1 and mine == theirs and not self.named):
            return False  # (one date never conflicts with itself)
        if self.named and other.named and self._at_one_home(other, dob_years):
            return True
        if not dob_years:
            return False
        return any(births_conflict(a, b, dob_years) for a in mine for b in theirs)

    def _identifiers_differ(self, other: Summary) -> bool:
        """Some pair differs unless every value on both sides is the same one."""
        return (
            _differ(self.nhs, other.nhs)
            or _differ(self.upn, other.upn)
            or _differ(self.ni, other.ni)
        )

    def _too_young(self, other: Summary) -> bool:
        """Whether a record of ``other`` was born after one of this group's records allows
        (:attr:`Traits.born_by`): a child cannot be the council-tax payer, on the electoral
        register or the parent of someone born before it, whatever the names and home say."""
        return self.born_by is not None and bool(other.dobs) and max(other.dobs) > self.born_by

    def _at_one_home(self, other: Summary, dob_years: int) -> bool:
        """The rules for two records at one home: twins, a parent and child who share a
        birthday (which away from a home is taken for a wrong year), and two children born
        more than one slip of the pen apart."""
        for dob, names, home, child in self.named:
            for other_dob, other_names, other_home, other_child in other.named:
                if not any(a is not None and a == b for a, b in zip(home, other_home, strict=True)):
                    continue
                if dob == other_dob:
                    if given_names_differ(names, other_names):
                        return True
                elif dob_years and (
                    generations_apart(dob, other_dob, dob_years)
                    or (child and other_child and two_slips(dob, other_dob))
                ):
                    return True
        return False

    def absorb(self, other: Summary) -> None:
        self.nhs |= other.nhs
        self.upn |= other.upn
        self.ni |= other.ni
        self.dobs |= other.dobs
        self.named |= other.named
        if other.born_by is not None and (self.born_by is None or other.born_by < self.born_by):
            self.born_by = other.born_by
