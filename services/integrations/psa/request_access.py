"""Build PSA access from the running app and from the request being served."""

from __future__ import annotations

from flask import Flask, current_app

from services.integrations.access_log.chain import AccessContext
from services.integrations.adapters.options import adapter_options
from services.integrations.psa.access import PsaAccess, VaultCredentials
from services.integrations.request_context import request_access_context


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
