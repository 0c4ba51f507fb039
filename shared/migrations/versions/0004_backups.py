"""backups: the tables the backups domain owns.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "backup_schedules",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("backup_type", sa.String(length=20), nullable=False),
        sa.Column("cron_expression", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("database_name", sa.String(length=64), nullable=True),
        sa.Column("storage", sa.String(length=10), nullable=False),
        sa.Column("compression", sa.String(length=10), nullable=False),
        sa.Column("verify_mode", sa.String(length=10), nullable=False),
        sa.Column("keep_daily", sa.Integer(), nullable=False),
        sa.Column("keep_weekly", sa.Integer(), nullable=False),
        sa.Column("keep_monthly", sa.Integer(), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("last_run_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("last_status", sa.String(length=20), nullable=True),
        sa.Column("locked_until", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "backup_type IN ('daily', 'weekly', 'monthly', 'manual', 'pre-migration')",
            name=op.f("ck_backup_schedules_backup_type"),
        ),
        sa.CheckConstraint(
            "compression IN ('zstd', 'gzip', 'none')", name=op.f("ck_backup_schedules_compression")
        ),
        sa.CheckConstraint("storage IN ('local', 's3')", name=op.f("ck_backup_schedules_storage")),
        sa.CheckConstraint(
            "verify_mode IN ('none', 'checksum', 'restore')",
            name=op.f("ck_backup_schedules_verify_mode"),
        ),
        sa.CheckConstraint(
            "keep_daily >= 0 AND keep_weekly >= 0 AND keep_monthly >= 0",
            name=op.f("ck_backup_schedules_keep"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_schedules")),
        sa.UniqueConstraint("name", name=op.f("uq_backup_schedules_name")),
    )
    op.create_index(
        op.f("ix_backup_schedules_next_run_at"), "backup_schedules", ["next_run_at"], unique=False
    )
    op.create_table(
        "backup_log",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("schedule_id", sa.CHAR(length=36), nullable=True),
        sa.Column("backup_type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("backup_method", sa.String(length=30), nullable=False),
        sa.Column("database_host", sa.String(length=255), nullable=True),
        sa.Column("database_name", sa.String(length=64), nullable=True),
        sa.Column("storage", sa.String(length=10), nullable=False),
        sa.Column("file_path", sa.String(length=1000), nullable=True),
        sa.Column("file_size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("raw_size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("compression", sa.String(length=10), nullable=True),
        sa.Column("checksum_sha256", sa.CHAR(length=64), nullable=True),
        sa.Column("phase", sa.String(length=30), nullable=True),
        sa.Column("bytes_processed", sa.BigInteger(), nullable=False),
        sa.Column("current_table", sa.String(length=128), nullable=True),
        sa.Column("bytes_stored", sa.BigInteger(), nullable=False),
        sa.Column("rate_bytes_per_s", sa.Double(), nullable=True),
        sa.Column("eta_seconds", sa.Double(), nullable=True),
        sa.Column("progress_updated_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("dump_inventory", sa.JSON(), nullable=True),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("pruned_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("binlog_position", sa.String(length=255), nullable=True),
        sa.Column("server_version", sa.String(length=100), nullable=True),
        sa.Column("restore_seconds", sa.Double(), nullable=True),
        sa.Column("backup_started_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("backup_completed_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("verification_status", sa.String(length=20), nullable=False),
        sa.Column("verification_details", sa.JSON(), nullable=True),
        sa.Column("verified_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "backup_type IN ('daily', 'weekly', 'monthly', 'manual', 'pre-migration')",
            name=op.f("ck_backup_log_backup_type"),
        ),
        sa.CheckConstraint(
            "status IN ('in_progress', 'succeeded', 'failed')", name=op.f("ck_backup_log_status")
        ),
        sa.CheckConstraint("storage IN ('local', 's3')", name=op.f("ck_backup_log_storage")),
        sa.CheckConstraint(
            "verification_status IN ('passed', 'failed', 'not_verified')",
            name=op.f("ck_backup_log_verification_status"),
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["backup_schedules.id"],
            name=op.f("fk_backup_log_schedule_id_backup_schedules"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_log")),
    )
    op.create_index(
        op.f("ix_backup_log_backup_completed_at"),
        "backup_log",
        ["backup_completed_at"],
        unique=False,
    )
    op.create_index(op.f("ix_backup_log_backup_type"), "backup_log", ["backup_type"], unique=False)
    op.create_index(op.f("ix_backup_log_schedule_id"), "backup_log", ["schedule_id"], unique=False)
    op.create_index(
        op.f("ix_backup_log_verification_status"),
        "backup_log",
        ["verification_status"],
        unique=False,
    )


def downgrade() -> None:

    op.drop_table("backup_log")
    op.drop_table("backup_schedules")
