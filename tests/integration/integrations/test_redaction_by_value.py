"""Secrets hidden anywhere in an event, a PSA answer or a webhook body are never stored (MariaDB)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from tests.integration.integrations.psa_fakes import AT_API, AUTOTASK_SECRET, SYNCRO_TOKEN
from tests.integration.integrations.vault_secrets import SECRETS_USED, new_secret

pytest_plugins = [
    "tests.integration.integrations.vault_support",
    "tests.integration.integrations.ticket_support",
]

Auth = Callable[..., dict[str, str]]
HOOK_SECRET = new_secret("autotask-hook-redaction")

SECRET_KEY_NAMES = (
    "password",
    "passwd",
    "pwd",
    "pass",
    "secret",
    "signing_key",
    "private_key",
    "client_secret",
    "shared_secret",
    "sas",
    "sas_token",
    "api_key",
    "access_token",
    "refresh_token",
    "authorization",
    "integration_code",
    "x_api_key",
)
HARMLESS_KEYS = ("ticket", "items", "meta", "fields", "attributes", "body", "Entity", "0")


def spellings(name: str) -> list[str]:
    """signing_key as people write it: signingKey, SigningKey, signing-key, SIGNING_KEY ..."""
    words = name.split("_")
    camel = words[0] + "".join(w.capitalize() for w in words[1:])
    return [
        name,
        name.upper(),
        "-".join(words),
        "-".join(w.capitalize() for w in words),
        camel,
        camel[0].upper() + camel[1:],
        "".join(words),
        " ".join(words),
    ]


key_spellings = st.sampled_from(SECRET_KEY_NAMES).flatmap(lambda n: st.sampled_from(spellings(n)))


def _remembered(value: str) -> str:
    SECRETS_USED.add(value)
    return value


def _jwt() -> str:
    def part(obj: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    header, claims = part({"alg": "HS256"}), part({"sub": secrets.token_hex(8)})
    return _remembered(f"{header}.{claims}.{secrets.token_urlsafe(32)}")


def _aws_key() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return _remembered("AKIA" + "".join(secrets.choice(alphabet) for _ in range(16)))


def _placed(shape: str, key: str) -> tuple[Any, str]:
    """A JSON value hiding one fresh secret (returned too) in the given way."""
    if shape == "by-name":
        secret = new_secret("named")
        return {key: secret}, secret
    if shape == "bearer":
        secret = new_secret("bearer")
        return {"note": f"sent with Bearer {secret} yesterday"}, secret
    if shape == "jwt":
        secret = _jwt()
        return {"session": secret}, secret
    if shape == "aws":
        secret = _aws_key()
        return {"comment": f"use {secret} for the bucket"}, secret
    if shape == "url":
        secret = new_secret("urlpass")
        return {"callback": f"https://svc:{secret}@hooks.example/cb"}, secret
    if shape == "labelled":
        secret = new_secret("labelled")
        return [{"name": key, "value": secret}], secret
    secret = new_secret("randomkey")  # "random": a random-looking value under a plain "key"
    return {"webhookKey" if key.endswith("x") else "key": secret}, secret


SHAPES = ("by-name", "bearer", "jwt", "aws", "url", "labelled", "random")


@st.composite
def hidden_secret(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A payload with one secret at a random depth, under harmless keys and inside lists."""
    value, secret = _placed(draw(st.sampled_from(SHAPES)), draw(key_spellings))
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.booleans()):
            value = [draw(st.integers(0, 99)), value]
        else:
            value = {draw(st.sampled_from(HARMLESS_KEYS)): value, "id": draw(st.integers(1, 9999))}
    wrapper = draw(st.sampled_from(HARMLESS_KEYS))
    return {wrapper: value, "subject": "printer"}, secret


def _stored_row(engine: Engine, row_id: str) -> str:
    with engine.connect() as conn:
        return repr(
            conn.execute(text("SELECT * FROM external_integrations WHERE id = :id"), {"id": row_id})
            .mappings()
            .one()
        )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=hidden_secret(), column=st.sampled_from(["request_data", "response_data"]))
def test_a_secret_hidden_at_any_depth_and_spelling_is_stored_in_no_column(
    vault_client: FlaskClient,
    auth: Auth,
    engine: Engine,
    payload: tuple[dict[str, Any], str],
    column: str,
) -> None:
    document, secret = payload
    answer = vault_client.post(
        "/v1/integration-events",
        headers=auth("integrations:write"),
        json={
            "integration_type": "connectwise",
            "direction": "inbound",
            "action": "updated",
            column: document,
        },
    )
    assert answer.status_code == 201, answer.get_json()
    assert secret not in answer.get_data(as_text=True)
    stored = _stored_row(engine, answer.get_json()["id"])
    assert secret not in stored
    assert "printer" in stored  # what is not a secret stays readable


def test_a_psa_answer_echoing_the_credential_in_use_is_stored_without_it(
    psa: Any, psa_client: FlaskClient, auth: Auth, outbound_events: Callable[..., list[Any]]
) -> None:
    # Under keys and in text no name or shape rule knows: only the revealed value gives it away.
    psa.expect_request(f"{AT_API}/Tickets/4251").respond_with_json(
        {
            "item": {"id": 4251, "ticketNumber": "T20261125.0051", "title": "VPN", "status": 1},
            "diagnostics": {"seen": f"caller={AUTOTASK_SECRET};", "echo": [AUTOTASK_SECRET]},
        }
    )

    answer = psa_client.get("/v1/tickets/autotask/4251", headers=auth("integrations:read"))

    assert answer.status_code == 200
    rows = outbound_events("4251")
    assert rows
    for row in rows:
        stored = f"{row.request_data} {row.response_data} {row.external_url}"
        assert AUTOTASK_SECRET not in stored
        assert "T20261125.0051" in stored


def test_a_psa_error_naming_the_credential_in_use_is_stored_without_it(
    psa: Any, psa_client: FlaskClient, auth: Auth, outbound_events: Callable[..., list[Any]]
) -> None:
    psa.expect_request("/api/v1/tickets/4252").respond_with_data(
        f"upstream said: unknown caller {SYNCRO_TOKEN}", status=400
    )

    psa_client.get("/v1/tickets/syncro/4252", headers=auth("integrations:read"))

    rows = outbound_events("4252")
    assert rows
    for row in rows:
        assert SYNCRO_TOKEN not in f"{row.request_data} {row.response_data} {row.external_url}"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=hidden_secret())
def test_a_secret_hidden_in_a_signed_webhook_body_is_stored_in_no_column(
    psa: Any,
    psa_client: FlaskClient,
    vault_app: Any,
    engine: Engine,
    payload: tuple[dict[str, Any], str],
) -> None:
    document, secret = payload
    body = json.dumps(
        {"Action": "Update", "Guid": secrets.token_hex(8), "EntityType": "Contact", **document}
    ).encode()
    digest = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha1).digest()

    configured = vault_app.config.get("WEBHOOK_AUTOTASK_SECRET")
    vault_app.config["WEBHOOK_AUTOTASK_SECRET"] = HOOK_SECRET
    try:
        answer = psa_client.post(
            "/v1/webhooks/autotask",
            data=body,
            content_type="application/json",
            headers={"X-Hook-Signature": "sha1=" + base64.b64encode(digest).decode()},
        )
    finally:
        vault_app.config["WEBHOOK_AUTOTASK_SECRET"] = configured

    assert answer.status_code == 200, answer.get_json()
    with engine.connect() as conn:
        delivery = conn.execute(
            text("SELECT * FROM webhook_deliveries WHERE delivery_id = :d"),
            {"d": answer.get_json()["delivery_id"]},
        ).one()
        events = conn.execute(
            text("SELECT * FROM external_integrations WHERE created_at >= :t"),
            {"t": delivery.received_at},
        ).all()
    assert secret not in repr(delivery) + repr(events)
    assert "printer" in repr(delivery)


def test_a_connection_test_answer_echoing_the_key_is_stored_without_it(
    vault_client: FlaskClient,
    make_credential: Callable[..., dict[str, Any]],
    auth: Auth,
    httpserver: Any,
    engine: Engine,
) -> None:
    made = make_credential(
        "api_key", integration_type="syncro", api_url=httpserver.url_for("/").rstrip("/")
    )
    key = made["_sent"]["api_key"]
    httpserver.expect_request("/api/v1/tickets/settings").respond_with_json(
        {"error": f"token {key} lacks the Tickets permission", "seen": {"caller": key}},
        status=403,
    )

    answer = vault_client.post(
        f"/v1/credentials/{made['id']}/test", headers=auth("credentials:write")
    )

    assert answer.status_code == 200 and answer.get_json()["last_test_status"] == "failed"
    with engine.connect() as conn:
        credential = conn.execute(
            text("SELECT last_test_error FROM integration_credentials WHERE id = :id"),
            {"id": made["id"]},
        ).one()
        calls = conn.execute(
            text("SELECT * FROM external_integrations WHERE external_url LIKE :u"),
            {"u": httpserver.url_for("/") + "%"},
        ).all()
    assert calls
    assert key not in repr(credential) + repr(calls) + answer.get_data(as_text=True)


def test_a_token_endpoint_echoing_the_refresh_token_is_stored_without_it(
    vault_client: FlaskClient,
    make_credential: Callable[..., dict[str, Any]],
    auth: Auth,
    httpserver: Any,
    engine: Engine,
) -> None:
    made = make_credential(
        "oauth", token_url=httpserver.url_for("/token"), token_expires_at="2001-01-01T00:00:00Z"
    )
    sent = made["_sent"]
    httpserver.expect_oneshot_request("/token", method="POST").respond_with_json(
        {
            "error": "temporarily_unavailable",
            "detail": f"could not check {sent['refresh_token']} for {sent['client_secret']}",
        },
        status=503,
    )

    answer = vault_client.post(
        f"/v1/credentials/{made['id']}/access-token", headers=auth("credentials:reveal")
    )

    assert answer.status_code == 503
    with engine.connect() as conn:
        calls = conn.execute(
            text("SELECT * FROM external_integrations WHERE external_url = :u"),
            {"u": httpserver.url_for("/token")},
        ).all()
    assert calls
    for secret in (sent["refresh_token"], sent["client_secret"]):
        assert secret not in repr(calls) + answer.get_data(as_text=True)
