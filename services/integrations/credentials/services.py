"""Credential use cases: every secret sealed per version, every read and change audited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.integrations.access_log.chain import AccessContext
from services.integrations.access_log.credential_audit import (
    audit_credential,
    open_for_use,
    record_refusal,
    refuse_if_disabled,
)
from services.integrations.vault.keys_config import VaultKeys
from services.integrations.vault.kinds import (
    KIND_SECRETS,
    PLAIN_FIELDS,
    SECRET_FIELDS,
    check_fields_fit_kind,
    check_required_present,
)
from services.integrations.vault.rollback import newest_audited_version_of
from services.integrations.vault.sealing import (
    ENDPOINT_FIELDS,
    SealedCredential,
    seal_row,
    stored_secret_names,
)
from services.integrations.vault.stored import get_credential
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.models import IntegrationCredential, new_id, utcnow
from shared.pagination import Page, filtered, keyset_page

DESCRIPTIVE_FIELDS = ("integration_name", "integration_type", "is_active")
# What opening a credential reads, as a plain row (12 of 24 columns, no ORM object): every
# secret use runs it, and the whole entity cost more to load than the rest of the reveal.
# The newest version the access log recorded rides along (one index lookup, no round trip).
_SEALED = select(
    IntegrationCredential.id,
    IntegrationCredential.credential_type,
    IntegrationCredential.version,
    IntegrationCredential.is_active,
    newest_audited_version_of(IntegrationCredential.id),
    IntegrationCredential.wrapped_data_key,
    IntegrationCredential.api_url,  # bound into every field's AAD
    IntegrationCredential.token_url,
    *(getattr(IntegrationCredential, f"{name}_encrypted") for name in SECRET_FIELDS),
).where(IntegrationCredential.id == bindparam("credential_id"))


def create_credential(
    *, session: Session, vault: VaultKeys, data: Mapping[str, Any], context: AccessContext
) -> IntegrationCredential:
    """Store a new credential at version 1, its secrets sealed, with a 'created' audit row."""
    kind = data["credential_type"]
    check_fields_fit_kind(kind, data)
    check_required_present(kind, data)
    row = IntegrationCredential(
        id=new_id(), version=1, credential_type=kind, last_test_status="never"
    )
    _apply_plain(row, data)
    seal_row(keyring=vault.keyring, row=row, secrets={n: data.get(n) for n in SECRET_FIELDS})
    session.add(row)
    _flush_unique(session, row.integration_name)
    audit_credential(session, vault, row, "created", stored_secret_names(row), context)
    session.commit()
    return row


def update_credential(
    *,
    session: Session,
    vault: VaultKeys,
    credential_id: str,
    expected_version: int,
    changes: Mapping[str, Any],
    context: AccessContext,
    may_reveal: bool = False,
) -> IntegrationCredential:
    """Check-and-set update: a stale expected_version is 409; secrets are resealed at v+1.
    Moving an endpoint URL needs `may_reveal` or every stored secret re-entered."""
    row = _locked_at_version(session, credential_id, expected_version)
    check_fields_fit_kind(row.credential_type, changes)
    if _moved_endpoints(row, changes):
        _check_endpoint_move(session, vault, row, changes, context, may_reveal=may_reveal)
        context = replace(context, purpose="endpoint change")
    secrets = open_for_use(session, vault, row, action="updated", context=context)
    secrets.update({k: v for k, v in changes.items() if k in SECRET_FIELDS})
    plain = {k: getattr(row, k) for k in PLAIN_FIELDS} | dict(changes)
    check_required_present(row.credential_type, {**plain, **secrets})
    _apply_plain(row, changes)
    row.version += 1
    seal_row(keyring=vault.keyring, row=row, secrets=secrets)
    _flush_unique(session, row.integration_name)
    changed = sorted(
        k for k in changes if k in SECRET_FIELDS or k in PLAIN_FIELDS or k in DESCRIPTIVE_FIELDS
    )
    audit_credential(session, vault, row, "updated", changed, context)
    session.commit()
    return row


def _moved_endpoints(row: IntegrationCredential, changes: Mapping[str, Any]) -> list[str]:
    return [f for f in ENDPOINT_FIELDS if f in changes and changes[f] != getattr(row, f)]


def _check_endpoint_move(
    session: Session,
    vault: VaultKeys,
    row: IntegrationCredential,
    changes: Mapping[str, Any],
    context: AccessContext,
    *,
    may_reveal: bool,
) -> None:
    """A new URL is where the stored secrets will be sent: moving it is a reveal, so it takes
    the reveal scope, unless every stored secret is replaced in the same request (then only
    what the caller just typed goes there). A refusal is an access-log row too."""
    kept = sorted(set(stored_secret_names(row)) - {k for k in changes if k in SECRET_FIELDS})
    if may_reveal or not kept:
        return
    moved = _moved_endpoints(row, changes)
    audit_credential(
        session,
        vault,
        row,
        "updated",
        moved,
        replace(context, purpose="endpoint change"),
        outcome="denied",
    )
    session.commit()
    raise Forbidden(
        f"changing {', '.join(moved)} sends the stored secrets there: it needs the scope "
        f"credentials:reveal, or the secrets {', '.join(kept)} entered again in this request",
        missing_scopes=["credentials:reveal"],
        re_enter=kept,
    )


def delete_credential(
    *,
    session: Session,
    vault: VaultKeys,
    credential_id: str,
    expected_version: int,
    context: AccessContext,
) -> None:
    """Check-and-set delete: the row, its ciphertexts and its wrapped data key go together,
    so nothing can decrypt them afterwards; the access log keeps a 'deleted' row."""
    row = _locked_at_version(session, credential_id, expected_version)
    audit_credential(session, vault, row, "deleted", stored_secret_names(row), context)
    session.delete(row)
    session.commit()


def list_credentials(
    *,
    session: Session,
    integration_type: str | None = None,
    integration_name: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[IntegrationCredential]:
    """Credentials by name (metadata only), optionally filtered."""
    query = filtered(
        select(IntegrationCredential),
        {
            IntegrationCredential.integration_type: integration_type,
            IntegrationCredential.integration_name: integration_name,
        },
    )
    return keyset_page(
        session=session,
        query=query,
        sort=IntegrationCredential.integration_name,
        tiebreak=IntegrationCredential.id,
        cursor=cursor,
        limit=limit,
    )


def expiring_credentials(
    *, session: Session, within: timedelta, now: datetime | None = None
) -> list[IntegrationCredential]:
    """Active credentials whose token expires within `within` (already expired ones included)."""
    horizon = (now or utcnow()) + within
    return list(
        session.scalars(
            select(IntegrationCredential)
            .where(
                IntegrationCredential.is_active.is_(True),
                IntegrationCredential.token_expires_at.is_not(None),
                IntegrationCredential.token_expires_at <= horizon,
            )
            .order_by(IntegrationCredential.token_expires_at, IntegrationCredential.id)
        )
    )


def reveal_credential(
    *,
    session: Session,
    vault: VaultKeys,
    credential_id: str,
    fields: list[str] | None,
    context: AccessContext,
) -> tuple[SealedCredential, dict[str, str]]:
    """Plaintext of the asked fields, returned only once its audit row is committed."""
    row = session.connection().execute(_SEALED, {"credential_id": credential_id}).one_or_none()
    if row is None:
        raise NotFound("credential", credential_id)
    return row, reveal_row(session=session, vault=vault, row=row, fields=fields, context=context)


def reveal_row(
    *,
    session: Session,
    vault: VaultKeys,
    row: SealedCredential,
    fields: list[str] | None,
    context: AccessContext,
) -> dict[str, str]:
    """Plaintext of a row the caller already read, returned only once its audit row is
    committed (a sign-in has the credential loaded: reading it again was a second query).
    A disabled credential, an older version than the log recorded or a ciphertext that
    fails is refused, and the refusal is a committed 'denied'/'failed' row."""
    if fields:
        _check_revealable(row, fields)
    refuse_if_disabled(session, vault, row, action="revealed", context=context)
    plaintext = open_for_use(session, vault, row, action="revealed", context=context, names=fields)
    audit_credential(session, vault, row, "revealed", sorted(plaintext), context)
    session.commit()  # no audit row committed -> this raises and no plaintext leaves
    return plaintext


def record_scope_refusal(
    *,
    session: Session,
    vault: VaultKeys,
    credential_id: str,
    action: str,
    context: AccessContext,
    reason: str,
) -> None:
    """A request for this credential's secret refused before its view ran (a token without
    the scope) is a committed 'denied' row; an id naming no credential leaves none."""
    row = session.connection().execute(_SEALED, {"credential_id": credential_id}).one_or_none()
    if row is not None:
        record_refusal(session, vault, row, action, context, outcome="denied", reason=reason)


def _check_revealable(row: SealedCredential, fields: list[str]) -> None:
    allowed = KIND_SECRETS[row.credential_type]
    errors = {
        n: [f"is not a secret field of {row.credential_type} credentials"]
        for n in fields
        if n not in allowed
    }
    if errors:
        raise ValidationFailed(errors)


def _apply_plain(row: IntegrationCredential, data: Mapping[str, Any]) -> None:
    for name in (*PLAIN_FIELDS, *DESCRIPTIVE_FIELDS):
        if name in data:
            setattr(row, name, data[name])


def _flush_unique(session: Session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"a credential named {name!r} already exists") from None


def _locked_at_version(
    session: Session, credential_id: str, expected_version: int
) -> IntegrationCredential:
    """The row locked for the write, or 409 when it changed since the caller read it."""
    row = get_credential(session=session, credential_id=credential_id, lock=True)
    if row.version != expected_version:
        raise Conflict(
            "the credential changed since you read it",
            current_version=row.version,
            expected_version=expected_version,
        )
    return row
