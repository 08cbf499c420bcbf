"""Initial store: persons, source records, aliases, households, decisions, review items,
partner indicators.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 01:25:49.256050
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "household_aliases",
        sa.Column("alias_id", sa.String(length=200), nullable=False),
        sa.Column("household_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("alias_id", name=op.f("pk_household_aliases")),
    )
    op.create_table(
        "households",
        sa.Column("household_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "household_key",
            sa.Text(),
            nullable=True,
            comment="uprn:<n> or address:<normalised address>",
        ),
        sa.Column(
            "member_ids", sa.JSON(), nullable=False, comment="person ids; empty once dissolved"
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_households")),
    )
    op.create_table(
        "match_decisions",
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("other_record_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False, comment="link or review"),
        sa.Column("match_weight", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_id", "other_record_id", name=op.f("pk_match_decisions")),
    )
    op.create_table(
        "partner_indicators",
        sa.Column("dataset", sa.String(length=63), nullable=False),
        sa.Column(
            "record_id",
            sa.String(length=200),
            nullable=False,
            comment="the partner's person, as a record id",
        ),
        sa.Column("indicator", sa.String(length=63), nullable=False),
        sa.Column("period_start", sa.String(length=10), nullable=False),
        sa.Column("period_end", sa.String(length=10), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False, comment="the partner's own version"),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "dataset", "record_id", "indicator", "period_start", name=op.f("pk_partner_indicators")
        ),
    )
    with op.batch_alter_table("partner_indicators", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_indicators_record_id"), ["record_id"], unique=False
        )

    op.create_table(
        "person_aliases",
        sa.Column(
            "alias_id",
            sa.String(length=200),
            nullable=False,
            comment="a person id merged into another",
        ),
        sa.Column(
            "person_id", sa.String(length=200), nullable=False, comment="the surviving person id"
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("alias_id", name=op.f("pk_person_aliases")),
    )
    with op.batch_alter_table("person_aliases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_person_aliases_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "persons",
        sa.Column(
            "person_id", sa.String(length=200), nullable=False, comment="stable master person id"
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False, comment="every record deleted"),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("middle_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("dob", sa.String(length=10), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("address_line_1", sa.Text(), nullable=True),
        sa.Column("address_line_2", sa.Text(), nullable=True),
        sa.Column("town", sa.Text(), nullable=True),
        sa.Column("postcode", sa.String(length=8), nullable=True),
        sa.Column("uprn", sa.String(length=12), nullable=True),
        sa.Column("household_id", sa.String(length=200), nullable=True),
        sa.Column(
            "identifiers", sa.JSON(), nullable=False, comment="NHS, NI, UPN numbers, phones, emails"
        ),
        sa.Column("record_count", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_persons")),
    )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_persons_household_id"), ["household_id"], unique=False)

    op.create_table(
        "review_items",
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("other_record_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False, comment="per-comparison match weights"),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False, comment="open or decided"),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_id", "other_record_id", name=op.f("pk_review_items")),
    )
    op.create_table(
        "source_records",
        sa.Column(
            "record_id",
            sa.String(length=200),
            nullable=False,
            comment="<source system>:<source record id>",
        ),
        sa.Column("source_system", sa.String(length=63), nullable=False),
        sa.Column(
            "person_id",
            sa.String(length=200),
            nullable=True,
            comment="null once the record is deleted",
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_source_records")),
    )
    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_source_records_person_id"), ["person_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_records_person_id"))

    op.drop_table("source_records")
    op.drop_table("review_items")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persons_household_id"))

    op.drop_table("persons")
    with op.batch_alter_table("person_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_aliases_person_id"))

    op.drop_table("person_aliases")
    with op.batch_alter_table("partner_indicators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_indicators_record_id"))

    op.drop_table("partner_indicators")
    op.drop_table("match_decisions")
    op.drop_table("households")
    op.drop_table("household_aliases")
