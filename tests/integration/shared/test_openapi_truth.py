"""What each service sends matches what its OpenAPI document says it sends (real MariaDB).

Real calls to the three services, each compared with the operation the document describes:
the answer's content type must be one the document lists for that status (or for `default`),
and an error body must validate against the documented Problem schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pytest
from flask import Flask
from werkzeug.test import TestResponse

from services.backups.app import create_app as create_backups
from services.insights.app import create_app as create_insights
from services.integrations.app import create_app as create_integrations
from tests.integration.insights.factories import make_client, make_host

Bearer = Callable[..., dict[str, str]]
FACTORIES: dict[str, Callable[..., Flask]] = {
    "insights": create_insights,
    "integrations": create_integrations,
    "backups": create_backups,
}
UNKNOWN = uuid.uuid4().hex


@dataclass(frozen=True)
class Call:
    """One real request and the documented operation it must match."""

    service: str
    method: str
    template: str
    url: str
    scopes: tuple[str, ...] = ()
    body: Any = None
    expect: int = 200
    query: dict[str, str] = field(default_factory=dict)


ERROR_CALLS = [
    Call("insights", "get", "/v1/clients", "/v1/clients", expect=401),
    Call("insights", "get", "/v1/clients", "/v1/clients", ("backups:read",), expect=403),
    Call("insights", "get", "/v1/clients", "/v1/clients?limit=0", ("insights:read",), expect=422),
    Call(
        "insights", "get", "/v1/clients/{client_id}", f"/v1/clients/{UNKNOWN}",
        ("insights:read",), expect=404,
    ),
    Call(
        "insights", "patch", "/v1/clients/{client_id}", f"/v1/clients/{UNKNOWN}",
        ("insights:write",), body={}, expect=422,
    ),
    Call("insights", "post", "/v1/check", "/v1/check", ("insights:read",), {}, expect=403),
    Call(  # a body documented as optional may be left out: the answer is about the id
        "insights", "post", "/v1/insights/{insight_id}/confirm", f"/v1/insights/{UNKNOWN}/confirm",
        ("insights:write",), expect=404,
    ),
    Call("integrations", "get", "/v1/credentials", "/v1/credentials", expect=401),
    Call(
        "integrations", "post", "/v1/vault/rewrap", "/v1/vault/rewrap", ("admin",), {},
        expect=422,
    ),
    Call(
        "integrations", "post", "/v1/vault/rewrap", "/v1/vault/rewrap", ("admin",),
        {"target_kek_id": "not-the-active-one"}, expect=409,
    ),
    Call(
        "integrations", "get", "/v1/tickets/{integration_type}/{ticket_id}",
        "/v1/tickets/syncro/1", ("backups:read",), expect=403,
    ),
    Call(
        "backups", "get", "/v1/backups/{backup_id}", f"/v1/backups/{UNKNOWN}",
        ("backups:read",), expect=404,
    ),
    Call("backups", "post", "/v1/schedules", "/v1/schedules", ("backups:run",), {}, expect=422),
]  # fmt: skip


@pytest.fixture(scope="module")
def apps(database_url: str) -> dict[str, Flask]:
    settings = {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    return {name: factory(settings) for name, factory in FACTORIES.items()}


@pytest.fixture(scope="module")
def specs(apps: dict[str, Flask]) -> dict[str, Any]:
    return {name: app.test_client().get("/openapi.json").json for name, app in apps.items()}


def documented_response(spec: Any, call: Call, status: int) -> dict[str, Any]:
    """The response object the document gives for this operation and status (or default)."""
    responses = spec["paths"][call.template][call.method]["responses"]
    response = responses.get(str(status)) or responses["default"]
    ref = response.get("$ref")
    return spec["components"]["responses"][ref.rsplit("/", 1)[-1]] if ref else response


def assert_matches_document(spec: Any, call: Call, answer: TestResponse) -> None:
    documented = documented_response(spec, call, answer.status_code)
    content = documented.get("content", {})
    assert answer.mimetype in content, (call, answer.mimetype, sorted(content))
    if answer.status_code >= 400:
        schema = {**content[answer.mimetype]["schema"], "components": spec["components"]}
        jsonschema.validate(answer.get_json(), schema)


def send(apps: dict[str, Flask], bearer: Bearer, call: Call) -> TestResponse:
    headers = bearer(*call.scopes) if call.scopes else {}
    client = apps[call.service].test_client()
    return client.open(call.url, method=call.method.upper(), json=call.body, headers=headers)


@pytest.mark.parametrize("call", ERROR_CALLS, ids=lambda c: f"{c.method} {c.url} {c.expect}")
def test_an_error_is_sent_as_the_document_says(
    apps: dict[str, Flask], specs: dict[str, Any], bearer: Bearer, call: Call
) -> None:
    answer = send(apps, bearer, call)
    assert answer.status_code == call.expect, answer.get_json()
    assert answer.mimetype == "application/problem+json"
    assert_matches_document(specs[call.service], call, answer)


@pytest.mark.parametrize(
    ("output", "mimetype"), [("json", "application/json"), ("markdown", "text/markdown")]
)
def test_both_forms_of_the_briefing_are_sent_as_documented(
    apps: dict[str, Flask], specs: dict[str, Any], bearer: Bearer, output: str, mimetype: str
) -> None:
    client = apps["insights"].test_client()
    writer = bearer("insights:read", "insights:write")
    owner = make_client(client, writer)
    host = make_host(client, writer, owner["id"])
    template = "/v1/clients/{client_id}/hosts/{host_id}/briefing"
    url = f"/v1/clients/{owner['id']}/hosts/{host['id']}/briefing?format={output}"
    call = Call("insights", "get", template, url, ("insights:read",))
    answer = send(apps, bearer, call)
    assert answer.status_code == 200 and answer.mimetype == mimetype
    assert_matches_document(specs["insights"], call, answer)
