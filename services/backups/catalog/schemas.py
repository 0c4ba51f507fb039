"""Marshmallow schemas of the backup log and restores."""

from __future__ import annotations

import marshmallow as ma

from services.backups.database_names import PATTERN, DatabaseNameRefused, check_database_name
from shared.models.backups import (
    BACKUP_STATUSES,
    BACKUP_TYPES,
    COMPRESSIONS,
    NOTICE_STATUSES,
    STORAGES,
    VERIFICATION_STATUSES,
    VERIFY_MODES,
)
from shared.web import Flag, Id, PageArgsSchema, Schema, Text, page_schema


class PlainDatabaseName(ma.validate.Regexp):
    """The one database-name rule (services.backups.database_names) as a schema validator.

    A Regexp only so that the OpenAPI document shows the pattern; the check is the rule's.
    """

    def __init__(self) -> None:
        super().__init__(f"^{PATTERN}$")

    def __call__(self, value: str) -> str:  # type: ignore[override]
        try:
            return check_database_name(value)
        except DatabaseNameRefused as exc:
            raise ma.ValidationError(str(exc)) from None


# Every field naming a database, source or target, validates with this one.
DATABASE_NAME = PlainDatabaseName()


class BackupLogSchema(Schema):
    id = ma.fields.String(dump_only=True)
    schedule_id = ma.fields.String(allow_none=True)
    backup_type = ma.fields.String()
    status = ma.fields.String()
    backup_method = ma.fields.String()
    database_host = ma.fields.String(allow_none=True)
    database_name = ma.fields.String(allow_none=True)
    storage = ma.fields.String()
    file_path = ma.fields.String(allow_none=True, metadata={"description": "path or object key"})
    file_size_bytes = ma.fields.Integer(allow_none=True)
    raw_size_bytes = ma.fields.Integer(allow_none=True)
    compression = ma.fields.String(allow_none=True)
    checksum_sha256 = ma.fields.String(allow_none=True)
    phase = ma.fields.String(allow_none=True)
    bytes_processed = ma.fields.Integer()
    bytes_stored = ma.fields.Integer()
    current_table = ma.fields.String(allow_none=True)
    rate_bytes_per_s = ma.fields.Float(allow_none=True)
    eta_seconds = ma.fields.Float(allow_none=True)
    progress_updated_at = ma.fields.DateTime(allow_none=True)
    # Renewed by the job's heartbeat; once it is past, run-due fails the backup as abandoned.
    lease_expires_at = ma.fields.DateTime(allow_none=True)
    pinned = Flag()
    pruned_at = ma.fields.DateTime(allow_none=True)
    binlog_position = ma.fields.String(allow_none=True)
    server_version = ma.fields.String(allow_none=True)
    restore_seconds = ma.fields.Float(allow_none=True)
    backup_started_at = ma.fields.DateTime()
    backup_completed_at = ma.fields.DateTime(allow_none=True)
    duration_seconds = ma.fields.Method("_duration", allow_none=True)
    verification_status = ma.fields.String()
    verification_details = ma.fields.Raw(allow_none=True)
    verified_at = ma.fields.DateTime(allow_none=True)
    error_message = ma.fields.String(allow_none=True)
    verify_mode = ma.fields.String(allow_none=True)
    notice_status = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "the notices to integrations (failure, warning, verified), the worst "
            "of them: pending, delivered or failed (given up after its last attempt); null when "
            "none is due"
        },
    )
    notice_attempts = ma.fields.Integer()
    notice_error = ma.fields.String(
        allow_none=True, metadata={"description": "why its last delivery attempt failed"}
    )

    def _duration(self, backup: object) -> float | None:
        return backup.calculate_duration()  # type: ignore[attr-defined,no-any-return]


class BackupLogQuerySchema(PageArgsSchema):
    backup_type = ma.fields.String(validate=ma.validate.OneOf(BACKUP_TYPES))
    status = ma.fields.String(validate=ma.validate.OneOf(BACKUP_STATUSES))
    verification_status = ma.fields.String(validate=ma.validate.OneOf(VERIFICATION_STATUSES))
    schedule_id = Id()
    notice = ma.fields.String(
        validate=ma.validate.OneOf(NOTICE_STATUSES),
        metadata={"description": "only backups whose notice is pending, delivered or failed"},
    )


BackupLogPageSchema = page_schema(BackupLogSchema, "BackupLogPage")


class BackupCreateSchema(Schema):
    backup_type = ma.fields.String(load_default="manual", validate=ma.validate.OneOf(BACKUP_TYPES))
    database = Text(load_default=None, max=64, validate=DATABASE_NAME)
    storage = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STORAGES))
    compression = ma.fields.String(load_default=None, validate=ma.validate.OneOf(COMPRESSIONS))
    verify = ma.fields.String(load_default=None, validate=ma.validate.OneOf(VERIFY_MODES))


class BackupVerifySchema(Schema):
    mode = ma.fields.String(
        load_default="checksum",
        validate=ma.validate.OneOf(("checksum", "restore")),
        metadata={
            "description": "checksum: re-read the artifact (SHA-256, size, a complete stream); "
            "restore: also load it into a scratch database and compare with the dump-time "
            "inventory"
        },
    )


class SourceReadinessSchema(Schema):
    database = ma.fields.String()
    ready = ma.fields.Boolean(metadata={"description": "a backup of it can be taken now"})
    reasons = ma.fields.List(ma.fields.String(), metadata={"description": "why not"})
    restore_verification_ready = ma.fields.Boolean()
    restore_verification_reasons = ma.fields.List(ma.fields.String())


class BackupReadinessSchema(Schema):
    ready = ma.fields.Boolean(metadata={"description": "every source is ready"})
    sources = ma.fields.List(ma.fields.Nested(SourceReadinessSchema))


class BackupAcceptedSchema(Schema):
    id = ma.fields.String()
    status = ma.fields.String()
    status_url = ma.fields.String()


class RestoreRequestSchema(Schema):
    target_database = Text(required=True, max=64, validate=DATABASE_NAME)
    replace = Flag(load_default=False)


class RestoreStatusSchema(Schema):
    id = ma.fields.String()
    backup_id = ma.fields.String()
    target_database = ma.fields.String()
    replace = ma.fields.Boolean()
    requested_by = ma.fields.String(metadata={"description": "the user whose token asked"})
    status = ma.fields.String(metadata={"description": "running, succeeded or failed"})
    phase = ma.fields.String()
    bytes_processed = ma.fields.Integer()
    rate_bytes_per_s = ma.fields.Float()
    eta_seconds = ma.fields.Float(allow_none=True)
    restore_seconds = ma.fields.Float(allow_none=True)
    error_message = ma.fields.String(allow_none=True)
    notice = ma.fields.String(
        allow_none=True, metadata={"description": "whether the integrations audit heard the end"}
    )
    started_at = ma.fields.DateTime()
    progress_updated_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
