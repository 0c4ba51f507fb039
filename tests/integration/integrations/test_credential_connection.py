"""`POST /v1/credentials/{id}/test`: the adapter's cheapest authenticated call, recorded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from shared.models import CredentialAccessLog, ExternalIntegration
from tests.integration.integrations.vault_secrets import DEFAULT_FIELDS, new_secret
from tests.integration.integrations.vault_support import make_vault_app

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


def _expired_oauth(make_credential: Maker, httpserver: HTTPServer) -> dict[str, Any]:
    """An OAuth Syncro credential whose access token expired long ago."""
    return make_credential(
        "oauth",
        integration_type="syncro",
        api_url=httpserver.url_for("/").rstrip("/"),
        token_url=httpserver.url_for("/token"),
        token_expires_at="2001-01-01T00:00:00+00:00",
    )


def _refresh_then_settings(httpserver: HTTPServer, name: str, *, expires_in: int) -> str:
    """Syncro's token endpoint grants one fresh access token, then its settings call answers;
    returns the token."""
    fresh = new_secret(name)
    httpserver.expect_oneshot_request("/token", method="POST").respond_with_json(
        {"access_token": fresh, "token_type": "Bearer", "expires_in": expires_in}
    )
    httpserver.expect_oneshot_request("/api/v1/tickets/settings").respond_with_json(
        {"ticket_status_list": ["New"]}
    )
    return fresh


def _settings_bearer(httpserver: HTTPServer) -> str:
    """The Authorization header of the one settings call the PSA received."""
    (psa_call,) = [r for r, _ in httpserver.log if r.path == "/api/v1/tickets/settings"]
    return str(psa_call.headers["Authorization"])


def test_an_expired_oauth_token_is_refreshed_before_the_connection_test(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth, httpserver: HTTPServer
) -> None:
    made = _expired_oauth(make_credential, httpserver)
    fresh = _refresh_then_settings(httpserver, "fresh-access", expires_in=3600)
    answer = _test(vault_client, auth, made["id"])
    assert answer.status_code == 200
    assert answer.get_json()["last_test_status"] == "success"
    assert _settings_bearer(httpserver) == f"Bearer {fresh}"


def test_a_rejected_refresh_token_is_a_failed_connection_test_not_an_error(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth, httpserver: HTTPServer
) -> None:
    made = _expired_oauth(make_credential, httpserver)
    httpserver.expect_oneshot_request("/token", method="POST").respond_with_json(
        {"error": "invalid_grant"}, status=400
    )
    answer = _test(vault_client, auth, made["id"])
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["last_test_status"] == "failed"
    assert "refresh token was rejected" in body["last_test_error"]
    assert made["_sent"]["refresh_token"] not in answer.get_data(as_text=True)
    assert [r.path for r, _ in httpserver.log] == ["/token"]  # the PSA was not called


def test_an_expired_oauth_token_with_nothing_to_refresh_it_is_a_failed_test(
    vault_client: FlaskClient, auth: Auth, httpserver: HTTPServer, engine: Engine
) -> None:
    created = vault_client.post(
        "/v1/credentials",
        json={
            "integration_name": f"no-refresh-{new_secret('n')[:8]}",
            "integration_type": "syncro",
            "credential_type": "oauth",
            "api_url": httpserver.url_for("/").rstrip("/"),
            "client_id": "client-1",
            "access_token": new_secret("old-access"),
            "token_expires_at": "2001-01-01T00:00:00+00:00",
        },
        headers=auth("credentials:write"),
    ).get_json()
    answer = _test(vault_client, auth, created["id"])
    assert answer.status_code == 200
    assert answer.get_json()["last_test_status"] == "failed"
    assert "refresh" in answer.get_json()["last_test_error"]
    with Session(engine) as session:
        tested = session.scalars(
            select(CredentialAccessLog.outcome).where(
                CredentialAccessLog.credential_id == created["id"],
                CredentialAccessLog.action == "tested",
            )
        ).all()
    assert tested == ["failed"]


def test_the_connection_test_refreshes_as_early_as_the_service_is_configured_to(
    database_url: str,
    tmp_path: Path,
    auth: Auth,
    httpserver: HTTPServer,
) -> None:
    """OAUTH_REFRESH_AHEAD_SECONDS holds for every caller of the broker, not only /access-token."""
    app = make_vault_app(database_url, tmp_path, OAUTH_REFRESH_AHEAD_SECONDS="7200")
    client = app.test_client()
    in_an_hour = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    made = client.post(
        "/v1/credentials",
        json={
            **DEFAULT_FIELDS["oauth"](),
            "integration_name": f"early-{new_secret('n')[:8]}",
            "integration_type": "syncro",
            "credential_type": "oauth",
            "api_url": httpserver.url_for("/").rstrip("/"),
            "token_url": httpserver.url_for("/token"),
            "token_expires_at": in_an_hour,  # fresh by the default 5 minutes, not by 2 hours
        },
        headers=auth("credentials:write"),
    ).get_json()
    fresh = _refresh_then_settings(httpserver, "early-access", expires_in=86400)
    answer = _test(client, auth, made["id"])
    assert answer.get_json()["last_test_status"] == "success"
    assert _settings_bearer(httpserver) == f"Bearer {fresh}"
