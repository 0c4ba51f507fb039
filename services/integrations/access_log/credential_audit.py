"""One access-log row for a credential, chained under the vault's audit key."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.integrations.access_log.chain import AccessContext, append_access
from services.integrations.vault.keys_config import VaultKeys
from services.integrations.vault.sealing import SealedCredential


def audit_credential(
    session: Session,
    vault: VaultKeys,
    row: SealedCredential,
    action: str,
    fields: list[str] | None,
    context: AccessContext,
    outcome: str = "success",
) -> None:
    """Append one row for this credential to its hash chain (committed by the caller)."""
    append_access(
        session=session,
        key=vault.audit_key,
        credential_id=row.id,
        credential_version=row.version,
        action=action,
        fields=fields,
        context=context,
        outcome=outcome,
    )
