"""The keyring interface: data keys wrapped by versioned key-encryption keys (KEKs)."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from shared.crypto.envelope import DecryptionFailed, length_prefixed

WRAP_MAGIC = b"MSPK"
WRAP_FORMAT_VERSION = 1
ALG_LOCAL_AES_256_GCM = 1
ALG_AWS_KMS = 2
_WRAP_HEADER = struct.Struct(">4sBBB")  # magic, format version, algorithm id, kek id length


@dataclass
class DataKey:
    """A fresh data key: plaintext (a bytearray, dropped quickly) and its wrapped form."""

    plaintext: bytearray = field(repr=False)  # never in a log line or a traceback
    wrapped: bytes
    kek_id: str


class KeyringError(Exception):
    """A keyring is misconfigured or cannot serve a key id (message never holds key material)."""


class Keyring(Protocol):
    """What the vault needs from a key provider (local keys or AWS KMS)."""

    @property
    def active_kek_id(self) -> str: ...

    def kek_ids(self) -> list[str]: ...

    def generate_data_key(self, context: Mapping[str, str]) -> DataKey: ...

    def unwrap(self, wrapped: bytes, context: Mapping[str, str]) -> bytearray: ...

    def rewrap(self, wrapped: bytes, context: Mapping[str, str]) -> tuple[bytes, str]: ...


@runtime_checkable
class RemoteKeyring(Protocol):
    """A keyring that talks to a key service (KMS) through a client a forked process must
    replace with its own."""

    def reconnect(self) -> None: ...


def canonical_context(context: Mapping[str, str]) -> bytes:
    """A stable encoding of an encryption context (sorted keys, length-prefixed)."""
    parts: list[str] = []
    for key in sorted(context):
        parts += [key, context[key]]
    return length_prefixed(b"msp-vault/dek-context/v1", *parts)


def pack_wrap_header(alg: int, kek_id: str) -> bytes:
    """Header of a wrapped data key: which algorithm and which KEK made it."""
    raw = kek_id.encode("ascii")
    if not 0 < len(raw) < 256:
        raise KeyringError("kek id must be 1-255 ASCII characters")
    return _WRAP_HEADER.pack(WRAP_MAGIC, WRAP_FORMAT_VERSION, alg, len(raw)) + raw


def unpack_wrap_header(wrapped: bytes, alg: int) -> tuple[str, bytes, bytes]:
    """Split a wrapped key into (kek id, header bytes, rest); a foreign header fails generically."""
    try:
        magic, fmt, got_alg, id_len = _WRAP_HEADER.unpack(wrapped[: _WRAP_HEADER.size])
        end = _WRAP_HEADER.size + id_len
        kek_id = wrapped[_WRAP_HEADER.size : end].decode("ascii")
    except (struct.error, UnicodeDecodeError):
        raise DecryptionFailed() from None
    if (magic, fmt, got_alg) != (WRAP_MAGIC, WRAP_FORMAT_VERSION, alg):
        raise DecryptionFailed()
    return kek_id, wrapped[:end], wrapped[end:]


def wrapped_kek_id(wrapped: bytes) -> str:
    """The KEK id named in a wrapped key's header (any provider)."""
    try:
        _, _, _, id_len = _WRAP_HEADER.unpack(wrapped[: _WRAP_HEADER.size])
        return wrapped[_WRAP_HEADER.size : _WRAP_HEADER.size + id_len].decode("ascii")
    except (struct.error, UnicodeDecodeError):
        raise DecryptionFailed() from None
