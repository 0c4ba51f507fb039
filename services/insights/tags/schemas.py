"""Marshmallow schemas of tags."""

from __future__ import annotations

import marshmallow as ma

from services.insights.tags.services import SORTABLE as TAG_SORTS
from shared.models.insights import TAG_CATEGORIES
from shared.web import Name, PageArgsSchema, Schema, Text, page_schema, sort_field
from shared.web.api import UpdateSchema


class TagSchema(Schema):
    id = ma.fields.String(dump_only=True)
    name = Name(required=True, max=100)
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(TAG_CATEGORIES))
    description = Text(allow_none=True)
    created_at = ma.fields.DateTime(dump_only=True)


class TagUpdateSchema(UpdateSchema, TagSchema):
    name = Name(max=100)
    category = ma.fields.String(validate=ma.validate.OneOf(TAG_CATEGORIES))


class TagQuerySchema(PageArgsSchema):
    name = Text(max=100, metadata={"description": "names containing this text"})
    category = ma.fields.String(validate=ma.validate.OneOf(TAG_CATEGORIES))
    sort = sort_field(TAG_SORTS, "name")


TagPageSchema = page_schema(TagSchema, "TagPage")
