"""backups: failure and warning notices go through an outbox; a row names its verify mode.

A notice was tried once after the backup's final status and lost when integrations was down.
Now it is a backup_notices row written in the same transaction as the final status, delivered
after the commit and retried with backoff by run-due; backup_log says whether it arrived
(notice_status, notice_attempts, notice_error). verify_mode is stored because a Kubernetes Job
runs the queued row, not the request that asked for it.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.models.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backup_log") as batch:
        batch.add_column(sa.Column("verify_mode", sa.String(10), nullable=True))
        batch.add_column(sa.Column("notice_status", sa.String(20), nullable=True))
        batch.add_column(
            sa.Column("notice_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("notice_error", sa.String(500), nullable=True))
        batch.create_check_constraint(
            op.f("ck_backup_log_notice_status"),
            "notice_status IN ('pending', 'delivered', 'failed')",
        )
        batch.create_index(op.f("ix_backup_log_notice_status"), ["notice_status"])
    op.create_table(
        "backup_notices",
        sa.Column("id", sa.CHAR(length=36), nullable=False),
        sa.Column("backup_id", sa.CHAR(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("requests", sa.JSON(), nullable=False),
        sa.Column("parts_done", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", shared.models.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", shared.models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('backup_failed', 'backup_warning')", name=op.f("ck_backup_notices_kind")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name=op.f("ck_backup_notices_status")
        ),
        sa.ForeignKeyConstraint(
            ["backup_id"],
            ["backup_log.id"],
            name=op.f("fk_backup_notices_backup_id_backup_log"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_notices")),
        sa.UniqueConstraint("backup_id", "kind", name=op.f("uq_backup_notices_backup_id_kind")),
    )
    op.create_index(
        op.f("ix_backup_notices_status_next_attempt_at"),
        "backup_notices",
        ["status", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_table("backup_notices")
    with op.batch_alter_table("backup_log") as batch:
        batch.drop_index(op.f("ix_backup_log_notice_status"))
        batch.drop_constraint(op.f("ck_backup_log_notice_status"), type_="check")
        batch.drop_column("notice_error")
        batch.drop_column("notice_attempts")
        batch.drop_column("notice_status")
        batch.drop_column("verify_mode")
