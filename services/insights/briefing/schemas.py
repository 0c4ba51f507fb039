"""Marshmallow schemas of the briefing."""

from __future__ import annotations

import marshmallow as ma

from shared.web import Flag, Int32, Schema, Text, UtcDateTime


class BriefingArgsSchema(Schema):
    class Meta(Schema.Meta):
        unknown = ma.EXCLUDE

    task = Text(
        load_default=None,
        max=2000,
        metadata={"description": "what the assistant is about to do"},
    )
    budget_tokens = Int32(load_default=800, minimum=100, maximum=20000, strict=False)
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(["json", "markdown"]))
    explain = Flag(strict=False, load_default=False)
    as_of = UtcDateTime(
        load_default=None,
        metadata={"description": "point-in-time briefing (not counted as served)"},
    )


class ExamplesSchema(Schema):
    do = ma.fields.String(allow_none=True)
    dont = ma.fields.String(allow_none=True)


class BriefingItemSchema(Schema):
    id = ma.fields.String()
    title = ma.fields.String()
    text = ma.fields.String()
    category = ma.fields.String()
    confidence = ma.fields.String()
    priority = ma.fields.Integer()
    scope = ma.fields.String()
    stale = Flag()
    examples = ma.fields.Nested(ExamplesSchema)
    tokens = ma.fields.Integer()
    score = ma.fields.Float()
    score_breakdown = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float())


class SectionsSchema(Schema):
    must_know = ma.fields.List(ma.fields.Nested(BriefingItemSchema))
    relevant = ma.fields.List(ma.fields.Nested(BriefingItemSchema))
    stale = ma.fields.List(ma.fields.Nested(BriefingItemSchema))


class OmittedItemSchema(Schema):
    id = ma.fields.String()
    title = ma.fields.String()
    confidence = ma.fields.String()
    priority = ma.fields.Integer()
    section = ma.fields.String()


class OmittedSchema(Schema):
    count = ma.fields.Integer()
    must_know = ma.fields.Integer(metadata={"description": "how many must-know items did not fit"})
    ids = ma.fields.List(ma.fields.String())
    items = ma.fields.List(ma.fields.Nested(OmittedItemSchema))


class BriefingSchema(Schema):
    client_id = ma.fields.String()
    host = ma.fields.Dict()
    generated_at = ma.fields.DateTime()
    budget_tokens = ma.fields.Integer()
    used_tokens = ma.fields.Integer(
        metadata={"description": "tokens of the whole markdown: its characters / 4, rounded up"}
    )
    sections = ma.fields.Nested(SectionsSchema)
    omitted = ma.fields.Function(
        lambda b: b.omitted_document(), metadata={"description": "what did not fit, rank order"}
    )
    markdown = ma.fields.String()
