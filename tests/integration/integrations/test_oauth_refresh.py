"""The OAuth refresh broker against a local token endpoint: ahead-of-expiry refresh,
single flight across threads, rotated refresh token stored first, invalid_grant re-read."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug import Request, Response

from shared.models import CredentialAccessLog, ExternalIntegration
from tests.integration.integrations.vault_secrets import new_secret

pytest_plugins = ["tests.integration.integrations.vault_support"]

Maker = Callable[..., dict[str, Any]]
Auth = Callable[..., dict[str, str]]


def _oauth(make_credential: Maker, httpserver: HTTPServer, expires: datetime) -> dict[str, Any]:
    return make_credential(
        "oauth", token_url=httpserver.url_for("/token"), token_expires_at=expires.isoformat()
    )


def _token(client: FlaskClient, auth: Auth, cred_id: str) -> Any:
    return client.post(
        f"/v1/credentials/{cred_id}/access-token", headers=auth("credentials:reveal")
    )


def _reveal(client: FlaskClient, auth: Auth, cred_id: str) -> dict[str, str]:
    answer = client.post(
        f"/v1/credentials/{cred_id}/reveal",
        json={"purpose": "test check"},
        headers=auth("credentials:reveal"),
    )
    return dict(answer.get_json()["fields"])


def _grant(access: str, refresh: str | None = None, expires_in: int = 3600) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": expires_in,
    }
    if refresh:
        body["refresh_token"] = refresh
    return body


PAST = datetime(2001, 1, 1, tzinfo=UTC)


def test_a_token_far_from_expiry_is_handed_out_without_calling_the_idp(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth, httpserver: HTTPServer
) -> None:
    made = _oauth(make_credential, httpserver, datetime.now(UTC) + timedelta(hours=2))
    answer = _token(vault_client, auth, made["id"])
    assert answer.status_code == 200
    assert answer.get_json()["access_token"] == made["_sent"]["access_token"]
    assert "refresh_token" not in answer.get_json()
    assert httpserver.log == []


def test_a_token_near_expiry_is_refreshed_and_the_rotated_refresh_token_is_stored(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    httpserver: HTTPServer,
    engine: Engine,
) -> None:
    made = _oauth(make_credential, httpserver, datetime.now(UTC) + timedelta(seconds=30))
    access, refresh = new_secret("at2"), new_secret("rt2")
    httpserver.expect_oneshot_request("/token", method="POST").respond_with_json(
        _grant(access, refresh)
    )
    answer = _token(vault_client, auth, made["id"])
    assert answer.status_code == 200
    assert answer.get_json()["access_token"] == access
    sent = httpserver.log[0][0].form
    assert sent["grant_type"] == "refresh_token"
    assert sent["refresh_token"] == made["_sent"]["refresh_token"]
    stored = _reveal(vault_client, auth, made["id"])
    assert (stored["access_token"], stored["refresh_token"]) == (access, refresh)
    assert stored["client_secret"] == made["_sent"]["client_secret"]
    with Session(engine) as session:
        rotated = session.scalars(
            select(CredentialAccessLog).where(
                CredentialAccessLog.credential_id == made["id"],
                CredentialAccessLog.action == "rotated",
            )
        ).one()
        call = session.scalars(
            select(ExternalIntegration).where(
                ExternalIntegration.external_url == httpserver.url_for("/token")
            )
        ).all()[-1]
    assert rotated.fields == ["access_token", "refresh_token"]
    assert access not in str(call.response_data) and refresh not in str(call.response_data)


def test_two_concurrent_callers_cause_one_refresh(
    vault_app: Flask, make_credential: Maker, auth: Auth, httpserver: HTTPServer
) -> None:
    made = _oauth(make_credential, httpserver, PAST)
    access = new_secret("at-single")
    calls: list[float] = []

    def slow_idp(_request: Request) -> Response:
        calls.append(time.monotonic())
        time.sleep(0.4)  # long enough for the second caller to arrive during the refresh
        return Response(json.dumps(_grant(access)), content_type="application/json")

    httpserver.expect_request("/token", method="POST").respond_with_handler(slow_idp)
    results: list[Any] = []
    headers = auth("credentials:reveal")

    def call() -> None:
        answer = vault_app.test_client().post(
            f"/v1/credentials/{made['id']}/access-token", headers=headers
        )
        results.append((answer.status_code, answer.get_json().get("access_token")))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [(200, access)] * 3
    assert len(calls) == 1


def test_invalid_grant_marks_the_credential_dead_when_nobody_rotated_it(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth, httpserver: HTTPServer
) -> None:
    made = _oauth(make_credential, httpserver, PAST)
    httpserver.expect_oneshot_request("/token", method="POST").respond_with_json(
        {"error": "invalid_grant"}, status=400
    )
    answer = _token(vault_client, auth, made["id"])
    assert answer.status_code == 409
    meta = vault_client.get(f"/v1/credentials/{made['id']}", headers=auth("credentials:read"))
    assert meta.get_json()["is_active"] is False
    assert "invalid_grant" in meta.get_json()["last_test_error"]
    assert _token(vault_client, auth, made["id"]).status_code == 409
    assert len(httpserver.log) == 1


def test_invalid_grant_after_someone_else_rotated_returns_their_token(
    vault_app: Flask,
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    httpserver: HTTPServer,
) -> None:
    made = _oauth(make_credential, httpserver, PAST)
    theirs = new_secret("at-theirs")

    def rotate_then_refuse(_request: Request) -> Response:
        # Another replica (or a technician) stored a new token pair while our call was out.
        other = vault_app.test_client()
        other.patch(
            f"/v1/credentials/{made['id']}",
            headers=auth("credentials:write"),
            json={
                "expected_version": 1,
                "access_token": theirs,
                "refresh_token": new_secret("rt3"),
                "token_expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            },
        )
        return Response('{"error": "invalid_grant"}', status=400, content_type="application/json")

    httpserver.expect_oneshot_request("/token", method="POST").respond_with_handler(
        rotate_then_refuse
    )
    answer = _token(vault_client, auth, made["id"])
    assert answer.status_code == 200
    assert answer.get_json()["access_token"] == theirs
    meta = vault_client.get(f"/v1/credentials/{made['id']}", headers=auth("credentials:read"))
    assert meta.get_json()["is_active"] is True


def test_an_idp_failure_is_503_with_retry_after_and_no_secret(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth, httpserver: HTTPServer
) -> None:
    made = _oauth(make_credential, httpserver, PAST)
    httpserver.expect_oneshot_request("/token", method="POST").respond_with_data(
        "upstream exploded", status=502
    )
    answer = _token(vault_client, auth, made["id"])
    assert answer.status_code == 503
    assert "Retry-After" in answer.headers
    assert made["_sent"]["refresh_token"] not in answer.get_data(as_text=True)


def test_an_access_token_of_a_non_oauth_credential_is_422(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth
) -> None:
    made = make_credential("api_key")
    assert _token(vault_client, auth, made["id"]).status_code == 422
