"""Running one backup to the end: dump, verify, record, notify. Runs outside any request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.backups import telemetry
from services.backups.adapters.compression import EXTENSIONS
from services.backups.adapters.storage import LocalStorage, Storage, StorageError
from services.backups.dump.job_control import (
    SHUTDOWN_REASON,
    JobControl,
    JobInterrupted,
    running_under,
)
from services.backups.dump.outcome import DumpOutcome
from services.backups.dump.pipeline import PipelineError, run_mariadb_backup
from services.backups.dump.progress import Progress
from services.backups.dump.sqlite_backup import (
    SQLiteBackupError,
    run_sqlite_backup,
    sqlite_path_from_url,
)
from services.backups.jobs.final_status import StagedNotice, Written, write_final
from services.backups.jobs.manifest import record_manifest
from services.backups.leases import held_by
from services.backups.retention.prune import apply_schedule_retention
from services.backups.runtime import BackupRuntime
from services.backups.verification.checks import VerificationResult
from services.backups.verification.step import BackupPlan, VerificationFailed, verify_backup
from shared.models import BackupLog, utcnow
from shared.observability import log_current_exception

_log = logging.getLogger(__name__)
__all__ = [
    "BackupPlan",
    "VerificationFailed",
    "fail_unstarted",
    "run_backup_job",
    "write_progress",
]
SIZE_ANOMALY_RATIO = 0.5
# Under shutdown the final write must fit the grace period beside the notice.
SHUTDOWN_WRITE_SECONDS = 3.0


def artifact_name(plan: BackupPlan, *, sqlite: bool) -> str:
    """<database>-<type>-<UTC time>-<id8>.<sql|sqlite3><.zst|.gz>."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    body = "sqlite3" if sqlite else "sql"
    name = Path(plan.database).name or "database"
    suffix = EXTENSIONS[plan.compression]
    return f"{name}-{plan.backup_type}-{stamp}-{plan.backup_id[:8]}.{body}{suffix}"


def write_progress(runtime: BackupRuntime, plan: BackupPlan, progress: Progress) -> None:
    """Persist one progress snapshot in its own short transaction (readers see it at once)."""
    with runtime.session_factory.begin() as session:
        session.execute(
            update(BackupLog)
            .where(*held_by(plan.backup_id, plan.lease_owner))
            .values(
                phase=progress.phase,
                bytes_processed=progress.bytes_processed,
                bytes_stored=progress.bytes_stored,
                current_table=(progress.current_table or None) and progress.current_table[:128],
                rate_bytes_per_s=progress.rate_bytes_per_s,
                eta_seconds=progress.eta_seconds,
                progress_updated_at=utcnow(),
            )
        )


@telemetry.counted_as_running
def run_backup_job(*, runtime: BackupRuntime, plan: BackupPlan) -> None:
    """Take, verify and record one backup; any failure ends as status=failed, never silently.

    Apart from the progress snapshots, the job's bookkeeping is one read before the dump, the
    dump's outcome before a verification, and one transaction for the result. No transaction
    is open while the dump or the verification runs.
    """
    # Held from the request that queued it; the CLI's jobs are held from here.
    control = runtime.leases.hold(plan.backup_id, plan.lease_owner)
    try:
        with running_under(control):
            _run(runtime, plan, control)
    finally:
        runtime.leases.release(plan.backup_id)


def _run(runtime: BackupRuntime, plan: BackupPlan, control: JobControl) -> None:
    storage: Storage | None = None
    outcome: DumpOutcome | None = None
    try:
        control.check()  # queued when the process was told to stop
        storage = runtime.storage(plan.storage).for_backup(plan.backup_id)
        report = partial(write_progress, runtime, plan)
        report(Progress(phase="checking"))
        previous = _previous_good(runtime, plan)  # sizes the upload and judges the result
        outcome = _take(runtime, plan, storage, report, previous)
        control.check()
        result = _verify(runtime, plan, storage, outcome, report)
        control.check()  # a job told to stop never reports success
        _finish(runtime, plan, storage, outcome, result, previous)
    except (
        PipelineError,
        SQLiteBackupError,
        StorageError,
        VerificationFailed,
        JobInterrupted,
    ) as exc:
        # A child killed by stop() fails its stage first: the reason to stop is the news.
        _fail(runtime, plan, control.reason or str(exc), storage, outcome)
    except Exception:  # the row must not stay in_progress whatever went wrong
        if control.reason is None:
            log_current_exception(_log, "backup %s crashed", plan.backup_id)
        message = control.reason or "internal error while taking the backup"
        _fail(runtime, plan, message, storage, outcome)


def _take(
    runtime: BackupRuntime,
    plan: BackupPlan,
    storage: Storage,
    report: Callable[[Progress], None],
    previous: BackupLog | None,
) -> DumpOutcome:
    name = artifact_name(plan, sqlite=runtime.is_sqlite)
    if runtime.is_sqlite:
        if not isinstance(storage, LocalStorage):
            raise StorageError("the embedded SQLite default backs up to the local folder only")
        return run_sqlite_backup(
            level=runtime.level(plan.compression),
            source=sqlite_path_from_url(runtime.source_url),
            storage=storage,
            artifact_name=name,
            codec=plan.compression,
            progress=report,
        )
    return run_mariadb_backup(
        target=runtime.target(plan.database),
        storage=storage,
        artifact_name=name,
        codec=plan.compression,
        level=runtime.level(plan.compression),
        progress=report,
        expected_bytes=previous.raw_size_bytes if previous else None,
        progress_interval=runtime.progress_interval,
        fingerprint_tables=plan.verify == "restore",
    )


def _previous_good(runtime: BackupRuntime, plan: BackupPlan) -> BackupLog | None:
    query = select(BackupLog).where(
        BackupLog.status == "succeeded",
        BackupLog.database_name == plan.database,
        BackupLog.id != plan.backup_id,
    )
    if plan.schedule_id:
        query = query.where(BackupLog.schedule_id == plan.schedule_id)
    with runtime.session_factory() as session:
        return session.scalars(query.order_by(BackupLog.backup_started_at.desc()).limit(1)).first()


def _verify(
    runtime: BackupRuntime,
    plan: BackupPlan,
    storage: Storage,
    outcome: DumpOutcome,
    report: Callable[[Progress], None],
) -> VerificationResult | None:
    if plan.verify != "none":
        # A verification can take as long as the dump: meanwhile the row names the artifact,
        # its size and checksum, and still does if the worker is lost before the result.
        with runtime.session_factory.begin() as session:
            _update(session, plan, phase="verifying", **_dump_values(outcome))
    return verify_backup(
        runtime=runtime, plan=plan, storage=storage, outcome=outcome, report=report
    )


def _dump_values(outcome: DumpOutcome) -> dict[str, Any]:
    return {
        "file_path": outcome.location,
        "file_size_bytes": outcome.stored_bytes,
        "raw_size_bytes": outcome.raw_bytes,
        "checksum_sha256": outcome.checksum_sha256,
        "server_version": (outcome.server_version or "")[:100] or None,
        "binlog_position": outcome.binlog_position,
        "dump_inventory": outcome.inventory,
        "bytes_processed": outcome.raw_bytes,
        "bytes_stored": outcome.stored_bytes,
        "eta_seconds": 0.0,
    }


def _finish(
    runtime: BackupRuntime,
    plan: BackupPlan,
    storage: Storage,
    outcome: DumpOutcome,
    result: VerificationResult | None,
    previous: BackupLog | None,
) -> None:
    warnings = list(outcome.warnings)
    if warning := _size_warning(previous, outcome):
        warnings.append(warning)
    news = _new_warnings(warnings, previous)
    notice = StagedNotice("backup_warning", _notice(plan), "; ".join(news)) if news else None
    # One transaction: the succeeded row, its schedule's status and its notices (warning, and
    # backup_verified when the verification passed), only while the row is ours.
    values = _success_values(outcome, result, warnings)
    written = write_final(runtime, plan, values, within=runtime.final_write_seconds, notice=notice)
    if written is not Written.WRITTEN:
        # Taken over (the sweep failed the row) or never recorded: nobody may trust the file.
        _log.warning("backup %s ended without its success recorded: %s", plan.backup_id, written)
        _delete_artifact(plan, storage, outcome)
        return
    record_manifest(runtime.session_factory, storage, plan.backup_id)  # the row, beside the file
    telemetry.record_success(plan, outcome.stored_bytes, verified=result is not None)
    if plan.schedule_id and result is not None:  # only a verified success allows a prune
        _prune_after_success(runtime, plan.schedule_id)
    if notice is not None or result is not None:  # after the commit, no transaction
        _deliver_notices(runtime, plan, backlog=True)


def _prune_after_success(runtime: BackupRuntime, schedule_id: str) -> None:
    """Retention after the success is committed: whatever goes wrong there, the backup stands
    (it must never reach _fail, which would delete the new, verified artifact)."""
    try:
        apply_schedule_retention(runtime=runtime, schedule_id=schedule_id)
    except Exception:
        log_current_exception(_log, "retention of schedule %s failed; backups kept", schedule_id)


def _success_values(
    outcome: DumpOutcome, result: VerificationResult | None, warnings: list[str]
) -> dict[str, Any]:
    details: dict[str, Any] = dict(result.details) if result else {}
    if warnings:
        details["warnings"] = warnings
    now = utcnow()
    return {
        **_dump_values(outcome),
        "status": "succeeded",
        "phase": "done",
        "backup_completed_at": now,
        "verification_status": "passed" if result else "not_verified",
        "verification_details": details or None,
        "verified_at": now if result else None,
        "restore_seconds": result.restore_seconds if result else None,
        "current_table": None,
        "rate_bytes_per_s": outcome.rate_bytes_per_s,
        "progress_updated_at": now,
    }


def _new_warnings(warnings: list[str], previous: BackupLog | None) -> list[str]:
    """The warnings the previous good backup did not carry: only those are news.

    A table that is not InnoDB is named on every backup's row, but a notice on every run
    would be noise that buries the size drop the notice exists for; it is sent once.
    """
    details = (previous.verification_details or {}) if previous is not None else {}
    known = set(details.get("warnings") or ()) if isinstance(details, dict) else set()
    return [warning for warning in warnings if warning not in known]


def _size_warning(previous: BackupLog | None, outcome: DumpOutcome) -> str | None:
    if previous is None or not previous.raw_size_bytes:
        return None
    ratio = outcome.raw_bytes / previous.raw_size_bytes
    if ratio >= SIZE_ANOMALY_RATIO:
        return None
    return (
        f"dump is {ratio:.0%} of the previous good backup {previous.id} "
        f"({outcome.raw_bytes} vs {previous.raw_size_bytes} bytes of SQL)"
    )


def _update(session: Session, plan: BackupPlan, **values: Any) -> None:
    session.execute(
        update(BackupLog).where(*held_by(plan.backup_id, plan.lease_owner)).values(**values)
    )


def _notice(plan: BackupPlan, error_message: str | None = None) -> dict[str, Any]:
    """What a failure or warning event says about the backup: the job knows all of it."""
    return {
        "id": plan.backup_id,
        "backup_type": plan.backup_type,
        "database_name": plan.database,
        "storage": plan.storage,
        "error_message": error_message,
    }


def _fail(
    runtime: BackupRuntime,
    plan: BackupPlan,
    message: str,
    storage: Storage | None,
    outcome: DumpOutcome | None,
) -> None:
    if storage is not None and outcome is not None:
        _delete_artifact(plan, storage, outcome)  # an unproven artifact must not look usable
    error_message = runtime.redact(message)[-4000:]
    values = {
        "status": "failed",
        "phase": "failed",
        "backup_completed_at": utcnow(),
        "error_message": error_message,
        "eta_seconds": None,
        "verification_status": "failed" if outcome is not None else "not_verified",
    }
    within = SHUTDOWN_WRITE_SECONDS if message == SHUTDOWN_REASON else runtime.final_write_seconds
    notice = StagedNotice("backup_failed", _notice(plan, error_message))
    written = write_final(runtime, plan, values, within=within, notice=notice)
    if written is Written.NOT_OURS:
        return  # whoever took the row over failed it and staged its notice
    telemetry.record_failure(plan, dumped=outcome is not None)
    # Unwritten (the database stayed down), the row's lease lapses and the sweep that fails
    # it stages the notice; written, the notice is in the outbox and goes out now.
    if written is Written.WRITTEN:
        _deliver_notices(runtime, plan, backlog=message != SHUTDOWN_REASON)


def _deliver_notices(runtime: BackupRuntime, plan: BackupPlan, *, backlog: bool) -> None:
    """Deliver this backup's notice; when integrations took it, also the due ones an earlier
    outage left (not while the process is stopping: the grace period is for this job)."""
    if runtime.notifier is None:
        return
    done = runtime.notifier.deliver(backup_id=plan.backup_id)
    _log.info("backup %s notice: %s", plan.backup_id, done)
    if backlog and done.delivered:
        runtime.notifier.deliver()


def fail_unstarted(runtime: BackupRuntime, plan: BackupPlan, message: str) -> None:
    """Fail a queued backup that could not be started (its Kubernetes Job was refused)."""
    _fail(runtime, plan, message, None, None)


def _delete_artifact(plan: BackupPlan, storage: Storage, outcome: DumpOutcome) -> None:
    try:
        storage.delete(outcome.location)
    except StorageError:
        _log.warning("could not remove the artifact of failed backup %s", plan.backup_id)
