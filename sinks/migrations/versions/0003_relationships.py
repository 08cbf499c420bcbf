"""Relationships: family relations and service groupings as each source knows them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 02:23:52.508691
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relationships",
        sa.Column(
            "relationship_id",
            sa.String(length=200),
            nullable=False,
            comment="<source system>:<its own id>",
        ),
        sa.Column("source_system", sa.String(length=63), nullable=False),
        sa.Column(
            "kind",
            sa.String(length=40),
            nullable=False,
            comment="PARENT, PARTNER, FAMILY_GROUP, ...",
        ),
        sa.Column(
            "record_id",
            sa.String(length=200),
            nullable=False,
            comment="the subject, as a record id",
        ),
        sa.Column(
            "related_record_id",
            sa.String(length=200),
            nullable=True,
            comment="the other person, for a relation between two",
        ),
        sa.Column(
            "group_id",
            sa.String(length=200),
            nullable=True,
            comment="the service's group, for a grouping",
        ),
        sa.Column("role", sa.String(length=63), nullable=True),
        sa.Column("start", sa.String(length=10), nullable=True),
        sa.Column("end", sa.String(length=10), nullable=True),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False, comment="the source's own version"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("relationship_id", name=op.f("pk_relationships")),
        comment="family and household relations and service groupings, as each source knows them",
    )
    with op.batch_alter_table("relationships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_relationships_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_relationships_record_id"), ["record_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("relationships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relationships_record_id"))
        batch_op.drop_index(batch_op.f("ix_relationships_group_id"))

    op.drop_table("relationships")
