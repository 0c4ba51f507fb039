"""Health, readiness, metrics and docs of a service on MariaDB."""

from __future__ import annotations

from flask.testing import FlaskClient

from services.insights.app import create_app
from shared.migrate import head_revision
from tests.mariadb import MariaDBServer


def test_healthz_answers_without_touching_the_database() -> None:
    app = create_app({"DATABASE_URL": "mysql+pymysql://nobody@127.0.0.1:1/none"})
    assert app.test_client().get("/healthz").status_code == 200


def test_readyz_reports_the_schema_head(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["schema"] == head_revision()


def test_readyz_is_503_when_the_database_cannot_be_reached() -> None:
    app = create_app({"DATABASE_URL": "mysql+pymysql://nobody@127.0.0.1:1/none"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"]


def test_readyz_is_503_when_the_schema_is_not_migrated(mariadb_server: MariaDBServer) -> None:
    empty = mariadb_server.create_database("msp_unmigrated")
    app = create_app({"DATABASE_URL": mariadb_server.url(empty)})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "expected" in response.json["detail"]


def test_metrics_count_requests_per_route_and_status(client: FlaskClient) -> None:
    client.get("/v1/clients")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'route="/v1/clients",service="insights",status="401"' in text
    assert "http_request_duration_seconds_bucket" in text


def test_openapi_and_offline_docs_are_served(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/v1/clients" in spec["paths"]
    page = client.get("/docs").get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in page
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
