"""What storage holds that no backup row vouches for: stale multipart uploads and orphan objects.

The rules, most careful first:
- an object a live row names (status not failed, not pruned) is never touched, nor its manifest;
- an object or upload of a backup whose row is in progress is left to its job;
- an object whose row says failed or pruned is garbage of that backup: always removed
  (a lost CompleteMultipartUpload answer leaves such an object);
- an object with a valid manifest but no row at all is a backup the catalog lost: reported as
  uncatalogued (run rebuild-catalog), never removed, not even with remove=True;
- anything else named like an artifact is an orphan: listed, removed only with remove=True;
- names that are not artifacts' (another tool's files, a SQLite restore) are never touched,
  and only this storage's prefix or folder is listed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.backups.adapters.storage import (
    MANIFEST_SUFFIX,
    META_BACKUP_ID,
    Storage,
    StorageError,
    StoredObject,
)
from services.backups.jobs.manifest import ManifestInvalid, parse_manifest
from services.backups.runtime import STALE_UPLOAD_AFTER
from shared.models import BackupLog

_log = logging.getLogger(__name__)
# runner.artifact_name: <database>-<type>-<UTC stamp>-<first 8 of the id>.<sql|sqlite3><ext>
ARTIFACT_NAME = re.compile(
    r"-(?:daily|weekly|monthly|manual|pre-migration)-\d{8}T\d{6}Z-([0-9a-f]{8})"
    r"\.(?:sql|sqlite3)(?:\.zst|\.gz)?$"
)


@dataclass
class StorageSweep:
    """What one sweep of one storage found and did (locations, for the operator to read)."""

    storage: str
    aborted_uploads: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    uncatalogued: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Rows:
    """The rows that name objects of this storage, by location key and by id."""

    by_key: dict[str, BackupLog]
    by_id: dict[str, BackupLog]

    def running_prefix(self, id8: str) -> bool:
        return any(i.startswith(id8) and r.status == "in_progress" for i, r in self.by_id.items())


def _live(row: BackupLog) -> bool:
    return row.status != "failed" and row.pruned_at is None


def sweep_storage(
    *,
    session: Session,
    storage: Storage,
    remove: bool = False,
    stale_after: timedelta = STALE_UPLOAD_AFTER,
    now: datetime | None = None,
) -> StorageSweep:
    """Abort stale or dead uploads, remove a failed backup's leftovers, list (or remove) orphans."""
    report = StorageSweep(storage.kind)
    rows = _rows(session, storage)
    try:
        _abort_uploads(storage, rows, report, (now or datetime.now(UTC)) - stale_after)
        objects = storage.list_objects()
    except StorageError as exc:
        report.errors.append(str(exc))
        return report
    artifacts = [o for o in objects if not o.location.endswith(MANIFEST_SUFFIX)]
    present = {_key(storage, o.location) for o in artifacts}
    for item in artifacts:
        _judge(storage, rows, item, remove, report)
    for item in objects:
        artifact = item.location[: -len(MANIFEST_SUFFIX)]
        if item.location.endswith(MANIFEST_SUFFIX) and _key(storage, artifact) not in present:
            _judge_lone_manifest(storage, rows, item, artifact, remove, report)
    return report


def _key(storage: Storage, location: str) -> str:
    # A local row's file_path may be relative or absolute; the folder holds names only.
    return PurePath(location).name if storage.kind == "local" else location


def _rows(session: Session, storage: Storage) -> _Rows:
    query = select(BackupLog).where(BackupLog.storage == storage.kind)
    rows = list(session.scalars(query))
    by_key = {_key(storage, r.file_path): r for r in rows if r.file_path}
    return _Rows(by_key=by_key, by_id={r.id: r for r in rows})


def _abort_uploads(storage: Storage, rows: _Rows, report: StorageSweep, before: datetime) -> None:
    for upload in storage.pending_uploads():
        match = ARTIFACT_NAME.search(upload.location)
        id8 = match.group(1) if match else None
        dead = id8 is not None and _ended(rows, id8)
        if upload.initiated.astimezone(UTC) >= before and not dead:
            continue  # young, and its backup may still be running
        try:
            storage.abort_upload(upload)
        except StorageError as exc:
            report.errors.append(f"upload of {upload.location} not aborted: {exc}")
            continue
        report.aborted_uploads.append(upload.location)


def _ended(rows: _Rows, id8: str) -> bool:
    """True when rows of `id8` exist and none runs (a dead job's upload)."""
    mine = [r for i, r in rows.by_id.items() if i.startswith(id8)]
    return bool(mine) and all(r.status != "in_progress" for r in mine)


def _judge(
    storage: Storage, rows: _Rows, item: StoredObject, remove: bool, report: StorageSweep
) -> None:
    named = rows.by_key.get(_key(storage, item.location))
    if named is not None and _live(named):
        return
    match = ARTIFACT_NAME.search(item.location)
    if match is None or rows.running_prefix(match.group(1)):
        return  # not an artifact's name, or its job is still running
    backup_id = _identity(storage, item.location)
    owner = rows.by_id.get(backup_id) if backup_id else named
    if owner is not None and not _live(owner):
        _remove(storage, item.location, report)  # a failed or pruned backup's leftover
    elif backup_id is not None and owner is None and _has_manifest(storage, item.location):
        report.uncatalogued.append(item.location)
    elif remove:
        _remove(storage, item.location, report)
    else:
        report.orphans.append(item.location)


def _judge_lone_manifest(
    storage: Storage,
    rows: _Rows,
    item: StoredObject,
    artifact: str,
    remove: bool,
    report: StorageSweep,
) -> None:
    named = rows.by_key.get(_key(storage, artifact))
    if named is not None and _live(named):
        return  # the row's artifact is gone; its manifest is evidence, kept
    if remove:
        _remove(storage, artifact, report, what=item.location)
    else:
        report.orphans.append(item.location)


def _identity(storage: Storage, location: str) -> str | None:
    """The backup id an object carries: its S3 metadata, else its manifest."""
    try:
        if backup_id := storage.metadata_of(location).get(META_BACKUP_ID):
            return backup_id
        data = storage.read_manifest(location)
        return str(parse_manifest(data)["id"]) if data is not None else None
    except (StorageError, ManifestInvalid):
        return None


def _has_manifest(storage: Storage, location: str) -> bool:
    try:
        data = storage.read_manifest(location)
        return data is not None and bool(parse_manifest(data))
    except (StorageError, ManifestInvalid):
        return False


def _remove(storage: Storage, location: str, report: StorageSweep, what: str = "") -> None:
    try:
        storage.delete(location)  # the artifact and its manifest
    except StorageError as exc:
        report.errors.append(f"{location} not removed: {exc}")
        return
    report.removed.append(what or location)
    _log.info("storage sweep removed %s", what or location)
