"""AWS KMS keyring against moto in server mode on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from shared.crypto import DecryptionFailed, KmsKeyring, parse_kms_keys, wrapped_kek_id

CONTEXT = {"credential_id": "cred-a", "credential_version": "1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError("moto_server exited early")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("moto_server did not start")


@pytest.fixture(scope="module")
def kms_endpoint() -> Iterator[str]:
    port = _free_port()
    moto = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture()
def kms(kms_endpoint: str) -> Any:
    return boto3.client(
        "kms",
        endpoint_url=kms_endpoint,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


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
