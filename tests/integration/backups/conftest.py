"""The backups app on this run's MariaDB database, and its test client."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.backups.app import create_app


@pytest.fixture(scope="session")
def app(database_url: str) -> Flask:
    return create_app({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def auth(bearer: Callable[..., dict[str, str]]) -> Callable[..., dict[str, str]]:
    """auth(*scopes) -> headers with a bearer token holding those scopes."""
    return bearer


# Fixtures of the backups tests proper (source databases, S3, fake peer) live next door.
from tests.integration.backups.backup_fixtures import (  # noqa: E402, F401
    big_source_db,
    binlog_server,
    integrations,
    make_backup_app,
    s3,
    source_db,
)
