"""Marshmallow schemas of the clients resource."""

from __future__ import annotations

import marshmallow as ma

from services.insights.clients.services import SORTABLE as CLIENT_SORTS
from shared.web import PageArgsSchema, Schema, page_schema, sort_field


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
    sort = sort_field(CLIENT_SORTS, "name")


ClientPageSchema = page_schema(ClientSchema, "ClientPage")
