"""Row factories for insights integration tests: unique names, real HTTP calls."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient

WRITE = ("insights:write", "insights:read")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def post(client: FlaskClient, headers: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.json
    return response.json


def make_client(client: FlaskClient, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    return post(client, headers, "/v1/clients", {"name": unique("client"), **extra})


def make_host(
    client: FlaskClient, headers: dict[str, str], client_id: str, **extra: Any
) -> dict[str, Any]:
    body = {"client_id": client_id, "hostname": unique("host"), **extra}
    return post(client, headers, "/v1/hosts", body)


def make_session(
    client: FlaskClient, headers: dict[str, str], client_id: str | None, **extra: Any
) -> dict[str, Any]:
    return post(
        client, headers, "/v1/sessions", {"client_id": client_id, "title": "patching", **extra}
    )
