"""Marshmallow schemas of work sessions and work items."""

from __future__ import annotations

import marshmallow as ma

from services.insights.hosts.schemas import TagRefSchema
from services.insights.worklog.services import ITEM_SORTS, SESSION_SORTS
from shared.models.insights import PRIORITIES, SESSION_STATUSES, WORK_CATEGORIES, WORK_STATUSES
from shared.web import (
    Flag,
    Id,
    ListOf,
    Minutes,
    Name,
    PageArgsSchema,
    Schema,
    Text,
    UtcDateTime,
    page_schema,
    sort_field,
)
from shared.web.api import UpdateSchema


class SessionSchema(Schema):
    id = ma.fields.String(dump_only=True)
    client_id = Id(allow_none=True)
    title = Name(required=True, max=255)
    technician = Text(allow_none=True, max=100)
    started_at = UtcDateTime()
    ended_at = UtcDateTime(allow_none=True)
    status = ma.fields.String(
        load_default="in_progress", validate=ma.validate.OneOf(SESSION_STATUSES)
    )
    summary = Text(allow_none=True)
    is_billable = Flag(load_default=False)
    billable_minutes = Minutes(allow_none=True)
    duration_minutes = ma.fields.Method("_duration", dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)

    def _duration(self, session: object) -> int | None:
        started, ended = getattr(session, "started_at", None), getattr(session, "ended_at", None)
        if started is None or ended is None:
            return None
        return int((ended - started).total_seconds() // 60)


class SessionUpdateSchema(UpdateSchema, SessionSchema):
    title = Name(max=255)
    status = ma.fields.String(validate=ma.validate.OneOf(SESSION_STATUSES))
    is_billable = Flag()


class SessionQuerySchema(PageArgsSchema):
    client_id = Id()
    status = ma.fields.String(validate=ma.validate.OneOf(SESSION_STATUSES))
    technician = Text(max=100)
    started_after = UtcDateTime()
    started_before = UtcDateTime()
    sort = sort_field(SESSION_SORTS, "-started_at")


class WorkItemSchema(Schema):
    id = ma.fields.String(dump_only=True)
    session_id = Id(required=True)
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(WORK_CATEGORIES))
    title = Name(required=True, max=255)
    description = Text(allow_none=True)
    status = ma.fields.String(load_default="pending", validate=ma.validate.OneOf(WORK_STATUSES))
    priority = ma.fields.String(load_default="medium", validate=ma.validate.OneOf(PRIORITIES))
    affected_systems = ListOf(Text(max=255), allow_none=True)
    estimated_minutes = Minutes(allow_none=True)
    actual_minutes = Minutes(allow_none=True)
    completed_at = UtcDateTime(allow_none=True)
    tags = ma.fields.List(ma.fields.Nested(TagRefSchema), dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class WorkItemUpdateSchema(UpdateSchema, WorkItemSchema):
    class Meta(Schema.Meta):
        exclude = ("session_id",)

    category = ma.fields.String(validate=ma.validate.OneOf(WORK_CATEGORIES))
    title = Name(max=255)
    status = ma.fields.String(validate=ma.validate.OneOf(WORK_STATUSES))
    priority = ma.fields.String(validate=ma.validate.OneOf(PRIORITIES))


class WorkItemQuerySchema(PageArgsSchema):
    session_id = Id()
    category = ma.fields.String(validate=ma.validate.OneOf(WORK_CATEGORIES))
    status = ma.fields.String(validate=ma.validate.OneOf(WORK_STATUSES))
    priority = ma.fields.String(validate=ma.validate.OneOf(PRIORITIES))
    tag = Text(max=100, metadata={"description": "tag name"})
    sort = sort_field(ITEM_SORTS, "-created_at")


SessionPageSchema = page_schema(SessionSchema, "SessionPage")
WorkItemPageSchema = page_schema(WorkItemSchema, "WorkItemPage")
