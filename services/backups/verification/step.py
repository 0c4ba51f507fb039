"""Proving a fresh backup good before it is reported usable: checksum, then restore if asked."""

from __future__ import annotations

from dataclasses import dataclass

from services.backups.adapters import mariadb_inventory as inventory
from services.backups.adapters.storage import LocalStorage, Storage
from services.backups.dump.outcome import DumpOutcome
from services.backups.dump.progress import Progress, ProgressCallback, ProgressTracker
from services.backups.dump.sqlite_backup import verify_sqlite_restore
from services.backups.runtime import BackupRuntime
from services.backups.verification.checks import (
    VerificationResult,
    verify_by_restore,
    verify_checksum,
)


class VerificationFailed(Exception):
    """The artifact was written but could not be proven good."""


@dataclass(frozen=True)
class BackupPlan:
    """What one backup_log row asks for, read once at the start of the job."""

    backup_id: str
    backup_type: str
    database: str
    storage: str
    compression: str
    verify: str
    schedule_id: str | None
    lease_owner: str = ""  # the job run that holds the row's lease (backup_log.lease_owner)


def verify_backup(
    *,
    runtime: BackupRuntime,
    plan: BackupPlan,
    storage: Storage,
    outcome: DumpOutcome,
    report: ProgressCallback,
) -> VerificationResult | None:
    """None when the plan asks for no verification; raises VerificationFailed on a bad artifact."""
    if plan.verify == "none":
        return None
    # A heartbeat keeps progress_updated_at fresh while a large artifact is re-read.
    heartbeat = ProgressTracker(report, phase="verifying-checksum").start()
    try:
        result = verify_checksum(
            storage=storage,
            location=outcome.location,
            codec=plan.compression,
            checksum_sha256=outcome.checksum_sha256,
            size_bytes=outcome.stored_bytes,
            artifact_format="sqlite" if runtime.is_sqlite else "sql",
        )
    finally:
        heartbeat.stop()
    if result.passed and plan.verify == "restore":
        report(Progress(phase="restore-verifying"))
        result = _restore_check(runtime, plan, storage, outcome, result, report)
    if not result.passed:
        raise VerificationFailed(f"verification ({result.mode}) failed: {_summary(result)}")
    return result


def _summary(result: VerificationResult) -> str:
    problems = result.details.get("problems") or [result.details.get("error", "unknown")]
    return "; ".join(str(p) for p in problems)[:1500]


def _restore_check(
    runtime: BackupRuntime,
    plan: BackupPlan,
    storage: Storage,
    outcome: DumpOutcome,
    checksum: VerificationResult,
    report: ProgressCallback,
) -> VerificationResult:
    if runtime.is_sqlite:
        assert isinstance(storage, LocalStorage)
        passed, details, seconds = verify_sqlite_restore(
            storage=storage,
            location=outcome.location,
            codec=plan.compression,
            expected_inventory=outcome.inventory,
        )
        result = VerificationResult(passed, "restore", details, restore_seconds=seconds)
    else:
        target = runtime.target(plan.database)
        volatile = inventory.changed_tables(outcome.inventory, inventory.take_inventory(target))
        result = verify_by_restore(
            server=target,
            storage=storage,
            location=outcome.location,
            codec=plan.compression,
            backup_id=plan.backup_id,
            expected_inventory=outcome.inventory,
            volatile=frozenset(volatile),
            expected_raw_bytes=outcome.raw_bytes,
            progress=report,
        )
    result.details["checksum"] = checksum.details
    return result
