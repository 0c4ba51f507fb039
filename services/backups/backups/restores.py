"""Restores of a backup into a database, run in the background with progress kept in memory."""

from __future__ import annotations

import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.backups.adapters import mariadb_inventory as inventory
from services.backups.adapters.sqlite_backup import restore_sqlite
from services.backups.adapters.storage import LocalStorage, StorageError
from services.backups.database_names import DatabaseNameRefused, check_database_name
from services.backups.mariadb_restore import Artifact, check_artifact, restore_to_database
from services.backups.pipeline import PipelineError
from services.backups.progress import Progress, ProgressCallback
from services.backups.runtime import BackupRuntime
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.models import BackupLog


@dataclass
class RestoreStatus:
    """One restore's state as GET shows it."""

    id: str
    backup_id: str
    target_database: str
    status: str = "running"  # running, succeeded, failed
    phase: str = "queued"
    bytes_processed: int = 0
    rate_bytes_per_s: float = 0.0
    eta_seconds: float | None = None
    restore_seconds: float | None = None
    error_message: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """For the response schema."""
        return asdict(self)


class RestoreRegistry:
    """In-process record of restores (one replica runs a restore; its status lives there)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, RestoreStatus] = {}

    def add(self, status: RestoreStatus) -> None:
        with self._lock:
            self._items[status.id] = status

    def get(self, restore_id: str) -> RestoreStatus:
        with self._lock:
            if restore_id not in self._items:
                raise NotFound("restore", restore_id)
            return self._items[restore_id]


def prepare_restore(
    *, runtime: BackupRuntime, backup: BackupLog, target_database: str, replace: bool
) -> RestoreStatus:
    """Check the target before anything starts: a bad name is 422, an existing one 409."""
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
    return RestoreStatus(id=str(uuid.uuid4()), backup_id=backup.id, target_database=target_database)


def _target_exists(runtime: BackupRuntime, name: str) -> bool:
    if runtime.is_sqlite:
        return (runtime.folder / f"{name}.sqlite3").exists()
    return inventory.database_exists(runtime.target(None), name)


def run_restore(
    *, runtime: BackupRuntime, backup: dict[str, Any], status: RestoreStatus, replace: bool
) -> None:
    """Stream the artifact into the target; the status object carries progress and the end."""

    def report(progress: Progress) -> None:
        status.phase = progress.phase
        status.bytes_processed = progress.bytes_processed
        status.rate_bytes_per_s = progress.rate_bytes_per_s
        status.eta_seconds = progress.eta_seconds

    try:
        seconds = _restore(runtime, backup, status, replace, report)
        status.status, status.phase, status.restore_seconds = "succeeded", "done", seconds
    except (PipelineError, StorageError, OSError, ValueError) as exc:
        status.status, status.error_message = "failed", str(exc)[-2000:]
    except Exception:  # the status must end whatever happened
        status.status, status.error_message = "failed", "internal error during restore"
    finally:
        status.finished_at = datetime.now(UTC)
        if status.status == "failed":
            status.phase = "failed"


def _restore(
    runtime: BackupRuntime,
    backup: dict[str, Any],
    status: RestoreStatus,
    replace: bool,
    report: ProgressCallback,
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
            target_database=status.target_database,
            restore_id=status.id,
            replace=replace,
            progress=report,
        )
    assert isinstance(artifact.storage, LocalStorage)
    return restore_sqlite(  # written to a temp name and renamed: replaced whole or not at all
        storage=artifact.storage,
        location=artifact.location,
        codec=artifact.codec,
        target=Path(runtime.folder) / f"{status.target_database}.sqlite3",
        replace=replace,
    )
