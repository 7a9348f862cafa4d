"""The tables, as SQLAlchemy Core objects. Migrations (``migrations/versions``) create
them; this module is what queries are written against. Keep the two in step: a test
compares a migrated database with this metadata.

Times are Unix seconds as float64. Metric points live in ``metric_blocks``: each row
holds up to ``BLOCK_SIZE`` consecutive points of one metric as packed little-endian
arrays (int64 steps, float64 timestamps, and values as ``vals_type`` says: "f8" float64,
"i8" int64 for int and bool metrics, "json" a JSON list for str metrics), with the
block's step, time and value ranges beside them. Blocks are append-only: an ingest batch
adds small blocks at the end of a metric (its tail, from ``tail_seq`` on), and only
compaction (the tail reached a full block, or the run ended) replaces tail blocks by
full ones.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("deleted_at", sa.Float),
    sa.Column("tags", sa.Text, nullable=False, server_default="{}"),  # JSON (0005)
)

runs = sa.Table(
    "runs",
    metadata,
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
    sa.Column("cancel_requested_at", sa.Float),
    sa.Column("change_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("epoch", sa.Integer, nullable=False, server_default="0"),
    sa.Column("deleted_at", sa.Float),
    sa.UniqueConstraint("experiment_id", "number", name="uq_runs_experiment_number"),
    sa.Index("ix_runs_experiment_created", "experiment_id", "created_at"),
    sa.Index("ix_runs_target_status_created", "compute_target", "status", "created_at"),
    sa.Index("ix_runs_parent", "parent_run_id"),
    sa.Index("ix_runs_created", "created_at"),
)

# How far each of a run's other journals (one per process that logs, beyond the main
# one, whose offset is runs.journal_offset) has been ingested.
journal_offsets = sa.Table(
    "journal_offsets",
    metadata,
    sa.Column(
        "run_id", sa.String(255), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("journal", sa.String(255), primary_key=True),
    sa.Column("offset", sa.BigInteger, nullable=False, server_default="0"),
)

run_tags = sa.Table(
    "run_tags",
    metadata,
    sa.Column(
        "run_id", sa.String(255), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_run_tags_key_value", "key", "value"),
)

run_properties = sa.Table(
    "run_properties",
    metadata,
    sa.Column(
        "run_id", sa.String(255), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

metric_summaries = sa.Table(
    "metric_summaries",
    metadata,
    sa.Column(
        "run_id", sa.String(255), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    # Numeric metrics: the last value (NULL when it is NaN, so NaN sorts with "no value").
    # A float64 for sorting; for int metrics beyond 2**53 an approximation.
    sa.Column("last", sa.Float),
    # Str metrics: the last value; float metrics: repr() of the last value, exact
    # (NaN, infinities and -0.0 too, which a SQLite REAL turns into 0.0).
    sa.Column("last_text", sa.Text),
    sa.Column("min", sa.Float),  # NaN ignored; NULL when every value was NaN
    sa.Column("max", sa.Float),
    sa.Column("last_step", sa.BigInteger, nullable=False),
    sa.Column("value_type", sa.String(8), nullable=False),
    sa.Column("block_count", sa.Integer, nullable=False, server_default="0"),
    # Int and bool metrics: last, min and max exactly (NULL for other types).
    sa.Column("last_int", sa.BigInteger),
    sa.Column("min_int", sa.BigInteger),
    sa.Column("max_int", sa.BigInteger),
    # The tail of small blocks still to be compacted: its first block and first point.
    sa.Column("tail_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("tail_start", sa.BigInteger, nullable=False, server_default="0"),
    # Sorting a runs list by a metric looks each run's row up by this primary key.
    # No (key, value) indexes: on a PostgreSQL table without statistics yet the
    # planner would pick one for that lookup and scan a whole key per run.
)

metric_blocks = sa.Table(
    "metric_blocks",
    metadata,
    sa.Column(
        "run_id", sa.String(255), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    ),
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
    sa.Column("vals_type", sa.String(8), nullable=False, server_default="f8"),
)

metric_records = sa.Table(
    "metric_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id", sa.String(255), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Index("ix_metric_records_run_key", "run_id", "key", "id"),
)

environments = sa.Table(
    "environments",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("spec_hash", sa.String(128), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

# -- assets (migration 0003) -------------------------------------------------------------
# A version's files are its ``manifest``: JSON, relative posix path -> [sha256, size].
# ``content_hash`` is the sha256 of the canonical manifest (and, for a dataset, of its
# definition), so registering the same content twice is found by one lookup.

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("tags", sa.Text, nullable=False, server_default="{}"),
    sa.Column("definition", sa.Text, nullable=False, server_default="{}"),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("file_count", sa.BigInteger, nullable=False),
    sa.Column("total_bytes", sa.BigInteger, nullable=False),
    sa.Column("manifest", sa.Text, nullable=False),
    sa.Column("run_id", sa.String(255)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_datasets_name_version"),
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("id", sa.String(300), primary_key=True),  # "<name>:<version>", as the SDK's
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("tags", sa.Text, nullable=False, server_default="{}"),
    sa.Column("properties", sa.Text, nullable=False, server_default="{}"),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("file_count", sa.BigInteger, nullable=False),
    sa.Column("total_bytes", sa.BigInteger, nullable=False),
    sa.Column("manifest", sa.Text, nullable=False),
    sa.Column("run_id", sa.String(255)),
    sa.Column("dataset_ids", sa.Text, nullable=False, server_default="[]"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_models_name_version"),
    sa.Index("ix_models_run", "run_id"),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("model_name", sa.String(255), primary_key=True),
    sa.Column("alias", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# Append-only: every move of an alias (from_version NULL: created; to_version NULL:
# removed), so "what did production point at on Monday" is one query.
model_alias_events = sa.Table(
    "model_alias_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_name", sa.String(255), nullable=False),
    sa.Column("alias", sa.String(255), nullable=False),
    sa.Column("from_version", sa.Integer),
    sa.Column("to_version", sa.Integer),
    sa.Column("actor", sa.String(255), nullable=False, server_default=""),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("ix_model_alias_events_name_alias", "model_name", "alias", "id"),
)

# Lineage: the dataset versions a run read ("input") and wrote ("output"). An
# unregistered dataset has no id; ``source`` (JSON) says where its files were.
run_datasets = sa.Table(
    "run_datasets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id", sa.String(255), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("dataset_id", sa.String(32)),
    sa.Column("source", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_run_datasets_run", "run_id"),
    sa.Index("ix_run_datasets_dataset", "dataset_id"),
)
