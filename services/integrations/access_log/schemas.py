"""Marshmallow schemas of the credential access log."""

from __future__ import annotations

import marshmallow as ma

from shared.models.integrations import ACCESS_ACTIONS
from shared.web import Flag, Id, PageArgsSchema, Schema, Text, UtcDateTime, page_schema


class AccessLogSchema(Schema):
    id = ma.fields.String()
    chain = ma.fields.Integer()
    seq = ma.fields.Integer()
    credential_id = ma.fields.String()
    credential_version = ma.fields.Integer()
    action = ma.fields.String()
    field_names = ma.fields.List(
        ma.fields.String(), allow_none=True, attribute="fields", data_key="fields"
    )
    actor_token_id = ma.fields.String(allow_none=True)
    on_behalf_of = ma.fields.String(allow_none=True)
    purpose = ma.fields.String(allow_none=True)
    request_id = ma.fields.String(allow_none=True)
    source_ip = ma.fields.String(allow_none=True)
    outcome = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    prev_hash = ma.fields.String()
    row_hash = ma.fields.String()


class AccessLogQuerySchema(PageArgsSchema):
    credential_id = Id()
    action = ma.fields.String(validate=ma.validate.OneOf(ACCESS_ACTIONS))
    actor_token_id = Id()
    on_behalf_of = Text(max=255)
    since = UtcDateTime(metadata={"description": "at or after"})
    until = UtcDateTime(metadata={"description": "before"})


class FindingSchema(Schema):
    kind = ma.fields.String(
        metadata={
            "description": "broken-link, head-missing, head-forged, head-rewound, rows-missing, "
            "rewritten, rolled-back, history-missing or checkpoint-invalid"
        }
    )
    detail = ma.fields.String()
    chain = ma.fields.Integer(allow_none=True)
    from_seq = ma.fields.Integer(allow_none=True)
    to_seq = ma.fields.Integer(allow_none=True)
    credential_id = ma.fields.String(allow_none=True)


class ChainReportSchema(Schema):
    ok = Flag()
    rows_checked = ma.fields.Integer()
    chains_checked = ma.fields.Integer()
    broken_chain = ma.fields.Integer(allow_none=True)
    broken_at_seq = ma.fields.Integer(allow_none=True)
    problems = ma.fields.List(ma.fields.String())
    checkpoint_taken_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "the checkpoint compared with, if any"}
    )
    findings = ma.fields.List(ma.fields.Nested(FindingSchema))


AccessLogPageSchema = page_schema(AccessLogSchema, "CredentialAccessLogPage")
