"""Marshmallow schemas of the clients resource."""

from __future__ import annotations

import marshmallow as ma

from shared.web import PageArgsSchema, Schema, page_schema


class ClientSchema(Schema):
    id = ma.fields.String(dump_only=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    client_type = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=50))
    primary_contact = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=255))
    notes = ma.fields.String(allow_none=True)
    is_active = ma.fields.Boolean(load_default=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class ClientUpdateSchema(ClientSchema):
    """Partial update: every field optional."""

    name = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    is_active = ma.fields.Boolean()


class ClientQuerySchema(PageArgsSchema):
    name = ma.fields.String(metadata={"description": "names containing this text"})
    is_active = ma.fields.Boolean()
    sort = ma.fields.String(
        load_default="name",
        validate=ma.validate.OneOf(["name", "-name", "created_at", "-created_at"]),
    )


ClientPageSchema = page_schema(ClientSchema, "ClientPage")
