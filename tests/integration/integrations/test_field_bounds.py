"""Hostile dates and numbers sent to the integrations endpoints: 422 naming the field, nothing
written (credentials, integration events, the access log's filters)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, text

from shared.web.fields import LATEST
from tests.field_bounds import (
    HOSTILE,
    assert_refused,
    instants_outside_the_window,
    not_an_int32_count,
)
from tests.integration.integrations.vault_secrets import DEFAULT_FIELDS, new_secret

pytest_plugins = ["tests.integration.integrations.vault_support"]

Auth = Callable[..., dict[str, str]]


def _rows(engine: Engine, table: str, column: str, value: str) -> int:
    with engine.connect() as connection:
        sql = text(f"SELECT COUNT(*) FROM {table} WHERE {column} = :v")
        return int(connection.execute(sql, {"v": value}).scalar_one())


def _event(**overrides: Any) -> dict[str, Any]:
    return {
        "integration_type": "syncro",
        "direction": "outbound",
        "action": "fetched",
        "external_id": f"T-{uuid.uuid4().hex[:8]}",
        **overrides,
    }


@HOSTILE
@given(when=instants_outside_the_window())
def test_a_token_expiry_outside_the_window_is_422_and_no_credential_is_stored(
    vault_client: FlaskClient, auth: Auth, engine: Engine, when: str
) -> None:
    name = f"cred-{uuid.uuid4().hex[:12]}"
    body = {
        "integration_name": name,
        "integration_type": "syncro",
        "credential_type": "oauth",
        **DEFAULT_FIELDS["oauth"](),
        "token_expires_at": when,
    }
    answer = vault_client.post("/v1/credentials", json=body, headers=auth("credentials:write"))
    assert_refused(answer, "token_expires_at")
    assert _rows(engine, "integration_credentials", "integration_name", name) == 0


@HOSTILE
@given(when=instants_outside_the_window())
def test_log_filters_outside_the_window_are_422(
    vault_client: FlaskClient, auth: Auth, when: str
) -> None:
    lists = {
        "/v1/integration-events": auth("integrations:read"),
        "/v1/credential-access-log": auth("credentials:read"),
    }
    for path, headers in lists.items():
        for name in ("since", "until"):
            answer = vault_client.get(path, query_string={name: when}, headers=headers)
            assert_refused(answer, name)


@HOSTILE
@given(value=not_an_int32_count(), field=st.sampled_from(["duration_ms", "http_status"]))
def test_an_event_with_a_number_no_column_holds_is_422_and_not_stored(
    vault_client: FlaskClient, auth: Auth, engine: Engine, value: Any, field: str
) -> None:
    body = _event(**{field: value})
    answer = vault_client.post(
        "/v1/integration-events", json=body, headers=auth("integrations:write")
    )
    assert_refused(answer, field)
    assert _rows(engine, "external_integrations", "external_id", body["external_id"]) == 0


@HOSTILE
@given(version=st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5)))
def test_an_expected_version_that_is_not_an_integer_is_422(
    vault_client: FlaskClient, auth: Auth, make_credential: Callable[..., Any], version: Any
) -> None:
    made = make_credential("api_key")
    body = {"expected_version": version, "username": "someone"}
    answer = vault_client.patch(
        f"/v1/credentials/{made['id']}", json=body, headers=auth("credentials:write")
    )
    assert_refused(answer, "expected_version")


@pytest.mark.parametrize("expires_in", [10**11, 10**15, 10**30])
def test_a_token_endpoint_granting_a_lifetime_past_the_window_keeps_the_rotated_token(
    vault_client: FlaskClient,
    make_credential: Callable[..., Any],
    auth: Auth,
    httpserver: HTTPServer,
    expires_in: int,
) -> None:
    """The refresh token rotates at the endpoint; losing it to an overflow breaks the credential."""
    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    made = make_credential("oauth", token_url=httpserver.url_for("/token"), token_expires_at=soon)
    access, refresh = new_secret("at-long"), new_secret("rt-long")
    httpserver.expect_oneshot_request("/token", method="POST").respond_with_json(
        {"access_token": access, "refresh_token": refresh, "expires_in": expires_in}
    )
    answer = vault_client.post(
        f"/v1/credentials/{made['id']}/access-token", headers=auth("credentials:reveal")
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["access_token"] == access
    shown = vault_client.get(f"/v1/credentials/{made['id']}", headers=auth("credentials:read"))
    expiry = datetime.fromisoformat(shown.get_json()["token_expires_at"])
    assert expiry < LATEST
    revealed = vault_client.post(
        f"/v1/credentials/{made['id']}/reveal",
        json={"purpose": "check the rotated token", "fields": ["refresh_token"]},
        headers=auth("credentials:reveal"),
    )
    assert revealed.get_json()["fields"] == {"refresh_token": refresh}
