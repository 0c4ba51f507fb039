"""Marshmallow schemas of the backup log."""

from __future__ import annotations

import marshmallow as ma

from shared.models.backups import BACKUP_STATUSES, BACKUP_TYPES, VERIFICATION_STATUSES
from shared.web import PageArgsSchema, Schema, page_schema


class BackupLogSchema(Schema):
    id = ma.fields.String(dump_only=True)
    schedule_id = ma.fields.String(allow_none=True)
    backup_type = ma.fields.String()
    status = ma.fields.String()
    backup_method = ma.fields.String()
    database_host = ma.fields.String(allow_none=True)
    database_name = ma.fields.String(allow_none=True)
    storage = ma.fields.String()
    file_path = ma.fields.String(allow_none=True)
    file_size_bytes = ma.fields.Integer(allow_none=True)
    raw_size_bytes = ma.fields.Integer(allow_none=True)
    compression = ma.fields.String(allow_none=True)
    checksum_sha256 = ma.fields.String(allow_none=True)
    phase = ma.fields.String(allow_none=True)
    bytes_processed = ma.fields.Integer()
    current_table = ma.fields.String(allow_none=True)
    pinned = ma.fields.Boolean()
    server_version = ma.fields.String(allow_none=True)
    backup_started_at = ma.fields.DateTime()
    backup_completed_at = ma.fields.DateTime(allow_none=True)
    duration_seconds = ma.fields.Method("_duration", allow_none=True)
    verification_status = ma.fields.String()
    verified_at = ma.fields.DateTime(allow_none=True)
    error_message = ma.fields.String(allow_none=True)

    def _duration(self, backup: object) -> float | None:
        return backup.calculate_duration()  # type: ignore[attr-defined,no-any-return]


class BackupLogQuerySchema(PageArgsSchema):
    backup_type = ma.fields.String(validate=ma.validate.OneOf(BACKUP_TYPES))
    status = ma.fields.String(validate=ma.validate.OneOf(BACKUP_STATUSES))
    verification_status = ma.fields.String(validate=ma.validate.OneOf(VERIFICATION_STATUSES))


BackupLogPageSchema = page_schema(BackupLogSchema, "BackupLogPage")
