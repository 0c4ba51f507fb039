"""Marshmallow schemas of hosts (the infrastructure table)."""

from __future__ import annotations

import marshmallow as ma

from services.insights.hosts.services import SORTABLE as HOST_SORTS
from shared.models.insights import ASSET_TYPES, HOST_STATUSES
from shared.web import Flag, Id, ListOf, Name, PageArgsSchema, Schema, Text, page_schema, sort_field
from shared.web.api import UpdateSchema


class TagRefSchema(Schema):
    id = ma.fields.String(dump_only=True)
    name = ma.fields.String(dump_only=True)
    category = ma.fields.String(dump_only=True)


class HostSchema(Schema):
    id = ma.fields.String(dump_only=True)
    client_id = Id(required=True)
    hostname = Name(required=True, max=255)
    ip_address = Text(allow_none=True, max=45)
    asset_type = ma.fields.String(load_default="other", validate=ma.validate.OneOf(ASSET_TYPES))
    os = Text(allow_none=True, max=100)
    os_version = Text(allow_none=True, max=100)
    role_description = Text(allow_none=True, max=255)
    parent_host_id = Id(allow_none=True)
    shell_type = Text(allow_none=True, max=50)
    powershell_version = Text(allow_none=True, max=20)
    package_manager = Text(allow_none=True, max=50)
    has_gui = Flag(load_default=True)
    limitations = ListOf(Text(max=500), allow_none=True)
    status = ma.fields.String(load_default="active", validate=ma.validate.OneOf(HOST_STATUSES))
    tags = ma.fields.List(ma.fields.Nested(TagRefSchema), dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class HostUpdateSchema(UpdateSchema, HostSchema):
    """Partial update; a host never moves to another client."""

    class Meta(Schema.Meta):
        exclude = ("client_id",)

    hostname = Name(max=255)
    asset_type = ma.fields.String(validate=ma.validate.OneOf(ASSET_TYPES))
    has_gui = Flag()
    status = ma.fields.String(validate=ma.validate.OneOf(HOST_STATUSES))


class HostQuerySchema(PageArgsSchema):
    client_id = Id()
    hostname = Text(max=255, metadata={"description": "hostnames containing this text"})
    os = Text(max=100)
    os_version = Text(max=100)
    shell_type = Text(max=50)
    asset_type = ma.fields.String(validate=ma.validate.OneOf(ASSET_TYPES))
    status = ma.fields.String(validate=ma.validate.OneOf(HOST_STATUSES))
    role = Text(max=255, metadata={"description": "role descriptions containing this text"})
    parent_host_id = Id()
    tag = Text(max=100, metadata={"description": "tag name"})
    sort = sort_field(HOST_SORTS, "hostname")


HostPageSchema = page_schema(HostSchema, "HostPage")
