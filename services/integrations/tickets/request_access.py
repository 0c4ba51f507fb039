"""Build PSA access and the insights session directory from the running app and request."""

from __future__ import annotations

from flask import Flask, current_app

from services.integrations.access_log.chain import AccessContext
from services.integrations.adapters.options import adapter_options
from services.integrations.insights_peer import insights_client
from services.integrations.request_context import request_access_context
from services.integrations.tickets.psa_access import PsaAccess, VaultCredentials
from services.integrations.tickets.session_directory import InsightsSessions


def psa_access_for_app(app: Flask, context: AccessContext) -> PsaAccess:
    """PSA access with the app's vault and a session factory for the outbound audit rows."""
    return PsaAccess(
        credentials=VaultCredentials(app.extensions["vault"], app.extensions["oauth_broker"]),
        session_factory=app.extensions["session_factory"],
        context=context,
        adapter_options=adapter_options(app),
    )


def psa_access_for_request() -> PsaAccess:
    """PSA access on behalf of the authenticated caller of this request."""
    return psa_access_for_app(current_app, request_access_context())


def insights_sessions() -> InsightsSessions:
    """The insights service, called with this service's token."""
    return InsightsSessions(insights_client())
