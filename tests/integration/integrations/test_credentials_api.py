"""The credential vault over HTTP: sealed storage, masked reads, check-and-set, bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from shared.models import IntegrationCredential
from tests.integration.integrations.vault_secrets import DEFAULT_FIELDS, new_secret

pytest_plugins = ["tests.integration.integrations.vault_support"]

Maker = Callable[..., dict[str, Any]]
Auth = Callable[..., dict[str, str]]


@pytest.mark.parametrize("kind", ["api_key", "basic_auth", "oauth"])
def test_a_created_credential_shows_its_secrets_masked_never_in_plaintext(
    make_credential: Maker, kind: str
) -> None:
    made = make_credential(kind)
    sent_secrets = {k: v for k, v in made["_sent"].items() if k in made["secrets"]}
    assert sent_secrets
    assert set(made["secrets"].values()) <= {"********", None}
    assert all(made["secrets"][name] == "********" for name in sent_secrets)
    assert made["version"] == 1
    assert not any(v in str(made["secrets"]) for v in sent_secrets.values())


def test_the_stored_row_holds_ciphertext_not_the_secret(
    make_credential: Maker, engine: Engine
) -> None:
    made = make_credential("api_key")
    with Session(engine) as session:
        row = session.get(IntegrationCredential, made["id"])
        assert row is not None and row.api_key_encrypted is not None
        assert made["_sent"]["api_key"].encode() not in row.api_key_encrypted
        assert row.kek_id == "local-1"


def test_get_and_list_return_metadata_only(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth
) -> None:
    made = make_credential("basic_auth")
    one = vault_client.get(f"/v1/credentials/{made['id']}", headers=auth("credentials:read"))
    listed = vault_client.get(
        f"/v1/credentials?integration_name={made['integration_name']}",
        headers=auth("credentials:read"),
    )
    assert one.status_code == listed.status_code == 200
    assert listed.get_json()["items"][0]["id"] == made["id"]
    for body in (one.get_data(as_text=True), listed.get_data(as_text=True)):
        assert made["_sent"]["password"] not in body


BAD_FIELDS = [
    ("api_key", {"password": "x"}, "password"),
    ("api_key", {"refresh_token": "x"}, "refresh_token"),
    ("basic_auth", {"api_key": "x"}, "api_key"),
    ("basic_auth", {"token_url": "https://idp.example/t"}, "token_url"),
    ("oauth", {"password": "x"}, "password"),
    ("oauth", {"username": "someone"}, "username"),
]


@pytest.mark.parametrize(("kind", "extra", "field"), BAD_FIELDS)
def test_fields_that_do_not_fit_the_kind_are_422_and_nothing_is_written(
    vault_client: FlaskClient,
    auth: Auth,
    engine: Engine,
    kind: str,
    extra: dict[str, str],
    field: str,
) -> None:
    name = f"bad-{kind}-{field}"
    body = {
        "integration_name": name,
        "integration_type": "autotask",
        "credential_type": kind,
        **DEFAULT_FIELDS[kind](),
        **extra,
    }
    answer = vault_client.post("/v1/credentials", json=body, headers=auth("credentials:write"))
    assert answer.status_code == 422
    assert field in answer.get_json()["errors"]
    with Session(engine) as session:
        count = session.scalar(
            select(func.count())
            .select_from(IntegrationCredential)
            .where(IntegrationCredential.integration_name == name)
        )
    assert count == 0


BAD_BODIES = [
    ({"credential_type": "kerberos"}, "credential_type"),
    ({"integration_type": "jira"}, "integration_type"),
    ({"integration_name": ""}, "integration_name"),
    ({"api_url": "ftp://acme.example"}, "api_url"),
    ({"surprise": 1}, "surprise"),
    ({"api_key": None}, "api_key"),
]


@pytest.mark.parametrize(("change", "field"), BAD_BODIES)
def test_bad_create_bodies_are_422_naming_the_field(
    vault_client: FlaskClient, auth: Auth, change: dict[str, Any], field: str
) -> None:
    body = {
        "integration_name": "bad-body",
        "integration_type": "syncro",
        "credential_type": "api_key",
        "api_key": new_secret("k"),
        **change,
    }
    answer = vault_client.post("/v1/credentials", json=body, headers=auth("credentials:write"))
    assert answer.status_code == 422
    assert field in str(answer.get_json()["errors"])


def test_a_duplicate_name_is_409(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth
) -> None:
    made = make_credential("api_key")
    again = dict(made["_sent"], api_key=new_secret("dup"))
    answer = vault_client.post("/v1/credentials", json=again, headers=auth("credentials:write"))
    assert answer.status_code == 409


@pytest.mark.parametrize("path", ["", "/reveal", "/test", "/access-token"])
def test_an_unknown_credential_is_404(vault_client: FlaskClient, auth: Auth, path: str) -> None:
    scopes = ("credentials:read", "credentials:write", "credentials:reveal")
    method = vault_client.get if path == "" else vault_client.post
    kwargs: dict[str, Any] = {"json": {"purpose": "look"}} if path == "/reveal" else {}
    answer = method(
        f"/v1/credentials/00000000-0000-0000-0000-000000000000{path}",
        headers=auth(*scopes),
        **kwargs,
    )
    assert answer.status_code == 404
    assert answer.mimetype == "application/problem+json"


def test_an_update_with_the_current_version_reseals_at_the_next_version(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth
) -> None:
    made = make_credential("api_key")
    fresh = new_secret("rotated")
    answer = vault_client.patch(
        f"/v1/credentials/{made['id']}",
        json={"expected_version": 1, "api_key": fresh},
        headers=auth("credentials:write"),
    )
    assert answer.status_code == 200
    assert answer.get_json()["version"] == 2
    revealed = vault_client.post(
        f"/v1/credentials/{made['id']}/reveal",
        json={"purpose": "check update"},
        headers=auth("credentials:reveal"),
    )
    assert revealed.get_json()["fields"] == {"api_key": fresh}


def test_a_stale_expected_version_is_409_and_changes_nothing(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth
) -> None:
    made = make_credential("api_key")
    url = f"/v1/credentials/{made['id']}"
    first = vault_client.patch(
        url,
        json={"expected_version": 1, "api_url": "https://a.example"},
        headers=auth("credentials:write", "credentials:reveal"),  # a moved URL needs reveal
    )
    stale = vault_client.patch(
        url,
        json={"expected_version": 1, "api_url": "https://b.example"},
        headers=auth("credentials:write", "credentials:reveal"),
    )
    assert first.status_code == 200
    assert stale.status_code == 409
    assert stale.get_json()["current_version"] == 2
    now = vault_client.get(url, headers=auth("credentials:read")).get_json()
    assert (now["api_url"], now["version"]) == ("https://a.example", 2)


def test_an_update_may_not_add_a_field_of_another_kind(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth
) -> None:
    made = make_credential("api_key")
    answer = vault_client.patch(
        f"/v1/credentials/{made['id']}",
        json={"expected_version": 1, "password": "x"},
        headers=auth("credentials:write"),
    )
    assert answer.status_code == 422
    assert "password" in answer.get_json()["errors"]


def test_an_update_may_not_clear_a_required_secret(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth
) -> None:
    made = make_credential("api_key")
    answer = vault_client.patch(
        f"/v1/credentials/{made['id']}",
        json={"expected_version": 1, "api_key": None},
        headers=auth("credentials:write"),
    )
    assert answer.status_code == 422


@pytest.mark.parametrize(
    ("scopes", "status"),
    [((), 401), (("credentials:read",), 403), (("credentials:reveal",), 200)],
    ids=["no-token", "read-only", "reveal"],
)
def test_reveal_needs_the_reveal_scope(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    scopes: tuple[str, ...],
    status: int,
) -> None:
    made = make_credential("api_key")
    headers = auth(*scopes) if scopes else {}
    answer = vault_client.post(
        f"/v1/credentials/{made['id']}/reveal", json={"purpose": "scope check"}, headers=headers
    )
    assert answer.status_code == status
    if status != 200:
        assert made["_sent"]["api_key"] not in answer.get_data(as_text=True)


def test_reveal_returns_the_asked_fields_and_is_not_cached(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth
) -> None:
    made = make_credential("oauth")
    answer = vault_client.post(
        f"/v1/credentials/{made['id']}/reveal",
        json={"purpose": "ticket 42", "fields": ["client_secret"]},
        headers=auth("credentials:reveal"),
    )
    assert answer.status_code == 200
    assert answer.get_json()["fields"] == {"client_secret": made["_sent"]["client_secret"]}
    assert answer.headers["Cache-Control"] == "no-store"


def test_revealing_a_field_of_another_kind_is_422(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth
) -> None:
    made = make_credential("api_key")
    answer = vault_client.post(
        f"/v1/credentials/{made['id']}/reveal",
        json={"purpose": "oops", "fields": ["password"]},
        headers=auth("credentials:reveal"),
    )
    assert answer.status_code == 422


def test_a_reveal_without_a_purpose_is_422(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth
) -> None:
    made = make_credential("api_key")
    answer = vault_client.post(
        f"/v1/credentials/{made['id']}/reveal", json={}, headers=auth("credentials:reveal")
    )
    assert answer.status_code == 422


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("api_key_encrypted", "other-row"),
        ("password_encrypted", "other-field"),
        ("api_key_encrypted", "old-version"),
    ],
)
def test_a_ciphertext_moved_between_rows_fields_or_versions_gives_one_generic_500(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    engine: Engine,
    source: str,
    target: str,
) -> None:
    victim = make_credential("api_key")
    if target == "other-row":
        donor = make_credential("api_key")
        _copy_blob(engine, donor["id"], victim["id"], "api_key_encrypted", "api_key_encrypted")
    elif target == "other-field":
        donor = make_credential("basic_auth")
        _copy_blob(engine, donor["id"], victim["id"], "password_encrypted", "api_key_encrypted")
    else:
        old = _read_blob(engine, victim["id"], "api_key_encrypted")
        vault_client.patch(
            f"/v1/credentials/{victim['id']}",
            json={"expected_version": 1, "api_key": new_secret("v2")},
            headers=auth("credentials:write"),
        )
        _write_blob(engine, victim["id"], "api_key_encrypted", old)
    answer = vault_client.post(
        f"/v1/credentials/{victim['id']}/reveal",
        json={"purpose": "tamper"},
        headers=auth("credentials:reveal"),
    )
    assert answer.status_code == 500
    problem = answer.get_json()
    assert problem["detail"] == "the credential could not be decrypted"
    assert "fields" not in problem and source not in answer.get_data(as_text=True)


def _read_blob(engine: Engine, row_id: str, column: str) -> bytes:
    with engine.connect() as conn:
        return bytes(
            conn.execute(
                text(f"SELECT {column} FROM integration_credentials WHERE id = :id"), {"id": row_id}
            ).scalar_one()
        )


def _write_blob(engine: Engine, row_id: str, column: str, blob: bytes) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(f"UPDATE integration_credentials SET {column} = :b WHERE id = :id"),
            {"b": blob, "id": row_id},
        )


def _copy_blob(engine: Engine, donor: str, victim: str, src: str, dst: str) -> None:
    _write_blob(engine, victim, dst, _read_blob(engine, donor, src))


def test_expiring_lists_tokens_that_expire_within_the_window(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth
) -> None:
    soon = make_credential("oauth", token_expires_at="2000-01-01T00:00:00+00:00")
    later = make_credential("oauth", token_expires_at="2199-01-01T00:00:00+00:00")
    answer = vault_client.get(
        "/v1/credentials/expiring?within_days=30", headers=auth("credentials:read")
    )
    ids = {item["id"] for item in answer.get_json()}
    assert soon["id"] in ids and later["id"] not in ids


def test_a_delete_needs_the_current_version_and_leaves_an_audit_row(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth, engine: Engine
) -> None:
    made = make_credential("api_key")
    url = f"/v1/credentials/{made['id']}"
    stale = vault_client.delete(f"{url}?expected_version=7", headers=auth("credentials:write"))
    assert stale.status_code == 409
    gone = vault_client.delete(f"{url}?expected_version=1", headers=auth("credentials:write"))
    assert gone.status_code == 204
    assert vault_client.get(url, headers=auth("credentials:read")).status_code == 404
    with engine.connect() as conn:
        actions = (
            conn.execute(
                text("SELECT action FROM credential_access_log WHERE credential_id = :id"),
                {"id": made["id"]},
            )
            .scalars()
            .all()
        )
    assert sorted(actions) == ["created", "deleted"]
