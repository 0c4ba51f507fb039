"""Re-checking an old backup's artifact on demand (pgBackRest's verify), result kept on the row."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.orm import Session

from services.backups.adapters.storage import LocalStorage, Storage, StorageError
from services.backups.dump.sqlite_backup import verify_sqlite_restore
from services.backups.jobs.manifest import write_manifest
from services.backups.runtime import BackupRuntime
from services.backups.verification.checks import (
    VerificationResult,
    verify_by_restore,
    verify_checksum,
)
from shared.errors import Conflict, ServiceUnavailable
from shared.models import BackupLog, utcnow

REVERIFY_MODES = ("checksum", "restore")


def reverify_backup(
    *, session: Session, runtime: BackupRuntime, backup: BackupLog, mode: str
) -> BackupLog:
    """Re-read the artifact (SHA-256, size, a complete stream); restore it too when asked.

    The result replaces the row's verification status; a missing artifact is recorded as a
    failed verification and answered 409 naming the key.
    """
    if backup.status != "succeeded" or not backup.file_path:
        raise Conflict(f"backup {backup.id} has status {backup.status}; it has no artifact")
    if backup.pruned_at is not None:
        raise Conflict(f"backup {backup.id} was removed by retention")
    storage = runtime.storage(backup.storage)
    try:
        size = storage.size_of(backup.file_path)
    except StorageError as exc:
        raise ServiceUnavailable(f"{backup.storage} storage did not answer: {exc}") from None
    if size is None:
        missing = f"artifact {backup.file_path} is missing from {backup.storage} storage"
        _record(session, backup, VerificationResult(False, "checksum", {"problems": [missing]}))
        raise Conflict(missing, backup_id=backup.id, key=backup.file_path)
    result = _checksum(storage, backup)
    if result.passed and mode == "restore":
        result = _restore(runtime, storage, backup, result)
    _record(session, backup, result)
    write_manifest(storage, backup)  # the manifest tells the same verification story
    return backup


def _checksum(storage: Storage, backup: BackupLog) -> VerificationResult:
    result = verify_checksum(
        storage=storage,
        location=backup.file_path or "",
        codec=backup.compression or "none",
        checksum_sha256=backup.checksum_sha256 or "",
        size_bytes=backup.file_size_bytes or 0,
        artifact_format="sqlite" if backup.backup_method == "sqlite-backup-api" else "sql",
    )
    if not result.passed and "sha256" not in result.details:
        # The stream broke before its end (a corrupt frame): say what the bytes hash to.
        result.details["problems"] = [*_stored_bytes_problems(storage, backup)]
    return result


def _stored_bytes_problems(storage: Storage, backup: BackupLog) -> list[str]:
    sha, size = hashlib.sha256(), 0
    try:
        for chunk in storage.read(backup.file_path or ""):
            sha.update(chunk)
            size += len(chunk)
    except StorageError as exc:
        return [f"artifact could not be read: {exc}"]
    problems = []
    if sha.hexdigest() != backup.checksum_sha256:
        problems.append(
            f"SHA-256 of the stored artifact is {sha.hexdigest()}, "
            f"{backup.checksum_sha256} recorded"
        )
    if size != backup.file_size_bytes:
        problems.append(f"stored size is {size} bytes, {backup.file_size_bytes} recorded")
    return problems


def _restore(
    runtime: BackupRuntime, storage: Storage, backup: BackupLog, checksum: VerificationResult
) -> VerificationResult:
    expected = backup.dump_inventory
    if not expected:  # a row rebuilt from an old manifest, or written before inventories
        checksum.details["restore_skipped"] = "no dump-time inventory to compare a restore with"
        return checksum
    if isinstance(storage, LocalStorage) and backup.backup_method == "sqlite-backup-api":
        passed, details, seconds = verify_sqlite_restore(
            storage=storage,
            location=backup.file_path or "",
            codec=backup.compression or "none",
            expected_inventory=expected,
        )
        result = VerificationResult(passed, "restore", details, restore_seconds=seconds)
    else:
        earlier = backup.verification_details or {}
        result = verify_by_restore(
            server=runtime.target(backup.database_name),
            storage=storage,
            location=backup.file_path or "",
            codec=backup.compression or "none",
            backup_id=backup.id,
            expected_inventory=expected,
            volatile=frozenset(earlier.get("changed_during_dump") or ()),
            expected_raw_bytes=backup.raw_size_bytes,
        )
    result.details["checksum"] = checksum.details
    return result


def _record(session: Session, backup: BackupLog, result: VerificationResult) -> None:
    details: dict[str, Any] = {**result.details, "mode": result.mode, "reverified": True}
    details.pop("restored_fingerprint", None)  # the dump-time fingerprint stays the reference
    earlier = backup.verification_details or {}
    for kept in ("warnings", "changed_during_dump"):
        if kept in earlier:
            details[kept] = earlier[kept]
    backup.verification_status = "passed" if result.passed else "failed"
    backup.verification_details = details
    backup.verified_at = utcnow()
    if result.restore_seconds is not None:
        backup.restore_seconds = result.restore_seconds
    session.commit()
