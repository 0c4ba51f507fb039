"""The OAuth broker of the running app and the audit context of the current request."""

from __future__ import annotations

from typing import cast

from flask import current_app, g, request

from services.integrations.access_log.chain import AccessContext
from services.integrations.oauth.services import Broker
from shared.web import current_principal


def current_broker() -> Broker:
    """The OAuth refresh settings this process was started with."""
    return cast(Broker, current_app.extensions["oauth_broker"])


def request_access_context(
    *, purpose: str | None = None, on_behalf_of: str | None = None
) -> AccessContext:
    """Who asks (token), for whom, why, request id and source address of this request."""
    principal = current_principal()
    return AccessContext(
        actor_token_id=principal.token_id,
        on_behalf_of=on_behalf_of or principal.username,
        purpose=purpose,
        request_id=g.get("request_id"),
        source_ip=request.remote_addr,
    )
