"""Soft delete: runs and experiments get ``deleted_at`` (NULL while active), so a delete
can be undone (restore) and lists leave deleted ones out.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("deleted_at", sa.Float))
    op.add_column("experiments", sa.Column("deleted_at", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("deleted_at")
    with op.batch_alter_table("experiments") as batch:
        batch.drop_column("deleted_at")
