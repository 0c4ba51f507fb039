"""The foundation is exercised through the insights app, the smallest complete service."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.insights.app import create_app


@pytest.fixture(scope="session")
def app(database_url: str) -> Flask:
    return create_app(
        {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "MAX_CONTENT_LENGTH": "4096"}
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
