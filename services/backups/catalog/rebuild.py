"""Rebuilding backup_log from the manifests in storage, after the database was lost."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.backups.adapters.storage import MANIFEST_SUFFIX, Storage, StorageError
from services.backups.jobs.manifest import ManifestInvalid, parse_manifest
from shared.models import BackupLog, BackupSchedule


@dataclass
class CatalogRebuild:
    """What one rebuild found in one storage: ids inserted or kept, locations skipped and why."""

    storage: str
    inserted: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """The figures the CLI prints."""
        return {
            "inserted": len(self.inserted),
            "existing": len(self.existing),
            "skipped": len(self.skipped),
        }


def rebuild_catalog(*, session: Session, storage: Storage) -> CatalogRebuild:
    """Insert a row for every manifest whose backup has none; rows that exist are untouched.

    A manifest is trusted only beside its artifact, at the size it records; the artifact's
    checksum is the next verification's to prove (POST /v1/backups/{id}/verify).
    """
    report = CatalogRebuild(storage.kind)
    manifests = [o.location for o in storage.list_objects() if o.location.endswith(MANIFEST_SUFFIX)]
    for manifest in manifests:
        artifact = manifest[: -len(MANIFEST_SUFFIX)]
        try:
            values = _checked(storage, artifact)
        except (ManifestInvalid, StorageError) as exc:
            report.skipped[manifest] = str(exc)
            continue
        if session.get(BackupLog, values["id"]) is not None:
            report.existing.append(values["id"])
            continue
        _insert(session, storage, artifact, values, report)
    return report


def _checked(storage: Storage, artifact: str) -> dict[str, Any]:
    data = storage.read_manifest(artifact)
    if data is None:
        raise ManifestInvalid("manifest disappeared while the catalog was rebuilt")
    values = parse_manifest(data)
    size = storage.size_of(artifact)
    if size is None:
        raise ManifestInvalid(f"artifact {artifact} is missing")
    if size != values["file_size_bytes"]:
        raise ManifestInvalid(
            f"artifact {artifact} holds {size} bytes, its manifest {values['file_size_bytes']}"
        )
    return values


def _insert(
    session: Session,
    storage: Storage,
    artifact: str,
    values: dict[str, Any],
    report: CatalogRebuild,
) -> None:
    # Where the artifact is now wins over where the manifest says it was written.
    fields = {k: v for k, v in values.items() if k not in ("location", "storage")}
    schedule_id = fields.pop("schedule_id")
    if schedule_id and session.get(BackupSchedule, schedule_id) is None:
        schedule_id = None  # the schedule was lost with the database: the backup stands alone
    row = BackupLog(
        **fields,
        schedule_id=schedule_id,
        status="succeeded",
        phase="done",
        storage=storage.kind,
        file_path=artifact,
        bytes_processed=fields.get("raw_size_bytes") or 0,
        bytes_stored=fields["file_size_bytes"],
        verification_details={"rebuilt_from_manifest": artifact + MANIFEST_SUFFIX},
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # another rebuild inserted it meanwhile
        session.rollback()
        report.existing.append(values["id"])
        return
    report.inserted.append(values["id"])
