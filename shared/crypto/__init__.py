"""Envelope encryption for stored secrets: AES-256-GCM fields, data keys wrapped by a keyring."""

from shared.crypto.cache import CachingKeyring
from shared.crypto.envelope import (
    LEGACY_FORMAT_VERSION,
    DecryptionFailed,
    FieldContext,
    envelope_format,
    open_sealed,
    seal,
)
from shared.crypto.keyring import DataKey, Keyring, KeyringError, wrapped_kek_id
from shared.crypto.kms_keyring import KmsKeyring, parse_kms_keys
from shared.crypto.local_keyring import (
    FileKeyring,
    LocalKeyring,
    generated_default_keyring,
    load_key_file,
    parse_key_list,
    save_key_file,
)

__all__ = [
    "LEGACY_FORMAT_VERSION",
    "CachingKeyring",
    "DataKey",
    "DecryptionFailed",
    "FieldContext",
    "FileKeyring",
    "Keyring",
    "KeyringError",
    "KmsKeyring",
    "LocalKeyring",
    "envelope_format",
    "generated_default_keyring",
    "load_key_file",
    "open_sealed",
    "parse_key_list",
    "parse_kms_keys",
    "save_key_file",
    "seal",
    "wrapped_kek_id",
]
