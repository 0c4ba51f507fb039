"""What a PSA adapter signs in with, from the vault: one rule for tickets and connection tests."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.integrations.access_log.chain import AccessContext
from services.integrations.adapters import PsaCredentials
from services.integrations.credentials.services import reveal_row
from services.integrations.oauth.services import Broker, valid_access_token
from services.integrations.vault.keys_config import VaultKeys
from shared.models import IntegrationCredential


def sign_in_credentials(
    *,
    session: Session,
    vault: VaultKeys,
    broker: Broker,
    row: IntegrationCredential,
    context: AccessContext,
) -> PsaCredentials:
    """An OAuth credential signs in with the broker's access token (refreshed ahead of expiry,
    single-flight); the other kinds with their secrets. Either use is audited."""
    if row.credential_type == "oauth":
        token = valid_access_token(
            session=session, vault=vault, credential_id=row.id, context=context, broker=broker
        )
        return PsaCredentials(
            api_url=row.api_url, client_id=row.client_id, api_key=token.access_token
        )
    plain = reveal_row(session=session, vault=vault, row=row, fields=None, context=context)
    return PsaCredentials(
        api_url=row.api_url,
        username=row.username,
        client_id=row.client_id,
        api_key=plain.get("api_key"),
        password=plain.get("password"),
    )
