"""Judgements that sources state (a relationship between two records: two people) are kept
with people's: the comments say so.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 04:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE = (
    "human judgements, the hard constraints of matching: durable here, as the "
    "identity state needs them to be rebuilt"
)
TABLE_NOW = (
    "the hard constraints of matching, people's judgements and those sources state (two "
    "records a relationship relates are two people): durable here, as the identity state "
    "needs them to be rebuilt"
)
JUDGED_AT = "ISO timestamp; the latest wins"
JUDGED_AT_NOW = (
    "ISO timestamp; the latest wins (empty: stated by a source, judged_by source:<system>)"
)


def upgrade() -> None:
    _comment(TABLE, TABLE_NOW, JUDGED_AT, JUDGED_AT_NOW)


def downgrade() -> None:
    _comment(TABLE_NOW, TABLE, JUDGED_AT_NOW, JUDGED_AT)


def _comment(table: str, table_now: str, judged_at: str, judged_at_now: str) -> None:
    if not op.get_context().dialect.supports_comments:  # (SQLite keeps none)
        return
    op.create_table_comment("judgements", table_now, existing_comment=table)
    op.alter_column(
        "judgements",
        "judged_at",
        existing_type=sa.String(length=40),
        existing_nullable=False,
        comment=judged_at_now,
        existing_comment=judged_at,
    )
