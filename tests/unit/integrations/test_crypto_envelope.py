"""Field envelopes: round trip, and every kind of tampering fails with one generic error."""

from __future__ import annotations

import os

import pytest

from shared.crypto import DecryptionFailed, FieldContext, open_sealed, seal
from shared.crypto.envelope import NONCE_BYTES, TAG_BYTES

DEK = os.urandom(32)
CTX = FieldContext(credential_id="cred-a", field="api_key", version=3)
SECRET = "syncro-api-key-Zq81"
HEADER_LEN = 10


def _fails(blob: bytes, *, context: FieldContext = CTX, dek: bytes = DEK) -> DecryptionFailed:
    with pytest.raises(DecryptionFailed) as info:
        open_sealed(dek=dek, blob=blob, context=context)
    return info.value


def _flip(blob: bytes, index: int) -> bytes:
    mutable = bytearray(blob)
    mutable[index] ^= 0x01
    return bytes(mutable)


def test_a_sealed_value_opens_to_the_same_plaintext() -> None:
    blob = seal(dek=DEK, plaintext=SECRET, context=CTX)
    assert open_sealed(dek=DEK, blob=blob, context=CTX) == SECRET


def test_sealing_twice_uses_a_fresh_nonce_each_time() -> None:
    first = seal(dek=DEK, plaintext=SECRET, context=CTX)
    second = seal(dek=DEK, plaintext=SECRET, context=CTX)
    nonce = slice(HEADER_LEN, HEADER_LEN + NONCE_BYTES)
    assert first[nonce] != second[nonce]
    assert first != second


def test_the_ciphertext_does_not_contain_the_plaintext() -> None:
    assert SECRET.encode() not in seal(dek=DEK, plaintext=SECRET, context=CTX)


def test_the_tag_is_the_full_128_bits() -> None:
    blob = seal(dek=DEK, plaintext="", context=CTX)
    assert len(blob) == HEADER_LEN + NONCE_BYTES + TAG_BYTES


@pytest.mark.parametrize("index", range(HEADER_LEN), ids=lambda i: f"header-byte-{i}")
def test_a_tampered_header_byte_fails(index: int) -> None:
    _fails(_flip(seal(dek=DEK, plaintext=SECRET, context=CTX), index))


@pytest.mark.parametrize("part", ["nonce", "ciphertext", "tag"])
def test_a_tampered_nonce_ciphertext_or_tag_fails(part: str) -> None:
    blob = seal(dek=DEK, plaintext=SECRET, context=CTX)
    index = {"nonce": HEADER_LEN, "ciphertext": HEADER_LEN + NONCE_BYTES, "tag": len(blob) - 1}
    _fails(_flip(blob, index[part]))


@pytest.mark.parametrize(
    "other",
    [
        FieldContext(credential_id="cred-b", field="api_key", version=3),
        FieldContext(credential_id="cred-a", field="password", version=3),
        FieldContext(credential_id="cred-a", field="api_key", version=4),
    ],
    ids=["another-row", "another-field", "another-version"],
)
def test_a_blob_moved_to_another_row_field_or_version_fails(other: FieldContext) -> None:
    _fails(seal(dek=DEK, plaintext=SECRET, context=CTX), context=other)


def test_a_header_rewritten_to_the_other_version_still_fails() -> None:
    blob = bytearray(seal(dek=DEK, plaintext=SECRET, context=CTX))
    blob[9] = 4  # the header's key version, now matching the target row's version
    _fails(bytes(blob), context=FieldContext("cred-a", "api_key", 4))


@pytest.mark.parametrize(
    "blob",
    [b"", b"MSPV", b"\x00" * 64, os.urandom(40)],
    ids=["empty", "magic-only", "zeros", "random"],
)
def test_garbage_fails(blob: bytes) -> None:
    _fails(blob)


def test_the_wrong_data_key_fails() -> None:
    _fails(seal(dek=DEK, plaintext=SECRET, context=CTX), dek=os.urandom(32))


def test_every_failure_is_the_same_generic_error_without_detail() -> None:
    blob = seal(dek=DEK, plaintext=SECRET, context=CTX)
    errors = [
        _fails(_flip(blob, 0)),
        _fails(_flip(blob, len(blob) - 1)),
        _fails(blob, context=FieldContext("cred-b", "api_key", 3)),
        _fails(blob, dek=os.urandom(32)),
    ]
    assert {str(e) for e in errors} == {"decryption failed"}
    assert all(e.__cause__ is None for e in errors)
    assert all(e.__context__ is None or e.__suppress_context__ for e in errors)
