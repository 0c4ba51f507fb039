"""Build the vault's keyring and audit-chain key from settings (local keys, key file or AWS KMS)."""

from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.crypto import (
    CachingKeyring,
    FileKeyring,
    Keyring,
    KeyringError,
    KmsKeyring,
    LocalKeyring,
    generated_default_keyring,
    parse_key_list,
    parse_kms_keys,
)

log = logging.getLogger(__name__)
AUDIT_KEY_BYTES = 32


@dataclass
class VaultKeys:
    """What the vault needs at run time: the keyring and the audit HMAC key."""

    keyring: Keyring
    audit_key: bytes


def keyring_from_settings(settings: Mapping[str, Any]) -> Keyring:
    """KMS keys win, then VAULT_KEYS, then VAULT_KEYS_FILE, else the generated embedded default."""
    if settings.get("VAULT_KMS_KEYS"):
        keys, active = parse_kms_keys(settings["VAULT_KMS_KEYS"])
        kms = KmsKeyring(lambda: kms_client(settings), keys, active)
        ttl = float(settings.get("VAULT_DEK_CACHE_SECONDS") or 0)
        return CachingKeyring(kms, ttl=ttl) if ttl > 0 else kms
    if settings.get("VAULT_KEYS"):
        keys_b, active = parse_key_list(settings["VAULT_KEYS"])
        # Fixed for the process's life: the environment cannot change under a running worker.
        return LocalKeyring(keys_b, active, source="VAULT_KEYS")
    if settings.get("VAULT_KEYS_FILE"):
        return FileKeyring(Path(settings["VAULT_KEYS_FILE"]))
    return generated_default_keyring(
        Path(settings.get("VAULT_DEV_DIR") or "var") / "vault-keys.json"
    )


def kms_client(settings: Mapping[str, Any]) -> Any:
    """A KMS client on a boto3 session of its own: the default session may have been made
    in another process (gunicorn's master) and is not safe to share across a fork."""
    # Imported here: boto3 costs ~0.2 s of every cold start, and only KMS setups need it.
    import boto3

    return boto3.session.Session().client(
        "kms",
        region_name=settings.get("AWS_REGION") or None,
        endpoint_url=settings.get("VAULT_KMS_ENDPOINT_URL") or None,
    )


def audit_key_from_settings(settings: Mapping[str, Any]) -> bytes:
    """VAULT_AUDIT_KEY (base64, 32+ bytes), else a generated key file beside the dev keyring."""
    if settings.get("VAULT_AUDIT_KEY"):
        try:
            key = base64.b64decode(settings["VAULT_AUDIT_KEY"], validate=True)
        except ValueError:
            raise KeyringError("VAULT_AUDIT_KEY is not valid base64") from None
        if len(key) < AUDIT_KEY_BYTES:
            raise KeyringError("VAULT_AUDIT_KEY must decode to at least 32 bytes")
        return key
    path = Path(settings.get("VAULT_DEV_DIR") or "var") / "vault-audit-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(AUDIT_KEY_BYTES)).decode())
    log.warning(
        "VAULT AUDIT KEY IS THE EMBEDDED DEFAULT (%s): set VAULT_AUDIT_KEY in production.", path
    )
    return base64.b64decode(path.read_text().strip())


def vault_keys_from_settings(settings: Mapping[str, Any]) -> VaultKeys:
    """The keyring and audit key for a service process, checked before any request is served."""
    keyring = keyring_from_settings(settings)
    audit_key = audit_key_from_settings(settings)
    check_keyring(keyring)
    return VaultKeys(keyring=keyring, audit_key=audit_key)


def check_keyring(keyring: Keyring) -> None:
    """Start-up canary: wrap and unwrap one throwaway data key; fail closed if that fails."""
    context = {"purpose": "startup-canary"}
    try:
        data_key = keyring.generate_data_key(context)
        ok = keyring.unwrap(data_key.wrapped, context) == data_key.plaintext
    except Exception as exc:
        raise KeyringError(
            f"the keyring failed its start-up check ({type(exc).__name__})"
        ) from None
    if not ok:
        raise KeyringError("the keyring failed its start-up check (a key did not round-trip)")
