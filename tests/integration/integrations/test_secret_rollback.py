"""No rollback to an older secret: an earlier version's ciphertext, wrapped data key and version
put back with SQL decrypt (their AAD names that version), yet no use of the vault hands them
out, each refusal is a failed access-log row, and verify names the credential."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

pytest_plugins = ["tests.integration.integrations.audit_tampering"]

if TYPE_CHECKING:  # imported by pytest_plugins first, so its asserts are rewritten
    from tests.integration.integrations.audit_tampering import Vault

MakeVault = Callable[..., "Vault"]
SEALED_COLUMNS = (
    "version",
    "kek_id",
    "wrapped_data_key",
    "api_key_encrypted",
    "client_secret_encrypted",
    "access_token_encrypted",
    "refresh_token_encrypted",
    "password_encrypted",
)


def _sealed(vault: Vault, credential_id: str) -> dict[str, Any]:
    with vault.engine.connect() as connection:
        row = connection.exec_driver_sql(
            f"SELECT {', '.join(SEALED_COLUMNS)} FROM integration_credentials WHERE id = %s",
            (credential_id,),
        ).one()
    return dict(row._mapping)


def _put_back(vault: Vault, credential_id: str, older: dict[str, Any]) -> None:
    assignments = ", ".join(f"{column} = :{column}" for column in SEALED_COLUMNS)
    vault.sql(
        f"UPDATE integration_credentials SET {assignments} WHERE id = :id",
        id=credential_id,
        **older,
    )


def _changed(vault: Vault, made: dict[str, Any], **secrets: str) -> None:
    answer = vault.client.patch(
        f"/v1/credentials/{made['id']}",
        json={"expected_version": made["version"], **secrets},
        headers=vault.auth("credentials:write"),
    )
    assert answer.status_code == 200, answer.get_json()


@pytest.mark.parametrize("versions_later", [1, 3])
def test_an_older_secret_put_back_is_refused_audited_and_reported(
    audit_vault: MakeVault, versions_later: int
) -> None:
    vault = audit_vault()
    made = vault.create(api_key="first-key-ROLLBACK-0001")
    older = _sealed(vault, made["id"])
    for n in range(versions_later):
        _changed(vault, {**made, "version": 1 + n}, api_key=f"newer-key-{n}")
    _put_back(vault, made["id"], older)

    answer = vault.reveal(made["id"])

    assert answer.status_code == 500
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "first-key-ROLLBACK-0001" not in answer.get_data(as_text=True)
    refused = vault.log(made["id"])[-1]
    assert (refused.action, refused.outcome, refused.credential_version) == (
        "revealed",
        "failed",
        1,
    )
    assert (
        refused.reason == f"version 1 is older than version {1 + versions_later} in the access log"
    )
    assert refused.actor_token_id == vault.token_id("credentials:reveal")
    report = vault.verify()
    rolled_back = [f for f in report["findings"] if f["kind"] == "rolled-back"]
    assert [f["credential_id"] for f in rolled_back] == [made["id"]]
    assert "older secret was put back" in rolled_back[0]["detail"]


def test_an_older_oauth_token_put_back_gives_no_access_token(audit_vault: MakeVault) -> None:
    vault = audit_vault()
    made = vault.create("oauth", access_token="old-access-ROLLBACK-0002")
    older = _sealed(vault, made["id"])
    _changed(vault, made, access_token="newer-access-token")
    _put_back(vault, made["id"], older)
    answer = vault.client.post(
        f"/v1/credentials/{made['id']}/access-token", headers=vault.auth("credentials:reveal")
    )
    assert answer.status_code == 500
    assert "old-access-ROLLBACK-0002" not in answer.get_data(as_text=True)
    refused = vault.log(made["id"])[-1]
    assert (refused.action, refused.outcome) == ("used", "failed")


def test_an_update_does_not_reseal_an_older_secret_put_back(audit_vault: MakeVault) -> None:
    """Re-sealing the put-back secrets at a new version would launder them: refused too."""
    vault = audit_vault()
    made = vault.create(api_key="first-key-ROLLBACK-0003")
    older = _sealed(vault, made["id"])
    _changed(vault, made, api_key="newer-key")
    _put_back(vault, made["id"], older)
    answer = vault.client.patch(
        f"/v1/credentials/{made['id']}",
        json={"expected_version": 1, "username": "someone"},
        headers=vault.auth("credentials:write"),
    )
    assert answer.status_code == 500
    assert _sealed(vault, made["id"])["version"] == 1
    assert (vault.log(made["id"])[-1].action, vault.log(made["id"])[-1].outcome) == (
        "updated",
        "failed",
    )


def test_the_current_version_still_reveals_after_many_changes(audit_vault: MakeVault) -> None:
    vault = audit_vault()
    made = vault.create()
    for n in range(3):
        _changed(vault, {**made, "version": 1 + n}, api_key=f"key-{n}")
    answer = vault.reveal(made["id"])
    assert answer.status_code == 200
    assert answer.get_json()["fields"]["api_key"] == "key-2"
    assert vault.verify()["ok"]
