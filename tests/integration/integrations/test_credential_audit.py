"""The access log: every reveal audited in the same transaction, chained, queryable, verifiable."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from services.integrations.access_log import chain
from services.integrations.cli import integrations
from shared.models import CredentialAccessLog

pytest_plugins = ["tests.integration.integrations.vault_support"]

Maker = Callable[..., dict[str, Any]]
Auth = Callable[..., dict[str, str]]


def _reveal(client: FlaskClient, auth: Auth, cred_id: str, **body: Any) -> Any:
    return client.post(
        f"/v1/credentials/{cred_id}/reveal",
        json={"purpose": "INC-1001 printer", **body},
        headers=auth("credentials:reveal"),
    )


def _log(engine: Engine, cred_id: str) -> list[CredentialAccessLog]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(CredentialAccessLog)
                .where(CredentialAccessLog.credential_id == cred_id)
                .order_by(CredentialAccessLog.seq)
            )
        )


def test_a_reveal_writes_one_audit_row_with_who_why_and_which_fields(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth, engine: Engine
) -> None:
    made = make_credential("oauth")
    answer = _reveal(
        vault_client,
        auth,
        made["id"],
        fields=["refresh_token"],
        on_behalf_of="alice",
    )
    assert answer.status_code == 200
    actions = [
        (r.action, r.fields, r.on_behalf_of, r.purpose, r.outcome) for r in _log(engine, made["id"])
    ]
    created_by = actions[0][2]
    assert created_by and created_by != "alice"  # the creating token's user, not the reader's
    assert actions == [
        (
            "created",
            ["client_secret", "access_token", "refresh_token"],
            created_by,
            "create",
            "success",
        ),
        ("revealed", ["refresh_token"], "alice", "INC-1001 printer", "success"),
    ]
    revealed = _log(engine, made["id"])[-1]
    assert revealed.request_id == answer.headers["X-Request-ID"]
    assert revealed.actor_token_id is not None and revealed.source_ip


def test_no_audit_row_means_no_plaintext(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = make_credential("api_key")
    before = len(_log(engine, made["id"]))

    def audit_store_down(**_: Any) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(
        "services.integrations.access_log.credential_audit.append_access", audit_store_down
    )
    answer = _reveal(vault_client, auth, made["id"])
    assert answer.status_code == 500
    assert made["_sent"]["api_key"] not in answer.get_data(as_text=True)
    assert len(_log(engine, made["id"])) == before


def test_a_failed_commit_of_the_audit_row_returns_no_plaintext(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = make_credential("api_key")
    real_commit, real_append = Session.commit, chain.append_access
    audited: list[str] = []

    def noting_append(**kwargs: Any) -> Any:
        audited.append(kwargs["action"])
        return real_append(**kwargs)

    def failing_commit(self: Session) -> None:
        if "revealed" in audited:
            raise RuntimeError("lost the database at commit")
        real_commit(self)

    monkeypatch.setattr(
        "services.integrations.access_log.credential_audit.append_access", noting_append
    )
    monkeypatch.setattr(Session, "commit", failing_commit)
    answer = _reveal(vault_client, auth, made["id"])
    monkeypatch.undo()
    assert answer.status_code == 500
    assert made["_sent"]["api_key"] not in answer.get_data(as_text=True)
    assert [r.action for r in _log(engine, made["id"])] == ["created"]


def test_a_tampered_ciphertext_is_audited_as_a_failed_reveal(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth, engine: Engine
) -> None:
    made = make_credential("api_key")
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE integration_credentials SET api_key_encrypted = "
                "CONCAT(api_key_encrypted, 'x') WHERE id = :id"
            ),
            {"id": made["id"]},
        )
    assert _reveal(vault_client, auth, made["id"]).status_code == 500
    assert [(r.action, r.outcome) for r in _log(engine, made["id"])][-1] == ("revealed", "failed")


def test_who_revealed_a_credential_between_two_times(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth
) -> None:
    made = make_credential("api_key")
    start = datetime.now(UTC) - timedelta(seconds=1)
    _reveal(vault_client, auth, made["id"], on_behalf_of="bob")
    _reveal(vault_client, auth, made["id"], on_behalf_of="carol")
    end = datetime.now(UTC) + timedelta(seconds=1)
    query = {
        "credential_id": made["id"],
        "action": "revealed",
        "since": start.isoformat(),
        "until": end.isoformat(),
        "limit": 1,
    }
    first = vault_client.get(
        "/v1/credential-access-log", query_string=query, headers=auth("credentials:read")
    ).get_json()
    second = vault_client.get(
        "/v1/credential-access-log",
        query_string={**query, "cursor": first["next_cursor"]},
        headers=auth("credentials:read"),
    ).get_json()
    assert [i["on_behalf_of"] for i in first["items"] + second["items"]] == ["carol", "bob"]
    assert second["next_cursor"] is None
    before = vault_client.get(
        "/v1/credential-access-log",
        query_string={**query, "until": start.isoformat()},
        headers=auth("credentials:read"),
    ).get_json()
    assert before["items"] == []


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from tests.integration.integrations import vault_support

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VAULT_KEYS", vault_support.KEYS)
    monkeypatch.setenv("VAULT_AUDIT_KEY", vault_support.AUDIT_KEY)
    yield


def _verify(vault_client: FlaskClient, auth: Auth) -> dict[str, Any]:
    answer = vault_client.post("/v1/credential-access-log/verify", headers=auth("admin"))
    assert answer.status_code == 200
    return dict(answer.get_json())


def test_the_chain_verifies_over_http_and_from_the_cli(
    vault_client: FlaskClient, make_credential: Maker, auth: Auth, cli_env: None
) -> None:
    made = make_credential("api_key")
    _reveal(vault_client, auth, made["id"])
    report = _verify(vault_client, auth)
    assert report["ok"] and report["rows_checked"] >= 2
    result = CliRunner().invoke(integrations, ["verify-audit-chain"])
    assert result.exit_code == 0, result.output
    assert "chains ok" in result.output


def test_a_wiped_chain_is_not_silently_restarted_and_gives_no_plaintext(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    engine: Engine,
    restore_log: None,
) -> None:
    made = make_credential("api_key", api_key="wiped-chain-secret-0451")
    head = {"id": chain.chain_of(made["id"])}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM credential_access_log WHERE chain = :id"), head)
        conn.execute(text("DELETE FROM credential_audit_head WHERE id = :id"), head)
    answer = _reveal(vault_client, auth, made["id"])
    assert answer.status_code == 500
    assert "wiped-chain-secret-0451" not in answer.get_data(as_text=True)
    assert _log(engine, made["id"]) == []


@pytest.fixture
def restore_log(engine: Engine) -> Iterator[None]:
    """Tampering tests change the shared log and its heads; put them back afterwards."""
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM credential_access_log"))]
        heads = [
            dict(r._mapping) for r in conn.execute(text("SELECT * FROM credential_audit_head"))
        ]
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM credential_access_log"))
        if rows:
            columns = ", ".join(rows[0])
            values = ", ".join(f":{c}" for c in rows[0])
            conn.execute(
                text(f"INSERT INTO credential_access_log ({columns}) VALUES ({values})"), rows
            )
        conn.execute(text("DELETE FROM credential_audit_head"))  # a test may have removed one
        conn.execute(
            text(
                "INSERT INTO credential_audit_head (id, seq, last_hash, mac)"
                " VALUES (:id, :seq, :last_hash, :mac)"
            ),
            heads,
        )


TAMPERING = {
    "edited-purpose": "UPDATE credential_access_log SET purpose = 'nothing to see' WHERE id = :id",
    "edited-actor": "UPDATE credential_access_log SET on_behalf_of = 'mallory' WHERE id = :id",
    "deleted-row": "DELETE FROM credential_access_log WHERE id = :id",
    "relinked": "UPDATE credential_access_log SET prev_hash = REPEAT('0', 64) WHERE id = :id",
}


@pytest.mark.parametrize("how", TAMPERING)
def test_tampering_with_a_row_is_found_at_its_position(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    engine: Engine,
    restore_log: None,
    cli_env: None,
    how: str,
) -> None:
    made = make_credential("api_key")
    _reveal(vault_client, auth, made["id"])
    _reveal(vault_client, auth, made["id"])
    target = _log(engine, made["id"])[1]
    with engine.begin() as conn:
        conn.execute(text(TAMPERING[how]), {"id": target.id})
    report = _verify(vault_client, auth)
    assert not report["ok"]
    assert report["broken_chain"] == target.chain
    assert report["broken_at_seq"] in (target.seq, target.seq + 1)
    result = CliRunner().invoke(integrations, ["verify-audit-chain"])
    assert result.exit_code == 1
    assert "BROKEN" in result.output


def test_cutting_off_the_newest_rows_is_found(
    vault_client: FlaskClient,
    make_credential: Maker,
    auth: Auth,
    engine: Engine,
    restore_log: None,
) -> None:
    made = make_credential("api_key")
    _reveal(vault_client, auth, made["id"])
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM credential_access_log WHERE id = :id"),
            {"id": _log(engine, made["id"])[-1].id},
        )
    assert not _verify(vault_client, auth)["ok"]


def test_a_row_hash_depends_on_the_key() -> None:
    """Without the audit key nobody can forge a link: another key gives another hash."""
    row = CredentialAccessLog(
        id="a" * 36,
        chain=1,
        seq=1,
        credential_id="c" * 36,
        credential_version=1,
        action="revealed",
        fields=["api_key"],
        outcome="success",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        prev_hash=chain.GENESIS_HASH,
    )
    one = chain.row_hash(key=b"k" * 32, prev_hash=row.prev_hash, row=row)
    other = chain.row_hash(key=b"j" * 32, prev_hash=row.prev_hash, row=row)
    assert one != other and one == chain.row_hash(key=b"k" * 32, prev_hash=row.prev_hash, row=row)
