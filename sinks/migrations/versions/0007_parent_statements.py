"""A pair's judgement also keeps which of the two records a source holds as the other's
parent, and since when (a ``PARENT`` or ``CHILD`` relation with its start): the parent was
born at least 12 years before (``matchers.decisions.parents_born_by``). The judgements
already kept, people's and sources', learn it from the relationships the store holds; run
`hub state rebuild` once (with the workers stopped) so the identity state has it too.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 08:00:00.000000
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PARENT = "stated by a source: the one of the two it holds as the other's parent"
SINCE = "ISO date that relation began"


def upgrade() -> None:
    op.add_column(
        "judgements", sa.Column("parent_record_id", sa.String(200), nullable=True, comment=PARENT)
    )
    op.add_column(
        "judgements", sa.Column("parent_since", sa.String(10), nullable=True, comment=SINCE)
    )
    db = op.get_bind()
    judged = {
        (row.record_a, row.record_b)
        for row in db.execute(sa.text("SELECT record_a, record_b FROM judgements"))
    }
    if not judged:
        return
    # every judgement of a pair keeps the best fact the sources state about it, a person's
    # too: the earliest start, then the greater parent (matchers.decisions.Judgement)
    found: dict[tuple[str, str], tuple[str, str]] = {}
    rows = db.execute(
        sa.text(
            "SELECT kind, record_id, related_record_id, start FROM relationships "
            "WHERE related_record_id IS NOT NULL AND start IS NOT NULL "
            "AND UPPER(kind) IN ('PARENT', 'CHILD')"
        )
    )
    for row in rows:
        a, b = sorted((str(row.record_id), str(row.related_record_id)))
        since = str(row.start)
        if (a, b) not in judged or a == b or not _a_start(since):
            continue
        parent = str(row.record_id if row.kind.upper() == "PARENT" else row.related_record_id)
        current = found.get((a, b))
        if current is None or (since, current[0]) < (current[1], parent):
            found[(a, b)] = (parent, since)
    for (a, b), (parent, since) in sorted(found.items()):
        db.execute(
            sa.text(
                "UPDATE judgements SET parent_record_id = :parent, parent_since = :since "
                "WHERE record_a = :a AND record_b = :b"
            ),
            {"parent": parent, "since": since, "a": a, "b": b},
        )


def _a_start(text: str) -> bool:
    """A date written YYYY-MM-DD after 1900-01-01 (that day and before: placeholders)."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-" or text <= "1900-01-01":
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def downgrade() -> None:
    with op.batch_alter_table("judgements") as table:
        table.drop_column("parent_since")
        table.drop_column("parent_record_id")
