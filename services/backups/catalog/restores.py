"""Restores of a backup into a database: each one a restore_log row any worker can read."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.backups.adapters import mariadb_inventory as inventory
from services.backups.adapters.storage import LocalStorage, StorageError
from services.backups.database_names import DatabaseNameRefused, check_database_name
from services.backups.dump.job_control import SHUTDOWN_REASON, JobControl, running_under
from services.backups.dump.pipeline import PipelineError
from services.backups.dump.progress import Progress
from services.backups.dump.sqlite_backup import restore_sqlite
from services.backups.mariadb_restore import Artifact, check_artifact, restore_to_database
from services.backups.runtime import BackupRuntime
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.models import BackupLog, RestoreLog
from shared.observability import log_current_exception

_log = logging.getLogger(__name__)
# A running restore writes progress every second while it loads; the artifact check before and
# the swap after write none, so the bound leaves them room (hashing ~100 GB at disk speed).
RESTORE_ABANDONED_AFTER = timedelta(minutes=10)
ABANDONED_MESSAGE = "the worker running this restore stopped reporting; restore abandoned"
# A killed load records its end at once; longer means it is stuck and is failed on its behalf.
SHUTDOWN_WAIT_SECONDS = 1.0


def prepare_restore(
    *,
    session: Session,
    runtime: BackupRuntime,
    backup: BackupLog,
    target_database: str,
    replace: bool,
    requested_by: str,
) -> RestoreLog:
    """Check the target (a bad name is 422, an existing one 409), then record the request."""
    try:
        check_database_name(target_database)  # the schema checked too; the CLI comes here alone
    except DatabaseNameRefused as exc:
        raise ValidationFailed({"target_database": [str(exc)]}) from None
    if not runtime.is_sqlite and target_database == runtime.live_database():
        raise Conflict(
            "refusing to replace the database this service runs on; restore into a new "
            "database and point DATABASE_URL at it"
        )
    if _target_exists(runtime, target_database) and not replace:
        raise Conflict(f"database {target_database} exists; pass replace=true to overwrite it")
    now = datetime.now(UTC)
    restore = RestoreLog(
        backup_id=backup.id,
        target_database=target_database,
        replace=replace,
        requested_by=requested_by[:100],
        status="running",
        phase="queued",
        bytes_processed=0,
        rate_bytes_per_s=0.0,
        started_at=now,
        progress_updated_at=now,
    )
    session.add(restore)
    session.commit()  # before the job starts: its first poll, on any worker, finds the row
    return restore


def get_restore(*, session: Session, backup_id: str, restore_id: str) -> RestoreLog:
    """One restore of this backup, or NotFound (another backup's restore id is not found).

    A running restore whose worker stopped writing progress is failed as it is read, so a
    worker that died mid-restore never leaves a restore running for ever.
    """
    restore = session.get(RestoreLog, restore_id)
    if restore is None or restore.backup_id != backup_id:
        raise NotFound("restore", restore_id)
    if restore.status == "running" and _abandoned(restore, datetime.now(UTC)):
        session.execute(
            update(RestoreLog)
            .where(RestoreLog.id == restore_id, RestoreLog.status == "running")
            .values(
                status="failed",
                phase="failed",
                error_message=ABANDONED_MESSAGE,
                finished_at=datetime.now(UTC),
            )
        )
        session.commit()
        session.refresh(restore)
    return restore


def _abandoned(restore: RestoreLog, now: datetime) -> bool:
    last = restore.progress_updated_at or restore.started_at
    return last < now - RESTORE_ABANDONED_AFTER


def _target_exists(runtime: BackupRuntime, name: str) -> bool:
    if runtime.is_sqlite:
        return (runtime.folder / f"{name}.sqlite3").exists()
    return inventory.database_exists(runtime.target(None), name)


def run_restore(
    *,
    runtime: BackupRuntime,
    backup: dict[str, Any],
    restore_id: str,
    control: JobControl | None = None,
) -> None:
    """Stream the artifact into the target, recording progress and the end in the row.

    `control.stop(reason)` from another thread kills the running `mariadb` load; the row then
    ends failed with that reason, and the scratch database is dropped as on any failure.
    """
    control = control or JobControl()
    with runtime.session_factory() as session:
        restore = session.get(RestoreLog, restore_id)
        assert restore is not None, "prepare_restore committed it"
        target, replace = restore.target_database, restore.replace
    try:
        with running_under(control):
            seconds = _restore(runtime, backup, restore_id, target, replace)
    except (PipelineError, StorageError, OSError, ValueError) as exc:
        reason = control.reason or runtime.redact(str(exc))[-2000:]
        _end(runtime, restore_id, "failed", error=reason)
    except Exception:
        log_current_exception(_log, "restore %s crashed", restore_id)
        _end(runtime, restore_id, "failed", error="internal error during restore")
    except BaseException:  # Ctrl-C or shutdown: the row must not say running for ever
        _end(runtime, restore_id, "failed", error="interrupted before it finished")
        raise
    else:
        _end(runtime, restore_id, "succeeded", seconds=seconds)


class RunningRestores:
    """The restores this process runs, so that shutdown can stop them and fail their rows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._controls: dict[str, JobControl] = {}

    def run(self, *, runtime: BackupRuntime, backup: dict[str, Any], restore_id: str) -> None:
        """run_restore, stoppable by stop_all while it runs."""
        control = JobControl()
        with self._lock:
            self._controls[restore_id] = control
        try:
            run_restore(runtime=runtime, backup=backup, restore_id=restore_id, control=control)
        finally:
            with self._lock:
                self._controls.pop(restore_id, None)

    def stop_all(self, runtime: BackupRuntime, wait_seconds: float) -> None:
        """Kill every running load; a restore that has not recorded its end soon is failed here.

        The wait is short: the backups' own shutdown hook needs the rest of the grace period.
        """
        with self._lock:
            controls = dict(self._controls)
        for control in controls.values():
            control.stop(SHUTDOWN_REASON)
        deadline = time.monotonic() + min(wait_seconds, SHUTDOWN_WAIT_SECONDS)
        while self._still_running(controls) and time.monotonic() < deadline:
            time.sleep(0.05)
        for restore_id in self._still_running(controls):
            _end(runtime, restore_id, "failed", error=SHUTDOWN_REASON)

    def _still_running(self, controls: dict[str, JobControl]) -> list[str]:
        with self._lock:
            return [restore_id for restore_id in controls if restore_id in self._controls]


def write_restore_progress(runtime: BackupRuntime, restore_id: str, progress: Progress) -> None:
    """Persist one progress snapshot in its own short transaction (any worker sees it)."""
    with runtime.session_factory.begin() as session:
        session.execute(
            update(RestoreLog)
            .where(RestoreLog.id == restore_id, RestoreLog.status == "running")
            .values(
                phase=progress.phase,
                bytes_processed=progress.bytes_processed,
                rate_bytes_per_s=progress.rate_bytes_per_s,
                eta_seconds=progress.eta_seconds,
                progress_updated_at=datetime.now(UTC),
            )
        )


def _end(
    runtime: BackupRuntime,
    restore_id: str,
    status: str,
    *,
    error: str | None = None,
    seconds: float | None = None,
) -> None:
    now = datetime.now(UTC)
    values = {
        "status": status,
        "phase": "done" if status == "succeeded" else "failed",
        "error_message": error,
        "restore_seconds": seconds,
        "eta_seconds": 0.0 if status == "succeeded" else None,
        "finished_at": now,
        "progress_updated_at": now,
    }
    with runtime.session_factory.begin() as session:
        session.execute(
            update(RestoreLog)
            .where(RestoreLog.id == restore_id, RestoreLog.status == "running")
            .values(**values)
        )
    _notify(runtime, restore_id)


def _notify(runtime: BackupRuntime, restore_id: str) -> None:
    """Tell the integrations audit how the restore ended; the row records whether it heard."""
    if runtime.notifier is None:
        return
    with runtime.session_factory() as session:
        restore = session.get(RestoreLog, restore_id)
        assert restore is not None
        facts = restore_facts(restore)
    outcome = runtime.notifier.restore_finished(restore=facts)  # no transaction held meanwhile
    with runtime.session_factory.begin() as session:
        session.execute(
            update(RestoreLog)
            .where(RestoreLog.id == restore_id)
            .values(notice=str(outcome.get("event", ""))[:100] or None)
        )


def restore_facts(restore: RestoreLog) -> dict[str, Any]:
    """What the audit event and the CLI's --json say about a restore."""
    return {
        "id": restore.id,
        "backup_id": restore.backup_id,
        "target_database": restore.target_database,
        "replace": restore.replace,
        "requested_by": restore.requested_by,
        "status": restore.status,
        "phase": restore.phase,
        "restore_seconds": restore.restore_seconds,
        "error_message": restore.error_message,
        "started_at": restore.started_at.isoformat(),
        "finished_at": restore.finished_at.isoformat() if restore.finished_at else None,
        "notice": restore.notice,
    }


def _restore(
    runtime: BackupRuntime, backup: dict[str, Any], restore_id: str, target: str, replace: bool
) -> float:
    artifact = Artifact(
        storage=runtime.storage(backup["storage"]),
        location=backup["file_path"],
        codec=backup["compression"],
        sha256=backup["checksum_sha256"],
        size_bytes=backup["file_size_bytes"],
        raw_bytes=backup["raw_size_bytes"],
    )
    check_artifact(artifact)  # before anything is touched: a corrupt copy changes nothing
    if not runtime.is_sqlite:
        return restore_to_database(
            server=runtime.target(None),
            artifact=artifact,
            target_database=target,
            restore_id=restore_id,
            replace=replace,
            progress=partial(write_restore_progress, runtime, restore_id),
        )
    assert isinstance(artifact.storage, LocalStorage)
    return restore_sqlite(  # written to a temp name and renamed: replaced whole or not at all
        storage=artifact.storage,
        location=artifact.location,
        codec=artifact.codec,
        target=Path(runtime.folder) / f"{target}.sqlite3",
        replace=replace,
    )
