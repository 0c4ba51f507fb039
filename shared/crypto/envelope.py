"""AES-256-GCM field envelopes: fresh nonce, AAD bound to row, field, version."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"MSPV"
FORMAT_VERSION = 1
ALG_AES_256_GCM = 1
NONCE_BYTES = 12
TAG_BYTES = 16
DEK_BYTES = 32
_HEADER = struct.Struct(">4sBBI")  # magic, format version, algorithm id, data-key version
_AAD_LABEL = b"msp-vault/field/v1"


class DecryptionFailed(Exception):
    """One generic failure for every tamper case, so the error is never an oracle."""

    def __init__(self) -> None:
        super().__init__("decryption failed")


@dataclass(frozen=True)
class FieldContext:
    """What a field ciphertext is bound to: the row, the field and the credential version."""

    credential_id: str
    field: str
    version: int


def length_prefixed(*parts: str | bytes) -> bytes:
    """Canonical encoding: each part as a 4-byte big-endian length and its bytes (no ambiguity)."""
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8") if isinstance(part, str) else part
        out += struct.pack(">I", len(raw)) + raw
    return bytes(out)


def _aad(header: bytes, context: FieldContext) -> bytes:
    # The header is inside the AAD, so a changed algorithm id or key version fails the tag.
    return header + length_prefixed(
        _AAD_LABEL, context.credential_id, context.field, str(context.version)
    )


def seal(*, dek: bytes | bytearray, plaintext: str, context: FieldContext) -> bytes:
    """Encrypt one field value under a data key; returns header | nonce | ciphertext | tag."""
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, ALG_AES_256_GCM, context.version)
    nonce = os.urandom(NONCE_BYTES)
    body = AESGCM(bytes(dek)).encrypt(nonce, plaintext.encode("utf-8"), _aad(header, context))
    return header + nonce + body


def open_sealed(*, dek: bytes | bytearray, blob: bytes, context: FieldContext) -> str:
    """Decrypt a field envelope; any mismatch (header, nonce, tag, AAD, key) is DecryptionFailed."""
    try:
        header = blob[: _HEADER.size]
        magic, fmt, alg, key_version = _HEADER.unpack(header)
        if (magic, fmt, alg) != (MAGIC, FORMAT_VERSION, ALG_AES_256_GCM):
            raise DecryptionFailed()
        if key_version != context.version or len(blob) < _HEADER.size + NONCE_BYTES + TAG_BYTES:
            raise DecryptionFailed()
        nonce = blob[_HEADER.size : _HEADER.size + NONCE_BYTES]
        body = blob[_HEADER.size + NONCE_BYTES :]
        plain = AESGCM(bytes(dek)).decrypt(nonce, body, _aad(header, context))
        return plain.decode("utf-8")
    except (InvalidTag, struct.error, ValueError, UnicodeDecodeError):
        raise DecryptionFailed() from None


def header_key_version(blob: bytes) -> int:
    """The data-key version recorded in an envelope header (not trusted until decrypted)."""
    try:
        return int(_HEADER.unpack(blob[: _HEADER.size])[3])
    except struct.error:
        raise DecryptionFailed() from None
