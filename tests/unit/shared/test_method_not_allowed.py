"""A 405 names the methods of the route asked for, not of every route the path text also fits."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule

from tests.unit.shared.test_openapi_documents import FACTORIES

TRIED = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture(scope="module", params=sorted(FACTORIES))
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    # Routing decides a 405 before any view or query runs; the file only satisfies the factory.
    database = tmp_path_factory.mktemp(request.param) / "x.sqlite3"
    built: Flask = FACTORIES[request.param]({"DATABASE_URL": f"sqlite:///{database}"})
    return built


def _url(rule: Rule) -> str:
    """The rule's path with each variable filled: an any() segment with its first choice."""

    def fill(match: re.Match[str]) -> str:
        choices = re.match(r"any\(([^)]*)\)", match.group(1) or "")
        return choices.group(1).split(",")[0].strip() if choices else "x-1"

    return re.sub(r"<(?:([^:<>]+):)?[^<>]+>", fill, rule.rule)


def _routes(app: Flask) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if not rule.rule.startswith("/static")]


def test_the_allow_header_of_a_405_lists_only_the_methods_of_that_route(app: Flask) -> None:
    client = app.test_client()
    checked = 0
    for rule in _routes(app):
        url = _url(rule)
        for method in TRIED:
            if method in (rule.methods or ()):
                continue
            answer = client.open(url, method=method)
            if answer.status_code != 405:
                continue  # another route serves this method here (e.g. GET of /{id})
            allowed = {m.strip() for m in answer.headers["Allow"].split(",")}
            assert allowed == set(rule.methods or ()), f"{method} {url}"
            assert answer.mimetype == "application/problem+json"
            checked += 1
    assert checked


@pytest.mark.parametrize(
    ("service", "method", "url", "allowed"),
    [
        ("integrations", "PUT", "/v1/ticket-links/refresh", {"POST", "OPTIONS"}),
        ("integrations", "POST", "/v1/credentials/expiring", {"GET", "HEAD", "OPTIONS"}),
        ("backups", "PUT", "/v1/schedules/run-due", {"POST", "OPTIONS"}),
    ],
)
def test_a_static_route_beside_an_id_route_names_only_its_own_methods(
    tmp_path: Any, service: str, method: str, url: str, allowed: set[str]
) -> None:
    # werkzeug's own 405 listed the union: GET, PATCH and DELETE of /v1/schedules/{id} too.
    app = FACTORIES[service]({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    answer = app.test_client().open(url, method=method)
    assert answer.status_code == 405
    assert {m.strip() for m in answer.headers["Allow"].split(",")} == allowed


def test_an_options_answer_lists_only_the_methods_of_the_route_asked_for(app: Flask) -> None:
    # Flask's automatic OPTIONS listed the union too: OPTIONS /v1/schedules/run-due offered GET,
    # PATCH and DELETE of /v1/schedules/{id}, which schemathesis reports as undocumented methods.
    client = app.test_client()
    for rule in _routes(app):
        if rule.rule.startswith("/v1/"):
            answer = client.options(_url(rule))
            allowed = {m.strip() for m in answer.headers["Allow"].split(",")}
            assert allowed == set(rule.methods or ()), rule.rule
