"""Marshmallow schemas of backup schedules, run-due, retention and staleness."""

from __future__ import annotations

import marshmallow as ma

from services.backups.catalog.schemas import DATABASE_NAME, BackupLogSchema
from services.backups.schedules.cron import TIMEZONES
from shared.models.backups import BACKUP_TYPES, COMPRESSIONS, STORAGES, VERIFY_MODES
from shared.web import Flag, Int32, Name, PageArgsSchema, Schema, Text, page_schema
from shared.web.api import UpdateSchema


def _keep(default: int | None = None) -> Int32:
    """A GFS count (0-1000); PATCH fields have no default."""
    if default is None:
        return Int32(minimum=0, maximum=1000)
    return Int32(load_default=default, minimum=0, maximum=1000)


class ScheduleSchema(Schema):
    id = ma.fields.String(dump_only=True)
    name = Name(required=True, max=100)
    backup_type = ma.fields.String(load_default="daily", validate=ma.validate.OneOf(BACKUP_TYPES))
    cron_expression = Text(required=True, max=100, metadata={"example": "15 2 * * *"})
    timezone = Text(
        load_default="UTC",
        max=64,
        blank=False,
        validate=ma.validate.OneOf(TIMEZONES),
        metadata={"example": "Europe/Berlin"},
    )
    database_name = Text(load_default=None, allow_none=True, max=64, validate=DATABASE_NAME)
    storage = ma.fields.String(load_default="local", validate=ma.validate.OneOf(STORAGES))
    compression = ma.fields.String(load_default="zstd", validate=ma.validate.OneOf(COMPRESSIONS))
    verify_mode = ma.fields.String(
        load_default="checksum", validate=ma.validate.OneOf(VERIFY_MODES)
    )
    keep_daily = _keep(7)
    keep_weekly = _keep(4)
    keep_monthly = _keep(6)
    is_enabled = Flag(load_default=True)
    next_run_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    last_run_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    last_status = ma.fields.String(dump_only=True, allow_none=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class ScheduleUpdateSchema(UpdateSchema):
    """PATCH: only the fields sent change."""

    name = Name(max=100)
    backup_type = ma.fields.String(validate=ma.validate.OneOf(BACKUP_TYPES))
    cron_expression = Text(max=100, blank=False)
    timezone = Text(max=64, blank=False, validate=ma.validate.OneOf(TIMEZONES))
    database_name = Text(allow_none=True, max=64, validate=DATABASE_NAME)
    storage = ma.fields.String(validate=ma.validate.OneOf(STORAGES))
    compression = ma.fields.String(validate=ma.validate.OneOf(COMPRESSIONS))
    verify_mode = ma.fields.String(validate=ma.validate.OneOf(VERIFY_MODES))
    keep_daily = _keep()
    keep_weekly = _keep()
    keep_monthly = _keep()
    is_enabled = Flag()


SchedulePageSchema = page_schema(ScheduleSchema, "SchedulePage")


class RunDueArgsSchema(Schema):
    limit = Int32(load_default=10, minimum=1, maximum=100, strict=False)


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
    dry_run = Flag()
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
