"""Marshmallow schemas of pre-command checks."""

from __future__ import annotations

import marshmallow as ma

from services.insights.failures.services import MAX_COMMAND_CHARS
from shared.models.insights import CHECK_VERDICTS
from shared.web import Id, PageArgsSchema, Schema, Text, UtcDateTime, page_schema


class CheckInSchema(Schema):
    client_id = Id(required=True)
    infrastructure_id = Id(required=True)
    command = Text(required=True, min=1, max=MAX_COMMAND_CHARS)


class ReasonItemSchema(Schema):
    kind = ma.fields.String()
    id = ma.fields.String()
    message = ma.fields.String()
    confidence = ma.fields.String()
    priority = ma.fields.Integer()
    occurrences_on_host = ma.fields.Integer()
    occurrence_count = ma.fields.Integer()


class CheckResultSchema(Schema):
    id = ma.fields.String(attribute="check.id")
    verdict = ma.fields.String(metadata={"description": "block, warn or ok"})
    command_key = ma.fields.String()
    reasons = ma.fields.List(ma.fields.Nested(ReasonItemSchema))
    alternatives = ma.fields.List(ma.fields.String())


class OutcomeInSchema(Schema):
    outcome = ma.fields.String(required=True, validate=ma.validate.OneOf(["succeeded", "failed"]))


class CheckSchema(Schema):
    id = ma.fields.String()
    client_id = ma.fields.String()
    infrastructure_id = ma.fields.String()
    command = ma.fields.String()
    command_key = ma.fields.String()
    verdict = ma.fields.String()
    matched_pattern_id = ma.fields.String(allow_none=True)
    matched_insight_id = ma.fields.String(allow_none=True)
    outcome = ma.fields.String()
    created_at = ma.fields.DateTime()
    outcome_at = ma.fields.DateTime(allow_none=True)


class CheckQuerySchema(PageArgsSchema):
    verdict = ma.fields.String(validate=ma.validate.OneOf(CHECK_VERDICTS))
    since = UtcDateTime(metadata={"description": "checks made at or after this instant"})


CheckPageSchema = page_schema(CheckSchema, "CheckPage")
