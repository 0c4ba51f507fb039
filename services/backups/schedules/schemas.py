"""Marshmallow schemas of backup schedules, run-due, retention and staleness."""

from __future__ import annotations

import marshmallow as ma

from services.backups.backups.schemas import BackupLogSchema
from shared.models.backups import BACKUP_TYPES, COMPRESSIONS, STORAGES, VERIFY_MODES
from shared.web import PageArgsSchema, Schema, page_schema


def _keep(default: int | None = None) -> ma.fields.Integer:
    """A GFS count (0-1000); PATCH fields have no default."""
    if default is None:
        return ma.fields.Integer(validate=ma.validate.Range(min=0, max=1000))
    return ma.fields.Integer(load_default=default, validate=ma.validate.Range(min=0, max=1000))


class ScheduleSchema(Schema):
    id = ma.fields.String(dump_only=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    backup_type = ma.fields.String(load_default="daily", validate=ma.validate.OneOf(BACKUP_TYPES))
    cron_expression = ma.fields.String(required=True, metadata={"example": "15 2 * * *"})
    timezone = ma.fields.String(load_default="UTC", metadata={"example": "Europe/Berlin"})
    database_name = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Regexp(r"^[A-Za-z0-9_$-]{1,64}$")
    )
    storage = ma.fields.String(load_default="local", validate=ma.validate.OneOf(STORAGES))
    compression = ma.fields.String(load_default="zstd", validate=ma.validate.OneOf(COMPRESSIONS))
    verify_mode = ma.fields.String(
        load_default="checksum", validate=ma.validate.OneOf(VERIFY_MODES)
    )
    keep_daily = _keep(7)
    keep_weekly = _keep(4)
    keep_monthly = _keep(6)
    is_enabled = ma.fields.Boolean(load_default=True)
    next_run_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    last_run_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    last_status = ma.fields.String(dump_only=True, allow_none=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class ScheduleUpdateSchema(Schema):
    """PATCH: only the fields sent change."""

    name = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    backup_type = ma.fields.String(validate=ma.validate.OneOf(BACKUP_TYPES))
    cron_expression = ma.fields.String()
    timezone = ma.fields.String()
    database_name = ma.fields.String(
        allow_none=True, validate=ma.validate.Regexp(r"^[A-Za-z0-9_$-]{1,64}$")
    )
    storage = ma.fields.String(validate=ma.validate.OneOf(STORAGES))
    compression = ma.fields.String(validate=ma.validate.OneOf(COMPRESSIONS))
    verify_mode = ma.fields.String(validate=ma.validate.OneOf(VERIFY_MODES))
    keep_daily = _keep()
    keep_weekly = _keep()
    keep_monthly = _keep()
    is_enabled = ma.fields.Boolean()


SchedulePageSchema = page_schema(ScheduleSchema, "SchedulePage")


class RunDueArgsSchema(Schema):
    limit = ma.fields.Integer(load_default=10, validate=ma.validate.Range(min=1, max=100))


class RunDueSchema(Schema):
    started = ma.fields.List(ma.fields.String(), metadata={"description": "backup ids started"})
    waiting = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "due schedule ids left due: a backup of their database is running"
        },
    )
    abandoned = ma.fields.List(
        ma.fields.String(), metadata={"description": "rows failed as abandoned"}
    )


class RetentionPreviewSchema(Schema):
    schedule_id = ma.fields.String()
    dry_run = ma.fields.Boolean()
    would_delete = ma.fields.List(ma.fields.Nested(BackupLogSchema))


class RetentionAppliedSchema(Schema):
    schedule_id = ma.fields.String()
    deleted = ma.fields.List(ma.fields.String())


class StaleScheduleSchema(Schema):
    schedule = ma.fields.Nested(ScheduleSchema)
    last_verified_success_at = ma.fields.DateTime(allow_none=True)
    interval_seconds = ma.fields.Float()
    overdue_seconds = ma.fields.Float()


class StaleListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(StaleScheduleSchema))


ScheduleQuerySchema = PageArgsSchema
