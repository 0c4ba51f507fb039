"""What run-due clears after dead jobs: lapsed rows, their artifacts and scratch databases."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pymysql
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from services.backups.adapters import mariadb_inventory as inventory
from services.backups.adapters.storage import LocalStorage, StorageError
from services.backups.jobs.final_status import failure_notice
from services.backups.jobs.storage_sweep import StorageSweep, sweep_storage
from services.backups.runtime import BackupRuntime
from shared.errors import ValidationFailed
from shared.models import BackupLog

_log = logging.getLogger(__name__)

# Rows written before leases existed (migration 0012) have none: they keep the old rule.
LEGACY_ABANDONED_AFTER = timedelta(minutes=10)
ABANDONED_MESSAGE = "the job stopped heartbeating (lease expired); backup abandoned"
SWEEP_OWNER = "run-due sweep"
# verification.scratch_name: bkverify_<first 12 hex digits of the backup id>_<6 random hex>.
_SCRATCH = re.compile(r"^bkverify_([0-9a-f]{8})([0-9a-f]{4})_[0-9a-f]{6}$")
# LocalWriter's temp name: .<database>-<type>-<stamp>-<first 8 of the id>.<body><ext>.<hex>.partial
_PARTIAL = re.compile(r"-([0-9a-f]{8})\.(?:sql|sqlite3)[.a-z]*\.[0-9a-f]+\.partial$")


def lease_lapsed(now: datetime) -> Any:
    """SQL condition: an in_progress row nobody heartbeats any more."""
    legacy = and_(
        BackupLog.lease_expires_at.is_(None),
        BackupLog.progress_updated_at < now - LEGACY_ABANDONED_AFTER,
    )
    return and_(BackupLog.status == "in_progress", or_(BackupLog.lease_expires_at < now, legacy))


def lease_live(now: datetime) -> Any:
    """SQL condition: an in_progress row whose job still heartbeats (it blocks another start)."""
    legacy = and_(
        BackupLog.lease_expires_at.is_(None),
        BackupLog.progress_updated_at >= now - LEGACY_ABANDONED_AFTER,
    )
    return and_(BackupLog.status == "in_progress", or_(BackupLog.lease_expires_at >= now, legacy))


def fail_abandoned(
    *,
    session: Session,
    runtime: BackupRuntime | None = None,
    now: datetime | None = None,
    sweep_storage: bool = True,
) -> list[str]:
    """Fail the rows whose lease lapsed, then clear what dead jobs left (with a runtime).

    Each row is taken over by its own conditional UPDATE: a job that renewed its lease in
    the meantime keeps it, and a taken-over job can no longer write its own result. Its
    failure notice goes into the outbox in the same transaction, as a job's own would.
    """
    moment = now or datetime.now(UTC)
    taken = [row for row in session.scalars(select(BackupLog).where(lease_lapsed(moment)))]
    failed = [row for row in taken if _take_over(session, row.id, moment)]
    notifier = runtime.notifier if runtime is not None else None
    if notifier is not None:
        for row in failed:
            notice = failure_notice(row, ABANDONED_MESSAGE)
            notifier.stage(session, backup=notice, kind="backup_failed")
    session.commit()
    if runtime is not None:
        for row in failed:
            _remove_artifact(runtime, row)
            if notifier is not None:
                notifier.deliver(backup_id=row.id)
        sweep_scratch_databases(session=session, runtime=runtime)
        sweep_partial_files(session=session, runtime=runtime)
        if sweep_storage:  # the CLI's sweep command sweeps storage itself, with --remove
            sweep_storages(session=session, runtime=runtime)
    return [row.id for row in failed]


def sweep_storages(
    *,
    session: Session,
    runtime: BackupRuntime,
    remove: bool = False,
    stale_after: timedelta | None = None,
) -> list[StorageSweep]:
    """Sweep the local folder, and the S3 bucket when one is configured (see storage_sweep);
    uploads are stale after `stale_after`, by default BACKUP_STALE_UPLOAD_HOURS."""
    kinds = ["local", *(["s3"] if runtime.s3_options.get("bucket") else [])]
    stale_after = runtime.stale_upload_after if stale_after is None else stale_after
    reports = []
    for kind in kinds:
        report = sweep_storage(
            session=session,
            storage=runtime.storage(kind),
            remove=remove,
            stale_after=stale_after,
        )
        for line in report.orphans:
            _log.warning("%s holds %s, which no backup row names", kind, line)
        for line in report.uncatalogued:
            _log.warning("%s holds backup %s with no row: run rebuild-catalog", kind, line)
        for line in report.errors:
            _log.warning("storage sweep of %s: %s", kind, line)
        reports.append(report)
    return reports


def _take_over(session: Session, backup_id: str, now: datetime) -> bool:
    result = session.execute(
        update(BackupLog)
        .where(BackupLog.id == backup_id, lease_lapsed(now))
        .values(
            status="failed",
            phase="failed",
            backup_completed_at=datetime.now(UTC),
            error_message=ABANDONED_MESSAGE,
            lease_owner=SWEEP_OWNER,
            lease_expires_at=None,
            eta_seconds=None,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _remove_artifact(runtime: BackupRuntime, row: BackupLog) -> None:
    """Remove the dead job's unproven artifact, as the job itself would have."""
    if row.file_path:
        try:
            runtime.storage(row.storage).delete(row.file_path)
        except (StorageError, ValidationFailed):  # unreachable, or S3 no longer configured
            _log.warning("could not remove the artifact of abandoned backup %s", row.id)


def _ended(session: Session, id_prefix: str) -> bool:
    """True when the backup whose id starts with `id_prefix` exists and is no longer running."""
    rows = session.scalars(select(BackupLog.status).where(BackupLog.id.like(id_prefix + "%")))
    statuses = list(rows)
    return bool(statuses) and "in_progress" not in statuses


def sweep_scratch_databases(*, session: Session, runtime: BackupRuntime) -> list[str]:
    """Drop the bkverify_* databases of backups that have ended (a live one keeps its own).

    Only names that lead back to a backup_log row are touched: scratch databases of restores
    carry a restore id, which no backup row has.
    """
    if runtime.is_sqlite:
        return []
    server = runtime.target(None)
    try:
        with inventory.connect(server) as conn, conn.cursor() as cur:
            cur.execute("SHOW DATABASES LIKE 'bkverify\\\\_%'")
            names = [name for (name,) in cur.fetchall()]
    except pymysql.MySQLError as exc:
        _log.warning("scratch databases not swept: %s", exc.args[-1])
        return []
    dropped = []
    for name in names:
        if (match := _SCRATCH.match(name)) and _ended(session, "-".join(match.groups())):
            try:
                inventory.drop_database(server, name)
            except pymysql.MySQLError as exc:  # a sweep never fails the run-due that called it
                _log.warning("scratch database %s not dropped: %s", name, exc.args[-1])
                continue
            dropped.append(name)
    return dropped


def sweep_partial_files(*, session: Session, runtime: BackupRuntime) -> list[str]:
    """Remove the local .partial files of backups that have ended (a killed process leaves them)."""
    folder = LocalStorage(runtime.folder).folder
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.glob(".*.partial"):
        if (match := _PARTIAL.search(path.name)) and _ended(session, match.group(1)):
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed
