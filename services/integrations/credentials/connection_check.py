"""`POST /v1/credentials/{id}/test`: one cheap authenticated PSA call through its adapter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from services.integrations.access_log.chain import AccessContext
from services.integrations.adapters import ADAPTERS, PsaCredentials, PsaError, build_adapter
from services.integrations.adapters.shapes import OutboundCall
from services.integrations.credentials.services import audit_credential, get_credential
from services.integrations.events.services import record_outbound_call
from services.integrations.oauth.services import valid_access_token
from services.integrations.vault.keys_config import VaultKeys
from services.integrations.vault.sealing import open_row
from shared.errors import Conflict, ServiceUnavailable, ValidationFailed
from shared.models import IntegrationCredential, utcnow
from shared.redaction import redact_text

AdapterFactory = Callable[..., Any]


def psa_credentials(*, vault: VaultKeys, row: IntegrationCredential) -> PsaCredentials:
    """The plaintext fields an adapter needs (an OAuth access token goes in as the api key)."""
    secrets = open_row(keyring=vault.keyring, row=row)
    return PsaCredentials(
        api_url=row.api_url,
        username=row.username,
        password=secrets.get("password"),
        api_key=secrets.get("api_key") or secrets.get("access_token"),
        client_id=row.client_id,
    )


def _signing_in_with(
    session: Session, vault: VaultKeys, row: IntegrationCredential, context: AccessContext
) -> PsaCredentials:
    """What the adapter signs in with. An OAuth credential's access token comes from the
    broker (refreshed ahead of expiry, single-flight), as for every other PSA call: testing
    with a stored token that has expired would report a working integration as broken."""
    if row.credential_type != "oauth":
        return psa_credentials(vault=vault, row=row)
    used = replace(context, purpose="connection test")
    token = valid_access_token(session=session, vault=vault, credential_id=row.id, context=used)
    return PsaCredentials(api_url=row.api_url, client_id=row.client_id, api_key=token.access_token)


def check_connection(
    *,
    session: Session,
    vault: VaultKeys,
    credential_id: str,
    context: AccessContext,
    adapter_factory: AdapterFactory = build_adapter,
) -> IntegrationCredential:
    """Call the PSA's cheapest authenticated endpoint; record status, time and a safe error."""
    row = get_credential(session=session, credential_id=credential_id)
    if row.integration_type not in ADAPTERS:
        raise ValidationFailed(
            {"integration_type": [f"no connection test for {row.integration_type}"]}
        )
    calls: list[OutboundCall] = []
    status, error = "success", None
    try:
        credentials = _signing_in_with(session, vault, row, context)
        adapter_factory(row.integration_type, credentials, audit=calls.append).test_connection()
    except PsaError as exc:
        status, error = "failed", redact_text(f"{type(exc).__name__}: {exc.detail}")[:1000]
    except (Conflict, ServiceUnavailable, ValidationFailed) as exc:  # no token to be had
        status, error = "failed", redact_text(f"token refresh: {exc.detail}")[:1000]
    # An OAuth refresh may have committed a new version: record on the current row.
    row = get_credential(session=session, credential_id=credential_id)
    for call in calls:
        record_outbound_call(session=session, call=call)
    row.last_tested_at, row.last_test_status, row.last_test_error = utcnow(), status, error
    audit_credential(session, vault, row, "tested", None, context, outcome=status)
    session.commit()
    return row
