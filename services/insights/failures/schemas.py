"""Marshmallow schemas of failure ingest and failure patterns."""

from __future__ import annotations

import marshmallow as ma

from services.insights.failures.patterns import SORTABLE as PATTERN_SORTS
from services.insights.failures.services import MAX_COMMAND_CHARS
from shared.models.insights import PATTERN_TYPES, SEVERITIES
from shared.web import (
    Flag,
    Id,
    Int64,
    PageArgsSchema,
    Schema,
    Text,
    UtcDateTime,
    page_schema,
    sort_field,
)
from shared.web.api import UpdateSchema

# Longer error output is refused; up to this much is redacted, then stored truncated.
MAX_ERROR_INPUT_CHARS = 262_144


class FailureInSchema(Schema):
    client_id = Id(required=True)
    infrastructure_id = Id(required=True)
    session_id = Id(allow_none=True)
    command = Text(
        required=True,
        min=1,
        max=MAX_COMMAND_CHARS,
        metadata={
            "description": "the failed command line, at most 8,192 characters; secrets are "
            "redacted before storage"
        },
    )
    error_output = Text(
        load_default="",
        max=MAX_ERROR_INPUT_CHARS,
        metadata={
            "description": "stderr/stdout of the failure; redacted; beyond 16,383 characters it is "
            "stored truncated with a '…[truncated N characters]…' marker"
        },
    )
    exit_code = Int64(
        allow_none=True,
        load_default=None,
        minimum=-(2**31),
        maximum=2**32 - 1,
        metadata={"description": "signed or unsigned 32-bit (Windows: 0xFFFFFFFF = 4294967295)"},
    )
    observed_at = UtcDateTime(allow_none=True)


class PatternSchema(Schema):
    id = ma.fields.String()
    client_id = ma.fields.String(allow_none=True)
    infrastructure_id = ma.fields.String(allow_none=True)
    pattern_type = ma.fields.String()
    severity = ma.fields.String()
    fingerprint = ma.fields.String()
    fingerprint_version = ma.fields.Integer()
    command_key = ma.fields.String()
    error_signature = ma.fields.String(allow_none=True)
    exit_code = ma.fields.Integer(allow_none=True)
    sample_command = ma.fields.String()
    sample_error = ma.fields.String(allow_none=True)
    root_cause = ma.fields.String(allow_none=True)
    recommended_solution = ma.fields.String(allow_none=True)
    occurrence_count = ma.fields.Integer()
    host_count = ma.fields.Integer()
    session_count = ma.fields.Integer()
    first_seen_at = ma.fields.DateTime()
    last_seen_at = ma.fields.DateTime()
    is_active = Flag()


class PatternUpdateSchema(UpdateSchema):
    pattern_type = ma.fields.String(validate=ma.validate.OneOf(PATTERN_TYPES))
    severity = ma.fields.String(validate=ma.validate.OneOf(SEVERITIES))
    root_cause = Text(allow_none=True)
    recommended_solution = Text(allow_none=True)
    is_active = Flag()


class InsightTouchSchema(Schema):
    id = ma.fields.String(attribute="insight_id")
    action = ma.fields.String(
        metadata={
            "description": "created, strengthened, promoted, confirmed, regressed or unchanged"
        }
    )
    confidence_level = ma.fields.String()


class IngestResultSchema(Schema):
    occurrence_id = ma.fields.String(attribute="occurrence.id")
    pattern = ma.fields.Nested(PatternSchema)
    pattern_is_new = Flag()
    is_repeat = Flag(
        metadata={
            "description": "the pattern already had an insight that had been shown or checked"
        }
    )
    truncated = Flag()
    insight = ma.fields.Nested(InsightTouchSchema, allow_none=True)


class OccurrenceSchema(Schema):
    id = ma.fields.String()
    failure_pattern_id = ma.fields.String()
    session_id = ma.fields.String(allow_none=True)
    infrastructure_id = ma.fields.String(allow_none=True)
    command = ma.fields.String()
    error_output = ma.fields.String(allow_none=True)
    exit_code = ma.fields.Integer(allow_none=True)
    observed_at = ma.fields.DateTime()
    is_repeat = Flag()


class PatternQuerySchema(PageArgsSchema):
    client_id = Id()
    infrastructure_id = Id(metadata={"description": "patterns seen on this host"})
    pattern_type = ma.fields.String(validate=ma.validate.OneOf(PATTERN_TYPES))
    sort = sort_field(PATTERN_SORTS, "-last_seen_at")


PatternPageSchema = page_schema(PatternSchema, "FailurePatternPage")
OccurrencePageSchema = page_schema(OccurrenceSchema, "FailureOccurrencePage")
