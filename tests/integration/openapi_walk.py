"""A service walked through its own OpenAPI document: its operations, a valid request for each,
and one of everything it can create (their ids fill the path parameters and references)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.hostile import query_value, raw_json

# Ids whose field name differs from the path parameter of the object they name.
ID_ALIASES = {
    "infrastructure_id": "host_id",
    "into_id": "insight_id",
    "source_pattern_id": "pattern_id",
}
# Free-form objects the schema cannot describe beyond "an object": a value the service accepts.
FREE_FORM_EXAMPLES: dict[str, Any] = {"host_selector": {"hostname": "fuzz-host"}}


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
        self,
        operation: Operation,
        query: dict[str, Any],
        body: Any,
        *,
        in_path: dict[str, Any] | None = None,
    ) -> TestResponse:
        """The operation with this query and body; `in_path` replaces a path parameter's id."""
        path = operation.template
        for name, schema in operation.path_params.items():
            value = self.ids.get(name) or valid_value(self, name, schema)
            segment = query_value(in_path[name]) if in_path and name in in_path else str(value)
            path = path.replace("{" + name + "}", segment)
        query_string = "&".join(
            f"{query_value(name)}={query_value(value)}" for name, value in query.items()
        )
        data = None if body is None else raw_json(body)
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
            name = item_parameter(walker, operation.template)
            if name in walker.ids:
                continue
            response = walker.send(operation, {}, base_body(walker, operation))
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


def item_parameter(walker: Walker, collection: str) -> str | None:
    """The path parameter naming one item of a collection (/v1/clients -> client_id)."""
    for template in walker.spec["paths"]:
        head, _, tail = template.rpartition("/")
        if head == collection and tail.startswith("{") and tail.endswith("}"):
            return str(tail[1:-1])
    return None


def base_body(walker: Walker, operation: Operation) -> Any:
    """A body the operation accepts, or None for an operation without one."""
    return None if operation.body is None else valid_value(walker, "", operation.body)
