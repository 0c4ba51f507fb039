"""Every body field and query parameter of every operation, one at a time, gets a hostile value.

Each operation is walked from its service's own OpenAPI document: a valid request is built
(ids of objects seeded through the API itself), then one field is replaced by a value from
tests.hostile and the raw JSON is sent. No answer may be a 5xx; a 4xx must be problem+json;
a 2xx means the value was stored, so the object and its list must still read back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, example, given, settings
from werkzeug.test import TestResponse

from tests.hostile import HOSTILE_VALUES, describe, hostile_values, query_value, raw_json
from tests.integration.fuzzed_services import SERVICES, build_service, is_peer_outage

# Ids whose field name differs from the path parameter of the object they name.
ID_ALIASES = {
    "infrastructure_id": "host_id",
    "into_id": "insight_id",
    "source_pattern_id": "pattern_id",
}
# Free-form objects the schema cannot describe beyond "an object": a value the service accepts.
FREE_FORM_EXAMPLES: dict[str, Any] = {"host_selector": {"hostname": "fuzz-host"}}
# Beyond the listed values every field also gets this many generated ones (derandomized).
GENERATED_PER_FIELD = 8
PROBLEM_JSON = "application/problem+json"
Path = tuple[str, ...]


@dataclass
class Operation:
    """One documented method on one path, with the parts a request is made of."""

    method: str
    template: str
    path_params: dict[str, dict[str, Any]]
    query: dict[str, dict[str, Any]]
    required_query: set[str]
    body: dict[str, Any] | None

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}"


@dataclass
class Target:
    """The one place a hostile value goes: a query parameter, or a field inside the body."""

    where: str  # "query" or "body"
    path: Path

    def __str__(self) -> str:
        return f"{self.where} {'.'.join(self.path)}"


@dataclass
class Walker:
    """Sends requests to one service and remembers the ids of what it made."""

    client: FlaskClient
    spec: dict[str, Any]
    headers: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)

    def id_for(self, name: str) -> str | None:
        """The id of a seeded object a field of this name refers to, if one was made."""
        return self.ids.get(ID_ALIASES.get(name, name))

    def resolve(self, node: Any) -> Any:
        """Follow a local $ref (components/schemas/X) until a schema is reached."""
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def send(
        self, operation: Operation, query: dict[str, Any], body: Any, *, raw: bytes | None = None
    ) -> TestResponse:
        path = operation.template
        for name, schema in operation.path_params.items():
            value = self.ids.get(name) or valid_value(self, name, schema)
            path = path.replace("{" + name + "}", str(value))
        query_string = "&".join(f"{name}={query_value(value)}" for name, value in query.items())
        data = raw if raw is not None else (None if body is None else raw_json(body))
        return self.client.open(
            path,
            method=operation.method,
            query_string=query_string,
            data=data,
            headers=self.headers,
            content_type="application/json" if data is not None else None,
        )


def operations_of(walker: Walker) -> list[Operation]:
    """Every documented operation; deletes last, so the objects the others need still exist."""
    found = []
    for template, item in walker.spec["paths"].items():
        for method, spec in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                shared = item.get("parameters", [])
                found.append(_operation(walker, method.upper(), template, spec, shared))
    return sorted(found, key=lambda operation: operation.method == "DELETE")


def _operation(
    walker: Walker, method: str, template: str, spec: dict[str, Any], shared: list[Any]
) -> Operation:
    parameters = [walker.resolve(parameter) for parameter in shared + spec.get("parameters", [])]
    query = {
        p["name"]: walker.resolve(p.get("schema", {})) for p in parameters if p["in"] == "query"
    }
    content = spec.get("requestBody", {}).get("content", {})
    body = (
        walker.resolve(content["application/json"]["schema"])
        if "application/json" in content
        else None
    )
    return Operation(
        method=method,
        template=template,
        path_params={
            p["name"]: walker.resolve(p.get("schema", {})) for p in parameters if p["in"] == "path"
        },
        query=query,
        required_query={p["name"] for p in parameters if p["in"] == "query" and p.get("required")},
        body=body,
    )


def valid_value(walker: Walker, name: str, schema: dict[str, Any]) -> Any:
    """A plain value the schema accepts; a field named like a seeded object's id gets its id."""
    schema = walker.resolve(schema)
    if name in FREE_FORM_EXAMPLES:
        return FREE_FORM_EXAMPLES[name]
    for combinator in ("allOf", "anyOf", "oneOf"):
        if schema.get(combinator):
            return valid_value(walker, name, schema[combinator][0])
    if "enum" in schema:
        return next(value for value in schema["enum"] if value is not None)
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type", "object")
    if kind == "object":
        return valid_object(walker, schema)
    if kind == "array":
        return (
            [valid_value(walker, name, schema.get("items", {}))] if schema.get("minItems") else []
        )
    if kind in ("integer", "number"):
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return True
    return _valid_string(walker, name, schema)


def _valid_string(walker: Walker, name: str, schema: dict[str, Any]) -> str:
    formats = {
        "date-time": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "date": datetime.now(UTC).date().isoformat(),
        "uuid": walker.id_for(name) or str(uuid.uuid4()),
        "email": "fuzz@example.com",
        "uri": "https://example.com/fuzz",
        "url": "https://example.com/fuzz",
    }
    if schema.get("format") in formats:
        return formats[schema["format"]]
    if name.endswith("_id") or schema.get("minLength") == 36:
        return walker.id_for(name) or str(uuid.uuid4())
    text = f"fuzz-{uuid.uuid4().hex[:8]}"
    return text[: max(schema.get("maxLength", len(text)), schema.get("minLength", 1))]


def valid_object(walker: Walker, schema: dict[str, Any]) -> dict[str, Any]:
    """Every property the schema names, but optional references to other objects."""
    values = {}
    required = set(schema.get("required", []))
    for name, property_schema in schema.get("properties", {}).items():
        if walker.resolve(property_schema).get("readOnly"):
            continue
        # An optional reference would tie the object to others (and may conflict with them);
        # it is still a target of its own.
        if name.endswith("_id") and name not in required:
            continue
        values[name] = valid_value(walker, name, property_schema)
    return values


def seed(walker: Walker, operations: list[Operation]) -> None:
    """Create one of everything that can be created, in passes, until nothing new appears; each
    new id is filed under the path parameter that names it (/v1/clients -> client_id)."""
    creators = [op for op in operations if op.method == "POST" and not op.path_params]
    for _ in range(3):
        for operation in creators:
            name = _item_parameter(walker, operation.template)
            if name in walker.ids:
                continue
            response = walker.send(operation, {}, _base_body(walker, operation))
            if response.status_code < 300:
                harvest(walker, name, response.get_json(silent=True))


def harvest(walker: Walker, name: str | None, made: Any) -> None:
    """File the ids an answer names: its own, `x_id` fields, and nested objects' as `x_id`."""
    if not isinstance(made, dict):
        return
    if name and made.get("id") is not None:
        walker.ids.setdefault(name, str(made["id"]))
    for key, value in made.items():
        if key.endswith("_id") and isinstance(value, str):
            walker.ids.setdefault(key, value)
        elif isinstance(value, dict) and isinstance(value.get("id"), str):
            walker.ids.setdefault(f"{key}_id", value["id"])


def _item_parameter(walker: Walker, collection: str) -> str | None:
    for template in walker.spec["paths"]:
        head, _, tail = template.rpartition("/")
        if head == collection and tail.startswith("{") and tail.endswith("}"):
            return str(tail[1:-1])
    return None


def _base_body(walker: Walker, operation: Operation) -> Any:
    return None if operation.body is None else valid_value(walker, "", operation.body)


def targets_of(walker: Walker, operation: Operation, body: Any) -> Iterator[Target]:
    """Each query parameter, and each field the body's schema names, down through objects."""
    for name in operation.query:
        yield Target("query", (name,))
    if operation.body is not None and isinstance(body, dict):
        yield from _body_paths(walker, operation.body, body, ())


def _body_paths(
    walker: Walker, schema: Any, body: dict[str, Any], prefix: Path
) -> Iterator[Target]:
    for name, property_schema in walker.resolve(schema).get("properties", {}).items():
        yield Target("body", (*prefix, name))
        if isinstance(body.get(name), dict):
            yield from _body_paths(walker, property_schema, body[name], (*prefix, name))


def with_value(body: Any, path: Path, value: Any) -> Any:
    """A deep copy of the body with the field at `path` set to `value`."""
    copied = json.loads(json.dumps(body))
    container = copied
    for name in path[:-1]:
        container = container[name]
    container[path[-1]] = value
    return copied


def verdict(walker: Walker, operation: Operation, response: TestResponse) -> str | None:
    """What a user would notice is wrong with this answer, or None."""
    status, body = response.status_code, response.get_json(silent=True)
    if status >= 500 and not is_peer_outage(status, dict(response.headers), body):
        said = body.get("detail") if isinstance(body, dict) else response.get_data(as_text=True)
        return f"{status}: {str(said)[:200]}"
    if 400 <= status < 500 and response.mimetype != PROBLEM_JSON:
        return f"{status} as {response.mimetype!r}, not {PROBLEM_JSON}"
    if status < 300 and operation.method != "DELETE":
        return read_back(walker, operation, body)
    return None


def read_back(walker: Walker, operation: Operation, stored: Any) -> str | None:
    """After a stored value, the object itself and its list must still read without error."""
    for path in _readers(walker, operation, stored):
        answer = walker.client.get(path, headers=walker.headers)
        if answer.status_code != 200:
            return f"stored, but GET {path} then answered {answer.status_code}"
    return None


def _readers(walker: Walker, operation: Operation, stored: Any) -> Iterator[str]:
    collection = operation.template.split("/{")[0]
    if "get" in walker.spec["paths"].get(collection, {}):
        yield collection
    name = _item_parameter(walker, collection)
    item_id = stored.get("id") if isinstance(stored, dict) else None
    if name and item_id is not None:
        yield f"{collection}/{item_id}"


def sweep(walker: Walker, operation: Operation, target: Target, base: Any) -> list[str]:
    """Every listed hostile value, then generated ones, into one target; one line per kind of
    failure, naming up to three of the values that caused it."""
    found: dict[str, list[str]] = {}
    base_query = {
        name: valid_value(walker, name, operation.query[name]) for name in operation.required_query
    }

    def probe(value: Any) -> None:
        if target.where == "query":
            response = walker.send(operation, {**base_query, target.path[0]: value}, base)
        else:
            response = walker.send(operation, base_query, with_value(base, target.path, value))
        problem = verdict(walker, operation, response)
        if problem:
            found.setdefault(problem[:120], []).append(describe(value))

    run = given(value=hostile_values())(probe)
    for value in HOSTILE_VALUES:
        run = example(value=value)(run)
    settings(
        max_examples=GENERATED_PER_FIELD,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )(run)()
    return [
        f"{operation.label} {target} = {', '.join(values[:3])}"
        f"{f' (+{len(values) - 3} more)' if len(values) > 3 else ''}: {problem}"
        for problem, values in found.items()
    ]


def hostile_sweep(walker: Walker) -> list[str]:
    """Every operation, every target, after seeding one of everything: what went wrong."""
    operations = operations_of(walker)
    seed(walker, operations)
    failures: list[str] = []
    for operation in operations:
        base = _base_body(walker, operation)
        for target in targets_of(walker, operation, base):
            failures.extend(sweep(walker, operation, target, base))
    return failures


@pytest.mark.parametrize("service", SERVICES)
def test_no_hostile_value_in_any_field_gives_a_5xx_a_bare_error_or_an_unreadable_row(
    service: str, fuzz_database: tuple[str, dict[str, str]]
) -> None:
    database_url, headers = fuzz_database
    client = build_service(service, database_url).test_client()
    walker = Walker(client, client.get("/openapi.json").get_json(), headers)
    failures = hostile_sweep(walker)
    assert not failures, f"{len(failures)} hostile inputs broke {service}:\n" + "\n".join(failures)


def test_a_lone_surrogate_travels_as_its_own_json_escape() -> None:
    assert raw_json({"name": "\ud800"}) == b'{"name": "\\ud800"}'
    assert raw_json([float("nan"), float("inf")]) == b"[NaN, Infinity]"
    assert query_value("\ud800") == "%ED%A0%80"
