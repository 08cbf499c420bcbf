"""A review item whose pair is judged, by a person or stated by a source, says so: its
status is ``decided`` (it was left ``open`` before, and the review queue was read by
looking the pair up among the judgements). The store keeps it so from now on
(:meth:`sinks.store.Store.apply`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 07:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        UPDATE review_items SET status = 'decided'
        WHERE status = 'open' AND EXISTS (
            SELECT 1 FROM judgements AS j
            WHERE j.record_a = review_items.record_id AND j.record_b = review_items.other_record_id
        )
    """)


def downgrade() -> None:
    op.execute("UPDATE review_items SET status = 'open' WHERE status = 'decided'")
