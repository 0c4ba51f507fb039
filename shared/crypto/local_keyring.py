"""Local keyring: KEKs from an environment variable or a secret file; AES-256-GCM key wrapping."""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.crypto.envelope import DEK_BYTES, NONCE_BYTES, DecryptionFailed
from shared.crypto.keyring import (
    ALG_LOCAL_AES_256_GCM,
    DataKey,
    KeyringError,
    canonical_context,
    pack_wrap_header,
    unpack_wrap_header,
)

log = logging.getLogger(__name__)
KEK_BYTES = 32


class LocalKeyring:
    """KEK versions held in process memory; the newest (or the named one) wraps new data keys."""

    def __init__(self, keys: Mapping[str, bytes], active: str, *, source: str = "memory") -> None:
        if not keys:
            raise KeyringError("the keyring holds no keys")
        if active not in keys:
            raise KeyringError(f"active key id {active!r} is not in the keyring")
        for kek_id, key in keys.items():
            pack_wrap_header(ALG_LOCAL_AES_256_GCM, kek_id)  # validates the id
            if len(key) != KEK_BYTES:
                raise KeyringError(f"key {kek_id!r} must be {KEK_BYTES} bytes")
        self._keys = dict(keys)
        self._active = active
        self.source = source

    @property
    def active_kek_id(self) -> str:
        return self._active

    def kek_ids(self) -> list[str]:
        return list(self._keys)

    def _wrap(self, dek: bytes | bytearray, context: Mapping[str, str], kek_id: str) -> bytes:
        header = pack_wrap_header(ALG_LOCAL_AES_256_GCM, kek_id)
        nonce = os.urandom(NONCE_BYTES)
        body = AESGCM(self._keys[kek_id]).encrypt(
            nonce, bytes(dek), header + canonical_context(context)
        )
        return header + nonce + body

    def generate_data_key(self, context: Mapping[str, str]) -> DataKey:
        dek = bytearray(os.urandom(DEK_BYTES))
        return DataKey(dek, self._wrap(dek, context, self._active), self._active)

    def unwrap(self, wrapped: bytes, context: Mapping[str, str]) -> bytearray:
        kek_id, header, rest = unpack_wrap_header(wrapped, ALG_LOCAL_AES_256_GCM)
        key = self._keys.get(kek_id)
        if key is None or len(rest) < NONCE_BYTES:
            raise DecryptionFailed()
        try:
            plain = AESGCM(key).decrypt(
                rest[:NONCE_BYTES], rest[NONCE_BYTES:], header + canonical_context(context)
            )
        except InvalidTag:
            raise DecryptionFailed() from None
        return bytearray(plain)

    def rewrap(self, wrapped: bytes, context: Mapping[str, str]) -> tuple[bytes, str]:
        dek = self.unwrap(wrapped, context)
        try:
            return self._wrap(dek, context, self._active), self._active
        finally:
            dek[:] = bytes(len(dek))

    def to_document(self) -> dict[str, object]:
        """The keyring as a key-file document (for `keys add` on a file keyring)."""
        keys = {k: base64.b64encode(v).decode() for k, v in self._keys.items()}
        return {"active": self._active, "keys": keys}

    def with_new_key(self) -> LocalKeyring:
        """A copy with one more KEK version, made active (used by key rotation)."""
        numbers = [int(k.rsplit("-", 1)[-1]) for k in self._keys if k.rsplit("-", 1)[-1].isdigit()]
        new_id = f"local-{max(numbers, default=0) + 1}"
        keys = {**self._keys, new_id: secrets.token_bytes(KEK_BYTES)}
        return LocalKeyring(keys, new_id, source=self.source)

    def without_key(self, kek_id: str) -> LocalKeyring:
        """A copy without one (non-active) KEK version."""
        if kek_id == self._active:
            raise KeyringError("the active key cannot be retired")
        keys = {k: v for k, v in self._keys.items() if k != kek_id}
        return LocalKeyring(keys, self._active, source=self.source)


def parse_key_list(text: str) -> tuple[dict[str, bytes], str]:
    """Parse "id=base64key,id2=base64key" (last one active unless "active:" prefix is used)."""
    keys: dict[str, bytes] = {}
    active = ""
    for item in filter(None, (part.strip() for part in text.split(","))):
        kek_id, sep, encoded = item.partition("=")
        if not sep:
            raise KeyringError("each key must be written as id=base64")
        if kek_id.startswith("active:"):
            kek_id = kek_id.removeprefix("active:")
            active = kek_id
        keys[kek_id] = _decode_key(kek_id, encoded)
    if not keys:
        raise KeyringError("no keys given")
    return keys, active or list(keys)[-1]


def _decode_key(kek_id: str, encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError:
        raise KeyringError(f"key {kek_id!r} is not valid base64") from None


def load_key_file(path: Path) -> LocalKeyring:
    """Read a JSON key file {"active": id, "keys": {id: base64}}."""
    try:
        doc = json.loads(path.read_text())
        keys = {k: _decode_key(k, v) for k, v in doc["keys"].items()}
        return LocalKeyring(keys, doc["active"], source=str(path))
    except KeyringError as exc:
        raise KeyringError(f"cannot read key file {path}: {exc}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyringError(f"cannot read key file {path}: {type(exc).__name__}") from None


def save_key_file(keyring: LocalKeyring, path: Path) -> None:
    """Write the key file atomically with owner-only permissions."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(keyring.to_document(), handle)
    os.replace(tmp, path)


def generated_default_keyring(path: Path) -> LocalKeyring:
    """Embedded default: reuse or create a key file, and say loudly it is not for production."""
    if path.exists():
        keyring = load_key_file(path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(KEK_BYTES)
        keyring = LocalKeyring({"local-1": key}, "local-1", source=str(path))
        save_key_file(keyring, path)
    log.warning(
        "VAULT KEYRING IS THE EMBEDDED DEFAULT: a generated key in %s protects every credential. "
        "Do not use this in production; set VAULT_KEYS, VAULT_KEYS_FILE or VAULT_KMS_KEYS.",
        path,
    )
    return keyring
