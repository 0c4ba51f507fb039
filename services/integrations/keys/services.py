"""Key rotation without downtime: census per KEK version, batched resumable rewrap, retire."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from services.integrations.access_log.chain import AccessContext, chain_of
from services.integrations.access_log.credential_audit import audit_credential
from services.integrations.vault.keys_config import VaultKeys
from services.integrations.vault.kinds import SECRET_FIELDS
from services.integrations.vault.sealing import (
    CredentialUnreadable,
    data_key_context,
    needs_resealing,
    open_row,
    seal_row,
)
from shared.crypto import LEGACY_FORMAT_VERSION, DecryptionFailed, FileKeyring
from shared.errors import Conflict, NotFound
from shared.models import IntegrationCredential


@dataclass(frozen=True)
class KeyVersion:
    """One KEK version and how many credentials still have their data key wrapped by it."""

    kek_id: str
    active: bool
    in_keyring: bool
    credentials: int


@dataclass(frozen=True)
class RewrapResult:
    """What one rewrap batch did and what is left on older versions."""

    rewrapped: int
    remaining: int
    active_kek_id: str
    dry_run: bool


def key_census(*, session: Session, vault: VaultKeys) -> list[KeyVersion]:
    """Every KEK version in the keyring or in use, with its credential count."""
    query = select(IntegrationCredential.kek_id, func.count()).group_by(
        IntegrationCredential.kek_id
    )
    counts = {str(kek_id): int(n) for kek_id, n in session.execute(query).all()}
    keyring = vault.keyring
    ids = list(dict.fromkeys([*keyring.kek_ids(), *counts]))
    return [
        KeyVersion(
            kek_id,
            kek_id == keyring.active_kek_id,
            kek_id in keyring.kek_ids(),
            int(counts.get(kek_id, 0)),
        )
        for kek_id in ids
    ]


def _legacy_sealed() -> ColumnElement[bool]:
    """Rows with a field sealed before endpoints were bound (format byte 1 of the header)."""
    marker = bytes([LEGACY_FORMAT_VERSION])
    return or_(
        *(
            func.substr(getattr(IntegrationCredential, f"{name}_encrypted"), 5, 1) == marker
            for name in SECRET_FIELDS
        )
    )


def _needs_rewrap(active: str) -> ColumnElement[bool]:
    return or_(IntegrationCredential.kek_id != active, _legacy_sealed())


def _outdated(session: Session, active: str) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(IntegrationCredential).where(_needs_rewrap(active))
        )
        or 0
    )


def rewrap_batch(
    *,
    session: Session,
    vault: VaultKeys,
    batch_size: int,
    context: AccessContext,
    dry_run: bool = False,
) -> RewrapResult:
    """Re-wrap up to batch_size data keys onto the active KEK (ciphertexts unchanged); a row
    sealed before endpoints were bound is sealed again instead (new data key, same version).

    Idempotent and resumable: it only picks rows not yet on the active key or still sealed
    the old way, and each batch commits on its own, so a crash loses at most one batch's work.
    """
    active = vault.keyring.active_kek_id
    if dry_run:
        return RewrapResult(0, _outdated(session, active), active, True)
    rows = session.scalars(
        select(IntegrationCredential)
        .where(_needs_rewrap(active))
        .order_by(IntegrationCredential.id)
        .limit(batch_size)
        .with_for_update(skip_locked=session.bind.dialect.name != "sqlite")  # type: ignore[union-attr]
    ).all()
    moves = [(row, _rewrap_row(session, vault, row)) for row in rows]
    # Audit rows last and in chain order: the chain tips stay locked only for the inserts,
    # never across keyring (KMS) calls, and two batches always lock tips in the same order.
    for row, old in sorted(moves, key=lambda move: (chain_of(move[0].id), move[0].id)):
        audit_credential(session, vault, row, "rewrapped", [old, row.kek_id], context)
    session.commit()
    return RewrapResult(len(rows), _outdated(session, active), active, False)


def _rewrap_row(session: Session, vault: VaultKeys, row: IntegrationCredential) -> str:
    """Re-wrap one row's data key onto the active KEK; returns the KEK it came from."""
    old = row.kek_id
    if needs_resealing(row):
        # Its URLs as they are now become bound: the upgrade trusts them once, here.
        try:
            secrets = open_row(keyring=vault.keyring, row=row)
        except CredentialUnreadable:
            session.rollback()
            raise
        seal_row(keyring=vault.keyring, row=row, secrets=secrets)
        return old
    try:
        row.wrapped_data_key, row.kek_id = vault.keyring.rewrap(
            row.wrapped_data_key, data_key_context(row.id, row.version)
        )
    except DecryptionFailed:
        session.rollback()
        raise CredentialUnreadable() from None
    return old


def retire_key(*, session: Session, vault: VaultKeys, kek_id: str) -> KeyVersion:
    """Drop a KEK version from a key file; refused while it is active or any row needs it."""
    census = {k.kek_id: k for k in key_census(session=session, vault=vault)}
    version = census.get(kek_id)
    if version is None:
        raise NotFound("key version", kek_id)
    if version.active:
        raise Conflict("the active key version cannot be retired; activate another first")
    if version.credentials:
        raise Conflict(
            f"{version.credentials} credentials still need {kek_id}; rewrap first",
            credentials=version.credentials,
        )
    if isinstance(vault.keyring, FileKeyring):
        vault.keyring.retire_key(kek_id)
    return KeyVersion(kek_id, False, kek_id in vault.keyring.kek_ids(), 0)


def add_key_version(*, vault: VaultKeys) -> str:
    """Generate a new KEK version in the key file and make it active (file keyrings only)."""
    if not isinstance(vault.keyring, FileKeyring):
        raise Conflict("this keyring's keys come from its configuration; add the key there")
    # Running workers see the new version themselves (FileKeyring follows its file).
    return vault.keyring.add_key()
