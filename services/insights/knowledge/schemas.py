"""Marshmallow schemas of environmental insights, their examples, actions and history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma

from services.insights.failures.schemas import OccurrenceSchema
from services.insights.knowledge.evidence import beta_score
from services.insights.knowledge.scope import scope_of
from services.insights.knowledge.services import SORTABLE as INSIGHT_SORTS
from services.insights.knowledge.staleness import is_stale, stale_since
from shared.models.insights import CONFIDENCE_LEVELS, EXAMPLE_KINDS, INSIGHT_CATEGORIES
from shared.web import PageArgsSchema, Schema, page_schema, sort_field

_ID = ma.validate.Length(equal=36)
_PRIORITY = ma.validate.Range(min=1, max=10)


class ExampleSchema(Schema):
    id = ma.fields.String(dump_only=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(EXAMPLE_KINDS))
    command = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=8192))
    explanation = ma.fields.String(allow_none=True)
    shell = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=50))
    infrastructure_id = ma.fields.String(allow_none=True, validate=_ID)


class DuplicateSchema(Schema):
    id = ma.fields.String()
    title = ma.fields.String()
    similarity = ma.fields.Float()


class InsightSchema(Schema):
    id = ma.fields.String(dump_only=True)
    client_id = ma.fields.String(allow_none=True, validate=_ID)
    infrastructure_id = ma.fields.String(allow_none=True, validate=_ID)
    host_selector = ma.fields.Dict(
        allow_none=True,
        metadata={
            "description": "inventory attributes a host must match: os (substring), os_version, "
            "role (substring), shell_type, powershell_version, package_manager, "
            "asset_type, hostname, has_gui, tag; a list means any of"
        },
    )
    insight_category = ma.fields.String(
        required=True, validate=ma.validate.OneOf(INSIGHT_CATEGORIES)
    )
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))
    description = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20000))
    priority = ma.fields.Integer(load_default=5, validate=_PRIORITY)
    confidence_level = ma.fields.String(
        load_default="suspected", validate=ma.validate.OneOf(CONFIDENCE_LEVELS)
    )
    source_pattern_id = ma.fields.String(allow_none=True, validate=_ID)
    constrains_command = ma.fields.String(
        load_only=True,
        validate=ma.validate.Length(max=8192),
        metadata={
            "description": "a command whose shape this insight constrains (used by /v1/checks)"
        },
    )
    examples = ma.fields.List(ma.fields.Nested(ExampleSchema), load_default=list)
    reason = ma.fields.String(load_only=True, allow_none=True)
    status = ma.fields.String(dump_only=True)
    scope = ma.fields.Function(scope_of, dump_only=True)
    command_key = ma.fields.String(dump_only=True, allow_none=True)
    merged_into_id = ma.fields.String(dump_only=True, allow_none=True)
    superseded_by_id = ma.fields.String(dump_only=True, allow_none=True)
    valid_from = ma.fields.DateTime(dump_only=True)
    valid_to = ma.fields.DateTime(dump_only=True, allow_none=True)
    verification_count = ma.fields.Integer(dump_only=True)
    last_verified_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    support_count = ma.fields.Integer(dump_only=True)
    counter_count = ma.fields.Integer(dump_only=True)
    evidence_score = ma.fields.Function(lambda i: round(beta_score(i), 3), dump_only=True)
    last_evidence_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    is_stale = ma.fields.Function(lambda i: is_stale(i, datetime.now(UTC)), dump_only=True)
    stale_since = ma.fields.Function(lambda i: stale_since(i).isoformat(), dump_only=True)
    surfaced_count = ma.fields.Integer(dump_only=True)
    possible_duplicates = ma.fields.List(ma.fields.Nested(DuplicateSchema), dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class InsightUpdateSchema(Schema):
    insight_category = ma.fields.String(validate=ma.validate.OneOf(INSIGHT_CATEGORIES))
    title = ma.fields.String(validate=ma.validate.Length(min=1, max=500))
    description = ma.fields.String(validate=ma.validate.Length(min=1, max=20000))
    priority = ma.fields.Integer(validate=_PRIORITY)
    host_selector = ma.fields.Dict(allow_none=True)
    reason = ma.fields.String(allow_none=True)


class ReplacementSchema(InsightUpdateSchema):
    """The new insight of a supersession; unset fields are taken from the old one."""

    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))
    description = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20000))
    confidence_level = ma.fields.String(validate=ma.validate.OneOf(CONFIDENCE_LEVELS))
    examples = ma.fields.List(ma.fields.Nested(ExampleSchema))
    constrains_command = ma.fields.String(validate=ma.validate.Length(max=8192))


class ReasonSchema(Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class OptionalReasonSchema(Schema):
    reason = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=2000))


class SupersedeSchema(ReasonSchema):
    replacement = ma.fields.Nested(ReplacementSchema, required=True)


class MergeSchema(ReasonSchema):
    into_id = ma.fields.String(required=True, validate=_ID)


class InsightQuerySchema(PageArgsSchema):
    client_id = ma.fields.String()
    infrastructure_id = ma.fields.String()
    insight_category = ma.fields.String(validate=ma.validate.OneOf(INSIGHT_CATEGORIES))
    confidence_level = ma.fields.String(validate=ma.validate.OneOf(CONFIDENCE_LEVELS))
    status = ma.fields.String(validate=ma.validate.OneOf(["active", "resolved", "merged"]))
    source_pattern_id = ma.fields.String()
    include_history = ma.fields.Boolean(
        load_default=False, metadata={"description": "also list merged and superseded insights"}
    )
    sort = sort_field(INSIGHT_SORTS, "-priority")


class EventSchema(Schema):
    id = ma.fields.String()
    insight_id = ma.fields.String()
    event_type = ma.fields.String()
    actor = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    before = ma.fields.Dict(allow_none=True)
    after = ma.fields.Dict(allow_none=True)
    failure_occurrence_id = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class HistorySchema(Schema):
    insight = ma.fields.Nested(InsightSchema)
    events = ma.fields.List(ma.fields.Nested(EventSchema))
    merged_from = ma.fields.List(ma.fields.String())
    supersedes = ma.fields.List(ma.fields.String())
    occurrences = ma.fields.List(ma.fields.Nested(OccurrenceSchema))


class DuplicateListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(DuplicateSchema))


def as_items(values: list[Any]) -> dict[str, Any]:
    return {"items": values}


InsightPageSchema = page_schema(InsightSchema, "InsightPage")
