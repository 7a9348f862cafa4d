"""Experiment tags (the SDK's ``experiment.tag``/``set_tags``, MLflow's
``set_experiment_tag``): a JSON object on the experiment's row, as datasets and models
keep theirs, so reading an experiment stays one query.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("experiments", sa.Column("tags", sa.Text, nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("experiments") as batch:
        batch.drop_column("tags")
