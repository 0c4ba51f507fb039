"""A job's last word on its row: only while it owns the row, retried while the database is down."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from services.backups.leases import held_by
from services.backups.runtime import BackupRuntime
from services.backups.verification.step import BackupPlan
from shared.models import BackupLog, BackupSchedule

_log = logging.getLogger(__name__)
_FIRST_RETRY_SECONDS = 0.5
_LONGEST_RETRY_SECONDS = 5.0


class Written(Enum):
    """How a final status write ended."""

    WRITTEN = "written"
    NOT_OURS = "not ours"  # the lease was taken over (the sweep failed the row meanwhile)
    UNREACHABLE = "unreachable"  # the database stayed down past the bound (logged at ERROR)


@dataclass(frozen=True)
class StagedNotice:
    """A notice that goes into the outbox with the final status (one transaction)."""

    kind: str  # backup_failed or backup_warning (backup_verified follows from the status)
    backup: dict[str, Any]  # what the notice says about the backup
    warning: str = ""


def write_final(
    runtime: BackupRuntime,
    plan: BackupPlan,
    values: dict[str, Any],
    *,
    within: float,
    notice: StagedNotice | None = None,
) -> Written:
    """Write `values` (status and the rest) if the row is still this job's, with its schedule
    and its notices: a final status never exists without the notices it owes, nor the reverse
    (`notice`, and backup_verified for a success whose verification passed).

    A database that is down is retried with backoff for `within` seconds: a failed backup
    must not stay in_progress because the failure was the database going away.
    """
    deadline = time.monotonic() + within
    delay = _FIRST_RETRY_SECONDS
    while True:
        try:
            return _write_owned(runtime, plan, values, notice)
        except SQLAlchemyError as exc:
            if time.monotonic() + delay > deadline:
                _log.error(
                    "backup %s: its final status %s could not be written (%s); the lease "
                    "will lapse and the next run-due fails the row",
                    plan.backup_id,
                    values.get("status"),
                    type(exc).__name__,
                )
                return Written.UNREACHABLE
            time.sleep(delay)
            delay = min(delay * 2, _LONGEST_RETRY_SECONDS)


def _write_owned(
    runtime: BackupRuntime, plan: BackupPlan, values: dict[str, Any], notice: StagedNotice | None
) -> Written:
    with runtime.session_factory.begin() as session:
        result = session.execute(
            update(BackupLog)
            .where(*held_by(plan.backup_id, plan.lease_owner))
            .values(**values, lease_expires_at=None)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return Written.NOT_OURS
        if plan.schedule_id is not None:
            session.execute(
                update(BackupSchedule)
                .where(BackupSchedule.id == plan.schedule_id)
                .values(last_status=values["status"])
            )
        if runtime.notifier is not None:
            for owed in _owed_notices(plan, values, notice):
                runtime.notifier.stage(
                    session, backup=owed.backup, kind=owed.kind, warning=owed.warning
                )
    return Written.WRITTEN


def _owed_notices(
    plan: BackupPlan, values: dict[str, Any], notice: StagedNotice | None
) -> list[StagedNotice]:
    """The caller's notice and, for a success whose verification passed, backup_verified."""
    owed = [notice] if notice is not None else []
    if values.get("status") == "succeeded" and values.get("verification_status") == "passed":
        owed.append(StagedNotice("backup_verified", _verified_notice(plan, values)))
    return owed


def failure_notice(row: BackupLog, error_message: str) -> dict[str, Any]:
    """What a failure event says about a backup failed on its job's behalf (shutdown, sweep)."""
    return {
        "id": row.id,
        "backup_type": row.backup_type,
        "database_name": row.database_name,
        "storage": row.storage,
        "error_message": error_message,
    }


def _verified_notice(plan: BackupPlan, values: dict[str, Any]) -> dict[str, Any]:
    """What a backup_verified event says: the backup, and how it was proven restorable."""
    return {
        "id": plan.backup_id,
        "backup_type": plan.backup_type,
        "database_name": plan.database,
        "storage": plan.storage,
        "verify_mode": plan.verify,
        "file_size_bytes": values.get("file_size_bytes"),
    }
