"""Marshmallow schemas of hosts (the infrastructure table)."""

from __future__ import annotations

import marshmallow as ma

from services.insights.hosts.services import SORTABLE as HOST_SORTS
from shared.models.insights import ASSET_TYPES, HOST_STATUSES
from shared.web import PageArgsSchema, Schema, page_schema, sort_field


class TagRefSchema(Schema):
    id = ma.fields.String(dump_only=True)
    name = ma.fields.String(dump_only=True)
    category = ma.fields.String(dump_only=True)


class HostSchema(Schema):
    id = ma.fields.String(dump_only=True)
    client_id = ma.fields.String(required=True, validate=ma.validate.Length(equal=36))
    hostname = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255))
    ip_address = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=45))
    asset_type = ma.fields.String(load_default="other", validate=ma.validate.OneOf(ASSET_TYPES))
    os = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=100))
    os_version = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=100))
    role_description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=255))
    parent_host_id = ma.fields.String(allow_none=True, validate=ma.validate.Length(equal=36))
    shell_type = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=50))
    powershell_version = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=20))
    package_manager = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=50))
    has_gui = ma.fields.Boolean(load_default=True)
    limitations = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(max=500)), allow_none=True
    )
    status = ma.fields.String(load_default="active", validate=ma.validate.OneOf(HOST_STATUSES))
    tags = ma.fields.List(ma.fields.Nested(TagRefSchema), dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class HostUpdateSchema(HostSchema):
    """Partial update; a host never moves to another client."""

    class Meta(Schema.Meta):
        exclude = ("client_id",)

    hostname = ma.fields.String(validate=ma.validate.Length(min=1, max=255))
    asset_type = ma.fields.String(validate=ma.validate.OneOf(ASSET_TYPES))
    has_gui = ma.fields.Boolean()
    status = ma.fields.String(validate=ma.validate.OneOf(HOST_STATUSES))


class HostQuerySchema(PageArgsSchema):
    client_id = ma.fields.String()
    hostname = ma.fields.String(metadata={"description": "hostnames containing this text"})
    os = ma.fields.String()
    os_version = ma.fields.String()
    shell_type = ma.fields.String()
    asset_type = ma.fields.String(validate=ma.validate.OneOf(ASSET_TYPES))
    status = ma.fields.String(validate=ma.validate.OneOf(HOST_STATUSES))
    role = ma.fields.String(metadata={"description": "role descriptions containing this text"})
    parent_host_id = ma.fields.String()
    tag = ma.fields.String(metadata={"description": "tag name"})
    sort = sort_field(HOST_SORTS, "hostname")


HostPageSchema = page_schema(HostSchema, "HostPage")
