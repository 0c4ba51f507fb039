"""Marshmallow schemas of the clients resource."""

from __future__ import annotations

import marshmallow as ma

from services.insights.clients.services import SORTABLE as CLIENT_SORTS
from shared.web import Flag, Name, PageArgsSchema, Schema, Text, page_schema, sort_field
from shared.web.api import UpdateSchema


class ClientSchema(Schema):
    id = ma.fields.String(dump_only=True)
    name = Name(required=True, max=200)
    client_type = Text(allow_none=True, max=50)
    primary_contact = Text(allow_none=True, max=255)
    notes = Text(allow_none=True)
    is_active = Flag(load_default=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class ClientUpdateSchema(UpdateSchema, ClientSchema):
    """Partial update: every field optional."""

    name = Name(max=200)
    is_active = Flag()


class ClientQuerySchema(PageArgsSchema):
    name = Text(max=200, metadata={"description": "names containing this text"})
    is_active = Flag(strict=False)
    sort = sort_field(CLIENT_SORTS, "name")


ClientPageSchema = page_schema(ClientSchema, "ClientPage")
