"""HTTP layer of the credential vault: parse, authorise, serialise; the rest is services.py."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from flask import Response, current_app, g, request
from flask.views import MethodView
from sqlalchemy.exc import SQLAlchemyError

from services.integrations.access_log.chain import AuditChainBroken
from services.integrations.adapters.options import adapter_options
from services.integrations.credentials import services
from services.integrations.credentials.connection_check import check_connection
from services.integrations.credentials.schemas import (
    CredentialCreateSchema,
    CredentialPageSchema,
    CredentialQuerySchema,
    CredentialSchema,
    CredentialUpdateSchema,
    ExpectedVersionSchema,
    ExpiringQuerySchema,
    RevealedSchema,
    RevealSchema,
    TestResultSchema,
    TokenSchema,
)
from services.integrations.oauth.services import AccessToken, valid_access_token
from services.integrations.request_context import current_broker, request_access_context
from services.integrations.vault.current import current_vault
from services.integrations.vault.stored import get_credential
from shared.errors import Forbidden
from shared.models import IntegrationCredential
from shared.pagination import Page
from shared.web import Blueprint, current_principal, db_session
from shared.web.problems import render_domain_error

log = logging.getLogger(__name__)

blp = Blueprint(
    "credentials",
    __name__,
    url_prefix="/v1/credentials",
    description="The credential vault: sealed PSA secrets, audited reveals, check-and-set writes",
)
NO_STORE = {"Cache-Control": "no-store"}


@blp.route("")
class Credentials(MethodView):
    @blp.requires("credentials:read")
    @blp.arguments(CredentialQuerySchema, location="query")
    @blp.response(200, CredentialPageSchema)
    def get(self, args: dict[str, Any]) -> Page[IntegrationCredential]:
        """List credentials (metadata, secrets masked)"""
        return services.list_credentials(session=db_session(), **args)

    @blp.requires("credentials:write")
    @blp.arguments(CredentialCreateSchema)
    @blp.response(201, CredentialSchema)
    def post(self, data: dict[str, Any]) -> IntegrationCredential:
        """Store a credential; its secret fields are sealed at version 1"""
        return services.create_credential(
            session=db_session(),
            vault=current_vault(),
            data=data,
            context=request_access_context(purpose="create"),
        )


@blp.route("/expiring")
class ExpiringCredentials(MethodView):
    @blp.requires("credentials:read")
    @blp.arguments(ExpiringQuerySchema, location="query")
    @blp.response(200, CredentialSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[IntegrationCredential]:
        """Active credentials whose token expires within `within_days` (or already has)"""
        return services.expiring_credentials(
            session=db_session(), within=timedelta(days=args["within_days"])
        )


@blp.route("/<string:credential_id>")
class Credential(MethodView):
    @blp.requires("credentials:read")
    @blp.response(200, CredentialSchema)
    def get(self, credential_id: str) -> IntegrationCredential:
        """One credential's metadata (secrets masked)"""
        return get_credential(session=db_session(), credential_id=credential_id)

    @blp.requires("credentials:write")
    @blp.arguments(CredentialUpdateSchema)
    @blp.response(200, CredentialSchema)
    def patch(self, data: dict[str, Any], credential_id: str) -> IntegrationCredential:
        """Change fields with check-and-set: send the version you read (stale -> 409)"""
        expected = data.pop("expected_version")
        return services.update_credential(
            session=db_session(),
            vault=current_vault(),
            credential_id=credential_id,
            expected_version=expected,
            changes=data,
            context=request_access_context(purpose="update"),
            may_reveal=_holds_reveal_scope(),
        )

    @blp.requires("credentials:write")
    @blp.arguments(ExpectedVersionSchema, location="query")
    @blp.response(204)
    def delete(self, args: dict[str, Any], credential_id: str) -> None:
        """Delete a credential with check-and-set (`?expected_version=`); the audit keeps a row"""
        services.delete_credential(
            session=db_session(),
            vault=current_vault(),
            credential_id=credential_id,
            expected_version=args["expected_version"],
            context=request_access_context(purpose="delete"),
        )


def _holds_reveal_scope() -> bool:
    scopes = current_principal().scopes
    return "credentials:reveal" in scopes or "admin" in scopes


@blp.route("/<string:credential_id>/reveal")
class RevealCredential(MethodView):
    @blp.requires("credentials:reveal")
    @blp.arguments(RevealSchema())
    @blp.response(200, RevealedSchema)
    @blp.alt_response(409, description="The credential is disabled (a denied access-log row)")
    def post(
        self, data: dict[str, Any], credential_id: str
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Plaintext of secret fields, answered only after its audit row is committed"""
        context = request_access_context(
            purpose=data["purpose"], on_behalf_of=data.get("on_behalf_of")
        )
        row, plaintext = services.reveal_credential(
            session=db_session(),
            vault=current_vault(),
            credential_id=credential_id,
            fields=data.get("requested"),
            context=context,
        )
        return {"id": row.id, "version": row.version, "plaintext": plaintext}, 200, NO_STORE


@blp.route("/<string:credential_id>/test")
class TestCredential(MethodView):
    @blp.requires("credentials:write")
    @blp.response(200, TestResultSchema)
    def post(self, credential_id: str) -> IntegrationCredential:
        """Call the PSA's cheapest authenticated endpoint; records last_tested_at/status/error"""
        return check_connection(
            session=db_session(),
            vault=current_vault(),
            broker=current_broker(),
            credential_id=credential_id,
            context=request_access_context(purpose="connection test"),
            adapter_options=adapter_options(current_app),
        )


@blp.route("/<string:credential_id>/access-token")
class CredentialAccessToken(MethodView):
    @blp.requires("credentials:reveal")
    @blp.response(200, TokenSchema)
    @blp.alt_response(409, description="The credential is disabled (a denied access-log row)")
    def post(self, credential_id: str) -> tuple[AccessToken, int, dict[str, str]]:
        """A valid OAuth access token, refreshed ahead of expiry (the refresh token stays here)"""
        token = valid_access_token(
            session=db_session(),
            vault=current_vault(),
            credential_id=credential_id,
            context=request_access_context(purpose="access token"),
            broker=current_broker(),
        )
        return token, 200, NO_STORE


# The endpoints that hand out a secret, and the access-log action each records.
_SECRET_ENDPOINTS = {
    f"{blp.name}.{RevealCredential.__name__}": "revealed",
    f"{blp.name}.{CredentialAccessToken.__name__}": "used",
}


@blp.errorhandler(Forbidden)
def _audit_refused_secret_request(error: Forbidden) -> Response:
    """A token without the scope is refused before the view runs (the request guard): on a
    secret's endpoint that refusal is still a decision about the secret, so it is audited."""
    action = _SECRET_ENDPOINTS.get(request.endpoint or "")
    if action is not None and "principal" in g:
        _record_scope_refusal(action, error.detail)
    return render_domain_error(error)


def _record_scope_refusal(action: str, reason: str) -> None:
    credential_id = (request.view_args or {}).get("credential_id", "")
    try:
        uuid.UUID(credential_id)  # only a well-formed id can name a credential
    except ValueError:
        return
    session = db_session()
    try:
        services.record_scope_refusal(
            session=session,
            vault=current_vault(),
            credential_id=credential_id,
            action=action,
            context=request_access_context(purpose="refused"),
            reason=reason,
        )
    except (AuditChainBroken, SQLAlchemyError):
        session.rollback()  # the 403 stands; the log says the refusal could not be recorded
        log.exception("could not record a refused request in the access log")
