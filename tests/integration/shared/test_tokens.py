"""The token life cycle on MariaDB: create, use, expire, revoke, wrong scope."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from shared.auth import create_user, hash_token, issue_token, revoke_token
from shared.models import ApiToken, utcnow


def _issue(
    engine: Engine, *scopes: str, expires_in: timedelta | None = None, role: str = "technician"
) -> tuple[str, str]:
    with Session(bind=engine, expire_on_commit=False) as session:
        user = create_user(
            session=session,
            username=f"u-{utcnow().timestamp()}-{len(scopes)}-{id(scopes)}",
            role=role,
        )
        expires_at = utcnow() + expires_in if expires_in is not None else None
        token, plaintext = issue_token(
            session=session, user=user, name="t", scopes=scopes, expires_at=expires_at
        )
        session.commit()
        return token.id, plaintext


def _get_clients(client: FlaskClient, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/v1/clients", headers=headers).status_code


def test_a_new_token_has_256_bits_and_only_its_hash_is_stored(engine: Engine) -> None:
    token_id, plaintext = _issue(engine, "insights:read")
    with Session(bind=engine) as session:
        row = session.get(ApiToken, token_id)
        assert row is not None
        assert row.token_hash == hash_token(plaintext)
        assert plaintext not in (row.token_hash, row.token_prefix, row.name)
    assert len(plaintext.removeprefix("msp_")) >= 43  # 32 bytes, url-safe base64


def test_a_token_with_the_scope_is_let_in_and_its_use_is_recorded(
    client: FlaskClient, engine: Engine
) -> None:
    token_id, plaintext = _issue(engine, "insights:read")
    assert _get_clients(client, plaintext) == 200
    with Session(bind=engine) as session:
        assert session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id))


def test_missing_and_unknown_tokens_are_401(client: FlaskClient) -> None:
    assert _get_clients(client, None) == 401
    assert _get_clients(client, "msp_" + "x" * 43) == 401


def test_an_expired_token_is_401(client: FlaskClient, engine: Engine) -> None:
    _, plaintext = _issue(engine, "insights:read", expires_in=timedelta(seconds=-1))
    assert _get_clients(client, plaintext) == 401


def test_a_revoked_token_stops_working_at_once(client: FlaskClient, engine: Engine) -> None:
    token_id, plaintext = _issue(engine, "insights:read")
    assert _get_clients(client, plaintext) == 200
    with Session(bind=engine) as session:
        revoke_token(session=session, token_id=token_id)
        session.commit()
    assert _get_clients(client, plaintext) == 401


def test_a_token_without_the_scope_is_403_naming_the_scope(
    client: FlaskClient, engine: Engine
) -> None:
    _, plaintext = _issue(engine, "backups:read")
    response = client.get("/v1/clients", headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 403
    assert response.json["missing_scopes"] == ["insights:read"]


def test_admin_holds_every_scope(client: FlaskClient, engine: Engine) -> None:
    _, plaintext = _issue(engine, "admin", role="admin")
    response = client.post(
        "/v1/clients",
        json={"name": f"admin-made-{utcnow().timestamp()}"},
        headers={"Authorization": f"Bearer {plaintext}"},
    )
    assert response.status_code == 201
