"""moves: index on (from_bucket, seq), so a pull reads only its own buckets' moves

Revision ID: 0002_moves_from_bucket_seq
Revises: 0001
Create Date: 2026-12-06 08:00:00

A pull used to read every move numbered past its cursor, whatever bucket it left, and drop
the others in Python: at a million records with other classes' students moving, a
teacher's or a cleaner's pull read a thousand moves of other scopes. It now asks for the
moves out of its subscriptions' buckets, by this index. (bench.scale_bench, docs/benchmarks.md)
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_moves_from_bucket_seq"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("moves", schema=None) as batch_op:
        batch_op.create_index("ix_moves_from_bucket_seq", ["from_bucket", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("moves", schema=None) as batch_op:
        batch_op.drop_index("ix_moves_from_bucket_seq")
