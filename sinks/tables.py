"""The SQL store's tables: the durable, queryable projection of the identity state.

Every table is keyed by a natural key, and rows that the stream rewrites carry the
``version`` they were produced at, so an upsert never lets an older version overwrite a
newer one: redelivered or reordered batches change nothing.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    MetaData,
    String,
    Table,
    Text,
)

from schemas.events import CODE_CHARS, ID_CHARS

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(ID_CHARS)

persons = Table(
    "persons",
    metadata,
    Column("person_id", ID, primary_key=True, comment="stable master person id"),
    Column("version", BigInteger, nullable=False),
    Column("removed", Boolean, nullable=False, default=False, comment="every record deleted"),
    Column("first_name", Text),
    Column("middle_name", Text),
    Column("last_name", Text),
    Column("dob", String(10)),
    Column("sex", String(1)),
    Column("address_line_1", Text),
    Column("address_line_2", Text),
    Column("town", Text),
    Column("postcode", String(8)),
    Column("uprn", String(12)),
    Column("household_id", ID),
    Column("identifiers", JSON, nullable=False, comment="NHS, NI, UPN numbers, phones, emails"),
    Column("record_count", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("revision", BigInteger, comment="the person's own version (PersonUpserted.version)"),
)
Index(None, persons.c.household_id)

source_records = Table(
    "source_records",
    metadata,
    Column("record_id", ID, primary_key=True, comment="<source system>:<source record id>"),
    Column("source_system", String(CODE_CHARS), nullable=False),
    Column("person_id", ID, comment="null once the record is deleted"),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index(None, source_records.c.person_id)

source_payloads = Table(
    "source_payloads",
    metadata,
    Column("record_id", ID, primary_key=True),
    Column("source_system", String(CODE_CHARS), nullable=False),
    Column("source_version", BigInteger, nullable=False, comment="the source's own version"),
    Column("record", JSON, comment="the canonical source record; null once deleted"),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    comment="the newest source record per record id: what `hub state rebuild` rebuilds from",
)

person_aliases = Table(
    "person_aliases",
    metadata,
    Column("alias_id", ID, primary_key=True, comment="a person id merged into another"),
    Column("person_id", ID, nullable=False, comment="the surviving person id"),
    Column("version", BigInteger, nullable=False),
)
Index(None, person_aliases.c.person_id)

households = Table(
    "households",
    metadata,
    Column("household_id", ID, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("household_key", Text, comment="uprn:<n> or address:<normalised address>"),
    Column("member_ids", JSON, nullable=False, comment="person ids; empty once dissolved"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("revision", BigInteger, comment="the household's own version (HouseholdChanged)"),
)

household_aliases = Table(
    "household_aliases",
    metadata,
    Column("alias_id", ID, primary_key=True),
    Column("household_id", ID, nullable=False),
    Column("version", BigInteger, nullable=False),
)

match_decisions = Table(
    "match_decisions",
    metadata,
    Column("record_id", ID, primary_key=True),
    Column("other_record_id", ID, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("decision", String(20), nullable=False, comment="link or review"),
    Column("match_weight", Float, nullable=False),
    Column("model_version", String(100), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)

review_items = Table(
    "review_items",
    metadata,
    Column("record_id", ID, primary_key=True),
    Column("other_record_id", ID, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("reason", String(40), nullable=False),
    Column("match_weight", Float, nullable=False),
    Column("explanation", JSON, nullable=False, comment="per-comparison match weights"),
    Column("model_version", String(100), nullable=False),
    Column("status", String(20), nullable=False, comment="open or decided"),
    Column("raised_at", DateTime(timezone=True), nullable=False),
)

judgements = Table(
    "judgements",
    metadata,
    Column("record_a", ID, primary_key=True, comment="the pair's smaller record id"),
    Column("record_b", ID, primary_key=True),
    Column("same", Boolean, nullable=False, comment="one person (true) or not (false)"),
    Column("judged_by", String(200), nullable=False),
    Column(
        "judged_at",
        String(40),
        nullable=False,
        comment="ISO timestamp; the latest wins (empty: stated by a source, judged_by "
        "source:<system>)",
    ),
    Column(
        "parent_record_id",
        ID,
        nullable=True,
        comment="stated by a source: the one of the two it holds as the other's parent",
    ),
    Column("parent_since", String(10), nullable=True, comment="ISO date that relation began"),
    Column("version", BigInteger, nullable=False),
    comment="the hard constraints of matching, people's judgements and those sources state "
    "(two records a relationship relates are two people): durable here, as the identity "
    "state needs them to be rebuilt",
)

partner_indicators = Table(
    "partner_indicators",
    metadata,
    Column("dataset", String(CODE_CHARS), primary_key=True),
    Column("record_id", ID, primary_key=True, comment="the partner's person, as a record id"),
    Column("indicator", String(CODE_CHARS), primary_key=True),
    Column("period_start", String(10), primary_key=True),
    Column("period_end", String(10)),
    Column("value", Float),
    Column("value_text", Text),
    Column("version", BigInteger, nullable=False, comment="the partner's own version"),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
Index(None, partner_indicators.c.record_id)

relationships = Table(
    "relationships",
    metadata,
    Column("relationship_id", ID, primary_key=True, comment="<source system>:<its own id>"),
    Column("source_system", String(CODE_CHARS), nullable=False),
    Column("kind", String(40), nullable=False, comment="PARENT, PARTNER, FAMILY_GROUP, ..."),
    Column("record_id", ID, nullable=False, comment="the subject, as a record id"),
    Column("related_record_id", ID, comment="the other person, for a relation between two"),
    Column("group_id", ID, comment="the service's group, for a grouping"),
    Column("role", String(CODE_CHARS)),
    Column("start", String(10)),
    Column("end", String(10)),
    Column("removed", Boolean, nullable=False),
    Column("version", BigInteger, nullable=False, comment="the source's own version"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    comment="family and household relations and service groupings, as each source knows them",
)
Index(None, relationships.c.record_id)
Index(None, relationships.c.group_id)
# The relationship kinds that are a service's grouping of its records (kept beside households).
GROUP_KINDS = frozenset({"FAMILY_GROUP", "BENEFIT_CLAIM_UNIT", "COUNCIL_TAX_ACCOUNT", "TENANCY",
                         "HOUSEHOLD_MEMBER"})  # fmt: skip

VERSIONED = (
    persons,
    source_records,
    source_payloads,
    person_aliases,
    households,
    household_aliases,
    match_decisions,
    review_items,
    judgements,
    partner_indicators,
    relationships,
)
