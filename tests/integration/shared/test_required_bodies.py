"""A PATCH that changes nothing is 422 naming why, on every service (real MariaDB)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.backups.app import create_app as create_backups
from services.insights.app import create_app as create_insights
from services.integrations.app import create_app as create_integrations

Bearer = Callable[..., dict[str, str]]
FACTORIES: dict[str, Callable[..., Flask]] = {
    "insights": create_insights,
    "integrations": create_integrations,
    "backups": create_backups,
}
# Fields that state a precondition or a reason: sent alone they still change nothing.
NOT_CHANGES = {"expected_version": 1, "reason": "nothing, really"}


@pytest.fixture(scope="module")
def apps(database_url: str) -> dict[str, Flask]:
    settings = {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    return {name: factory(settings) for name, factory in FACTORIES.items()}


def _patch_operations(apps: dict[str, Flask]) -> Iterator[tuple[FlaskClient, str, set[str]]]:
    for app in apps.values():
        client = app.test_client()
        spec = client.get("/openapi.json").json
        for path, item in spec["paths"].items():
            if "patch" in item:
                url = re.sub(r"{[^}]+}", lambda _: uuid.uuid4().hex, path)
                yield client, url, _fields(spec, item["patch"])


def test_every_patch_refuses_an_empty_body_before_looking_anything_up(
    apps: dict[str, Flask], bearer: Bearer
) -> None:
    headers = bearer("admin")
    seen = []
    for client, url, fields in _patch_operations(apps):
        empty = client.patch(url, json={}, headers=headers)
        assert empty.status_code == 422, (url, empty.get_json())
        assert empty.mimetype == "application/problem+json" and empty.get_json()["errors"]
        # With its precondition (expected_version) or reason and nothing else: still nothing.
        body = {k: v for k, v in NOT_CHANGES.items() if k in fields}
        answer = client.patch(url, json=body, headers=headers)
        assert answer.status_code == 422, (url, body, answer.get_json())
        assert "changes nothing" in " ".join(answer.get_json()["errors"]["_body"])
        seen.append(url)
    assert len(seen) >= 9  # clients, hosts, sessions, work items, tags, insights, patterns...


def _fields(spec: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    """The fields of a PATCH operation's documented body (which must be required)."""
    assert operation["requestBody"]["required"] is True
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return set(spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"])


def test_an_empty_patch_leaves_the_client_as_it_was(apps: dict[str, Flask], bearer: Bearer) -> None:
    client = apps["insights"].test_client()
    headers = bearer("insights:read", "insights:write")
    made = client.post("/v1/clients", json={"name": f"c-{uuid.uuid4().hex[:8]}"}, headers=headers)
    before = made.get_json()
    refused = client.patch(f"/v1/clients/{before['id']}", json={}, headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["_body"][0].startswith("the body changes nothing")
    assert client.get(f"/v1/clients/{before['id']}", headers=headers).get_json() == before
    changed = client.patch(f"/v1/clients/{before['id']}", json={"notes": "n"}, headers=headers)
    assert changed.status_code == 200 and changed.get_json()["notes"] == "n"
