"""Each artifact's sidecar manifest: what the backup was, enough to rebuild its backup_log row."""

from __future__ import annotations

import json
import logging
import math
import uuid
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

from services.backups.adapters.storage import MANIFEST_MAX_BYTES, Storage, StorageError
from shared.models import BackupLog
from shared.models.backups import (
    BACKUP_TYPES,
    COMPRESSIONS,
    STORAGES,
    VERIFICATION_STATUSES,
    VERIFY_MODES,
)

_log = logging.getLogger(__name__)
MANIFEST_FORMAT = "msp-backups/manifest-v1"
# The row's columns a manifest carries (dates as ISO 8601 UTC), beside its format and location.
FIELDS = (
    "id",
    "schedule_id",
    "backup_type",
    "backup_method",
    "database_host",
    "database_name",
    "storage",
    "compression",
    "checksum_sha256",
    "file_size_bytes",
    "raw_size_bytes",
    "server_version",
    "binlog_position",
    "pinned",
    "verify_mode",
    "verification_status",
    "verified_at",
    "restore_seconds",
    "created_at",
    "backup_started_at",
    "backup_completed_at",
)
_DATES = ("verified_at", "created_at", "backup_started_at", "backup_completed_at")
_CHOICES = {
    "backup_type": BACKUP_TYPES,
    "storage": STORAGES,
    "compression": COMPRESSIONS,
    "verification_status": VERIFICATION_STATUSES,
    "verify_mode": VERIFY_MODES,
}
_IDS = ("id", "schedule_id")
_BIGINT_MAX = 2**63 - 1


class ManifestInvalid(ValueError):
    """A manifest that cannot be trusted to rebuild a row; the message says why."""


def manifest_of(row: BackupLog) -> bytes:
    """The manifest of a succeeded backup's artifact, as JSON bytes."""
    body: dict[str, Any] = {"format": MANIFEST_FORMAT}
    for name in FIELDS:
        value = getattr(row, name)
        body[name] = value.isoformat() if isinstance(value, datetime) else value
    # A file's name only: the folder may be mounted elsewhere when the catalog is rebuilt.
    location = row.file_path or ""
    body["location"] = PurePath(location).name if row.storage == "local" else location
    body["verification_mode"] = (row.verification_details or {}).get("mode") or row.verify_mode
    # What a later restore verification compares with (tables, routines, fingerprints).
    body["dump_inventory"] = row.dump_inventory
    return json.dumps(body, indent=2, sort_keys=True).encode()


def write_manifest(storage: Storage, row: BackupLog) -> bool:
    """Write (or rewrite) the manifest beside the row's artifact; False (logged) if it failed.

    A manifest is a copy of the row for disaster recovery: failing to write one never fails
    a backup whose row says it succeeded.
    """
    if not row.file_path:
        return False
    try:
        storage.write_manifest(row.file_path, manifest_of(row))
    except (StorageError, OSError) as exc:
        _log.warning("manifest of backup %s not written: %s", row.id, exc)
        return False
    return True


def parse_manifest(data: bytes) -> dict[str, Any]:
    """A manifest's fields as row values (dates parsed), or ManifestInvalid naming the problem."""
    if len(data) > MANIFEST_MAX_BYTES:
        raise ManifestInvalid("manifest is larger than 1 MiB")
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestInvalid(f"manifest is not JSON: {exc}") from None
    if not isinstance(body, dict) or body.get("format") != MANIFEST_FORMAT:
        raise ManifestInvalid(f"manifest format is not {MANIFEST_FORMAT}")
    values = {name: body.get(name) for name in FIELDS}
    for name in ("id", "database_name", "checksum_sha256", "file_size_bytes"):
        if values[name] in (None, ""):
            raise ManifestInvalid(f"manifest has no {name}")
    for name, allowed in _CHOICES.items():
        if values[name] is not None and values[name] not in allowed:
            raise ManifestInvalid(f"manifest {name} {values[name]!r} is not one of {allowed}")
    for name in _DATES:
        values[name] = _date(name, values[name])
    for name in FIELDS:
        if name not in _DATES and values[name] is not None:
            _check_column(name, values[name])
    values["location"] = body.get("location")
    inventory = body.get("dump_inventory")
    values["dump_inventory"] = inventory if isinstance(inventory, dict) else None
    return values


def _date(name: str, value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
        # Written from UTC columns: a time without an offset is UTC.
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ManifestInvalid(f"manifest {name} is not an ISO 8601 time") from None
    if not 1000 <= moment.year <= 9999:  # what a MariaDB DATETIME holds
        raise ManifestInvalid(f"manifest {name} is out of range")
    return moment


def _check_column(name: str, value: Any) -> None:
    """`value` fits backup_log's column `name` as it is (no coercion, nothing cut short)."""
    python_type = BackupLog.__table__.c[name].type.python_type
    if name in _IDS:
        if not isinstance(value, str) or str(_uuid_or_none(value)) != value:
            raise ManifestInvalid(f"manifest {name} is not a UUID")
    elif python_type is bool:
        if not isinstance(value, bool):
            raise ManifestInvalid(f"manifest {name} is not true or false")
    elif python_type is int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _BIGINT_MAX:
            raise ManifestInvalid(f"manifest {name} is not a size")
    elif python_type is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
            raise ManifestInvalid(f"manifest {name} is not a number of seconds")
    elif python_type is str:
        length = BackupLog.__table__.c[name].type.length  # type: ignore[attr-defined]
        if not isinstance(value, str) or (length is not None and len(value) > length):
            raise ManifestInvalid(f"manifest {name} is not a text of at most {length} characters")


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _finite(value: float) -> bool:
    return math.isfinite(value) and value >= 0


def record_manifest(session_factory: Any, storage: Storage, backup_id: str) -> bool:
    """Write the manifest of the committed row `backup_id` (its final values, re-read)."""
    with session_factory() as session:
        row = session.get(BackupLog, backup_id)
        return row is not None and write_manifest(storage, row)
