"""Fixtures of the vault tests (a pytest plugin): an app with known keys, credential maker."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.integrations.app import create_app
from tests.integration.integrations.vault_secrets import (
    DEFAULT_FIELDS,
    LOCAL_PSA_SERVERS,
    b64key,
    watch_logs,
    watch_responses,
)


def make_vault_app(database_url: str, tmp: Path, **overrides: str) -> Flask:
    settings = {
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "DEBUG",
        "VAULT_DEV_DIR": str(tmp),
        "VAULT_AUDIT_KEY": AUDIT_KEY,
        **LOCAL_PSA_SERVERS,
        **overrides,
    }
    if not any(k in overrides for k in ("VAULT_KEYS", "VAULT_KEYS_FILE", "VAULT_KMS_KEYS")):
        settings["VAULT_KEYS"] = KEYS
    app = create_app(settings)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    watch_responses(app)
    watch_logs()
    return app


AUDIT_KEY = b64key()

KEYS = f"local-1={b64key()}"


@pytest.fixture(scope="session")
def vault_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return make_vault_app(database_url, tmp_path_factory.mktemp("vault"))


@pytest.fixture
def vault_client(vault_app: Flask) -> Iterator[FlaskClient]:
    watch_logs()
    yield vault_app.test_client()


@pytest.fixture
def make_credential(
    vault_client: FlaskClient, auth: Callable[..., dict[str, str]]
) -> Callable[..., dict[str, Any]]:
    """make_credential(kind, **fields) -> the created credential's JSON (secrets generated)."""

    def make(kind: str = "api_key", **fields: Any) -> dict[str, Any]:
        body = {
            "integration_name": f"cred-{secrets.token_hex(6)}",
            "integration_type": "syncro",
            "credential_type": kind,
            **DEFAULT_FIELDS[kind](),
            **fields,
        }
        answer = vault_client.post("/v1/credentials", json=body, headers=auth("credentials:write"))
        assert answer.status_code == 201, answer.get_json()
        return dict(answer.get_json(), _sent=body)

    return make


def pytest_runtest_call(item: pytest.Item) -> None:
    """Watch every integrations app the suite uses (also the shared `app` fixture)."""
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, Flask) and value.name == "integrations":
            watch_responses(value)
    watch_logs()
