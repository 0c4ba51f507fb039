"""Use cases of the backup log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import BackupLog
from shared.pagination import Page, keyset_page


def list_backups(
    *, session: Session, backup_type: str | None = None, status: str | None = None,
    verification_status: str | None = None, cursor: str | None = None, limit: int = 50,
) -> Page[BackupLog]:
    """Newest first, filtered by type, status and verification."""
    query = select(BackupLog)
    if backup_type:
        query = query.where(BackupLog.backup_type == backup_type)
    if status:
        query = query.where(BackupLog.status == status)
    if verification_status:
        query = query.where(BackupLog.verification_status == verification_status)
    return keyset_page(
        session=session, query=query, sort=BackupLog.backup_started_at, tiebreak=BackupLog.id,
        descending=True, cursor=cursor, limit=limit,
    )
