"""backups: a running backup holds a lease (owner and expiry) renewed by its heartbeat.

Abandonment used to be decided by wall-clock since the last progress write, so a job stalled
behind a table lock was failed while it still ran, then flipped to succeeded. A lease lets the
sweep fail only jobs whose heartbeats stopped, and lets a job's last write require it still
owns the row.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.models.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backup_log") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("lease_expires_at", shared.models.base.UTCDateTime(), nullable=True)
        )
        batch.create_index(
            op.f("ix_backup_log_status_lease_expires_at"), ["status", "lease_expires_at"]
        )


def downgrade() -> None:
    with op.batch_alter_table("backup_log") as batch:
        batch.drop_index(op.f("ix_backup_log_status_lease_expires_at"))
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
