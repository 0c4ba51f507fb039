"""Each service publishes a valid OpenAPI 3 document that tells the truth about auth and errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate

from services.backups.app import create_app as create_backups
from services.insights.app import create_app as create_insights
from services.integrations.app import create_app as create_integrations
from shared.models.tickets import TICKET_SYSTEMS, WEBHOOK_SOURCES

FACTORIES: dict[str, Callable[..., Any]] = {
    "insights": create_insights,
    "integrations": create_integrations,
    "backups": create_backups,
}
METHODS = {"get", "post", "put", "patch", "delete"}
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
# Path parameters that name one of a closed list, and the list the document must give.
CLOSED_PATH_PARAMETERS = {"integration_type": TICKET_SYSTEMS, "source": WEBHOOK_SOURCES}


@pytest.fixture(scope="module", params=sorted(FACTORIES))
def spec(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    # Building the document touches no database; the file only satisfies the factory.
    database = tmp_path_factory.mktemp(request.param) / "x.sqlite3"
    app = FACTORIES[request.param]({"DATABASE_URL": f"sqlite:///{database}"})
    return app.test_client().get("/openapi.json").json


def operations(spec: Any) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def resolved(spec: Any, response: dict[str, Any]) -> dict[str, Any]:
    """A response object with a components reference followed."""
    ref = response.get("$ref")
    return spec["components"]["responses"][ref.rsplit("/", 1)[-1]] if ref else response


def test_the_document_is_valid_openapi(spec: Any) -> None:
    validate(spec)
    assert spec["info"]["description"]


def test_every_v1_route_needs_a_bearer_token_and_documents_401(spec: Any) -> None:
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, method, operation in operations(spec):
        if not path.startswith("/v1/") or path.startswith("/v1/webhooks/"):
            continue
        assert operation.get("security"), f"{method.upper()} {path} documents no auth"
        assert "401" in operation["responses"], f"{method.upper()} {path}"


def test_bearer_requirements_list_no_scopes_and_the_scopes_are_in_x_scopes(spec: Any) -> None:
    # OAS 3.0.3, Security Requirement Object: for schemes other than oauth2 and openIdConnect
    # the array MUST be empty.
    for path, method, operation in operations(spec):
        for requirement in operation.get("security", []):
            assert requirement == {"bearerAuth": []}, f"{method.upper()} {path}"
        if operation.get("security"):
            scopes = operation["x-scopes"]
            assert scopes, f"{method.upper()} {path} names no scope"
            assert all(scope in operation["description"] for scope in scopes)


def test_every_error_answer_is_documented_as_problem_json(spec: Any) -> None:
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status == "default" or int(status) >= 400:
                content = resolved(spec, response).get("content")
                assert content == PROBLEM, f"{method.upper()} {path} {status}: {content}"


def test_the_problem_schema_allows_the_extension_members_errors_carry(spec: Any) -> None:
    problem = spec["components"]["schemas"]["Problem"]
    assert problem.get("additionalProperties", True) is True  # missing_scopes, existing_id...
    assert {"type", "title", "status", "detail"} <= set(problem["properties"])


def test_a_body_is_documented_as_required_exactly_when_it_cannot_be_left_out(spec: Any) -> None:
    # A missing body reads as {}: it may be left out when no field is required, except in a
    # PATCH, where {} changes nothing and is refused.
    for path, method, operation in operations(spec):
        body = operation.get("requestBody")
        if body is None:
            continue
        ref = body["content"]["application/json"]["schema"]["$ref"]
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        needed = method == "patch" or bool(schema.get("required"))
        assert body["required"] is needed, f"{method.upper()} {path}"


def test_path_parameters_from_a_closed_list_are_enums(spec: Any) -> None:
    seen = 0
    for path, item in spec["paths"].items():
        for parameter in item.get("parameters", []):
            closed = CLOSED_PATH_PARAMETERS.get(parameter["name"])
            if parameter["in"] == "path" and closed:
                assert parameter["schema"].get("enum") == list(closed), path
                seen += 1
    if spec["info"]["title"].lower().startswith("integrations"):
        assert seen >= 4  # three ticket routes and the webhook route


def test_the_markdown_briefing_is_documented_beside_the_json_one(tmp_path: Any) -> None:
    # Only insights serves briefings.
    app = FACTORIES["insights"]({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    spec = app.test_client().get("/openapi.json").json
    briefing = spec["paths"]["/v1/clients/{client_id}/hosts/{host_id}/briefing"]
    content = briefing["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/markdown"}
    assert content["text/markdown"]["schema"] == {"type": "string"}
