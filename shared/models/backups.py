"""Tables of the backups service: every backup, the schedules that make them, every restore."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, TimestampMixin, enum_check, utcnow, uuid_pk

BACKUP_TYPES = ("daily", "weekly", "monthly", "manual", "pre-migration")
BACKUP_STATUSES = ("in_progress", "succeeded", "failed")
STORAGES = ("local", "s3")
COMPRESSIONS = ("zstd", "gzip", "none")
VERIFICATION_STATUSES = ("passed", "failed", "not_verified")
VERIFY_MODES = ("none", "checksum", "restore")
RESTORE_STATUSES = ("running", "succeeded", "failed")
# Whether a backup's notices reached the integrations service (NULL: none due); with several
# (a warning and a verified one), the worst of them: failed, then pending, then delivered.
NOTICE_STATUSES = ("pending", "delivered", "failed")
NOTICE_KINDS = ("backup_failed", "backup_warning", "backup_verified")


class BackupSchedule(TimestampMixin, Base):
    """When and how a database is backed up, and how many copies are kept (GFS)."""

    __tablename__ = "backup_schedules"
    __table_args__ = (
        CheckConstraint(enum_check("backup_type", BACKUP_TYPES), name="backup_type"),
        CheckConstraint(enum_check("storage", STORAGES), name="storage"),
        CheckConstraint(enum_check("compression", COMPRESSIONS), name="compression"),
        CheckConstraint(enum_check("verify_mode", VERIFY_MODES), name="verify_mode"),
        CheckConstraint("keep_daily >= 0 AND keep_weekly >= 0 AND keep_monthly >= 0", name="keep"),
    )

    id: Mapped[str] = uuid_pk()
    name: Mapped[str] = mapped_column(String(100), unique=True)
    backup_type: Mapped[str] = mapped_column(String(20), default="daily")
    cron_expression: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    database_name: Mapped[str | None] = mapped_column(String(64))
    storage: Mapped[str] = mapped_column(String(10), default="local")
    compression: Mapped[str] = mapped_column(String(10), default="zstd")
    verify_mode: Mapped[str] = mapped_column(String(10), default="checksum")
    keep_daily: Mapped[int] = mapped_column(default=7)
    keep_weekly: Mapped[int] = mapped_column(default=4)
    keep_monthly: Mapped[int] = mapped_column(default=6)
    is_enabled: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    last_run_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(20))
    locked_until: Mapped[datetime | None]


class BackupLog(Base):
    """One backup: what was dumped, where it went, and whether it was proven restorable."""

    __tablename__ = "backup_log"
    __table_args__ = (
        CheckConstraint(enum_check("backup_type", BACKUP_TYPES), name="backup_type"),
        CheckConstraint(enum_check("status", BACKUP_STATUSES), name="status"),
        CheckConstraint(enum_check("storage", STORAGES), name="storage"),
        CheckConstraint(
            enum_check("verification_status", VERIFICATION_STATUSES), name="verification_status"
        ),
        Index(None, "backup_type"),
        Index(None, "backup_completed_at"),
        Index(None, "verification_status"),
        Index(None, "status", "lease_expires_at"),
        CheckConstraint(enum_check("notice_status", NOTICE_STATUSES), name="notice_status"),
        Index(None, "notice_status"),
    )

    id: Mapped[str] = uuid_pk()
    schedule_id: Mapped[str | None] = mapped_column(
        CHAR(36), ForeignKey("backup_schedules.id", ondelete="SET NULL"), index=True
    )
    backup_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="in_progress")
    backup_method: Mapped[str] = mapped_column(String(30), default="mysqldump")
    database_host: Mapped[str | None]
    database_name: Mapped[str | None] = mapped_column(String(64))
    storage: Mapped[str] = mapped_column(String(10), default="local")
    file_path: Mapped[str | None] = mapped_column(String(1000))
    file_size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    raw_size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    compression: Mapped[str | None] = mapped_column(String(10))
    checksum_sha256: Mapped[str | None] = mapped_column(CHAR(64))
    phase: Mapped[str | None] = mapped_column(String(30))
    bytes_processed: Mapped[int] = mapped_column(BigInteger, default=0)
    current_table: Mapped[str | None] = mapped_column(String(128))
    bytes_stored: Mapped[int] = mapped_column(BigInteger, default=0)
    rate_bytes_per_s: Mapped[float | None]
    eta_seconds: Mapped[float | None]
    progress_updated_at: Mapped[datetime | None]
    # The job that owns the row, and until when: its heartbeat renews the lease in every phase,
    # and only an expired lease lets the sweep fail the row (migration 0012).
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    # Objects, row counts and CHECKSUM TABLE at dump time; restore verification compares with it.
    # Deferred: lists, polls and retention never read it, and it grows with the table count.
    dump_inventory: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    pinned: Mapped[bool] = mapped_column(default=False)
    # Retention removed the artifact; the row stays as the audit record of the prune.
    pruned_at: Mapped[datetime | None]
    binlog_position: Mapped[str | None]
    server_version: Mapped[str | None] = mapped_column(String(100))
    restore_seconds: Mapped[float | None]
    backup_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    backup_completed_at: Mapped[datetime | None]
    verification_status: Mapped[str] = mapped_column(String(20), default="not_verified")
    verification_details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    verified_at: Mapped[datetime | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    # What the request asked to verify: a Kubernetes Job runs the row, not the request (0016).
    verify_mode: Mapped[str | None] = mapped_column(String(10))
    # Its notices (backup_notices), the worst of them: pending until integrations has them.
    notice_status: Mapped[str | None] = mapped_column(String(20))
    notice_attempts: Mapped[int] = mapped_column(default=0)
    notice_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def calculate_duration(self) -> float | None:
        """Seconds from start to completion, or None while it runs (computed, never stored)."""
        if self.backup_completed_at is None:
            return None
        return (self.backup_completed_at - self.backup_started_at).total_seconds()


class RestoreLog(Base):
    """One restore of a backup into a database: who asked, its progress and how it ended.

    A row, not a worker's memory: any worker or replica answers a poll of any restore.
    """

    __tablename__ = "restore_log"
    __table_args__ = (
        CheckConstraint(enum_check("status", RESTORE_STATUSES), name="status"),
        Index(None, "backup_id", "started_at"),
    )

    id: Mapped[str] = uuid_pk()
    backup_id: Mapped[str] = mapped_column(CHAR(36), ForeignKey("backup_log.id"))
    target_database: Mapped[str] = mapped_column(String(64))
    replace: Mapped[bool] = mapped_column(default=False)
    requested_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="running")
    phase: Mapped[str] = mapped_column(String(30), default="queued")
    bytes_processed: Mapped[int] = mapped_column(BigInteger, default=0)
    rate_bytes_per_s: Mapped[float] = mapped_column(default=0.0)
    eta_seconds: Mapped[float | None]
    restore_seconds: Mapped[float | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    # "sent" or "failed: <reason>": whether the integrations audit heard of the result.
    notice: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    progress_updated_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class BackupNotice(Base):
    """The outbox of failure, warning and verified notices: written with the backup's final status,
    delivered after the commit and retried with backoff until integrations has it.

    `requests` holds the exact bodies and Idempotency-Keys sent, so a retry is the same
    request and integrations records the event (and opens the ticket) once.
    """

    __tablename__ = "backup_notices"
    __table_args__ = (
        CheckConstraint(enum_check("kind", NOTICE_KINDS), name="kind"),
        CheckConstraint(enum_check("status", NOTICE_STATUSES), name="status"),
        UniqueConstraint("backup_id", "kind"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[str] = uuid_pk()
    backup_id: Mapped[str] = mapped_column(
        CHAR(36), ForeignKey("backup_log.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(20))
    requests: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # How many of `requests` integrations has accepted (a retry sends only the rest).
    parts_done: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
