"""Use cases of the backup log: take, look up, list, release, restore."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from services.backups.database_names import DatabaseNameRefused, check_database_name
from services.backups.jobs.runner import BackupPlan
from services.backups.jobs.sweep import fail_abandoned, lease_live
from services.backups.leases import new_owner
from services.backups.runtime import BackupRuntime
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.models import BackupLog
from shared.pagination import Page, filtered, keyset_page

__all__ = ["fail_abandoned"]  # run-due and the CLI reach the sweep through here


def list_backups(
    *,
    session: Session,
    backup_type: str | None = None,
    status: str | None = None,
    verification_status: str | None = None,
    schedule_id: str | None = None,
    notice: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[BackupLog]:
    """Newest first, filtered by type, status, verification, schedule and notice status."""
    query = filtered(
        select(BackupLog),
        {
            BackupLog.backup_type: backup_type,
            BackupLog.status: status,
            BackupLog.verification_status: verification_status,
            BackupLog.schedule_id: schedule_id,
            BackupLog.notice_status: notice,
        },
    )
    return keyset_page(
        session=session,
        query=query,
        sort=BackupLog.backup_started_at,
        tiebreak=BackupLog.id,
        descending=True,
        cursor=cursor,
        limit=limit,
    )


def get_backup(*, session: Session, backup_id: str) -> BackupLog:
    """One backup, or NotFound."""
    backup = session.get(BackupLog, backup_id)
    if backup is None:
        raise NotFound("backup", backup_id)
    return backup


def _verify_mode(backup_type: str, requested: str | None) -> str:
    # A pre-migration backup is only usable once a restore has proven it.
    if backup_type == "pre-migration":
        if requested not in (None, "restore"):
            raise ValidationFailed(
                {"verify": ["pre-migration backups are always restore-verified"]}
            )
        return "restore"
    return requested or "checksum"


def refuse_overlap(*, session: Session, runtime: BackupRuntime, database: str | None) -> None:
    """409 when a live backup of the same database is already running (runs never overlap)."""
    name = database or runtime.default_database()
    running = session.scalars(
        select(BackupLog.id).where(lease_live(datetime.now(UTC)), BackupLog.database_name == name)
    ).first()
    if running is not None:
        raise Conflict(f"backup {running} of {name} is still running", backup_id=running)


def start_backup(
    *, session: Session, runtime: BackupRuntime, data: dict[str, Any]
) -> tuple[BackupLog, BackupPlan]:
    """Refuse a run that would overlap one in progress, then write the new one.

    Check and insert happen under one named lock per database, so two callers at the same
    moment cannot both pass the check.
    """
    name = data.get("database") or runtime.default_database()
    with database_start_locks(session) as take_lock:
        if not take_lock(name, 10):
            raise Conflict(f"another backup of {name} is being started; try again")
        refuse_overlap(session=session, runtime=runtime, database=name)
        return create_backup(session=session, runtime=runtime, data={**data, "database": name})


@contextmanager
def database_start_locks(session: Session) -> Iterator[Callable[[str, float], bool]]:
    """Yield take_lock(database, wait_seconds) -> bool; every lock taken is held to the end.

    Named locks on their own connection: they must outlive the session's commit of the new
    rows, so a second starter only checks for a running backup once the first is visible.
    """
    engine = session.get_bind().engine
    if engine.dialect.name != "mysql":  # the embedded SQLite default runs one process
        yield lambda _database, _wait: True
        return
    with engine.connect() as holder:

        def take_lock(database: str, wait_seconds: float) -> bool:
            lock = {"name": f"msp-backup-start:{database}"[:64], "wait": wait_seconds}
            return holder.execute(text("SELECT GET_LOCK(:name, :wait)"), lock).scalar() == 1

        try:
            yield take_lock
        finally:
            # The pool keeps the connection, and a named lock lives as long as its connection.
            # A connection lost meanwhile took its locks with it: the first error is the news.
            with contextlib.suppress(DBAPIError):
                holder.execute(text("SELECT RELEASE_ALL_LOCKS()"))


def create_backup(
    *,
    session: Session,
    runtime: BackupRuntime,
    data: dict[str, Any],
    schedule_id: str | None = None,
    commit: bool = True,
) -> tuple[BackupLog, BackupPlan]:
    """Write the in_progress row and the plan a worker runs.

    The row is committed unless the caller commits a larger unit itself (`commit=False`).
    """
    backup_type = data.get("backup_type", "manual")
    storage = data.get("storage") or runtime.default_storage
    runtime.storage(storage)  # fails fast (422) when s3 is asked for but not configured
    database = data.get("database") or runtime.default_database()
    # SQLite's "database" is the file of the embedded default (start_backup fills it in), not
    # a MariaDB name: no command line ever sees it.
    if not runtime.is_sqlite:
        _check_requested_database(database)
    backup = BackupLog(
        schedule_id=schedule_id,
        backup_type=backup_type,
        status="in_progress",
        backup_method="sqlite-backup-api" if runtime.is_sqlite else "mysqldump",
        database_host=runtime.source_host,
        database_name=database,
        storage=storage,
        compression=data.get("compression") or runtime.default_compression,
        phase="queued",
        pinned=backup_type == "pre-migration",
        backup_started_at=datetime.now(UTC),
        progress_updated_at=datetime.now(UTC),
        # Queued counts as a phase: the lease starts now and the process that queued it renews
        # it (a Kubernetes Job's row waits longer, for the Job to claim it).
        lease_owner=new_owner(),
        lease_expires_at=runtime.queued_lease_expiry(),
    )
    verify = _verify_mode(backup_type, data.get("verify"))  # a refusal writes nothing
    backup.verify_mode = verify
    session.add(backup)
    if commit:
        session.commit()
    else:
        session.flush()
    plan = BackupPlan(
        backup_id=backup.id,
        backup_type=backup_type,
        database=database,
        storage=storage,
        compression=backup.compression or "zstd",
        verify=verify,
        schedule_id=schedule_id,
        lease_owner=backup.lease_owner or "",
    )
    return backup, plan


def _check_requested_database(name: str | None) -> None:
    # The schemas check too; the CLI, stored schedules and BACKUP_SOURCE_URL's own database
    # reach this without them, and a refusal here is a 422, not a job failing inside.
    if name is None:
        return
    try:
        check_database_name(name)
    except DatabaseNameRefused as exc:
        raise ValidationFailed({"database": [str(exc)]}) from None


def release_pin(*, session: Session, backup_id: str) -> BackupLog:
    """Unpin a backup (a pre-migration one, once the migration is done); retention may prune it."""
    backup = get_backup(session=session, backup_id=backup_id)
    backup.pinned = False
    session.commit()
    return backup


def pin(*, session: Session, backup_id: str) -> BackupLog:
    """Keep a backup out of retention until released."""
    backup = get_backup(session=session, backup_id=backup_id)
    backup.pinned = True
    session.commit()
    return backup


def restorable(*, session: Session, backup_id: str) -> BackupLog:
    """A backup that can be restored: succeeded, artifact not pruned."""
    backup = get_backup(session=session, backup_id=backup_id)
    if backup.status != "succeeded" or not backup.file_path:
        raise Conflict(
            f"backup {backup_id} has status {backup.status}; only succeeded ones restore"
        )
    if backup.pruned_at is not None:
        raise Conflict(f"backup {backup_id} was removed by retention")
    return backup
