"""Initial schema: experiments, runs, tags, properties, metrics, environments.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _run_fk() -> sa.ForeignKey:
    return sa.ForeignKey("runs.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column(
            "experiment_id",
            sa.String(32),
            sa.ForeignKey("experiments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float),
        sa.Column("ended_at", sa.Float),
        sa.Column("heartbeat_at", sa.Float),
        sa.Column("parent_run_id", sa.String(255), sa.ForeignKey("runs.id", ondelete="SET NULL")),
        sa.Column("display_name", sa.String(1024), nullable=False, server_default=""),
        sa.Column("compute_target", sa.String(255), nullable=False, server_default="local"),
        sa.Column("definition", sa.Text, nullable=False, server_default="{}"),
        sa.Column("exit_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("owner", sa.String(255)),
        sa.Column("journal_offset", sa.BigInteger, nullable=False, server_default="0"),
        sa.UniqueConstraint("experiment_id", "number", name="uq_runs_experiment_number"),
    )
    op.create_index("ix_runs_experiment_created", "runs", ["experiment_id", "created_at"])
    op.create_index(
        "ix_runs_target_status_created", "runs", ["compute_target", "status", "created_at"]
    )
    op.create_index("ix_runs_parent", "runs", ["parent_run_id"])
    op.create_index("ix_runs_created", "runs", ["created_at"])

    for name in ("run_tags", "run_properties"):
        op.create_table(
            name,
            sa.Column("run_id", sa.String(255), _run_fk(), primary_key=True),
            sa.Column("key", sa.String(255), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
    op.create_index("ix_run_tags_key_value", "run_tags", ["key", "value"])

    op.create_table(
        "metric_summaries",
        sa.Column("run_id", sa.String(255), _run_fk(), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("last", sa.Float),
        sa.Column("last_text", sa.Text),
        sa.Column("min", sa.Float),
        sa.Column("max", sa.Float),
        sa.Column("last_step", sa.BigInteger, nullable=False),
        sa.Column("value_type", sa.String(8), nullable=False),
        sa.Column("block_count", sa.Integer, nullable=False, server_default="0"),
    )

    op.create_table(
        "metric_blocks",
        sa.Column("run_id", sa.String(255), _run_fk(), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("first_index", sa.BigInteger, nullable=False),
        sa.Column("step_min", sa.BigInteger, nullable=False),
        sa.Column("step_max", sa.BigInteger, nullable=False),
        sa.Column("time_min", sa.Float, nullable=False),
        sa.Column("time_max", sa.Float, nullable=False),
        sa.Column("value_min", sa.Float),
        sa.Column("value_max", sa.Float),
        sa.Column("steps", sa.LargeBinary, nullable=False),
        sa.Column("timestamps", sa.LargeBinary, nullable=False),
        sa.Column("vals", sa.LargeBinary, nullable=False),
    )

    if op.get_bind().dialect.name == "postgresql":
        # Packed floats barely compress: store them out of line without trying to.
        for column in ("steps", "timestamps", "vals"):
            op.execute(f"ALTER TABLE metric_blocks ALTER COLUMN {column} SET STORAGE EXTERNAL")

    op.create_table(
        "metric_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(255), _run_fk(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_metric_records_run_key", "metric_records", ["run_id", "key", "id"])

    op.create_table(
        "environments",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("spec_hash", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "environments",
        "metric_records",
        "metric_blocks",
        "metric_summaries",
        "run_properties",
        "run_tags",
        "runs",
        "experiments",
    ):
        op.drop_table(name)
