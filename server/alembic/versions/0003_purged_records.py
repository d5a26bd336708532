"""purged_records: the ids of records the retention purge deleted

Revision ID: 0003_purged_records
Revises: 0002_moves_from_bucket_seq
Create Date: 2026-12-06 17:30:00

The purge deletes a case with its change history, so a phone that sends again, long after,
the change that created it (its reply was lost, and the phone was away since) would not be
answered `duplicate`: it would make the case again. Each purged record's id is kept here,
and a change to one is refused (`record_removed`). Records purged before this revision are
those with a move and no row (records leave the server only by the purge): they are
written here as the table is made.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003_purged_records"
down_revision: str | None = "0002_moves_from_bucket_seq"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "purged_records",
        sa.Column("collection", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("collection", "record_id"),
    )
    op.execute(
        "INSERT INTO purged_records (collection, record_id, purged_at)"
        " SELECT DISTINCT m.collection, m.record_id, CURRENT_TIMESTAMP FROM moves m"
        " WHERE NOT EXISTS (SELECT 1 FROM records r"
        " WHERE r.collection = m.collection AND r.record_id = m.record_id)"
    )


def downgrade() -> None:
    op.drop_table("purged_records")
