"""Applying a schedule's retention to backup_log rows and their stored artifacts."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.backups.adapters.storage import StorageError
from services.backups.retention.policy import BackupRecord, RetentionPolicy, plan_prune
from shared.errors import NotFound
from shared.models import BackupLog, BackupSchedule, utcnow

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
    """Prune what the dry run lists; returns the ids pruned.

    Rows are marked pruned and committed before their artifacts are deleted, and a row whose
    artifact could not be deleted is unmarked again: a crash or a failed commit can leave a
    file nobody points to, never a backup row that names a file that is gone.
    """
    with runtime.session_factory.begin() as session:
        # The lock makes two prunes of one schedule (a job and the endpoint) take turns.
        session.execute(
            select(BackupSchedule.id).where(BackupSchedule.id == schedule_id).with_for_update()
        )
        doomed = preview_retention(session=session, schedule_id=schedule_id)
        now = utcnow()
        for row in doomed:
            row.pruned_at = now
        artifacts = [(row.id, row.storage, row.file_path) for row in doomed]
    kept = [
        row_id
        for row_id, storage, file_path in artifacts
        if not _delete_artifact(runtime, storage, file_path)
    ]
    if kept:
        with runtime.session_factory.begin() as session:
            session.execute(update(BackupLog).where(BackupLog.id.in_(kept)).values(pruned_at=None))
    pruned = [row_id for row_id, _, _ in artifacts if row_id not in kept]
    if pruned:
        _log.info("retention of schedule %s pruned %s", schedule_id, pruned)
    return pruned


def _delete_artifact(runtime: BackupRuntime, storage: str, file_path: str | None) -> bool:
    if not file_path:
        return True
    try:
        runtime.storage(storage).delete(file_path)
    except StorageError:
        _log.warning("retention could not delete the artifact %s", file_path)
        return False
    return True
