"""AWS KMS keyring: GenerateDataKey / Decrypt / ReEncrypt with an encryption context."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.crypto.envelope import DecryptionFailed
from shared.crypto.keyring import (
    ALG_AWS_KMS,
    DataKey,
    KeyringError,
    pack_wrap_header,
    unpack_wrap_header,
)


class KmsKeyring:
    """KEK versions are KMS keys (id/ARN/alias) under short local names; one of them is active.

    `connect` builds the KMS client: once now, and again in `reconnect` after a fork.
    """

    def __init__(self, connect: Callable[[], Any], keys: Mapping[str, str], active: str) -> None:
        if not keys or active not in keys:
            raise KeyringError("the KMS keyring needs at least one key and an active key id")
        for kek_id in keys:
            pack_wrap_header(ALG_AWS_KMS, kek_id)
        self._connect = connect
        self._client = connect()
        self._keys = dict(keys)
        self._active = active
        self.source = "aws-kms"

    def reconnect(self) -> None:
        """Build a new client. A boto3 client and its connection pool are not fork-safe: a
        worker forked from the process that made this keyring must not use the parent's."""
        self._client = self._connect()

    @property
    def active_kek_id(self) -> str:
        return self._active

    def kek_ids(self) -> list[str]:
        return list(self._keys)

    def generate_data_key(self, context: Mapping[str, str]) -> DataKey:
        answer = self._client.generate_data_key(
            KeyId=self._keys[self._active], KeySpec="AES_256", EncryptionContext=dict(context)
        )
        header = pack_wrap_header(ALG_AWS_KMS, self._active)
        wrapped = header + answer["CiphertextBlob"]
        return DataKey(bytearray(answer["Plaintext"]), wrapped, self._active)

    def unwrap(self, wrapped: bytes, context: Mapping[str, str]) -> bytearray:
        kek_id, _, blob = unpack_wrap_header(wrapped, ALG_AWS_KMS)
        key = self._keys.get(kek_id)
        if key is None:
            raise DecryptionFailed()
        try:
            answer = self._client.decrypt(
                CiphertextBlob=blob, KeyId=key, EncryptionContext=dict(context)
            )
        except self._client.exceptions.InvalidCiphertextException:
            raise DecryptionFailed() from None
        except self._client.exceptions.IncorrectKeyException:
            raise DecryptionFailed() from None
        return bytearray(answer["Plaintext"])

    def rewrap(self, wrapped: bytes, context: Mapping[str, str]) -> tuple[bytes, str]:
        kek_id, _, blob = unpack_wrap_header(wrapped, ALG_AWS_KMS)
        if kek_id not in self._keys:
            raise DecryptionFailed()
        try:
            answer = self._client.re_encrypt(
                CiphertextBlob=blob,
                SourceKeyId=self._keys[kek_id],
                SourceEncryptionContext=dict(context),
                DestinationKeyId=self._keys[self._active],
                DestinationEncryptionContext=dict(context),
            )
        except self._client.exceptions.InvalidCiphertextException:
            raise DecryptionFailed() from None
        return pack_wrap_header(ALG_AWS_KMS, self._active) + answer["CiphertextBlob"], self._active


def parse_kms_keys(text: str) -> tuple[dict[str, str], str]:
    """Parse "kms-1=arn:...,kms-2=alias/x" (the last one, or one prefixed "active:", is active)."""
    keys: dict[str, str] = {}
    active = ""
    for item in filter(None, (part.strip() for part in text.split(","))):
        kek_id, sep, key = item.partition("=")
        if not sep or not key:
            raise KeyringError("each KMS key must be written as id=key-id-or-arn-or-alias")
        if kek_id.startswith("active:"):
            kek_id = kek_id.removeprefix("active:")
            active = kek_id
        keys[kek_id] = key
    if not keys:
        raise KeyringError("no KMS keys given")
    return keys, active or list(keys)[-1]
