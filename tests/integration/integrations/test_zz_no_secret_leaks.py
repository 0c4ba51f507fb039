"""No plaintext secret in any log line, error body, answer or audit row of the integrations suite.

Runs last in this folder (zz). The vault_support plugin watches every integrations app the
suite uses (answers, log records) and registers every secret sent to /v1/credentials and every
secret setting; this test searches all of it, after driving the error paths once more itself
so that it means something when run alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from tests.integration.integrations.vault_secrets import CAPTURED, SECRETS_USED, new_secret

pytest_plugins = ["tests.integration.integrations.vault_support"]

Maker = Callable[..., dict[str, Any]]
Auth = Callable[..., dict[str, str]]


def _drive_error_paths(
    client: FlaskClient, make_credential: Maker, auth: Auth, engine: Engine
) -> None:
    made = make_credential("basic_auth")
    url = f"/v1/credentials/{made['id']}"
    write = auth("credentials:write")
    client.patch(url, json={"expected_version": 9, "password": new_secret("stale")}, headers=write)
    client.patch(
        url, json={"expected_version": 1, "api_key": new_secret("wrongkind")}, headers=write
    )
    client.post(
        "/v1/credentials",
        headers=write,
        json={
            "integration_name": made["integration_name"],
            "integration_type": "syncro",
            "credential_type": "api_key",
            "api_key": new_secret("duplicate"),
        },
    )
    client.post(
        "/v1/credentials",
        headers=write,
        json={
            "integration_name": "leaky",
            "integration_type": "nope",
            "credential_type": "api_key",
            "api_key": new_secret("badtype"),
        },
    )
    client.post(f"{url}/reveal", json={"purpose": "no scope"}, headers=auth("credentials:read"))
    client.post(
        "/v1/integration-events",
        headers=auth("integrations:write"),
        json={
            "integration_type": "autotask",
            "direction": "outbound",
            "action": "fetched",
            "request_data": {
                "headers": {
                    "Secret": new_secret("atsecret"),
                    "ApiIntegrationCode": new_secret("atcode"),
                }
            },
            "response_data": {"token": new_secret("resp")},
        },
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE integration_credentials SET password_encrypted = "
                "CONCAT('x', password_encrypted) WHERE id = :id"
            ),
            {"id": made["id"]},
        )
    client.post(f"{url}/reveal", json={"purpose": "tampered"}, headers=auth("credentials:reveal"))
    client.get(url, headers=auth("credentials:read"))


def _stored_text(engine: Engine) -> str:
    with engine.connect() as conn:
        audit = conn.execute(text("SELECT * FROM credential_access_log")).all()
        events = conn.execute(text("SELECT * FROM external_integrations")).all()
        # Webhook bodies too: the redaction tests hide secrets in signed and forged ones.
        deliveries = conn.execute(text("SELECT * FROM webhook_deliveries")).all()
    return repr(audit) + repr(events) + repr(deliveries)


def test_no_secret_used_by_the_vault_suite_appears_in_logs_answers_or_audit_rows(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth, engine: Engine
) -> None:
    _drive_error_paths(vault_client, make_credential, auth, engine)
    haystacks = {"logs and answers": "\n".join(CAPTURED), "audit tables": _stored_text(engine)}
    assert len(SECRETS_USED) >= 8
    assert CAPTURED, "nothing was captured: the watch is not attached"
    leaks = [
        (where, secret)
        for secret in sorted(SECRETS_USED)
        for where, hay in haystacks.items()
        if secret in hay
    ]
    assert leaks == []
