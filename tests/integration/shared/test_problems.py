"""Every error class leaves as application/problem+json with a stable shape and no internals."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, text

from services.insights.app import create_app
from shared.web.db import db_session

Headers = Callable[..., dict[str, str]]
PROBLEM = "application/problem+json"


def _assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"] and body["detail"]
    assert response.headers["X-Request-ID"] == body["request_id"]
    return body


def test_malformed_json_is_400(client: FlaskClient, bearer: Headers) -> None:
    response = client.post(
        "/v1/clients",
        data="{not json",
        content_type="application/json",
        headers=bearer("insights:write"),
    )
    assert "not valid JSON" in _assert_problem(response, 400)["detail"]


def test_missing_token_is_401_with_a_challenge(client: FlaskClient) -> None:
    response = client.get("/v1/clients")
    _assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_missing_scope_is_403(client: FlaskClient, bearer: Headers) -> None:
    _assert_problem(client.get("/v1/clients", headers=bearer("backups:read")), 403)


def test_unknown_route_and_unknown_client_are_404(client: FlaskClient, bearer: Headers) -> None:
    _assert_problem(client.get("/v1/nowhere"), 404)
    body = _assert_problem(
        client.get("/v1/clients/no-such-id", headers=bearer("insights:read")), 404
    )
    assert "no-such-id" in body["detail"]


def test_wrong_method_is_405_with_allow(client: FlaskClient) -> None:
    response = client.put("/v1/clients", json={})
    _assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_duplicate_client_is_409_naming_the_existing_one(
    client: FlaskClient, bearer: Headers
) -> None:
    first = client.post(
        "/v1/clients", json={"name": "Contoso 409"}, headers=bearer("insights:write")
    )
    again = client.post(
        "/v1/clients", json={"name": "Contoso 409"}, headers=bearer("insights:write")
    )
    assert _assert_problem(again, 409)["existing_id"] == first.json["id"]


def test_body_over_the_limit_is_413(client: FlaskClient, bearer: Headers) -> None:
    big = {"name": "x", "notes": "n" * 10_000}
    _assert_problem(client.post("/v1/clients", json=big, headers=bearer("insights:write")), 413)


def test_a_body_that_is_not_json_is_415(client: FlaskClient, bearer: Headers) -> None:
    response = client.post(
        "/v1/clients",
        data="name=x",
        headers=bearer("insights:write"),
        content_type="application/x-www-form-urlencoded",
    )
    _assert_problem(response, 415)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "ok", "is_active": "maybe"}, "is_active"),
        ({"name": "ok", "surprise": 1}, "surprise"),
    ],
)
def test_invalid_body_is_422_with_per_field_errors(
    client: FlaskClient, bearer: Headers, body: dict, field: str
) -> None:
    response = client.post("/v1/clients", json=body, headers=bearer("insights:write"))
    problem = _assert_problem(response, 422)
    assert field in problem["errors"]


def test_bad_query_argument_is_422_naming_it(client: FlaskClient, bearer: Headers) -> None:
    response = client.get("/v1/clients?limit=0", headers=bearer("insights:read"))
    assert "query.limit" in _assert_problem(response, 422)["errors"]


def test_a_forged_cursor_is_422(client: FlaskClient, bearer: Headers) -> None:
    response = client.get("/v1/clients?cursor=bm9wZQ", headers=bearer("insights:read"))
    assert "cursor" in _assert_problem(response, 422)["errors"]


def test_an_unexpected_error_is_500_without_internals(database_url: str) -> None:
    app = create_app({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"})

    @app.get("/boom-test")
    def boom() -> None:
        raise RuntimeError(f"secret-sauce {database_url}")

    response = app.test_client().get("/boom-test")
    body = _assert_problem(response, 500)
    text = response.get_data(as_text=True)
    assert "secret-sauce" not in text and "Traceback" not in text and "mysql" not in text
    assert body["detail"] == "the service failed; the error was logged"


def test_the_callers_request_id_is_returned(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"


def test_a_request_id_that_is_not_an_id_is_replaced(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "bad id; forged=log line"})
    assert response.headers["X-Request-ID"] != "bad id; forged=log line"
    assert len(response.headers["X-Request-ID"]) == 32


def test_a_lost_database_connection_is_503_with_retry_after(bearer: Headers) -> None:
    app = create_app({"DATABASE_URL": "mysql+pymysql://nobody@127.0.0.1:1/none"})
    response = app.test_client().get("/v1/clients", headers=bearer("insights:read"))
    _assert_problem(response, 503)
    assert response.headers["Retry-After"] == "5"


def test_a_database_lost_mid_request_is_503_even_though_the_rollback_fails(
    database_url: str, engine: Engine
) -> None:
    """The outage case: the request's session holds a connection the server has dropped, so
    the handler's own rollback fails too; the caller must still get the 503, not a 500."""
    app = create_app({"DATABASE_URL": database_url, "LOG_LEVEL": "ERROR"})

    @app.get("/lost-test")
    def lost() -> None:
        (connection_id,) = db_session().execute(text("SELECT CONNECTION_ID()")).one()
        with engine.begin() as killer:
            killer.execute(text(f"KILL CONNECTION {int(connection_id)}"))
        # Another connection attempt fails the way a stopped server refuses one.
        create_engine("mysql+pymysql://nobody@127.0.0.1:1/none").connect()

    _assert_problem(app.test_client().get("/lost-test"), 503)
