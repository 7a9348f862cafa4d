"""Wave 2: cancellation as a column, a per-run change counter, a fencing epoch; exact
metric values (int64 blocks, exact int summaries) and append-only blocks (a tail to
compact).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        # When someone asked to cancel the run (NULL: nobody). The runner polls it.
        batch.add_column(sa.Column("cancel_requested_at", sa.Float))
        # Bumped by every write that changes what a run's page shows, so a live view
        # does one cheap read per tick instead of re-querying its series.
        batch.add_column(sa.Column("change_seq", sa.BigInteger, nullable=False, server_default="0"))
        # The owner's epoch: a reaped runner's late writes carry an old epoch and are
        # refused in the same transaction (fencing).
        batch.add_column(sa.Column("epoch", sa.Integer, nullable=False, server_default="0"))

    with op.batch_alter_table("metric_summaries") as batch:
        # Int and bool metrics' last, min and max, exactly (the float columns round
        # beyond 2**53 and stay the sort key).
        batch.add_column(sa.Column("last_int", sa.BigInteger))
        batch.add_column(sa.Column("min_int", sa.BigInteger))
        batch.add_column(sa.Column("max_int", sa.BigInteger))
        # Where the tail of small, not yet compacted blocks starts (block, point).
        batch.add_column(sa.Column("tail_seq", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("tail_start", sa.BigInteger, nullable=False, server_default="0"))
    # Blocks written before are settled as they are: the tail starts after them.
    op.execute('UPDATE metric_summaries SET tail_seq = block_count, tail_start = "count"')
    with op.batch_alter_table("metric_blocks") as batch:
        # How ``vals`` is packed: "f8" (every block before this revision), "i8", "json".
        batch.add_column(sa.Column("vals_type", sa.String(8), nullable=False, server_default="f8"))
    op.execute(
        "UPDATE metric_blocks SET vals_type = 'json' WHERE EXISTS (SELECT 1 FROM "
        "metric_summaries s WHERE s.run_id = metric_blocks.run_id "
        "AND s.key = metric_blocks.key AND s.value_type = 'str')"
    )
    # One journal per process that logs: the offsets of all but the main one.
    op.create_table(
        "journal_offsets",
        sa.Column(
            "run_id",
            sa.String(255),
            sa.ForeignKey("runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("journal", sa.String(255), primary_key=True),
        sa.Column("offset", sa.BigInteger, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("journal_offsets")
    with op.batch_alter_table("metric_blocks") as batch:
        batch.drop_column("vals_type")
    with op.batch_alter_table("metric_summaries") as batch:
        for column in ("tail_start", "tail_seq", "max_int", "min_int", "last_int"):
            batch.drop_column(column)
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("epoch")
        batch.drop_column("change_seq")
        batch.drop_column("cancel_requested_at")
