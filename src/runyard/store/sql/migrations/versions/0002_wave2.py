"""Wave 2: cancellation as a column, a per-run change counter, a fencing epoch.

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
        batch.add_column(
            sa.Column("change_seq", sa.BigInteger, nullable=False, server_default="0")
        )
        # The owner's epoch: a reaped runner's late writes carry an old epoch and are
        # refused in the same transaction (fencing).
        batch.add_column(sa.Column("epoch", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("epoch")
        batch.drop_column("change_seq")
        batch.drop_column("cancel_requested_at")
