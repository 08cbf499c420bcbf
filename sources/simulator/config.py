"""Every knob of the simulator in one place: size, seed, dates, and the rates of data problems.

The defaults describe a borough of about 10,000 residents in about 4,000 households, seen
through council systems that are mostly right and sometimes wrong in the ways real council
data is wrong. Rates are probabilities per record (or per person / household where said).
Systems differ: each system's profile (``systems.py``) multiplies these rates by its own
``noise`` factor (customer service and police records are sloppier than council tax), so
these are the rates of an average system.

``ErrorRates.scaled(0)`` gives clean data (no typos, no stale addresses, no invalid
identifiers) with the same people and the same records, which is useful to separate
matching errors from data errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import date

FORMATS = ("csv", "jsonl", "parquet")  # file formats of the snapshot tables
MIN_RESIDENTS = 10
MAX_RESIDENTS = 1_000_000  # a large city; the simulation holds every record in memory
MAX_SEED = 2**63 - 1  # (the manifest and the summary write it as a 64-bit integer)
MAX_DAY = 3_650  # ten years of change after day 1 (each day is simulated in turn)


@dataclass(frozen=True, slots=True)
class ErrorRates:
    """How often each data problem appears in a source record (an average system)."""

    typo: float = 0.03  # a typing error in a name field (per name field)
    nickname: float = 0.06  # first name held as a common short form (Bob for Robert)
    spelling_variant: float = 0.12  # another accepted spelling (Mohammed/Muhammad, Clarke/Clark)
    initial_only: float = 0.02  # first name held only as its initial
    middle_in_first: float = 0.03  # middle name written into the first-name field
    name_order_swap: float = 0.01  # given and family name swapped (x4 for East Asian names)
    surname_part: float = 0.35  # double-barrelled/compound surname held in part or re-punctuated
    dob_day_month_swap: float = 0.015  # 1985-03-07 held as 1985-07-03 (only when day <= 12)
    dob_typo: float = 0.01  # a day or year a little off, or year digits transposed
    dob_placeholder: float = 0.004  # 1900-01-01 where the date was unknown
    missing_field: float = 0.05  # an optional field the system usually has is empty
    postcode_variant: float = 0.15  # no space, lower case, double space
    postcode_typo: float = 0.01  # one character of the inward code wrong
    address_variant: float = 0.25  # abbreviations (Rd, St), case, flat written 3/27 or 27 Flat 3
    flat_missing: float = 0.05  # flat number missing from a flat's address
    parent_uprn: float = 0.05  # the block's UPRN held instead of the flat's
    stale_address: float = 0.35  # a system is never told the household moved
    stale_surname: float = 0.35  # a system is never told about a change of surname
    invalid_identifier: float = 0.01  # NHS/UPN check character wrong, NI number malformed
    shared_phone: float = 0.25  # the household landline held instead of the personal mobile
    shared_email: float = 0.1  # a household email held instead of the personal one
    wrong_sex: float = 0.003  # sex recorded wrongly
    duplicate: float = 1.0  # multiplier on each system's own duplicate-record rate

    def scaled(self, factor: float) -> ErrorRates:
        """Every problem rate multiplied by ``factor`` (capped at 1); ``scaled(0)`` is clean.

        Duplicate records are kept as they are, so a scaled borough has the same records.
        """
        changed = {
            f.name: min(1.0, getattr(self, f.name) * factor)
            for f in fields(self)
            if f.name != "duplicate"
        }
        return replace(self, **changed)


@dataclass(frozen=True, slots=True)
class PopulationRates:
    """How the true population is shaped (per household unless said)."""

    twin_families: float = 0.04  # families with two or more children who include twins
    junior_same_name: float = 0.03  # a son named exactly after his father (same household)
    double_barrelled: float = 0.05  # couples who combine surnames (British and Irish names)
    mixed_heritage_couple: float = 0.12  # partners drawn from different name traditions
    partner_takes_surname: float = 0.65  # women (and 5% of men) who took a partner's surname
    movers: float = 0.15  # households that moved within the borough in the last five years
    former_households: float = 0.04  # households that left the borough; records linger
    council_tenants: float = 0.28  # households renting from the council
    car_owners: float = 0.32


@dataclass(frozen=True, slots=True)
class ChurnRates:
    """What changes on each day after day 1 (per household, person or record per day)."""

    moves: float = 0.002  # households moving within the borough
    arrivals: float = 0.001  # new households moving in (as a share of households)
    departures: float = 0.001  # households leaving the borough
    deaths: float = 0.00015  # residents aged 70+ (per person)
    name_changes: float = 0.0003  # adults changing surname (per person)
    new_service_records: float = 0.004  # a resident becomes known to one more system
    corrections: float = 0.003  # a source corrects one wrong field of a record
    contact_changes: float = 0.002  # a new phone number or email on a record
    duplicate_merges: float = 0.02  # share of duplicate records a source finds and deletes
    same_day_share: float = 0.4  # share of changes a notified system records the same day
    notify_lag_days: float = 9.0  # mean further days before it records the others


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    residents: int = 10_000
    seed: int = 1
    day_one: date = date(2025, 6, 2)  # the date of the day-1 snapshot (a Monday)
    history_years: int = 15  # how far back the source systems' records go
    errors: ErrorRates = field(default_factory=ErrorRates)
    population: PopulationRates = field(default_factory=PopulationRates)
    churn: ChurnRates = field(default_factory=ChurnRates)

    def __post_init__(self) -> None:
        if self.residents < MIN_RESIDENTS:
            raise ValueError(f"a borough needs at least {MIN_RESIDENTS} residents")
