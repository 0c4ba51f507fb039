"""`POST /v1/credentials/{id}/test`: one cheap authenticated PSA call through its adapter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from services.integrations.access_log.chain import AccessContext
from services.integrations.access_log.credential_audit import audit_credential
from services.integrations.adapters import ADAPTERS, PsaError, build_adapter
from services.integrations.adapters.shapes import OutboundCall
from services.integrations.credentials.sign_in import sign_in_credentials
from services.integrations.events.services import record_outbound_call, revealed_secrets
from services.integrations.oauth.services import Broker
from services.integrations.vault.keys_config import VaultKeys
from services.integrations.vault.stored import get_credential
from shared.errors import Conflict, ServiceUnavailable, ValidationFailed
from shared.models import IntegrationCredential, utcnow
from shared.redaction import KnownSecrets, redact_text


def check_connection(
    *,
    session: Session,
    vault: VaultKeys,
    broker: Broker,
    credential_id: str,
    context: AccessContext,
    adapter_options: Mapping[str, Any],
) -> IntegrationCredential:
    """Call the PSA's cheapest authenticated endpoint; record status, time and a safe error."""
    row = get_credential(session=session, credential_id=credential_id)
    if row.integration_type not in ADAPTERS:
        raise ValidationFailed(
            {"integration_type": [f"no connection test for {row.integration_type}"]}
        )
    calls: list[OutboundCall] = []
    status, error, known = "success", None, KnownSecrets()
    try:
        # An OAuth credential signs in with a broker token, as every other PSA call does:
        # testing with a stored token that has expired would call a working one broken.
        credentials = sign_in_credentials(
            session=session, vault=vault, broker=broker, row=row, context=context
        )
        # What the vault just revealed is never written back, whatever the PSA echoes.
        known = KnownSecrets.of(revealed_secrets(credentials))
        adapter = build_adapter(
            row.integration_type, credentials, audit=calls.append, **adapter_options
        )
        adapter.test_connection()
    except PsaError as exc:
        status, error = "failed", redact_text(known.mask(f"{type(exc).__name__}: {exc.detail}"))
        error = error[:1000]
    except (Conflict, ServiceUnavailable, ValidationFailed) as exc:  # no token to be had
        status, error = "failed", redact_text(f"token refresh: {exc.detail}")[:1000]
    # Signing in committed (and an OAuth refresh may have made a new version): re-read.
    row = get_credential(session=session, credential_id=credential_id)
    for call in calls:
        record_outbound_call(session=session, call=call, known_secrets=known.values)
    row.last_tested_at, row.last_test_status, row.last_test_error = utcnow(), status, error
    audit_credential(session, vault, row, "tested", None, context, outcome=status)
    session.commit()
    return row
