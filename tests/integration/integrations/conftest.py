"""The integrations app on this run's MariaDB database, and its test client."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.integrations.app import create_app
from tests.integration.integrations.vault_secrets import LOCAL_PSA_SERVERS


@pytest.fixture(scope="session")
def app(database_url: str) -> Flask:
    return create_app({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", **LOCAL_PSA_SERVERS})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def auth(bearer: Callable[..., dict[str, str]]) -> Callable[..., dict[str, str]]:
    """auth(*scopes) -> headers with a bearer token holding those scopes."""
    return bearer
