"""`POST /v1/credentials/{id}/test`: one cheap authenticated PSA call through its adapter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from services.integrations.access_log.chain import AccessContext
from services.integrations.adapters import ADAPTERS, PsaCredentials, PsaError, build_adapter
from services.integrations.adapters.shapes import OutboundCall
from services.integrations.credentials.services import audit_credential, get_credential
from services.integrations.events.services import record_outbound_call
from services.integrations.vault.keys_config import VaultKeys
from services.integrations.vault.sealing import open_row
from shared.errors import ValidationFailed
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
    credentials = psa_credentials(vault=vault, row=row)
    calls: list[OutboundCall] = []
    status, error = "success", None
    try:
        adapter_factory(row.integration_type, credentials, audit=calls.append).test_connection()
    except PsaError as exc:
        status, error = "failed", redact_text(f"{type(exc).__name__}: {exc.detail}")[:1000]
    for call in calls:
        record_outbound_call(session=session, call=call)
    row.last_tested_at, row.last_test_status, row.last_test_error = utcnow(), status, error
    audit_credential(session, vault, row, "tested", None, context, outcome=status)
    session.commit()
    return row
