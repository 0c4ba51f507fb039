"""Every body field and query parameter of every operation, one at a time, gets a hostile value.

Each operation is walked from its service's own OpenAPI document: a valid request is built
(ids of objects seeded through the API itself), then one field is replaced by a value from
tests.hostile and the raw JSON is sent. No answer may be a 5xx; a 4xx must be problem+json;
a 2xx means the value was stored, so the object and its list must still read back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from werkzeug.test import TestResponse

from tests.hostile import (
    HOSTILE_STRINGS,
    HOSTILE_VALUES,
    describe,
    hostile_strings,
    hostile_values,
    query_value,
    raw_json,
)
from tests.integration.fuzzed_services import SERVICES, build_service, is_peer_outage
from tests.integration.openapi_walk import (
    Operation,
    Walker,
    base_body,
    item_parameter,
    operations_of,
    seed,
    valid_value,
)

# Beyond the listed values every field also gets this many generated ones (derandomized).
GENERATED_PER_FIELD = 8
PROBLEM_JSON = "application/problem+json"
Path = tuple[str, ...]


@dataclass
class Target:
    """The one place a hostile value goes: a query parameter's value, a made-up parameter's
    name, a path parameter, the body, or a field inside it."""

    where: str  # "query", "query-name", "path" or "body"
    path: Path

    def __str__(self) -> str:
        if self.where == "query-name":
            return "the name of a query parameter it does not have"
        return f"{self.where} {'.'.join(self.path) or '(whole)'}"


def targets_of(walker: Walker, operation: Operation, body: Any) -> Iterator[Target]:
    """Each query parameter, a parameter the operation does not have, each path parameter, the
    body as a whole, and each field the body's schema names, down through objects."""
    for name in operation.query:
        yield Target("query", (name,))
    yield Target("query-name", ())
    for name in operation.path_params:
        yield Target("path", (name,))
    if operation.body is not None:
        yield Target("body", ())
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
    """A deep copy of the body with the field at `path` set to `value` (no path: the value)."""
    if not path:
        return value
    copied = json.loads(json.dumps(body))
    container = copied
    for name in path[:-1]:
        container = container[name]
    container[path[-1]] = value
    return copied


def verdict(
    walker: Walker, operation: Operation, target: Target, response: TestResponse
) -> str | None:
    """What a user would notice is wrong with this answer, or None."""
    status, body = response.status_code, response.get_json(silent=True)
    if target.where == "query-name" and status < 300 and _is_list(operation):
        # An ignored filter answers every row as if it had filtered (issue #10, item 1).
        return f"{status}: a list ignored a query parameter it does not have"
    if status >= 500 and not is_peer_outage(status, dict(response.headers), body):
        said = body.get("detail") if isinstance(body, dict) else response.get_data(as_text=True)
        return f"{status}: {str(said)[:200]}"
    if 400 <= status < 500 and response.mimetype != PROBLEM_JSON:
        return f"{status} as {response.mimetype!r}, not {PROBLEM_JSON}"
    if status < 300 and operation.method != "DELETE":
        return read_back(walker, operation, body)
    return None


def _is_list(operation: Operation) -> bool:
    return operation.method == "GET" and "cursor" in operation.query


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
    name = item_parameter(walker, collection)
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
        response = send_with(walker, operation, target, base_query, base, value)
        problem = verdict(walker, operation, target, response)
        if problem:
            found.setdefault(problem[:120], []).append(describe(value))

    names_only = target.where == "query-name"
    run = given(value=hostile_strings() if names_only else hostile_values())(probe)
    for value in HOSTILE_STRINGS if names_only else HOSTILE_VALUES:
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


def send_with(
    walker: Walker,
    operation: Operation,
    target: Target,
    query: dict[str, Any],
    body: Any,
    value: Any,
) -> TestResponse:
    """The valid request with the hostile value in the target's place."""
    if target.where == "query":
        return walker.send(operation, {**query, target.path[0]: value}, body)
    if target.where == "query-name":
        return walker.send(operation, {**query, str(value): "x"}, body)
    if target.where == "path":
        return walker.send(operation, query, body, in_path={target.path[0]: value})
    return walker.send(operation, query, with_value(body, target.path, value))


def hostile_sweep(walker: Walker) -> list[str]:
    """Every operation, every target, after seeding one of everything: what went wrong."""
    operations = operations_of(walker)
    seed(walker, operations)
    failures: list[str] = []
    for operation in operations:
        base = base_body(walker, operation)
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
