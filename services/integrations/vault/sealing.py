"""Seal and open a credential row's secret fields under one data key per credential version."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Protocol

from services.integrations.vault.kinds import SECRET_FIELDS
from shared.crypto import (
    LEGACY_FORMAT_VERSION,
    DecryptionFailed,
    FieldContext,
    Keyring,
    envelope_format,
    open_sealed,
    seal,
)
from shared.errors import DomainError
from shared.models import IntegrationCredential

log = logging.getLogger(__name__)


class SealedCredential(Protocol):
    """What opening reads (plus each `<field>_encrypted`): an ORM credential or a plain row."""

    @property
    def id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def credential_type(self) -> str: ...
    @property
    def wrapped_data_key(self) -> bytes: ...
    @property
    def api_url(self) -> str | None: ...
    @property
    def token_url(self) -> str | None: ...


class CredentialUnreadable(DomainError):
    """A stored ciphertext failed authentication; the answer and the log carry no detail."""

    status, slug, title = 500, "credential-unreadable", "Credential unreadable"

    def __init__(self) -> None:
        super().__init__("the credential could not be decrypted")


def data_key_context(credential_id: str, version: int) -> dict[str, str]:
    """The encryption context binding a data key to one credential version (KMS AAD too)."""
    return {
        "purpose": "integration-credential",
        "credential_id": credential_id,
        "credential_version": str(version),
    }


# Every URL a credential's secrets are sent to, or an adapter derives its URLs from. They are
# part of each sealed field's AAD: a URL changed behind the service's back (SQL, a restore)
# makes the credential unreadable instead of sending its secrets somewhere else.
ENDPOINT_FIELDS = ("api_url", "token_url")


def field_context(row: SealedCredential, name: str) -> FieldContext:
    """What the field `name` of this row is sealed to: row, field, version and endpoints."""
    endpoints = tuple((url_field, getattr(row, url_field)) for url_field in ENDPOINT_FIELDS)
    return FieldContext(row.id, name, row.version, endpoints)


def needs_resealing(row: SealedCredential) -> bool:
    """True when a field was sealed before endpoints were bound (format 1): such a row still
    opens, and its next write, or `rewrap`, seals it again with the endpoints bound."""
    return any(
        envelope_format(getattr(row, f"{name}_encrypted")) == LEGACY_FORMAT_VERSION
        for name in stored_secret_names(row)
    )


def seal_row(
    *, keyring: Keyring, row: IntegrationCredential, secrets: Mapping[str, str | None]
) -> None:
    """Give the row a fresh data key for its current version and seal every secret field."""
    data_key = keyring.generate_data_key(data_key_context(row.id, row.version))
    try:
        for name in SECRET_FIELDS:
            value = secrets.get(name)
            context = field_context(row, name)
            blob = (
                None
                if value is None
                else seal(dek=data_key.plaintext, plaintext=value, context=context)
            )
            setattr(row, f"{name}_encrypted", blob)
    finally:
        data_key.plaintext[:] = bytes(len(data_key.plaintext))
    row.wrapped_data_key = data_key.wrapped
    row.kek_id = data_key.kek_id


def stored_secret_names(row: SealedCredential) -> list[str]:
    """The secret fields this row holds a value for."""
    return [name for name in SECRET_FIELDS if getattr(row, f"{name}_encrypted") is not None]


def open_row(
    *, keyring: Keyring, row: SealedCredential, names: Iterable[str] | None = None
) -> dict[str, str]:
    """Plaintext of the named (default: all stored) secret fields; tampering -> 500, no detail."""
    wanted = list(names) if names is not None else stored_secret_names(row)
    try:
        dek = keyring.unwrap(row.wrapped_data_key, data_key_context(row.id, row.version))
    except DecryptionFailed:
        log.warning("credential data key failed to unwrap", extra={"credential_id": row.id})
        raise CredentialUnreadable() from None
    try:
        return {
            name: _open_field(dek, row, name)
            for name in wanted
            if getattr(row, f"{name}_encrypted") is not None
        }
    finally:
        dek[:] = bytes(len(dek))


def _open_field(dek: bytearray, row: SealedCredential, name: str) -> str:
    try:
        return open_sealed(
            dek=dek,
            blob=getattr(row, f"{name}_encrypted"),
            context=field_context(row, name),
        )
    except DecryptionFailed:
        log.warning("credential field failed to decrypt", extra={"credential_id": row.id})
        raise CredentialUnreadable() from None
