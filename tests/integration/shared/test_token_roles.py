"""A token holds only what its user's role allows, at issue and on every request (MariaDB)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from shared.auth import SCOPES, create_user, issue_token
from shared.errors import ValidationFailed
from shared.models import USER_ROLES, ApiUser

READS = {scope for scope in SCOPES if scope.endswith(":read")}
# The policy as README states it, written out here rather than read from shared.auth.
NEVER_HELD = {
    "readonly": set(SCOPES) - READS,
    "technician": {"admin", "credentials:reveal"},
    "service": {"admin"},
    "admin": set(),
}


def _user(session: Session, role: str) -> ApiUser:
    return create_user(session=session, username=f"{role}-{uuid.uuid4().hex[:10]}", role=role)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    role=st.sampled_from(USER_ROLES),
    scopes=st.sets(st.sampled_from(SCOPES), min_size=1, max_size=4),
)
def test_a_token_is_issued_only_with_scopes_its_role_allows(
    db_session: Session, role: str, scopes: set[str]
) -> None:
    user = _user(db_session, role)
    beyond = sorted(scopes & NEVER_HELD[role])
    if not beyond:
        token, _ = issue_token(session=db_session, user=user, name="t", scopes=scopes)
        assert set(token.scopes) == scopes
        return
    with pytest.raises(ValidationFailed) as refused:
        issue_token(session=db_session, user=user, name="t", scopes=scopes)
    assert refused.value.status == 422
    assert all(scope in refused.value.detail for scope in beyond)
    assert role in refused.value.detail


@pytest.mark.parametrize("role", ["readonly", "technician", "service"])
def test_only_an_admin_user_holds_admin(db_session: Session, role: str) -> None:
    with pytest.raises(ValidationFailed, match=f"a {role} user cannot hold admin"):
        issue_token(session=db_session, user=_user(db_session, role), name="t", scopes=["admin"])


def test_a_demoted_users_tokens_lose_what_the_new_role_does_not_allow_at_once(
    client: FlaskClient, engine: Engine
) -> None:
    with Session(bind=engine, expire_on_commit=False) as session:
        user = _user(session, "technician")
        _, plaintext = issue_token(
            session=session, user=user, name="t", scopes=["insights:read", "insights:write"]
        )
        session.commit()
    headers = {"Authorization": f"Bearer {plaintext}"}
    body = {"name": f"before-{uuid.uuid4().hex[:8]}"}
    assert client.post("/v1/clients", json=body, headers=headers).status_code == 201
    with engine.begin() as connection:
        connection.execute(update(ApiUser).where(ApiUser.id == user.id).values(role="readonly"))
    refused = client.post("/v1/clients", json={"name": "after"}, headers=headers)
    assert refused.status_code == 403
    assert refused.json["missing_scopes"] == ["insights:write"]
    assert client.get("/v1/clients", headers=headers).status_code == 200


def test_a_read_only_token_cannot_record_a_check(
    client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    # POST /v1/check writes a command_checks row: reading is not enough.
    refused = client.post(
        "/v1/check",
        json={"client_id": "c", "infrastructure_id": "h", "command": "ls"},
        headers=bearer("insights:read"),
    )
    assert refused.status_code == 403
    assert refused.json["missing_scopes"] == ["insights:check"]


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", *args],
        env={**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": "."},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_cli_refuses_a_scope_beyond_the_role_in_one_line(database_url: str) -> None:
    username = f"ro-{uuid.uuid4().hex[:8]}"
    assert _cli(database_url, "create-user", username, "--role", "readonly").returncode == 0
    refused = _cli(
        database_url, "issue-token", username, "--name", "x", "--scope", "insights:read",
        "--scope", "admin",
    )  # fmt: skip
    assert refused.returncode != 0 and refused.stdout == ""
    assert refused.stderr.strip().splitlines() == [
        f"Error: a readonly user cannot hold admin (a readonly may hold {', '.join(sorted(READS))})"
    ]
