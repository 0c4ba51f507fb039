"""Marshmallow schemas of the integration audit log."""

from __future__ import annotations

import marshmallow as ma

from shared.models.integrations import DIRECTIONS, INTEGRATION_ACTIONS, INTEGRATION_TYPES
from shared.web import Count, Id, PageArgsSchema, Schema, Text, UtcDateTime, page_schema


class IntegrationEventSchema(Schema):
    id = ma.fields.String(dump_only=True)
    session_id = ma.fields.String(allow_none=True)
    work_item_id = ma.fields.String(allow_none=True)
    integration_type = ma.fields.String(validate=ma.validate.OneOf(INTEGRATION_TYPES))
    direction = ma.fields.String(validate=ma.validate.OneOf(DIRECTIONS))
    action = ma.fields.String()
    external_id = ma.fields.String(allow_none=True)
    external_url = ma.fields.String(allow_none=True)
    http_status = ma.fields.Integer(allow_none=True)
    request_data = ma.fields.Raw(allow_none=True)
    response_data = ma.fields.Raw(allow_none=True)
    duration_ms = ma.fields.Integer(allow_none=True)
    created_by = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime(dump_only=True)


class IntegrationEventQuerySchema(PageArgsSchema):
    session_id = Id()
    integration_type = ma.fields.String(validate=ma.validate.OneOf(INTEGRATION_TYPES))
    external_id = Text(max=255)
    direction = ma.fields.String(validate=ma.validate.OneOf(DIRECTIONS))
    since = UtcDateTime(metadata={"description": "created at or after"})
    until = UtcDateTime(metadata={"description": "created before"})


class IntegrationEventCreateSchema(Schema):
    session_id = Id(allow_none=True)
    work_item_id = Id(allow_none=True)
    integration_type = ma.fields.String(
        required=True, validate=ma.validate.OneOf(INTEGRATION_TYPES)
    )
    direction = ma.fields.String(required=True, validate=ma.validate.OneOf(DIRECTIONS))
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(INTEGRATION_ACTIONS))
    external_id = Text(allow_none=True, max=255)
    external_url = Text(allow_none=True, max=1000)
    http_status = Count(allow_none=True, minimum=100, maximum=599)
    request_data = ma.fields.Dict(
        allow_none=True, metadata={"description": "stored with secrets redacted"}
    )
    response_data = ma.fields.Dict(
        allow_none=True, metadata={"description": "stored with secrets redacted"}
    )
    duration_ms = Count(allow_none=True)


class IdempotencyHeaderSchema(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key",
        validate=ma.validate.Length(min=1, max=255),
        metadata={"description": "a replay returns the first result and writes nothing"},
    )


IntegrationEventPageSchema = page_schema(IntegrationEventSchema, "IntegrationEventPage")
