"""Applying a schedule's retention to backup_log rows and their stored artifacts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.backups.adapters.storage import StorageError
from services.backups.schedules.retention import BackupRecord, RetentionPolicy, plan_prune
from shared.errors import NotFound
from shared.models import BackupLog, BackupSchedule

if TYPE_CHECKING:
    from services.backups.runtime import BackupRuntime

_log = logging.getLogger(__name__)


def _history(session: Session, schedule_id: str) -> list[BackupLog]:
    query = select(BackupLog).where(BackupLog.schedule_id == schedule_id)
    return list(session.scalars(query))


def _record(row: BackupLog) -> BackupRecord:
    return BackupRecord(
        id=row.id,
        started_at=row.backup_started_at,
        status=row.status,
        verified=row.verification_status == "passed",
        pinned=row.pinned,
        pruned=row.pruned_at is not None,
    )


def _policy(schedule: BackupSchedule) -> RetentionPolicy:
    return RetentionPolicy(
        keep_daily=schedule.keep_daily,
        keep_weekly=schedule.keep_weekly,
        keep_monthly=schedule.keep_monthly,
        timezone=schedule.timezone,
    )


def preview_retention(*, session: Session, schedule_id: str) -> list[BackupLog]:
    """The dry run: the backups retention would delete now, oldest first."""
    schedule = session.get(BackupSchedule, schedule_id)
    if schedule is None:
        raise NotFound("schedule", schedule_id)
    rows = _history(session, schedule_id)
    doomed = set(plan_prune([_record(r) for r in rows], _policy(schedule)))
    return sorted((r for r in rows if r.id in doomed), key=lambda r: r.backup_started_at)


def apply_schedule_retention(*, runtime: BackupRuntime, schedule_id: str) -> list[str]:
    """Delete what the dry run lists, in a transaction of its own; returns the ids pruned."""
    with runtime.session_factory.begin() as session:
        return prune_schedule(session=session, runtime=runtime, schedule_id=schedule_id)


def prune_schedule(*, session: Session, runtime: BackupRuntime, schedule_id: str) -> list[str]:
    """Delete what the dry run lists, under a lock on the schedule row; the caller commits.

    A backup job calls this in the transaction that records its verified success, so the
    success and the prune it allows are committed together.
    """
    session.execute(
        select(BackupSchedule.id).where(BackupSchedule.id == schedule_id).with_for_update()
    )
    pruned: list[str] = []
    for row in preview_retention(session=session, schedule_id=schedule_id):
        if _delete_artifact(runtime, row):
            row.pruned_at = datetime.now(UTC)
            pruned.append(row.id)
    if pruned:
        _log.info("retention of schedule %s pruned %s", schedule_id, pruned)
    return pruned


def _delete_artifact(runtime: BackupRuntime, row: BackupLog) -> bool:
    if not row.file_path:
        return True
    try:
        runtime.storage(row.storage).delete(row.file_path)
    except StorageError:
        _log.warning("retention could not delete the artifact of backup %s", row.id)
        return False
    return True
