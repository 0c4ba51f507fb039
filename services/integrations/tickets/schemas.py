"""Marshmallow schemas of ticket links, PSA tickets and notes."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from shared.models.tickets import LINK_TYPES, TICKET_SYSTEMS
from shared.web import Flag, Id, Int32, ListOf, Name, PageArgsSchema, Schema, Text, page_schema

UUID_SHAPE = ma.validate.Regexp(r"^[0-9a-fA-F-]{36}$", error="must be a UUID")
PSA = ma.validate.OneOf(TICKET_SYSTEMS)
PRIORITIES = ("low", "medium", "high", "critical")


class TicketLinkSchema(Schema):
    id = ma.fields.String(dump_only=True)
    session_id = ma.fields.String(allow_none=True)
    client_id = ma.fields.String(allow_none=True)
    integration_type = ma.fields.String()
    ticket_id = ma.fields.String()
    ticket_number = ma.fields.String(allow_none=True)
    ticket_subject = ma.fields.String(allow_none=True)
    ticket_url = ma.fields.String(allow_none=True)
    ticket_status = ma.fields.String(allow_none=True)
    link_type = ma.fields.String()
    linked_at = ma.fields.DateTime()
    last_synced_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


TicketLinkPageSchema = page_schema(TicketLinkSchema, "TicketLinkPage")


class TicketLinkCreateSchema(Schema):
    session_id = Id(required=True, validate=UUID_SHAPE)
    integration_type = ma.fields.String(required=True, validate=PSA)
    ticket_id = Name(max=100)
    ticket_number = Name(max=100)
    link_type = ma.fields.String(load_default="related", validate=ma.validate.OneOf(LINK_TYPES))

    @ma.validates_schema
    def _one_ticket_reference(self, data: dict[str, Any], **_: Any) -> None:
        if bool(data.get("ticket_id")) == bool(data.get("ticket_number")):
            raise ma.ValidationError("give exactly one of ticket_id or ticket_number", "ticket_id")


class TicketLinkQuerySchema(PageArgsSchema):
    session_id = Id(validate=UUID_SHAPE)
    client_id = Id(validate=UUID_SHAPE)
    integration_type = ma.fields.String(validate=PSA)
    ticket_id = Text(max=100)


class TicketLinkRefreshSchema(Schema):
    ids = ListOf(Id(validate=UUID_SHAPE), required=True, min=1, max=100)


class RefreshOutcomeSchema(Schema):
    link_id = ma.fields.String()
    outcome = ma.fields.String(metadata={"description": "refreshed, gone or failed"})
    ticket_status = ma.fields.String(allow_none=True)
    error = ma.fields.String(allow_none=True)


class RefreshReportSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(RefreshOutcomeSchema))


class TicketCreateSchema(Schema):
    integration_type = ma.fields.String(required=True, validate=PSA)
    title = Name(max=255)
    subject = Name(max=255, metadata={"description": "alias of title"})
    description = Text(load_default="", max=20_000)
    priority = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(PRIORITIES),
        metadata={"description": "written into the description; a PSA priority goes in fields"},
    )
    company_id = Text(
        load_default=None,
        max=100,
        metadata={"description": "the PSA's customer/company id (default: PSA_DEFAULT_COMPANIES)"},
    )
    vendor_fields = ma.fields.Dict(
        data_key="fields",
        load_default=dict,
        metadata={"description": "vendor fields, e.g. Autotask queueID/priority/status, CW board"},
    )
    session_id = Id(load_default=None, validate=UUID_SHAPE)

    @ma.validates_schema
    def _a_title(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("title") or data.get("subject")):
            raise ma.ValidationError("give a title (or subject)", "title")


class IdempotencyKeySchema(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key",
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "a retry with the same key answers the first ticket (200)"},
    )


class UncertainResolveSchema(Schema):
    external_id = Name(
        max=100, metadata={"description": "the ticket the PSA shows was created (it is read)"}
    )
    not_created = Flag(
        load_default=False, metadata={"description": "the PSA has no such ticket: free the key"}
    )
    integration_type = ma.fields.String(
        load_default=None,
        validate=PSA,
        metadata={"description": "needed only when the key was used with several PSAs"},
    )
    caller_token_id = Id(
        load_default=None,
        validate=UUID_SHAPE,
        metadata={"description": "whose key (default: this token's); another's needs admin"},
    )

    @ma.validates_schema
    def _one_outcome(self, data: dict[str, Any], **_: Any) -> None:
        if bool(data.get("external_id")) == bool(data.get("not_created")):
            raise ma.ValidationError(
                "give exactly one of external_id or not_created", "external_id"
            )


class PsaTicketSchema(Schema):
    integration_type = ma.fields.String()
    external_id = ma.fields.String()
    number = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.String()
    status_raw = ma.fields.Raw(allow_none=True)
    web_url = ma.fields.String()


class TicketSearchSchema(Schema):
    text = Text(required=True, min=1, max=200)
    limit = Int32(load_default=25, minimum=1, maximum=100, strict=False)


class PsaTicketListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(PsaTicketSchema))


class NoteCreateSchema(Schema):
    body = Text(required=True, min=1, max=20_000)
    title = Text(load_default=None, max=250)
    internal = Flag(load_default=True)


class NoteSchema(Schema):
    external_id = ma.fields.String()
    ticket_id = ma.fields.String()
    recovered = Flag(
        metadata={
            "description": "an ambiguous POST was found already stored, so it was not repeated"
        }
    )


class UncertainResolutionSchema(Schema):
    idempotency_key = ma.fields.String()
    integration_type = ma.fields.String()
    outcome = ma.fields.String(metadata={"description": "created or not_created"})
    ticket = ma.fields.Nested(PsaTicketSchema, allow_none=True)
