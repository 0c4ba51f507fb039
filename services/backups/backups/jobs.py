"""Running one backup to the end: dump, verify, record, notify. Runs outside any request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from services.backups.adapters.compression import EXTENSIONS
from services.backups.adapters.sqlite_backup import (
    SQLiteBackupError,
    run_sqlite_backup,
    sqlite_path_from_url,
)
from services.backups.adapters.storage import LocalStorage, Storage, StorageError
from services.backups.backups.verify_step import BackupPlan, VerificationFailed, verify_backup
from services.backups.pipeline import PipelineError, run_mariadb_backup
from services.backups.progress import Progress
from services.backups.runtime import BackupRuntime
from services.backups.schedules.retention_job import apply_schedule_retention
from services.backups.verification import VerificationResult
from shared.models import BackupLog, BackupSchedule, utcnow
from shared.observability import log_current_exception
from shared.redaction import REDACTED, redact_text

_log = logging.getLogger(__name__)
__all__ = ["BackupPlan", "VerificationFailed", "run_backup_job", "write_progress"]
SIZE_ANOMALY_RATIO = 0.5


def artifact_name(plan: BackupPlan, *, sqlite: bool) -> str:
    """<database>-<type>-<UTC time>-<id8>.<sql|sqlite3><.zst|.gz>."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    body = "sqlite3" if sqlite else "sql"
    name = Path(plan.database).name or "database"
    suffix = EXTENSIONS[plan.compression]
    return f"{name}-{plan.backup_type}-{stamp}-{plan.backup_id[:8]}.{body}{suffix}"


def write_progress(runtime: BackupRuntime, backup_id: str, progress: Progress) -> None:
    """Persist one progress snapshot in its own short transaction."""
    with runtime.session_factory() as session:
        session.execute(
            update(BackupLog)
            .where(BackupLog.id == backup_id, BackupLog.status == "in_progress")
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
        session.commit()


def _schedule_status(runtime: BackupRuntime, plan: BackupPlan, status: str) -> None:
    if plan.schedule_id is None:
        return
    with runtime.session_factory() as session:
        session.execute(
            update(BackupSchedule)
            .where(BackupSchedule.id == plan.schedule_id)
            .values(last_status=status)
        )
        session.commit()


def _update(runtime: BackupRuntime, backup_id: str, **values: Any) -> None:
    with runtime.session_factory() as session:
        session.execute(update(BackupLog).where(BackupLog.id == backup_id).values(**values))
        session.commit()


def run_backup_job(*, runtime: BackupRuntime, plan: BackupPlan) -> None:
    """Take, verify and record one backup; any failure ends as status=failed, never silently."""
    storage: Storage | None = None
    outcome: dict[str, Any] | None = None
    try:
        storage = runtime.storage(plan.storage)
        report = partial(write_progress, runtime, plan.backup_id)
        previous = _previous_good(runtime, plan)  # sizes the upload and judges the result
        outcome = _take(runtime, plan, storage, report, previous)
        _record_dump(runtime, plan, outcome)
        result = verify_backup(
            runtime=runtime, plan=plan, storage=storage, outcome=outcome, report=report
        )
        _finish(runtime, plan, outcome, result, previous)
        _schedule_status(runtime, plan, "succeeded")
    except (PipelineError, SQLiteBackupError, StorageError, VerificationFailed) as exc:
        _fail(runtime, plan, str(exc), storage, outcome)
    except Exception:  # the row must not stay in_progress whatever went wrong
        log_current_exception(_log, "backup %s crashed", plan.backup_id)
        _fail(runtime, plan, "internal error while taking the backup", storage, outcome)


def _take(
    runtime: BackupRuntime,
    plan: BackupPlan,
    storage: Storage,
    report: Callable[[Progress], None],
    previous: BackupLog | None,
) -> dict[str, Any]:
    name = artifact_name(plan, sqlite=runtime.is_sqlite)
    if runtime.is_sqlite:
        if not isinstance(storage, LocalStorage):
            raise StorageError("the embedded SQLite default backs up to the local folder only")
        source = sqlite_path_from_url(runtime.source_url)
        return run_sqlite_backup(
            level=runtime.level(plan.compression),
            source=source,
            storage=storage,
            artifact_name=name,
            codec=plan.compression,
            progress=report,
        )
    target = runtime.target(plan.database)
    dumped = run_mariadb_backup(
        target=target,
        storage=storage,
        artifact_name=name,
        codec=plan.compression,
        level=runtime.level(plan.compression),
        progress=report,
        expected_bytes=previous.raw_size_bytes if previous else None,
        progress_interval=runtime.progress_interval,
        fingerprint_tables=plan.verify == "restore",
    )
    return dict(vars(dumped))


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


def _record_dump(runtime: BackupRuntime, plan: BackupPlan, outcome: dict[str, Any]) -> None:
    _update(
        runtime,
        plan.backup_id,
        phase="verifying" if plan.verify != "none" else "recording",
        file_path=outcome["location"],
        file_size_bytes=outcome["stored_bytes"],
        raw_size_bytes=outcome["raw_bytes"],
        checksum_sha256=outcome["checksum_sha256"],
        server_version=(outcome.get("server_version") or "")[:100] or None,
        binlog_position=outcome.get("binlog_position"),
        dump_inventory=outcome.get("inventory"),
        bytes_processed=outcome["raw_bytes"],
        bytes_stored=outcome["stored_bytes"],
        eta_seconds=0.0,
    )


def _finish(
    runtime: BackupRuntime,
    plan: BackupPlan,
    outcome: dict[str, Any],
    result: VerificationResult | None,
    previous: BackupLog | None,
) -> None:
    details: dict[str, Any] = dict(result.details) if result else {}
    warnings = list(outcome.get("warnings") or [])
    if warning := _size_warning(previous, outcome):
        warnings.append(warning)
    if warnings:
        details["warnings"] = warnings
    now = utcnow()
    _update(
        runtime,
        plan.backup_id,
        status="succeeded",
        phase="done",
        backup_completed_at=now,
        verification_status="passed" if result else "not_verified",
        verification_details=details or None,
        verified_at=now if result else None,
        restore_seconds=result.restore_seconds if result else None,
        bytes_processed=outcome["raw_bytes"],
        bytes_stored=outcome["stored_bytes"],
        current_table=None,
        rate_bytes_per_s=_dump_rate(outcome),
        eta_seconds=0.0,
        progress_updated_at=now,
    )
    if warnings and runtime.notifier is not None:
        notice = "; ".join(warnings)
        runtime.notifier.backup_warning(backup=_as_dict(runtime, plan.backup_id), warning=notice)
    if plan.schedule_id and result is not None:
        apply_schedule_retention(runtime=runtime, schedule_id=plan.schedule_id)


def _dump_rate(outcome: dict[str, Any]) -> float | None:
    seconds = outcome.get("seconds")
    return round(outcome["raw_bytes"] / seconds, 1) if seconds else None


def _size_warning(previous: BackupLog | None, outcome: dict[str, Any]) -> str | None:
    if previous is None or not previous.raw_size_bytes:
        return None
    ratio = outcome["raw_bytes"] / previous.raw_size_bytes
    if ratio >= SIZE_ANOMALY_RATIO:
        return None
    return (
        f"dump is {ratio:.0%} of the previous good backup {previous.id} "
        f"({outcome['raw_bytes']} vs {previous.raw_size_bytes} bytes of SQL)"
    )


def _as_dict(runtime: BackupRuntime, backup_id: str) -> dict[str, Any]:
    with runtime.session_factory() as session:
        row = session.get(BackupLog, backup_id)
        assert row is not None
        return {
            c: getattr(row, c)
            for c in ("id", "backup_type", "database_name", "storage", "error_message")
        }


def _fail(
    runtime: BackupRuntime,
    plan: BackupPlan,
    message: str,
    storage: Storage | None,
    outcome: dict[str, Any] | None,
) -> None:
    if storage is not None and outcome is not None:
        try:
            storage.delete(outcome["location"])  # an unproven artifact must not look usable
        except StorageError:
            _log.warning("could not remove the artifact of failed backup %s", plan.backup_id)
    _update(
        runtime,
        plan.backup_id,
        status="failed",
        phase="failed",
        backup_completed_at=utcnow(),
        error_message=_redact(runtime, message)[-4000:],
        eta_seconds=None,
        verification_status="failed" if outcome is not None else "not_verified",
    )
    _schedule_status(runtime, plan, "failed")
    if runtime.notifier is not None:
        outcome_of_notice = runtime.notifier.backup_failed(backup=_as_dict(runtime, plan.backup_id))
        _log.info("backup %s failure reported: %s", plan.backup_id, outcome_of_notice)


def _redact(runtime: BackupRuntime, message: str) -> str:
    """The shared secret patterns, plus the source's own password in whatever form it shows."""
    password = runtime.target(None).password if not runtime.is_sqlite else None
    message = message.replace(password, REDACTED) if password else message
    return redact_text(message)
