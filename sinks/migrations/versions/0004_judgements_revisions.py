"""Human judgements, and the persons' and households' own versions: what a rebuild of the
identity state needs besides the source records.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "judgements",
        sa.Column(
            "record_a",
            sa.String(length=200),
            nullable=False,
            comment="the pair's smaller record id",
        ),
        sa.Column("record_b", sa.String(length=200), nullable=False),
        sa.Column("same", sa.Boolean(), nullable=False, comment="one person (true) or not (false)"),
        sa.Column("judged_by", sa.String(length=200), nullable=False),
        sa.Column(
            "judged_at",
            sa.String(length=40),
            nullable=False,
            comment="ISO timestamp; the latest wins",
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("record_a", "record_b", name=op.f("pk_judgements")),
        comment="human judgements, the hard constraints of matching: durable here, as the "
        "identity state needs them to be rebuilt",
    )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "revision",
                sa.BigInteger(),
                nullable=True,
                comment="the person's own version (PersonUpserted.version)",
            )
        )
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "revision",
                sa.BigInteger(),
                nullable=True,
                comment="the household's own version (HouseholdChanged)",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_column("revision")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_column("revision")
    op.drop_table("judgements")
