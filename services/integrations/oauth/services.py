"""The refresh broker: callers get a valid access token; refresh tokens never leave the vault."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from services.integrations import telemetry
from services.integrations.access_log.chain import AccessContext
from services.integrations.access_log.credential_audit import (
    audit_credential,
    open_for_use,
    refuse_if_disabled,
)
from services.integrations.adapters.endpoints import EndpointPolicy, endpoint_policy
from services.integrations.adapters.shapes import OutboundCall
from services.integrations.adapters.transport import STRICT_ENDPOINTS
from services.integrations.events.services import record_outbound_call
from services.integrations.oauth.single_flight import refresh_lock
from services.integrations.oauth.token_endpoint import (
    InvalidGrant,
    RefreshRequest,
    TokenEndpointFailed,
    TokenGrant,
    refresh_grant,
)
from services.integrations.vault.keys_config import VaultKeys
from services.integrations.vault.sealing import open_row, seal_row
from services.integrations.vault.stored import get_credential
from shared.db import engine_of_session
from shared.errors import Conflict, ServiceUnavailable, ValidationFailed
from shared.models import IntegrationCredential, utcnow


@dataclass(frozen=True)
class AccessToken:
    """A usable access token and when it stops working."""

    credential_id: str
    access_token: str
    expires_at: datetime | None

    def __repr__(self) -> str:
        return f"AccessToken(credential_id={self.credential_id!r}, expires_at={self.expires_at!r})"


@dataclass(frozen=True)
class Broker:
    """How the broker refreshes: how far ahead of expiry, and how long the IdP may take."""

    refresh_ahead: timedelta = timedelta(minutes=5)
    timeout: float = 10.0
    endpoints: EndpointPolicy = STRICT_ENDPOINTS

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Broker:
        return cls(
            refresh_ahead=timedelta(seconds=settings["OAUTH_REFRESH_AHEAD_SECONDS"]),
            timeout=settings["OAUTH_TIMEOUT_SECONDS"],
            endpoints=endpoint_policy(settings),
        )


def valid_access_token(
    *,
    session: Session,
    vault: VaultKeys,
    credential_id: str,
    context: AccessContext,
    broker: Broker,
) -> AccessToken:
    """A token valid beyond `refresh_ahead`; refreshes at most once at a time per credential."""
    row = _oauth_row(session, credential_id)
    refuse_if_disabled(session, vault, row, action="used", context=context)
    if _is_fresh(row, broker.refresh_ahead):
        return _hand_out(session, vault, row, context)
    session.rollback()  # end this read; the refresh runs under its own lock
    with refresh_lock(engine_of_session(session), credential_id):
        row = _oauth_row(session, credential_id)
        refuse_if_disabled(session, vault, row, action="used", context=context)
        if _is_fresh(row, broker.refresh_ahead):  # another worker refreshed while we waited
            return _hand_out(session, vault, row, context)
        return _refresh(session, vault, row, context, broker)


def _oauth_row(session: Session, credential_id: str) -> IntegrationCredential:
    row = get_credential(session=session, credential_id=credential_id)
    if row.credential_type != "oauth":
        raise ValidationFailed({"credential_type": ["access tokens come from oauth credentials"]})
    return row


def _is_fresh(row: IntegrationCredential, ahead: timedelta) -> bool:
    if row.access_token_encrypted is None:
        return False
    return row.token_expires_at is None or row.token_expires_at - ahead > utcnow()


def _hand_out(
    session: Session, vault: VaultKeys, row: IntegrationCredential, context: AccessContext
) -> AccessToken:
    opened = open_for_use(
        session, vault, row, action="used", context=context, names=["access_token"]
    )
    token = opened["access_token"]
    audit_credential(session, vault, row, "used", ["access_token"], context)
    session.commit()
    return AccessToken(row.id, token, row.token_expires_at)


def _refresh(
    session: Session,
    vault: VaultKeys,
    row: IntegrationCredential,
    context: AccessContext,
    broker: Broker,
) -> AccessToken:
    secrets = open_for_use(session, vault, row, action="rotated", context=context)
    if not row.token_url or not row.client_id or not secrets.get("refresh_token"):
        raise ValidationFailed(
            {"refresh_token": ["token_url, client_id and a refresh token are needed to refresh"]}
        )
    credential_id, used_version = row.id, row.version
    request = RefreshRequest(
        row.token_url,
        row.client_id,
        secrets.get("client_secret"),
        secrets["refresh_token"],
        row.integration_type,
    )
    # Everything needed is read above: after this rollback (which expires the row) no
    # transaction or connection stays open across the HTTP call.
    session.rollback()
    calls: list[OutboundCall] = []
    try:
        grant = refresh_grant(
            request, timeout=broker.timeout, audit=calls.append, endpoints=broker.endpoints
        )
    except InvalidGrant:
        telemetry.count_token_refresh(request.integration_type, "invalid_grant")
        return _after_invalid_grant(
            session, vault, credential_id, used_version, context, calls, broker
        )
    except TokenEndpointFailed as exc:
        telemetry.count_token_refresh(request.integration_type, "unavailable")
        _record_calls(session, calls)
        session.commit()
        raise ServiceUnavailable(str(exc), retry_after=5) from None
    telemetry.count_token_refresh(request.integration_type, "success")
    return _store_grant(session, vault, credential_id, grant, context, calls)


def _store_grant(
    session: Session,
    vault: VaultKeys,
    credential_id: str,
    grant: TokenGrant,
    context: AccessContext,
    calls: list[OutboundCall],
) -> AccessToken:
    # Merge onto the latest row: a PATCH that landed meanwhile keeps its other fields.
    row = get_credential(session=session, credential_id=credential_id, lock=True)
    secrets = open_row(keyring=vault.keyring, row=row)
    secrets["access_token"] = grant.access_token
    if grant.refresh_token:
        secrets["refresh_token"] = grant.refresh_token
    row.version += 1
    row.token_expires_at = (
        utcnow() + timedelta(seconds=grant.expires_in) if grant.expires_in else None
    )
    seal_row(keyring=vault.keyring, row=row, secrets=secrets)
    fields = ["access_token", "refresh_token"] if grant.refresh_token else ["access_token"]
    audit_credential(session, vault, row, "rotated", fields, context)
    _record_calls(session, calls)
    session.commit()  # the rotated refresh token is stored before anyone sees the access token
    return AccessToken(row.id, grant.access_token, row.token_expires_at)


def _after_invalid_grant(
    session: Session,
    vault: VaultKeys,
    credential_id: str,
    used_version: int,
    context: AccessContext,
    calls: list[OutboundCall],
    broker: Broker,
) -> AccessToken:
    # Re-read first: if someone stored a newer token meanwhile, ours was just superseded.
    row = get_credential(session=session, credential_id=credential_id, lock=True)
    _record_calls(session, calls)
    if row.version != used_version and row.is_active:
        session.commit()
        if _is_fresh(row, broker.refresh_ahead):
            return _hand_out(session, vault, row, context)
        raise ServiceUnavailable("the token was rotated meanwhile; try again", retry_after=1)
    row.is_active = False
    row.last_test_status = "failed"
    row.last_test_error = "refresh token rejected by the token endpoint (invalid_grant)"
    audit_credential(
        session, vault, row, "rotated", ["refresh_token"], context, outcome="invalid_grant"
    )
    session.commit()
    raise Conflict("the refresh token was rejected; authorise this integration again")


def _record_calls(session: Session, calls: list[OutboundCall]) -> None:
    for call in calls:
        record_outbound_call(session=session, call=call)
