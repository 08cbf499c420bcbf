"""Judgements that sources state (a relationship between two records: two people) are kept
with people's: the comments say so, and every relationship between two records the store
already holds becomes one (the stream makes them from now on). The identity state in Redis
learns of them at the next `hub state rebuild`.

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
    # one per pair (sorted as the hub sorts ids, by code point: "C" collation in
    # PostgreSQL), the greatest source system winning as among judgements; never over a
    # judgement the pair already has
    before = ' COLLATE "C"' if op.get_context().dialect.name == "postgresql" else ""
    op.execute(f"""
        INSERT INTO judgements (record_a, record_b, same, judged_by, judged_at, version)
        SELECT a, b, FALSE, 'source:' || MAX(source_system), '', 0
        FROM (
            SELECT CASE WHEN record_id{before} < related_record_id
                        THEN record_id ELSE related_record_id END AS a,
                   CASE WHEN record_id{before} < related_record_id
                        THEN related_record_id ELSE record_id END AS b,
                   source_system
            FROM relationships
            WHERE related_record_id IS NOT NULL AND related_record_id <> record_id
        ) AS pairs
        WHERE NOT EXISTS (
            SELECT 1 FROM judgements AS j WHERE j.record_a = pairs.a AND j.record_b = pairs.b
        )
        GROUP BY a, b
    """)  # noqa: S608 (no input in it)


def downgrade() -> None:
    op.execute("DELETE FROM judgements WHERE judged_by LIKE 'source:%' AND judged_at = ''")
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
