"""A Kubernetes Job's first step: claim its queued backup row and the lease that comes with it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from services.backups.jobs.runner import BackupPlan
from services.backups.leases import new_owner
from services.backups.runtime import BackupRuntime
from shared.models import BackupLog


class NotClaimable(Exception):
    """The row is not a queued backup waiting for its Job (ended, taken, or never queued)."""


def claim_queued(runtime: BackupRuntime, backup_id: str) -> BackupPlan:
    """Take the queued row of `backup_id` for this process: its lease owner from now on.

    One conditional UPDATE: only a row still queued and still within its start lease is
    taken, so a Job started twice runs the backup once, and a row the sweep failed for
    taking too long to start stays failed.
    """
    owner = new_owner()
    with runtime.session_factory.begin() as session:
        taken = session.execute(
            update(BackupLog)
            .where(
                BackupLog.id == backup_id,
                BackupLog.status == "in_progress",
                BackupLog.phase == "queued",
                BackupLog.lease_expires_at >= datetime.now(UTC),
            )
            .values(lease_owner=owner, lease_expires_at=runtime.leases.expiry())
        ).rowcount  # type: ignore[attr-defined]
        row = session.get(BackupLog, backup_id)
        if row is None:
            raise NotClaimable(f"no backup {backup_id}")
        if not taken:
            raise NotClaimable(
                f"backup {backup_id} is not waiting for a job (status {row.status}, "
                f"phase {row.phase})"
            )
        return BackupPlan(
            backup_id=row.id,
            backup_type=row.backup_type,
            database=row.database_name or runtime.default_database(),
            storage=row.storage,
            compression=row.compression or "zstd",
            verify=row.verify_mode or "checksum",
            schedule_id=row.schedule_id,
            lease_owner=owner,
        )
