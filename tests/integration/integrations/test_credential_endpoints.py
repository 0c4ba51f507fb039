"""Where a secret may be sent is part of the secret: moved URLs, by API or by SQL, and the
spellings that make a URL check and the HTTP library disagree (issue #11, item 1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from base64 import b64decode
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from services.integrations.access_log.chain import AccessContext
from services.integrations.credentials.services import create_credential, reveal_credential
from services.integrations.keys.services import rewrap_batch
from services.integrations.vault.keys_config import VaultKeys
from services.integrations.vault.sealing import CredentialUnreadable, needs_resealing
from shared.crypto import LocalKeyring, envelope, parse_key_list
from shared.db import make_engine
from shared.models import CredentialAccessLog, IntegrationCredential
from tests.integration.integrations.vault_secrets import b64key, new_secret
from tests.integration.integrations.vault_support import make_vault_app
from tests.mariadb import MariaDBServer

pytest_plugins = ["tests.integration.integrations.vault_support"]

Maker = Callable[..., dict[str, Any]]
Auth = Callable[..., dict[str, str]]
PROBLEM = "application/problem+json"


@pytest.fixture
def attacker() -> Iterator[HTTPServer]:
    """A server the attacker controls, on this machine; it answers anything, and logs it."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request(re.compile(".*")).respond_with_json(
        {"ticket_status_list": [], "signing_key": "attacker-key", "access_token": "x"}
    )
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def _syncro(make_credential: Maker, httpserver: HTTPServer) -> dict[str, Any]:
    return make_credential(
        "api_key", integration_type="syncro", api_url=httpserver.url_for("/").rstrip("/")
    )


def _access_rows(engine: Engine, credential_id: str) -> list[CredentialAccessLog]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(CredentialAccessLog)
                .where(CredentialAccessLog.credential_id == credential_id)
                .order_by(CredentialAccessLog.seq)
            )
        )


def _move_by_sql(engine: Engine, credential_id: str, **urls: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(IntegrationCredential)
            .where(IntegrationCredential.id == credential_id)
            .values(**urls)
        )


def _test(client: FlaskClient, auth: Auth, credential_id: str) -> Any:
    return client.post(f"/v1/credentials/{credential_id}/test", headers=auth("credentials:write"))


# --- by API ------------------------------------------------------------------------------


def test_a_write_only_token_cannot_point_a_credential_at_its_own_server(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    httpserver: HTTPServer,
    attacker: HTTPServer,
    engine: Engine,
) -> None:
    made = _syncro(make_credential, httpserver)
    moved = vault_client.patch(
        f"/v1/credentials/{made['id']}",
        json={"expected_version": 1, "api_url": attacker.url_for("/").rstrip("/")},
        headers=auth("credentials:write"),
    )
    _test(vault_client, auth, made["id"])

    assert moved.status_code == 403
    assert moved.mimetype == PROBLEM
    assert "credentials:reveal" in moved.get_json()["detail"]
    assert moved.get_json()["re_enter"] == ["api_key"]
    assert attacker.log == []  # not one request, so not the API key
    denied = [r for r in _access_rows(engine, made["id"]) if r.outcome == "denied"]
    assert [(r.action, r.fields, r.purpose) for r in denied] == [
        ("updated", ["api_url"], "endpoint change")
    ]
    now = vault_client.get(f"/v1/credentials/{made['id']}", headers=auth("credentials:read"))
    assert now.get_json()["api_url"] == made["api_url"]


def test_a_write_only_token_cannot_move_an_oauth_token_url(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth, attacker: HTTPServer
) -> None:
    made = make_credential("oauth", integration_type="syncro")
    moved = vault_client.patch(
        f"/v1/credentials/{made['id']}",
        json={"expected_version": 1, "token_url": attacker.url_for("/token")},
        headers=auth("credentials:write"),
    )
    assert moved.status_code == 403
    assert set(moved.get_json()["re_enter"]) >= {"client_secret", "refresh_token"}


def test_the_reveal_scope_may_move_an_endpoint_and_the_move_is_logged(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    httpserver: HTTPServer,
    engine: Engine,
) -> None:
    made = _syncro(make_credential, httpserver)
    new_url = httpserver.url_for("/moved").rstrip("/")
    moved = vault_client.patch(
        f"/v1/credentials/{made['id']}",
        json={"expected_version": 1, "api_url": new_url},
        headers=auth("credentials:write", "credentials:reveal"),
    )
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["api_url"] == new_url
    last = _access_rows(engine, made["id"])[-1]
    assert (last.action, last.fields, last.purpose, last.outcome) == (
        "updated",
        ["api_url"],
        "endpoint change",
        "success",
    )


def test_re_entering_the_secret_moves_an_endpoint_without_the_reveal_scope(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    httpserver: HTTPServer,
    attacker: HTTPServer,
) -> None:
    """Only what the caller typed in this request can reach the new URL."""
    made = _syncro(make_credential, httpserver)
    typed = new_secret("typed-again")
    moved = vault_client.patch(
        f"/v1/credentials/{made['id']}",
        json={
            "expected_version": 1,
            "api_url": attacker.url_for("/").rstrip("/"),
            "api_key": typed,
        },
        headers=auth("credentials:write"),
    )
    assert moved.status_code == 200, moved.get_json()
    _test(vault_client, auth, made["id"])
    sent = [request.headers.get("Authorization") for request, _ in attacker.log]
    assert sent and all(header == f"Bearer {typed}" for header in sent)
    assert made["_sent"]["api_key"] not in str(attacker.log)


# --- by SQL ------------------------------------------------------------------------------


def test_an_api_url_changed_with_sql_makes_the_credential_unreadable_not_redirected(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    httpserver: HTTPServer,
    attacker: HTTPServer,
    engine: Engine,
) -> None:
    made = _syncro(make_credential, httpserver)
    _move_by_sql(engine, made["id"], api_url=attacker.url_for("/").rstrip("/"))

    revealed = vault_client.post(
        f"/v1/credentials/{made['id']}/reveal",
        json={"purpose": "after the move"},
        headers=auth("credentials:reveal"),
    )
    tested = _test(vault_client, auth, made["id"])

    assert revealed.status_code == 500 and revealed.mimetype == PROBLEM
    assert revealed.get_json()["type"].endswith("credential-unreadable")
    assert made["_sent"]["api_key"] not in revealed.get_data(as_text=True)
    assert tested.status_code == 500 and tested.mimetype == PROBLEM
    assert attacker.log == []
    failed = [r for r in _access_rows(engine, made["id"]) if r.outcome == "failed"]
    assert [r.action for r in failed] == ["revealed", "revealed"]


def test_putting_the_url_back_makes_the_credential_readable_again(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth, engine: Engine
) -> None:
    """The URL is bound, not the ciphertext damaged: the secret opens only with its own URL."""
    made = make_credential("api_key", api_url="https://acme.syncromsp.com")
    _move_by_sql(engine, made["id"], api_url="https://acme.syncromsp.com.")
    url = f"/v1/credentials/{made['id']}/reveal"
    body, headers = {"purpose": "check"}, auth("credentials:reveal")
    assert vault_client.post(url, json=body, headers=headers).status_code == 500
    _move_by_sql(engine, made["id"], api_url="https://acme.syncromsp.com")
    again = vault_client.post(url, json=body, headers=headers)
    assert again.status_code == 200
    assert again.get_json()["fields"]["api_key"] == made["_sent"]["api_key"]


def test_a_token_url_changed_with_sql_sends_no_refresh_token_anywhere(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    httpserver: HTTPServer,
    attacker: HTTPServer,
    engine: Engine,
) -> None:
    made = make_credential(
        "oauth",
        integration_type="syncro",
        token_url=httpserver.url_for("/token"),
        token_expires_at="2001-01-01T00:00:00+00:00",
    )
    _move_by_sql(engine, made["id"], token_url=attacker.url_for("/token"))
    answer = vault_client.post(
        f"/v1/credentials/{made['id']}/access-token", headers=auth("credentials:reveal")
    )
    assert answer.status_code == 500 and answer.mimetype == PROBLEM
    assert attacker.log == [] and httpserver.log == []


# --- spellings the check and the HTTP library read differently ----------------------------


@pytest.fixture
def strict_app(database_url: str, tmp_path: Path) -> Flask:
    """The production rules: https only, vendor hosts only, no local addresses."""
    return make_vault_app(
        database_url, tmp_path, OUTBOUND_ALLOW_LOCAL="false", OUTBOUND_ALLOWED_HOSTS=""
    )


@pytest.mark.parametrize(
    "spelling",
    [
        "http://{server}",
        "https://{server}",
        "https://acme.syncromsp.com@{server}",
        "https://{server}#@acme.syncromsp.com",
    ],
)
def test_without_the_development_setting_no_credential_reaches_a_local_server(
    strict_app: Flask, auth: Auth, attacker: HTTPServer, spelling: str
) -> None:
    client = strict_app.test_client()
    api_url = spelling.format(server=f"127.0.0.1:{attacker.port}")
    made = client.post(
        "/v1/credentials",
        json={
            "integration_name": f"strict-{uuid.uuid4().hex}",
            "integration_type": "syncro",
            "credential_type": "api_key",
            "api_key": new_secret("strict-key"),
            "api_url": api_url,
        },
        headers=auth("credentials:write"),
    ).get_json()
    tested = _test(client, auth, made["id"]).get_json()
    assert tested["last_test_status"] == "failed"
    assert "PsaEndpointRefused" in tested["last_test_error"]
    assert attacker.log == []


@pytest.mark.parametrize(
    "spelling",
    [
        "http://acme.syncromsp.com@{server}",
        "http://acme.syncromsp.com:x@{server}",
    ],
)
def test_backslash_and_userinfo_urls_are_refused_even_under_the_development_setting(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    attacker: HTTPServer,
    spelling: str,
) -> None:
    made = make_credential(
        "api_key",
        integration_type="syncro",
        api_url=spelling.format(server=f"127.0.0.1:{attacker.port}"),
    )
    tested = _test(vault_client, auth, made["id"]).get_json()
    assert tested["last_test_status"] == "failed"
    assert attacker.log == []


@pytest.mark.parametrize(
    "api_url",
    ["https://127.0.0.1:8443\\.syncromsp.com", "https://acme.syncromsp.com\\@127.0.0.1"],
)
def test_a_backslash_url_is_refused_when_stored(
    vault_client: FlaskClient, auth: Auth, api_url: str
) -> None:
    """It cannot be stored through the API (and one put there by SQL no longer decrypts)."""
    answer = vault_client.post(
        "/v1/credentials",
        json={
            "integration_name": f"bs-{uuid.uuid4().hex}",
            "integration_type": "syncro",
            "credential_type": "api_key",
            "api_key": new_secret("bs-key"),
            "api_url": api_url,
        },
        headers=auth("credentials:write"),
    )
    assert answer.status_code == 422 and "api_url" in answer.get_json()["errors"]


def _cw_body(key_url: str) -> bytes:
    return json.dumps(
        {
            # A delivery id, not a secret: the leak search must not look for it in deliveries.
            "MessageId": f"msg-{uuid.uuid4()}",
            "Action": "updated",
            "Type": "ticket",
            "ID": 5,
            "Entity": json.dumps({"id": 5}),
            "Metadata": {"key_url": key_url},
        }
    ).encode()


@pytest.mark.parametrize(
    "spelling",
    [
        "http://{server}\\.myconnectwise.net/key",
        "http://na.myconnectwise.net@{server}/key",
        "http://na.myconnectwise.net\\@{server}/key",
    ],
)
def test_a_connectwise_key_url_cannot_smuggle_another_host_past_the_allow_list(
    vault_app: Flask,
    vault_client: FlaskClient,
    attacker: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    spelling: str,
) -> None:
    """Signed with the attacker's key, served from the attacker's server: refused unfetched."""
    monkeypatch.setitem(
        vault_app.config, "WEBHOOK_CONNECTWISE_KEY_ORIGINS", "http://*.myconnectwise.net"
    )
    body = _cw_body(spelling.format(server=f"127.0.0.1:{attacker.port}"))
    digest = hmac.new(hashlib.sha256(b"attacker-key").digest(), body, hashlib.sha256).digest()
    answer = vault_client.post(
        "/v1/webhooks/connectwise",
        data=body,
        content_type="application/json",
        headers={"x-content-signature": base64.b64encode(digest).decode()},
    )
    assert answer.status_code == 401 and answer.mimetype == PROBLEM
    assert attacker.log == []


# --- rows sealed before the endpoints were bound ------------------------------------------


@pytest.fixture
def legacy_db(mariadb_server: MariaDBServer) -> Iterator[Engine]:
    """A database of its own: rewrap takes every row that needs it, other tests' included."""
    engine = make_engine(mariadb_server.migrated_database("msp_legacy"))
    yield engine
    engine.dispose()


def _reveal(engine: Engine, vault: VaultKeys, credential_id: str) -> dict[str, str]:
    with Session(engine) as session:
        _, plaintext = reveal_credential(
            session=session,
            vault=vault,
            credential_id=credential_id,
            fields=None,
            context=AccessContext(purpose="legacy check"),
        )
    return plaintext


def test_a_row_sealed_before_endpoints_were_bound_opens_and_rewrap_binds_them(
    legacy_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = VaultKeys(LocalKeyring(*parse_key_list(f"local-1={b64key()}")), b64decode(b64key()))
    secret = new_secret("legacy-key")
    with Session(legacy_db) as session, monkeypatch.context() as old_code:
        old_code.setattr(envelope, "FORMAT_VERSION", envelope.LEGACY_FORMAT_VERSION)
        row = create_credential(
            session=session,
            vault=vault,
            data={
                "integration_name": "legacy",
                "integration_type": "syncro",
                "credential_type": "api_key",
                "api_key": secret,
                "api_url": "https://acme.syncromsp.com",
            },
            context=AccessContext(purpose="sealed by the old code"),
        )
        credential_id = row.id
        assert needs_resealing(row)
    assert _reveal(legacy_db, vault, credential_id) == {"api_key": secret}

    with Session(legacy_db) as session:
        done = rewrap_batch(session=session, vault=vault, batch_size=10, context=AccessContext())
    assert (done.rewrapped, done.remaining) == (1, 0)
    with Session(legacy_db) as session:
        stored = session.get_one(IntegrationCredential, credential_id)
        assert not needs_resealing(stored) and stored.version == 1
    assert _reveal(legacy_db, vault, credential_id) == {"api_key": secret}

    _move_by_sql(legacy_db, credential_id, api_url="https://evil.example")
    with pytest.raises(CredentialUnreadable):
        _reveal(legacy_db, vault, credential_id)


@pytest.mark.parametrize(
    "spelling", ["http://idp.syncromsp.com@{server}/token", "http://idp.syncromsp.com:x@{server}/t"]
)
def test_a_userinfo_token_url_gets_no_refresh_token(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    attacker: HTTPServer,
    spelling: str,
) -> None:
    made = make_credential(
        "oauth",
        integration_type="syncro",
        token_url=spelling.format(server=f"127.0.0.1:{attacker.port}"),
        token_expires_at="2001-01-01T00:00:00+00:00",
    )
    answer = vault_client.post(
        f"/v1/credentials/{made['id']}/access-token", headers=auth("credentials:reveal")
    )
    assert answer.status_code == 503 and answer.mimetype == PROBLEM
    assert "token_url refused" in answer.get_json()["detail"]
    assert attacker.log == []
