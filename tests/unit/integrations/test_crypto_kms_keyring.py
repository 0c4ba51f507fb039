"""AWS KMS keyring against moto in server mode on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.crypto import DecryptionFailed, KmsKeyring, parse_kms_keys, wrapped_kek_id
from tests.integration.integrations.moto_kms import kms_client, moto_server

CONTEXT = {"credential_id": "cred-a", "credential_version": "1"}


@pytest.fixture(scope="module")
def kms_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture()
def kms(kms_endpoint: str) -> Any:
    return kms_client(kms_endpoint)


@pytest.fixture()
def two_keys(kms: Any) -> dict[str, str]:
    return {f"kms-{n}": kms.create_key()["KeyMetadata"]["Arn"] for n in (1, 2)}


def test_a_kms_data_key_unwraps_under_the_same_encryption_context(
    kms: Any, two_keys: dict[str, str]
) -> None:
    keyring = KmsKeyring(kms, two_keys, "kms-1")
    data_key = keyring.generate_data_key(CONTEXT)
    assert len(data_key.plaintext) == 32
    assert wrapped_kek_id(data_key.wrapped) == "kms-1"
    assert keyring.unwrap(data_key.wrapped, CONTEXT) == data_key.plaintext


def test_a_kms_data_key_does_not_unwrap_under_another_context(
    kms: Any, two_keys: dict[str, str]
) -> None:
    keyring = KmsKeyring(kms, two_keys, "kms-1")
    wrapped = keyring.generate_data_key(CONTEXT).wrapped
    with pytest.raises(DecryptionFailed):
        keyring.unwrap(wrapped, {**CONTEXT, "credential_version": "2"})


def test_a_kms_rewrap_moves_the_key_to_the_new_version_server_side(
    kms: Any, two_keys: dict[str, str]
) -> None:
    data_key = KmsKeyring(kms, two_keys, "kms-1").generate_data_key(CONTEXT)
    rotated = KmsKeyring(kms, two_keys, "kms-2")
    wrapped, kek_id = rotated.rewrap(data_key.wrapped, CONTEXT)
    assert kek_id == "kms-2" == wrapped_kek_id(wrapped)
    assert rotated.unwrap(wrapped, CONTEXT) == data_key.plaintext


def test_a_kms_key_list_parses_aliases_and_arns() -> None:
    keys, active = parse_kms_keys("active:kms-1=alias/vault, kms-2=arn:aws:kms:eu-west-1:1:key/x")
    assert active == "kms-1"
    assert keys["kms-2"].startswith("arn:aws:kms")
