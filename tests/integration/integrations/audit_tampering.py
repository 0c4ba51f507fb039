"""Fixtures of the audit-tampering tests (a pytest plugin): each test its own database, app,
tokens and checkpoint file, since every attack rewrites the log and its heads."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from services.integrations.access_log.chain import chain_of
from shared.auth import authenticate
from shared.db import make_engine
from shared.models import CredentialAccessLog
from tests.integration.integrations.vault_secrets import DEFAULT_FIELDS
from tests.integration.integrations.vault_support import make_vault_app
from tests.mariadb import MariaDBServer
from tests.tokens import TokenMaker


@dataclass
class Vault:
    """One test's integrations app on its own database, with helpers an attacker's test needs."""

    app: Flask
    client: FlaskClient
    engine: Engine
    tokens: TokenMaker
    checkpoint_file: Path

    def auth(self, *scopes: str) -> dict[str, str]:
        return self.tokens.headers(*scopes)

    def token_id(self, *scopes: str) -> str:
        with Session(self.engine) as session:
            return authenticate(session=session, plaintext=self.tokens(*scopes)).token_id

    def create(self, kind: str = "api_key", **fields: Any) -> dict[str, Any]:
        body = {
            "integration_name": f"cred-{secrets.token_hex(6)}",
            "integration_type": "syncro",
            "credential_type": kind,
            **DEFAULT_FIELDS[kind](),
            **fields,
        }
        answer = self.client.post(
            "/v1/credentials", json=body, headers=self.auth("credentials:write")
        )
        assert answer.status_code == 201, answer.get_json()
        return dict(answer.get_json(), _sent=body)

    def reveal(self, credential_id: str, purpose: str = "INC-7 printer", **body: Any) -> Any:
        return self.client.post(
            f"/v1/credentials/{credential_id}/reveal",
            json={"purpose": purpose, **body},
            headers=self.auth("credentials:reveal"),
        )

    def verify(self) -> dict[str, Any]:
        answer = self.client.post("/v1/credential-access-log/verify", headers=self.auth("admin"))
        assert answer.status_code == 200, answer.get_json()
        return dict(answer.get_json())

    def log(self, credential_id: str | None = None) -> list[CredentialAccessLog]:
        query = select(CredentialAccessLog).order_by(
            CredentialAccessLog.chain, CredentialAccessLog.seq
        )
        if credential_id is not None:
            query = query.where(CredentialAccessLog.credential_id == credential_id)
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def sql(self, statement: str, **params: Any) -> None:
        with self.engine.begin() as connection:
            connection.execute(text(statement), params)

    def head(self, credential_id: str) -> dict[str, Any]:
        with self.engine.connect() as connection:
            row = connection.execute(
                text("SELECT * FROM credential_audit_head WHERE id = :id"),
                {"id": chain_of(credential_id)},
            ).one()
        return dict(row._mapping)


@pytest.fixture
def audit_vault(mariadb_server: MariaDBServer, tmp_path: Path) -> Iterator[Callable[..., Vault]]:
    """audit_vault(**settings) -> a Vault on a database of this test's own."""
    made: list[Vault] = []

    def make(**settings: str) -> Vault:
        url = mariadb_server.migrated_database("msp_audit")
        sink = tmp_path / f"checkpoints-{len(made)}.jsonl"
        app = make_vault_app(url, tmp_path, **{"AUDIT_CHECKPOINT_FILE": str(sink), **settings})
        engine = make_engine(url)
        vault = Vault(app, app.test_client(), engine, TokenMaker(engine, "audit"), sink)
        made.append(vault)
        return vault

    yield make
    for vault in made:
        vault.engine.dispose()
