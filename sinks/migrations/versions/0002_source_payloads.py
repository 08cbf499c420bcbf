"""Source payloads: the newest source record per record id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 02:22:42.796044
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_payloads",
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("source_system", sa.String(length=63), nullable=False),
        sa.Column(
            "source_version", sa.BigInteger(), nullable=False, comment="the source's own version"
        ),
        sa.Column(
            "record",
            sa.JSON(),
            nullable=True,
            comment="the canonical source record; null once deleted",
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_source_payloads")),
        comment="the newest source record per record id: what `hub state rebuild` rebuilds from",
    )


def downgrade() -> None:
    op.drop_table("source_payloads")
