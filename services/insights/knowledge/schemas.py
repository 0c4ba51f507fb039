"""Marshmallow schemas of environmental insights, their examples, actions and history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma

from services.insights.failures.schemas import OccurrenceSchema
from services.insights.knowledge.evidence import beta_score
from services.insights.knowledge.scope import SELECTOR_DOCUMENT, scope_of
from services.insights.knowledge.services import SORTABLE as INSIGHT_SORTS
from services.insights.knowledge.staleness import is_stale, stale_since
from shared.models.insights import (
    CONFIDENCE_LEVELS,
    EXAMPLE_KINDS,
    INSIGHT_CATEGORIES,
    INSIGHT_STATUSES,
    MAX_EXAMPLES,
)
from shared.web import (
    Flag,
    Id,
    Int32,
    ListOf,
    Name,
    PageArgsSchema,
    Schema,
    Text,
    page_schema,
    sort_field,
)
from shared.web.api import UpdateSchema

# A command example or constraint: as long as the failures service accepts a command.
COMMAND_CHARS = 8192


def _priority(**kwargs: Any) -> Int32:
    """1 (lowest) to 10."""
    return Int32(minimum=1, maximum=10, **kwargs)


class ExampleSchema(Schema):
    id = ma.fields.String(dump_only=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(EXAMPLE_KINDS))
    command = Text(required=True, min=1, max=COMMAND_CHARS)
    explanation = Text(allow_none=True)
    shell = Text(allow_none=True, max=50)
    infrastructure_id = Id(allow_none=True)


class DuplicateSchema(Schema):
    id = ma.fields.String()
    title = ma.fields.String()
    similarity = ma.fields.Float()


class InsightSchema(Schema):
    id = ma.fields.String(dump_only=True)
    client_id = Id(allow_none=True)
    infrastructure_id = Id(allow_none=True)
    host_selector = ma.fields.Dict(
        allow_none=True,
        metadata={
            "description": "inventory attributes a host must match: os (substring), os_version, "
            "role (substring), shell_type, powershell_version, package_manager, "
            "asset_type, hostname, has_gui, tag; a list means any of",
            **SELECTOR_DOCUMENT,
        },
    )
    insight_category = ma.fields.String(
        required=True, validate=ma.validate.OneOf(INSIGHT_CATEGORIES)
    )
    title = Name(required=True, max=500)
    description = Text(required=True, min=1)
    priority = _priority(load_default=5)
    confidence_level = ma.fields.String(
        load_default="suspected", validate=ma.validate.OneOf(CONFIDENCE_LEVELS)
    )
    source_pattern_id = Id(allow_none=True)
    constrains_command = Text(
        load_only=True,
        max=COMMAND_CHARS,
        metadata={
            "description": "a command whose shape this insight constrains (used by /v1/checks)"
        },
    )
    examples = ListOf(ma.fields.Nested(ExampleSchema), max=MAX_EXAMPLES, load_default=list)
    reason = Text(load_only=True, allow_none=True)
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


class InsightUpdateSchema(UpdateSchema):
    not_changes = ("reason",)  # why it changed, not a change

    insight_category = ma.fields.String(validate=ma.validate.OneOf(INSIGHT_CATEGORIES))
    title = Name(max=500)
    description = Text(min=1, blank=False)
    priority = _priority()
    host_selector = ma.fields.Dict(allow_none=True, metadata=SELECTOR_DOCUMENT)
    reason = Text(allow_none=True)


class ReplacementSchema(InsightUpdateSchema):
    """The new insight of a supersession; unset fields are taken from the old one."""

    title = Name(required=True, max=500)
    description = Text(required=True, min=1)
    confidence_level = ma.fields.String(validate=ma.validate.OneOf(CONFIDENCE_LEVELS))
    examples = ListOf(ma.fields.Nested(ExampleSchema), max=MAX_EXAMPLES)
    constrains_command = Text(max=COMMAND_CHARS)


class ReasonSchema(Schema):
    reason = Text(required=True, min=1, max=2000)


class OptionalReasonSchema(Schema):
    reason = Text(allow_none=True, max=2000)


class SupersedeSchema(ReasonSchema):
    replacement = ma.fields.Nested(ReplacementSchema, required=True)


class MergeSchema(ReasonSchema):
    into_id = Id(required=True)


class InsightQuerySchema(PageArgsSchema):
    client_id = Id()
    infrastructure_id = Id()
    insight_category = ma.fields.String(validate=ma.validate.OneOf(INSIGHT_CATEGORIES))
    confidence_level = ma.fields.String(validate=ma.validate.OneOf(CONFIDENCE_LEVELS))
    status = ma.fields.String(validate=ma.validate.OneOf(INSIGHT_STATUSES))
    source_pattern_id = Id()
    include_history = Flag(
        strict=False,
        load_default=False,
        metadata={"description": "also list merged and superseded insights"},
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
