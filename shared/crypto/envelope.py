"""AES-256-GCM field envelopes: fresh nonce, AAD bound to row, field, version and endpoints."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"MSPV"
# Format 2 binds the credential's endpoint URLs into the AAD as well. Format 1 envelopes
# (sealed before) still open, without that binding, until their row is sealed again.
FORMAT_VERSION = 2
LEGACY_FORMAT_VERSION = 1
ALG_AES_256_GCM = 1
NONCE_BYTES = 12
TAG_BYTES = 16
DEK_BYTES = 32
_HEADER = struct.Struct(">4sBBI")  # magic, format version, algorithm id, data-key version
_AAD_LABELS = {LEGACY_FORMAT_VERSION: b"msp-vault/field/v1", FORMAT_VERSION: b"msp-vault/field/v2"}


class DecryptionFailed(Exception):
    """One generic failure for every tamper case, so the error is never an oracle."""

    def __init__(self) -> None:
        super().__init__("decryption failed")


@dataclass(frozen=True)
class FieldContext:
    """What a field ciphertext is bound to: the row, the field, the credential version, and
    where the secret may be sent (`(name, url)` pairs: a changed URL no longer decrypts)."""

    credential_id: str
    field: str
    version: int
    endpoints: tuple[tuple[str, str | None], ...] = ()


def length_prefixed(*parts: str | bytes) -> bytes:
    """Canonical encoding: each part as a 4-byte big-endian length and its bytes (no ambiguity)."""
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8") if isinstance(part, str) else part
        out += struct.pack(">I", len(raw)) + raw
    return bytes(out)


def _aad(header: bytes, context: FieldContext, fmt: int) -> bytes:
    # The header is inside the AAD, so a changed format, algorithm id or key version fails
    # the tag (a format 2 envelope cannot be passed off as format 1 to drop the endpoints).
    parts: list[str | bytes] = [
        _AAD_LABELS[fmt],
        context.credential_id,
        context.field,
        str(context.version),
    ]
    if fmt >= 2:
        for name, url in context.endpoints:
            # "-" for no URL and "=url" for a URL: an unset URL never equals an empty one.
            parts += [name, "-" if url is None else f"={url}"]
    return header + length_prefixed(*parts)


def seal(*, dek: bytes | bytearray, plaintext: str, context: FieldContext) -> bytes:
    """Encrypt one field value under a data key; returns header | nonce | ciphertext | tag."""
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, ALG_AES_256_GCM, context.version)
    nonce = os.urandom(NONCE_BYTES)
    aad = _aad(header, context, FORMAT_VERSION)
    body = AESGCM(bytes(dek)).encrypt(nonce, plaintext.encode("utf-8"), aad)
    return header + nonce + body


def open_sealed(*, dek: bytes | bytearray, blob: bytes, context: FieldContext) -> str:
    """Decrypt a field envelope; any mismatch (header, nonce, tag, AAD, key) is DecryptionFailed."""
    try:
        header = blob[: _HEADER.size]
        magic, fmt, alg, key_version = _HEADER.unpack(header)
        if magic != MAGIC or fmt not in _AAD_LABELS or alg != ALG_AES_256_GCM:
            raise DecryptionFailed()
        if key_version != context.version or len(blob) < _HEADER.size + NONCE_BYTES + TAG_BYTES:
            raise DecryptionFailed()
        nonce = blob[_HEADER.size : _HEADER.size + NONCE_BYTES]
        body = blob[_HEADER.size + NONCE_BYTES :]
        plain = AESGCM(bytes(dek)).decrypt(nonce, body, _aad(header, context, fmt))
        return plain.decode("utf-8")
    except (InvalidTag, struct.error, ValueError, UnicodeDecodeError):
        raise DecryptionFailed() from None


def envelope_format(blob: bytes) -> int:
    """The format recorded in an envelope header (1: sealed before endpoints were bound)."""
    try:
        return int(_HEADER.unpack(blob[: _HEADER.size])[1])
    except struct.error:
        raise DecryptionFailed() from None


def header_key_version(blob: bytes) -> int:
    """The data-key version recorded in an envelope header (not trusted until decrypted)."""
    try:
        return int(_HEADER.unpack(blob[: _HEADER.size])[3])
    except struct.error:
        raise DecryptionFailed() from None
