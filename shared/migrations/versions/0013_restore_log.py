"""backups: restores are rows (restore_log), not one worker's memory.

A restore's status lived in the process that ran it, so with two workers a poll answered 404
about half the time, and nothing recorded who asked for a restore or how it ended.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.models.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "restore_log",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("backup_id", sa.CHAR(length=36), nullable=False),
        sa.Column("target_database", sa.String(length=64), nullable=False),
        sa.Column("replace", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("phase", sa.String(length=30), nullable=False),
        sa.Column("bytes_processed", sa.BigInteger(), nullable=False),
        sa.Column("rate_bytes_per_s", sa.Double(), nullable=False),
        sa.Column("eta_seconds", sa.Double(), nullable=True),
        sa.Column("restore_seconds", sa.Double(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("notice", sa.String(length=100), nullable=True),
        sa.Column("started_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("progress_updated_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("finished_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'failed')", name=op.f("ck_restore_log_status")
        ),
        sa.ForeignKeyConstraint(
            ["backup_id"], ["backup_log.id"], name=op.f("fk_restore_log_backup_id_backup_log")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restore_log")),
    )
    op.create_index(
        op.f("ix_restore_log_backup_id_started_at"), "restore_log", ["backup_id", "started_at"]
    )


def downgrade() -> None:
    # Its index goes with it (MariaDB refuses to drop it alone: the foreign key needs it).
    op.drop_table("restore_log")
