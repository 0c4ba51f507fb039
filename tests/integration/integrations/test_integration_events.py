"""The integration audit log: redacted ingest, Idempotency-Key, filters, keyset pages, prune."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from services.integrations.cli import integrations
from shared.models import ExternalIntegration
from tests.integration.integrations.vault_secrets import new_secret

pytest_plugins = ["tests.integration.integrations.vault_support"]

Auth = Callable[..., dict[str, str]]


def _event(**overrides: Any) -> dict[str, Any]:
    return {
        "integration_type": "syncro",
        "direction": "outbound",
        "action": "fetched",
        "external_id": f"T-{uuid.uuid4().hex[:8]}",
        "http_status": 200,
        "duration_ms": 42,
        **overrides,
    }


def _post(client: FlaskClient, auth: Auth, body: dict[str, Any], key: str | None = None) -> Any:
    headers = auth("integrations:write") | ({"Idempotency-Key": key} if key else {})
    return client.post("/v1/integration-events", json=body, headers=headers)


def _count(engine: Engine, external_id: str) -> int:
    with Session(engine) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(ExternalIntegration)
                .where(ExternalIntegration.external_id == external_id)
            )
            or 0
        )


def test_request_and_response_secrets_are_redacted_before_storage(
    vault_client: FlaskClient, auth: Auth, engine: Engine
) -> None:
    token, key, pw = new_secret("bearer"), new_secret("key"), new_secret("pass")
    body = _event(
        external_url=f"https://acme.syncromsp.com/api/v1/tickets?api_key={key}&page=2",
        request_data={
            "headers": {"Authorization": f"Bearer {token}", "Secret": pw},
            "body": {"subject": "printer", "password": pw},
        },
        response_data={"access_token": token, "ticket": {"id": 7, "api_key": key}},
    )
    answer = _post(vault_client, auth, body)
    assert answer.status_code == 201
    stored = answer.get_json()
    assert stored["request_data"]["body"]["subject"] == "printer"
    assert "page=2" in stored["external_url"]
    with Session(engine) as session:
        row = session.get(ExternalIntegration, stored["id"])
        assert row is not None
        raw = f"{row.request_data} {row.response_data} {row.external_url}"
    for secret in (token, key, pw):
        assert secret not in raw
        assert secret not in answer.get_data(as_text=True)


def test_a_url_with_a_password_is_stored_without_it(vault_client: FlaskClient, auth: Auth) -> None:
    secret = new_secret("urlpass")
    answer = _post(vault_client, auth, _event(external_url=f"https://svc:{secret}@psa.example/t"))
    assert answer.status_code == 201
    assert secret not in answer.get_json()["external_url"]
    assert answer.get_json()["external_url"].startswith("https://svc:")


def test_a_replayed_idempotency_key_returns_the_first_result_and_writes_nothing(
    vault_client: FlaskClient, auth: Auth, engine: Engine
) -> None:
    body, key = _event(), f"idem-{uuid.uuid4()}"
    first = _post(vault_client, auth, body, key)
    second = _post(vault_client, auth, body, key)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.get_json()["id"] == first.get_json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert _count(engine, body["external_id"]) == 1


def test_an_idempotency_key_reused_with_another_body_is_409(
    vault_client: FlaskClient, auth: Auth
) -> None:
    key = f"idem-{uuid.uuid4()}"
    assert _post(vault_client, auth, _event(), key).status_code == 201
    assert _post(vault_client, auth, _event(), key).status_code == 409


def test_without_an_idempotency_key_each_post_is_a_new_row(
    vault_client: FlaskClient, auth: Auth, engine: Engine
) -> None:
    body = _event()
    _post(vault_client, auth, body)
    _post(vault_client, auth, body)
    assert _count(engine, body["external_id"]) == 2


BAD_EVENTS = [
    ({"integration_type": "jira"}, "integration_type"),
    ({"direction": "sideways"}, "direction"),
    ({"action": "exploded"}, "action"),
    ({"http_status": 42}, "http_status"),
    ({"session_id": "not-a-uuid"}, "session_id"),
    ({"request_data": "not an object"}, "request_data"),
    ({"unknown_field": 1}, "unknown_field"),
]


@pytest.mark.parametrize(("change", "field"), BAD_EVENTS)
def test_bad_events_are_422_naming_the_field_and_write_nothing(
    vault_client: FlaskClient, auth: Auth, engine: Engine, change: dict[str, Any], field: str
) -> None:
    body = _event(**change)
    answer = _post(vault_client, auth, body)
    assert answer.status_code == 422
    assert field in str(answer.get_json()["errors"])
    assert _count(engine, body["external_id"]) == 0


def test_an_unknown_session_is_422_not_a_server_error(
    vault_client: FlaskClient, auth: Auth, engine: Engine
) -> None:
    body = _event(session_id=str(uuid.uuid4()))
    answer = _post(vault_client, auth, body, f"idem-{uuid.uuid4()}")
    assert answer.status_code == 422
    assert "session_id" in answer.get_json()["errors"]
    assert _count(engine, body["external_id"]) == 0


def test_posting_needs_the_write_scope(vault_client: FlaskClient, auth: Auth) -> None:
    answer = vault_client.post(
        "/v1/integration-events", json=_event(), headers=auth("integrations:read")
    )
    assert answer.status_code == 403


def test_filters_and_keyset_pages_walk_every_match_once(
    vault_client: FlaskClient, auth: Auth
) -> None:
    external_id = f"T-{uuid.uuid4().hex[:8]}"
    for direction in ("outbound", "inbound", "outbound", "outbound", "outbound"):
        _post(
            vault_client,
            auth,
            _event(external_id=external_id, direction=direction, integration_type="autotask"),
        )
    seen: list[str] = []
    cursor = None
    while True:
        query = {
            "external_id": external_id,
            "direction": "outbound",
            "integration_type": "autotask",
            "limit": 2,
        }
        page = vault_client.get(
            "/v1/integration-events",
            query_string=query | ({"cursor": cursor} if cursor else {}),
            headers=auth("integrations:read"),
        ).get_json()
        seen += [item["id"] for item in page["items"]]
        assert all(item["direction"] == "outbound" for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4


def test_a_time_range_filter_excludes_events_outside_it(
    vault_client: FlaskClient, auth: Auth
) -> None:
    body = _event()
    created = _post(vault_client, auth, body)
    assert created.status_code == 201
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()

    def ids(**window: str) -> list[str]:
        page = vault_client.get(
            "/v1/integration-events",
            query_string={"external_id": body["external_id"], **window},
            headers=auth("integrations:read"),
        ).get_json()
        return [item["id"] for item in page["items"]]

    assert ids(since=future) == []
    assert ids(until=past) == []
    assert ids(since=past, until=future) == [created.get_json()["id"]]


def test_prune_removes_only_events_past_retention(
    vault_client: FlaskClient,
    auth: Auth,
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, recent = _event(), _event()
    old_id = _post(vault_client, auth, old).get_json()["id"]
    _post(vault_client, auth, recent)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE external_integrations SET created_at = :t WHERE id = :id"),
            {"t": datetime(2001, 1, 1), "id": old_id},
        )
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(integrations, ["prune-events", "--older-than-days", "3650"])
    assert result.exit_code == 0, result.output
    assert _count(engine, old["external_id"]) == 0
    assert _count(engine, recent["external_id"]) == 1
