"""`POST /v1/credentials/{id}/test`: the adapter's cheapest authenticated call, recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from shared.models import CredentialAccessLog, ExternalIntegration

pytest_plugins = ["tests.integration.integrations.vault_support"]

Maker = Callable[..., dict[str, Any]]
Auth = Callable[..., dict[str, str]]


def _syncro(make_credential: Maker, httpserver: HTTPServer) -> dict[str, Any]:
    return make_credential(
        "api_key", integration_type="syncro", api_url=httpserver.url_for("/").rstrip("/")
    )


def _test(client: FlaskClient, auth: Auth, cred_id: str) -> Any:
    return client.post(f"/v1/credentials/{cred_id}/test", headers=auth("credentials:write"))


def test_a_working_credential_is_recorded_as_success(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    httpserver: HTTPServer,
    engine: Engine,
) -> None:
    made = _syncro(make_credential, httpserver)
    httpserver.expect_oneshot_request("/api/v1/tickets/settings").respond_with_json(
        {"ticket_status_list": ["New", "Resolved"]}
    )
    answer = _test(vault_client, auth, made["id"])
    assert answer.status_code == 200
    assert answer.get_json()["last_test_status"] == "success"
    assert answer.get_json()["last_tested_at"]
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {made['_sent']['api_key']}"
    with Session(engine) as session:
        tested = session.scalars(
            select(CredentialAccessLog).where(
                CredentialAccessLog.credential_id == made["id"],
                CredentialAccessLog.action == "tested",
            )
        ).one()
        calls = session.scalars(
            select(ExternalIntegration).where(
                ExternalIntegration.action == "tested",
                ExternalIntegration.external_url.like(f"{httpserver.url_for('/')}%"),
            )
        ).all()
    assert tested.outcome == "success"
    assert calls and all(made["_sent"]["api_key"] not in str(c.request_data) for c in calls)


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_credential_is_recorded_as_failed_with_a_safe_error(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    httpserver: HTTPServer,
    status: int,
) -> None:
    made = _syncro(make_credential, httpserver)
    httpserver.expect_oneshot_request("/api/v1/tickets/settings").respond_with_json(
        {"error": "bad token"}, status=status
    )
    answer = _test(vault_client, auth, made["id"])
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["last_test_status"] == "failed"
    assert body["last_test_error"]
    assert made["_sent"]["api_key"] not in answer.get_data(as_text=True)


def test_an_integration_without_an_adapter_cannot_be_tested(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth
) -> None:
    made = make_credential("api_key", integration_type="zapier")
    answer = _test(vault_client, auth, made["id"])
    assert answer.status_code == 422
    assert "integration_type" in answer.get_json()["errors"]


def test_testing_needs_the_write_scope(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth
) -> None:
    made = make_credential("api_key")
    answer = vault_client.post(
        f"/v1/credentials/{made['id']}/test", headers=auth("credentials:read")
    )
    assert answer.status_code == 403
