"""Marshmallow schemas of the credential vault (secrets are write-only, shown masked)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from services.integrations.vault.kinds import KIND_SECRETS, SECRET_FIELDS
from shared.models.integrations import CREDENTIAL_TYPES, INTEGRATION_TYPES
from shared.web import (
    Flag,
    Int32,
    ListOf,
    Name,
    PageArgsSchema,
    Schema,
    Text,
    Url,
    UtcDateTime,
    page_schema,
)
from shared.web.api import UpdateSchema

MASK = "********"
# OAuth scopes one credential asks for (a JSON column).
MAX_SCOPES = 50


def _secret() -> Text:
    # Sealed into a BLOB: 4,000 characters stay far below 65,535 bytes after encryption.
    return Text(
        load_only=True,
        allow_none=True,
        min=1,
        max=4000,
        metadata={"description": "secret; write-only, never returned by GET"},
    )


class _CredentialFieldsSchema(Schema):
    integration_type = ma.fields.String(validate=ma.validate.OneOf(INTEGRATION_TYPES))
    is_active = Flag()
    api_url = Url(allow_none=True, max=500)
    token_url = Url(allow_none=True, max=500)
    client_id = Text(allow_none=True, max=255)
    username = Text(allow_none=True, max=255)
    scopes = ListOf(Name(max=200), max=MAX_SCOPES, allow_none=True)
    token_expires_at = UtcDateTime(allow_none=True)
    client_secret = _secret()
    access_token = _secret()
    refresh_token = _secret()
    api_key = _secret()
    password = _secret()


class CredentialCreateSchema(_CredentialFieldsSchema):
    integration_name = Name(required=True, max=100)
    integration_type = ma.fields.String(
        required=True, validate=ma.validate.OneOf(INTEGRATION_TYPES)
    )
    credential_type = ma.fields.String(required=True, validate=ma.validate.OneOf(CREDENTIAL_TYPES))


class CredentialUpdateSchema(UpdateSchema, _CredentialFieldsSchema):
    not_changes = ("expected_version",)  # the version read is a precondition, not a change

    expected_version = Int32(
        required=True,
        minimum=1,
        metadata={"description": "the version you read; a stale one is 409"},
    )
    integration_name = Name(max=100)


class CredentialSchema(Schema):
    id = ma.fields.String()
    integration_name = ma.fields.String()
    integration_type = ma.fields.String()
    credential_type = ma.fields.String()
    api_url = ma.fields.String(allow_none=True)
    token_url = ma.fields.String(allow_none=True)
    client_id = ma.fields.String(allow_none=True)
    username = ma.fields.String(allow_none=True)
    scopes = ma.fields.List(ma.fields.String(), allow_none=True)
    token_expires_at = ma.fields.DateTime(allow_none=True)
    is_active = Flag()
    last_tested_at = ma.fields.DateTime(allow_none=True)
    last_test_status = ma.fields.String()
    last_test_error = ma.fields.String(allow_none=True)
    version = ma.fields.Integer()
    kek_id = ma.fields.String()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    secrets = ma.fields.Method(
        "masked_secrets",
        metadata={"description": "each secret field of the kind: '********' when set, else null"},
    )

    def masked_secrets(self, row: Any) -> dict[str, str | None]:
        return {
            name: MASK if getattr(row, f"{name}_encrypted") is not None else None
            for name in KIND_SECRETS[row.credential_type]
        }


class CredentialQuerySchema(PageArgsSchema):
    integration_type = ma.fields.String(validate=ma.validate.OneOf(INTEGRATION_TYPES))
    integration_name = Text(max=100)


class ExpectedVersionSchema(Schema):
    """The query of a DELETE (text, hence not strict)."""

    expected_version = Int32(
        required=True,
        minimum=1,
        strict=False,
        metadata={"description": "the version you read; a stale one is 409"},
    )


class ExpiringQuerySchema(Schema):
    within_days = Int32(load_default=14, minimum=0, maximum=3650, strict=False)


class RevealSchema(Schema):
    requested = ListOf(
        ma.fields.String(validate=ma.validate.OneOf(SECRET_FIELDS)),
        data_key="fields",
        min=1,
        max=len(SECRET_FIELDS),
        metadata={"description": "secret fields to reveal (default: all stored)"},
    )
    purpose = Text(
        required=True,
        min=3,
        max=500,
        metadata={"description": "why (ticket, task); kept in the audit"},
    )
    on_behalf_of = Name(max=255)


class RevealedSchema(Schema):
    id = ma.fields.String()
    version = ma.fields.Integer()
    plaintext = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.String(), data_key="fields"
    )


class TestResultSchema(Schema):
    id = ma.fields.String()
    last_test_status = ma.fields.String()
    last_tested_at = ma.fields.DateTime()
    last_test_error = ma.fields.String(allow_none=True)


class TokenSchema(Schema):
    credential_id = ma.fields.String()
    access_token = ma.fields.String()
    expires_at = ma.fields.DateTime(allow_none=True)


CredentialPageSchema = page_schema(CredentialSchema, "CredentialPage")
