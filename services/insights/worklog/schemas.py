"""Marshmallow schemas of work sessions and work items."""

from __future__ import annotations

import marshmallow as ma

from services.insights.hosts.schemas import TagRefSchema
from services.insights.worklog.services import ITEM_SORTS, SESSION_SORTS
from shared.models.insights import PRIORITIES, SESSION_STATUSES, WORK_CATEGORIES, WORK_STATUSES
from shared.web import PageArgsSchema, Schema, page_schema, sort_field

_ID = ma.validate.Length(equal=36)


class SessionSchema(Schema):
    id = ma.fields.String(dump_only=True)
    client_id = ma.fields.String(allow_none=True, validate=_ID)
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255))
    technician = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=100))
    started_at = ma.fields.AwareDateTime(default_timezone=None)
    ended_at = ma.fields.AwareDateTime(allow_none=True)
    status = ma.fields.String(
        load_default="in_progress", validate=ma.validate.OneOf(SESSION_STATUSES)
    )
    summary = ma.fields.String(allow_none=True)
    is_billable = ma.fields.Boolean(load_default=False)
    billable_minutes = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=0))
    duration_minutes = ma.fields.Method("_duration", dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)

    def _duration(self, session: object) -> int | None:
        started, ended = getattr(session, "started_at", None), getattr(session, "ended_at", None)
        if started is None or ended is None:
            return None
        return int((ended - started).total_seconds() // 60)


class SessionUpdateSchema(SessionSchema):
    title = ma.fields.String(validate=ma.validate.Length(min=1, max=255))
    status = ma.fields.String(validate=ma.validate.OneOf(SESSION_STATUSES))
    is_billable = ma.fields.Boolean()


class SessionQuerySchema(PageArgsSchema):
    client_id = ma.fields.String()
    status = ma.fields.String(validate=ma.validate.OneOf(SESSION_STATUSES))
    technician = ma.fields.String()
    started_after = ma.fields.AwareDateTime()
    started_before = ma.fields.AwareDateTime()
    sort = sort_field(SESSION_SORTS, "-started_at")


class WorkItemSchema(Schema):
    id = ma.fields.String(dump_only=True)
    session_id = ma.fields.String(required=True, validate=_ID)
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(WORK_CATEGORIES))
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255))
    description = ma.fields.String(allow_none=True)
    status = ma.fields.String(load_default="pending", validate=ma.validate.OneOf(WORK_STATUSES))
    priority = ma.fields.String(load_default="medium", validate=ma.validate.OneOf(PRIORITIES))
    affected_systems = ma.fields.List(ma.fields.String(), allow_none=True)
    estimated_minutes = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=0))
    actual_minutes = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=0))
    completed_at = ma.fields.AwareDateTime(allow_none=True)
    tags = ma.fields.List(ma.fields.Nested(TagRefSchema), dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class WorkItemUpdateSchema(WorkItemSchema):
    class Meta(Schema.Meta):
        exclude = ("session_id",)

    category = ma.fields.String(validate=ma.validate.OneOf(WORK_CATEGORIES))
    title = ma.fields.String(validate=ma.validate.Length(min=1, max=255))
    status = ma.fields.String(validate=ma.validate.OneOf(WORK_STATUSES))
    priority = ma.fields.String(validate=ma.validate.OneOf(PRIORITIES))


class WorkItemQuerySchema(PageArgsSchema):
    session_id = ma.fields.String()
    category = ma.fields.String(validate=ma.validate.OneOf(WORK_CATEGORIES))
    status = ma.fields.String(validate=ma.validate.OneOf(WORK_STATUSES))
    priority = ma.fields.String(validate=ma.validate.OneOf(PRIORITIES))
    tag = ma.fields.String(metadata={"description": "tag name"})
    sort = sort_field(ITEM_SORTS, "-created_at")


SessionPageSchema = page_schema(SessionSchema, "SessionPage")
WorkItemPageSchema = page_schema(WorkItemSchema, "WorkItemPage")
