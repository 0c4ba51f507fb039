"""Marshmallow schemas of tags."""

from __future__ import annotations

import marshmallow as ma

from services.insights.tags.services import SORTABLE as TAG_SORTS
from shared.models.insights import TAG_CATEGORIES
from shared.web import PageArgsSchema, Schema, page_schema, sort_field


class TagSchema(Schema):
    id = ma.fields.String(dump_only=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(TAG_CATEGORIES))
    description = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime(dump_only=True)


class TagUpdateSchema(TagSchema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    category = ma.fields.String(validate=ma.validate.OneOf(TAG_CATEGORIES))


class TagQuerySchema(PageArgsSchema):
    name = ma.fields.String(metadata={"description": "names containing this text"})
    category = ma.fields.String(validate=ma.validate.OneOf(TAG_CATEGORIES))
    sort = sort_field(TAG_SORTS, "name")


TagPageSchema = page_schema(TagSchema, "TagPage")
