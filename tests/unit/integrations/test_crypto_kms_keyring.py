"""AWS KMS keyring against moto in server mode on a free loopback port."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.integrations.app import create_app
from services.integrations.vault import keys_config
from shared.crypto import (
    CachingKeyring,
    DecryptionFailed,
    KmsKeyring,
    parse_kms_keys,
    wrapped_kek_id,
)
from shared.web import reset_after_fork
from tests.integration.integrations.moto_kms import (
    FAKE_CREDENTIALS,
    REGION,
    kms_client,
    moto_server,
)

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
    keyring = KmsKeyring(lambda: kms, two_keys, "kms-1")
    data_key = keyring.generate_data_key(CONTEXT)
    assert len(data_key.plaintext) == 32
    assert wrapped_kek_id(data_key.wrapped) == "kms-1"
    assert keyring.unwrap(data_key.wrapped, CONTEXT) == data_key.plaintext


def test_a_kms_data_key_does_not_unwrap_under_another_context(
    kms: Any, two_keys: dict[str, str]
) -> None:
    keyring = KmsKeyring(lambda: kms, two_keys, "kms-1")
    wrapped = keyring.generate_data_key(CONTEXT).wrapped
    with pytest.raises(DecryptionFailed):
        keyring.unwrap(wrapped, {**CONTEXT, "credential_version": "2"})


def test_a_kms_rewrap_moves_the_key_to_the_new_version_server_side(
    kms: Any, two_keys: dict[str, str]
) -> None:
    data_key = KmsKeyring(lambda: kms, two_keys, "kms-1").generate_data_key(CONTEXT)
    rotated = KmsKeyring(lambda: kms, two_keys, "kms-2")
    wrapped, kek_id = rotated.rewrap(data_key.wrapped, CONTEXT)
    assert kek_id == "kms-2" == wrapped_kek_id(wrapped)
    assert rotated.unwrap(wrapped, CONTEXT) == data_key.plaintext


def test_a_kms_key_list_parses_aliases_and_arns() -> None:
    keys, active = parse_kms_keys("active:kms-1=alias/vault, kms-2=arn:aws:kms:eu-west-1:1:key/x")
    assert active == "kms-1"
    assert keys["kms-2"].startswith("arn:aws:kms")


def test_reconnect_gives_the_keyring_a_new_client_that_still_unwraps(
    kms_endpoint: str, two_keys: dict[str, str]
) -> None:
    built: list[Any] = []

    def connect() -> Any:
        built.append(kms_client(kms_endpoint))
        return built[-1]

    keyring = CachingKeyring(KmsKeyring(connect, two_keys, "kms-1"))
    data_key = keyring.generate_data_key(CONTEXT)
    keyring.reconnect()  # the cache passes it on to the KMS keyring inside
    assert len(built) == 2 and built[0] is not built[1]
    assert keyring.inner.unwrap(data_key.wrapped, CONTEXT) == data_key.plaintext


def test_an_integrations_app_on_kms_gives_each_forked_worker_its_own_client(
    kms_endpoint: str, kms: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    built: list[Any] = []
    real_kms_client = keys_config.kms_client
    monkeypatch.setattr(
        keys_config,
        "kms_client",
        lambda settings: built.append(real_kms_client(settings)) or built[-1],
    )
    app = create_app(
        {
            "DATABASE_URL": "mysql+pymysql://nobody@127.0.0.1:1/none",  # never reached here
            "VAULT_KMS_KEYS": f"kms-1={kms.create_key()['KeyMetadata']['Arn']}",
            "VAULT_KMS_ENDPOINT_URL": kms_endpoint,
            "AWS_REGION": REGION,
            "VAULT_AUDIT_KEY": base64.b64encode(os.urandom(32)).decode(),
            "VAULT_DEV_DIR": str(tmp_path),
        }
    )
    assert len(built) == 1  # made in the master, which checked the keyring with it
    worker = os.fork()
    if worker == 0:  # a real forked worker, doing what post_fork does, then using the vault
        os._exit(_use_the_vault_after_fork(app, built))
    _, status = os.waitpid(worker, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked worker's KMS round trip failed"
    assert len(built) == 1  # the worker's client is its own: the master's is untouched


def _use_the_vault_after_fork(app: Any, built: list[Any]) -> int:
    """In the forked child: 0 when it built its own client and wrapped and unwrapped with it."""
    try:
        reset_after_fork(app)
        assert len(built) == 2
        keyring = app.extensions["vault"].keyring
        data_key = keyring.generate_data_key(CONTEXT)
        assert keyring.unwrap(data_key.wrapped, CONTEXT) == data_key.plaintext
    except BaseException:
        return 1
    return 0
