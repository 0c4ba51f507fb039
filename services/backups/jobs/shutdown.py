"""What a worker does with its backup jobs when told to stop: fail them, within the grace period."""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from services.backups.dump.job_control import SHUTDOWN_REASON
from services.backups.jobs.final_status import failure_notice
from services.backups.leases import held_by
from services.backups.runtime import BackupRuntime
from shared.models import BackupLog, utcnow

_log = logging.getLogger(__name__)


def stop_backup_jobs(runtime: BackupRuntime, wait_seconds: float) -> None:
    """Tell every job of this process to stop, then wait up to `wait_seconds` for them to end.

    A stopped job kills its mariadb-dump or mariadb child, removes its artifact and scratch
    database, marks its row failed and sends its notice itself. One that cannot in time (a
    pre-dump query blocked by a table lock does not see the stop) is failed here instead:
    the process is about to be killed, and its row must not wait for the lease to lapse.
    """
    runtime.leases.stop_all(SHUTDOWN_REASON)
    if wait_seconds <= 0:
        return
    for backup_id, owner in runtime.leases.wait_released(wait_seconds).items():
        _fail_on_behalf(runtime, backup_id, owner)


def _fail_on_behalf(runtime: BackupRuntime, backup_id: str, owner: str) -> None:
    try:
        with runtime.session_factory.begin() as session:
            written = session.execute(
                update(BackupLog)
                .where(*held_by(backup_id, owner))
                .values(
                    status="failed",
                    phase="failed",
                    backup_completed_at=utcnow(),
                    error_message=SHUTDOWN_REASON,
                    lease_expires_at=None,
                    eta_seconds=None,
                )
            ).rowcount  # type: ignore[attr-defined]
            row = session.scalars(select(BackupLog).where(BackupLog.id == backup_id)).first()
            notifier = runtime.notifier if written and row is not None else None
            if notifier is not None and row is not None:
                # The notice goes into the outbox with the failure, in this transaction.
                notice = failure_notice(row, SHUTDOWN_REASON)
                notifier.stage(session, backup=notice, kind="backup_failed")
    except SQLAlchemyError as exc:
        _log.error("backup %s: not marked failed at shutdown (%s)", backup_id, type(exc).__name__)
        return
    if notifier is not None:
        notifier.deliver(backup_id=backup_id)
