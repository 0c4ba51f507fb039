"""The request guard refuses hostile bodies and query strings the same way in all three services."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.backups.app import create_app as create_backups
from services.insights.app import create_app as create_insights
from services.integrations.app import create_app as create_integrations
from shared.web import PageArgsSchema

Headers = Callable[..., dict[str, str]]
PROBLEM = "application/problem+json"
HYPOTHESIS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@dataclass(frozen=True)
class Endpoints:
    """A real create endpoint and a real list of one service, with the scopes they need."""

    app: Flask
    create: str
    write_scope: str
    listing: str
    read_scope: str


@pytest.fixture(scope="module")
def services(database_url: str) -> dict[str, Endpoints]:
    base = {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    return {
        "insights": Endpoints(
            create_insights(base), "/v1/clients", "insights:write", "/v1/hosts", "insights:read"
        ),
        "integrations": Endpoints(
            create_integrations(base),
            "/v1/credentials",
            "credentials:write",
            "/v1/credentials",
            "credentials:read",
        ),
        "backups": Endpoints(
            create_backups(base), "/v1/schedules", "backups:run", "/v1/backups", "backups:read"
        ),
    }


@pytest.fixture(params=["insights", "integrations", "backups"])
def service(request: pytest.FixtureRequest, services: dict[str, Endpoints]) -> Endpoints:
    return services[request.param]


def _problem(response: Any, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, response.get_data(as_text=True)[:300]
    assert response.mimetype == PROBLEM
    body: dict[str, Any] = response.json
    assert body["status"] == response.status_code and body["detail"]
    return body


def _post_raw(service: Endpoints, bearer: Headers, raw: str | bytes) -> Any:
    return service.app.test_client().post(
        service.create,
        data=raw,
        content_type="application/json",
        headers=bearer(service.write_scope),
    )


# --- hostile JSON values, each placed at a random path inside an otherwise plain body ---

SURROGATES = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"])
SURROGATE_TEXT = st.tuples(st.text(max_size=4), SURROGATES, st.text(max_size=4)).map("".join)
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
HUGE_INTS = st.one_of(st.integers(min_value=2**63), st.integers(max_value=-(2**63) - 1))
HOSTILE_VALUES = st.one_of(SURROGATE_TEXT, NON_FINITE, HUGE_INTS)
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
# A path of object keys and array positions: ("notes", 0, "x") -> {"notes": [{"x": value}]}.
PATHS = st.lists(st.one_of(NAMES, st.just(0)), max_size=6)


def _placed(value: Any, path: list[str | int]) -> Any:
    for segment in reversed(path):
        value = [value] if segment == 0 else {segment: value}
    return value


def _dotted(path: list[str | int]) -> str:
    return ".".join(str(segment) for segment in path) or "_body"


@HYPOTHESIS
@given(value=HOSTILE_VALUES, path=PATHS)
def test_a_hostile_value_anywhere_in_a_body_is_422_naming_its_path(
    service: Endpoints, bearer: Headers, value: Any, path: list[str | int]
) -> None:
    raw = json.dumps(_placed(value, path))  # ensure_ascii: a surrogate travels as "\ud800"
    problem = _problem(_post_raw(service, bearer, raw), 422)
    assert _dotted(path) in problem["errors"]


@HYPOTHESIS
@given(key=SURROGATE_TEXT, path=PATHS)
def test_a_surrogate_in_a_key_is_422_naming_the_key_escaped(
    service: Endpoints, bearer: Headers, key: str, path: list[str | int]
) -> None:
    raw = json.dumps(_placed({key: 1}, path))
    problem = _problem(_post_raw(service, bearer, raw), 422)
    (field,) = problem["errors"]
    assert field.startswith(_dotted(path).removesuffix("_body")) and "\\u" in field


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
def test_non_finite_literals_are_refused_before_any_view(
    service: Endpoints, bearer: Headers, literal: str
) -> None:
    problem = _problem(_post_raw(service, bearer, f'{{"name": {literal}}}'), 422)
    assert "finite" in problem["errors"]["name"][0]


@pytest.mark.parametrize("digits", [19, 20, 400, 5000])
def test_integers_beyond_64_bits_are_refused_whatever_their_length(
    service: Endpoints, bearer: Headers, digits: int
) -> None:
    raw = '{"name": "x", "n": ' + "9" * digits + "}"
    problem = _problem(_post_raw(service, bearer, raw), 422)
    assert "64-bit" in problem["errors"]["n"][0]


def test_the_ends_of_the_64_bit_range_pass_the_guard(service: Endpoints, bearer: Headers) -> None:
    raw = json.dumps({"guard_probe": [2**63 - 1, -(2**63)]})
    response = _post_raw(service, bearer, raw)
    # The schema refuses the unknown field: the guard let the integers through to it.
    assert "guard_probe" in _problem(response, 422)["errors"]


@HYPOTHESIS
@given(depth=st.integers(min_value=33, max_value=100_000))
def test_nesting_deeper_than_32_is_422_never_a_500(
    service: Endpoints, bearer: Headers, depth: int
) -> None:
    raw = "[" * depth + "]" * depth
    problem = _problem(_post_raw(service, bearer, raw), 422, 413)
    if problem["status"] == 422:
        assert "nesting deeper than 32" in json.dumps(problem["errors"])


def test_a_binary_body_that_is_not_utf8_is_a_malformed_400(
    service: Endpoints, bearer: Headers
) -> None:
    problem = _problem(_post_raw(service, bearer, b'{"name": "\xff\xfe"}'), 400)
    assert "not valid JSON" in problem["detail"]


# --- configured limits ---


@pytest.fixture(scope="module")
def tight_app(database_url: str) -> Flask:
    return create_insights(
        {
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            "JSON_MAX_DEPTH": "3",
            "JSON_MAX_MEMBERS": "5",
            "QUERY_MAX_PARAMS": "3",
            "QUERY_MAX_VALUE_LENGTH": "10",
        }
    )


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"a": {"b": {"c": {}}}}, "a.b.c", "nesting deeper than 3"),
        ({"name": list(range(6))}, "name", "more than 5 items"),
        ({f"k{i}": i for i in range(6)}, "_body", "more than 5 keys"),
        ({"notes": [0, {f"k{i}": i for i in range(6)}]}, "notes.1", "more than 5 keys"),
    ],
)
def test_the_configured_depth_and_member_limits_name_the_field(
    tight_app: Flask, bearer: Headers, body: Any, field: str, reason: str
) -> None:
    response = tight_app.test_client().post(
        "/v1/clients", json=body, headers=bearer("insights:write")
    )
    assert reason in _problem(response, 422)["errors"][field][0]


# --- authentication is decided before the media type and the body ---


@pytest.mark.parametrize(
    ("token", "status"), [(None, 401), ("msp_not-a-token", 401), ("wrong-scope", 403)]
)
def test_who_is_calling_is_decided_before_the_media_type(
    service: Endpoints, bearer: Headers, token: str | None, status: int
) -> None:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    if token == "wrong-scope":
        other_service = "backups:read" if service.read_scope == "insights:read" else "insights:read"
        headers = bearer(other_service)
    for content_type, raw in (("text/plain", "name=x"), ("application/json", "NaN")):
        response = service.app.test_client().post(
            service.create, data=raw, content_type=content_type, headers=headers
        )
        _problem(response, status)


def test_a_caller_with_the_scope_still_gets_415_for_a_form_body(
    service: Endpoints, bearer: Headers
) -> None:
    response = service.app.test_client().post(
        service.create,
        data="name=x",
        content_type="application/x-www-form-urlencoded",
        headers=bearer(service.write_scope),
    )
    _problem(response, 415)


# --- query strings ---


@pytest.mark.parametrize(
    "encoded", ["%ED%A0%80", "%ED%BF%BF", "a%ED%B0%80b", "%FF", "%C0%AF", "%E2%82"]
)
def test_a_query_value_that_is_not_utf8_is_422_naming_the_parameter(
    service: Endpoints, bearer: Headers, encoded: str
) -> None:
    response = service.app.test_client().get(
        f"{service.listing}?limit=5&probe={encoded}", headers=bearer(service.read_scope)
    )
    assert "query.probe" in _problem(response, 422)["errors"]


ENCODED_SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF).map(
    lambda char: quote(char.encode("utf-8", "surrogatepass"))
)


@HYPOTHESIS
@given(
    name=NAMES,
    before=st.text(alphabet="abc xyz", max_size=5),
    surrogate=ENCODED_SURROGATES,
)
def test_any_encoded_surrogate_in_any_query_value_is_422_naming_it(
    service: Endpoints, bearer: Headers, name: str, before: str, surrogate: str
) -> None:
    response = service.app.test_client().get(
        f"{service.listing}?{name}={quote(before)}{surrogate}", headers=bearer(service.read_scope)
    )
    assert f"query.{name}" in _problem(response, 422)["errors"]


def test_a_parameter_named_with_a_surrogate_is_named_escaped(
    service: Endpoints, bearer: Headers
) -> None:
    response = service.app.test_client().get(
        f"{service.listing}?x%ED%A0%80=1", headers=bearer(service.read_scope)
    )
    assert "query.x\\xed\\xa0\\x80" in _problem(response, 422)["errors"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=5&probe=" + "a" * 4097, "query.probe"),
        ("a" * 65 + "=1", "query." + "a" * 64 + "..."),
        ("&".join(f"p{i}=1" for i in range(51)), "query"),
    ],
)
def test_over_long_and_too_many_parameters_are_422(
    service: Endpoints, bearer: Headers, query: str, field: str
) -> None:
    response = service.app.test_client().get(
        f"{service.listing}?{query}", headers=bearer(service.read_scope)
    )
    assert field in _problem(response, 422)["errors"]


def test_the_configured_query_limits_apply(tight_app: Flask, bearer: Headers) -> None:
    client = tight_app.test_client()
    many = client.get("/v1/clients?a=1&b=2&c=3&d=4", headers=bearer("insights:read"))
    long = client.get("/v1/clients?name=" + "x" * 11, headers=bearer("insights:read"))
    assert "more than 3" in _problem(many, 422)["errors"]["query"][0]
    assert "longer than 10" in _problem(long, 422)["errors"]["query.name"][0]


def _list_routes(app: Flask) -> Iterator[str]:
    """Every keyset-paginated list: a GET whose query schema is a PageArgsSchema."""
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and rule.rule.startswith("/v1/"):
            view = app.view_functions[rule.endpoint]
            handler = getattr(getattr(view, "view_class", None), "get", view)
            if any(_is_page_args(schema) for schema in _query_schemas(handler)):
                yield rule.rule


def _query_schemas(handler: Any) -> Iterator[Any]:
    apidoc = getattr(handler, "_apidoc", {})
    for argument in apidoc.get("arguments", {}).get("parameters", []):
        if argument.get("in") == "query":
            yield argument["schema"]


def _is_page_args(schema: Any) -> bool:
    schema_class = schema if isinstance(schema, type) else type(schema)
    return issubclass(schema_class, PageArgsSchema)


def test_every_list_of_every_service_refuses_an_unknown_parameter(
    services: dict[str, Endpoints], bearer: Headers
) -> None:
    everything = bearer("insights:read", "credentials:read", "integrations:read", "backups:read")
    checked = []
    for service in services.values():
        for route in _list_routes(service.app):
            path = route.replace("<string:", "<").replace("<", "").replace(">", "")
            response = service.app.test_client().get(f"{path}?bogus_filter=1", headers=everything)
            assert "query.bogus_filter" in _problem(response, 422)["errors"], route
            checked.append(route)
    assert "/v1/hosts" in checked and "/v1/credentials" in checked and "/v1/backups" in checked


def test_a_misspelt_filter_no_longer_returns_everything(bearer: Headers, tight_app: Flask) -> None:
    response = tight_app.test_client().get(
        "/v1/clients?asset_type=bogus", headers=bearer("insights:read")
    )
    assert "query.asset_type" in _problem(response, 422)["errors"]


@pytest.mark.parametrize(
    "segment", ["%ED%A0%80", "x%ED%BF%BFy", "%FF%FE", "%00", "a" * 5000, "%F0%9F%98%80"]
)
def test_a_hostile_path_parameter_is_a_problem_never_a_server_error(
    services: dict[str, Endpoints], bearer: Headers, segment: str
) -> None:
    everything = bearer("insights:read", "credentials:read", "integrations:read", "backups:read")
    for service in services.values():
        response = service.app.test_client().get(f"{service.listing}/{segment}", headers=everything)
        _problem(response, 404, 422)
