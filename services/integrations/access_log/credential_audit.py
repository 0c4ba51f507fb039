"""One access-log row for a credential, chained under the vault's audit key; every refusal too."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from services.integrations.access_log.chain import AccessContext, append_access
from services.integrations.vault.keys_config import VaultKeys
from services.integrations.vault.rollback import refuse_rolled_back
from services.integrations.vault.sealing import CredentialUnreadable, SealedCredential, open_row
from shared.errors import Conflict

UNREADABLE = "the ciphertext or its data key failed authentication"
DISABLED = "the credential is disabled"


def audit_credential(
    session: Session,
    vault: VaultKeys,
    row: SealedCredential,
    action: str,
    fields: list[str] | None,
    context: AccessContext,
    outcome: str = "success",
    reason: str | None = None,
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
        reason=reason,
    )


def record_refusal(
    session: Session,
    vault: VaultKeys,
    row: SealedCredential,
    action: str,
    context: AccessContext,
    *,
    outcome: str,
    reason: str,
    fields: list[str] | None = None,
) -> None:
    """Commit a 'denied' or 'failed' row now: the refusal that follows rolls nothing back."""
    audit_credential(session, vault, row, action, fields, context, outcome, reason)
    session.commit()


def open_for_use(
    session: Session,
    vault: VaultKeys,
    row: SealedCredential,
    *,
    action: str,
    context: AccessContext,
    names: Iterable[str] | None = None,
) -> dict[str, str]:
    """Plaintext of `names` (default: every stored secret), or a committed 'failed' row and
    CredentialUnreadable when the row is older than its log says or does not decrypt."""
    wanted = list(names) if names is not None else None
    try:
        refuse_rolled_back(session, row)
        return open_row(keyring=vault.keyring, row=row, names=wanted)
    except CredentialUnreadable as exc:
        reason = getattr(exc, "reason", UNREADABLE)
        record_refusal(
            session, vault, row, action, context, outcome="failed", reason=reason, fields=wanted
        )
        raise


def refuse_if_disabled(
    session: Session,
    vault: VaultKeys,
    row: SealedCredential,
    *,
    action: str,
    context: AccessContext,
) -> None:
    """A disabled credential gives out no secret: 409, and a committed 'denied' row."""
    if getattr(row, "is_active", True):
        return
    record_refusal(session, vault, row, action, context, outcome="denied", reason=DISABLED)
    raise Conflict("this credential is disabled (its refresh token was rejected?)")
